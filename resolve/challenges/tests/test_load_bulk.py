"""``manage.py load_bulk`` adds challenges with whole histories, lived through the engine, whose
evidence chains verify like any written by the services (the reports' figures of them:
resolve/reports/tests/test_load_bulk_report.py)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count

from resolve.audit.models import EvidenceHead
from resolve.audit.verify import verify_all
from resolve.challenges import services
from resolve.challenges.management.commands import load_bulk
from resolve.challenges.models import CafcassReferral, Challenge, Event, Response, StageVisit
from resolve.children.models import CaseNote, Child

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 6, 1)


def _load(count: int, *extra: str) -> None:
    call_command("load_bulk", str(count), "--today", TODAY.isoformat(), *extra, stdout=StringIO())


def test_bulk_challenges_have_their_records_events_and_case_notes_and_verify(
    authority: Any, child: Any
) -> None:
    services.challenge_raise(
        user=authority.staff["iro"], child=child, track="iro", concern="Before", impact_on_child="Before"
    )
    # Eleven over batches of whole children: a child's case-note chain spans its four challenges.
    _load(11, "--per-child", "4")
    bulk = Challenge.objects.filter(child__first_name="Bulk")
    assert bulk.count() == 11
    assert Child.objects.filter(first_name="Bulk").count() == 3
    assert Event.objects.filter(challenge__in=bulk, type="raised", sequence=1).count() == 11
    # Every event has its case note; each challenge's events are numbered 1, 2, 3 ... in date order.
    events = Event.objects.filter(challenge__in=bulk)
    assert CaseNote.objects.filter(challenge__in=bulk).count() == events.count()
    for challenge in bulk:
        mine = list(events.filter(challenge=challenge).order_by("sequence"))
        assert [event.sequence for event in mine] == list(range(1, len(mine) + 1))
        assert [event.on for event in mine] == sorted(event.on for event in mine)
        assert mine[-1].on == challenge.last_event_on <= TODAY
        visits = StageVisit.objects.filter(challenge=challenge)
        assert visits.count() == sum(event.type in ("raised", "escalated", "reopened") for event in mine)
        if challenge.status == "open":
            assert challenge.stage_key == visits.latest("sequence").stage_key
        # The copy of the child's allocation the lists scope by, as raising writes it.
        assert (challenge.team_id, challenge.social_worker_id, challenge.iro_id, challenge.cp_chair_id) == (
            challenge.child.team_id,
            challenge.child.social_worker_id,
            challenge.child.iro_id,
            challenge.child.cp_chair_id,
        )
    assert EvidenceHead.objects.filter(chain__startswith="child:").count() == 4
    assert list(verify_all()) == []
    # More can be added on top, and the services still write after them.
    _load(2)
    still_open = (
        bulk.filter(status="open", stage_key="informal").first() or bulk.filter(status="open").first()
    )
    assert still_open is not None
    services.challenge_resolve(user=authority.staff["iro"], challenge_id=still_open.pk, outcome="Done")
    assert list(verify_all()) == []


def test_bulk_histories_are_answered_escalated_resolved_withdrawn_and_referred(authority: Any) -> None:
    """Brief: "a share escalated with responses on time and late, some resolved at each stage with
    outcomes, some withdrawn", built through the engine and sealed as the write path seals them."""
    _load(400)
    types = Counter(Event.objects.values_list("type", flat=True))
    for kind in (
        "raised",
        "response_recorded",
        "deadline_extended",
        "escalated",
        "resolved",
        "reopened",
        "withdrawn",
        "cafcass_referred",
    ):
        assert types[kind] > 0, kind
    statuses = Counter(Challenge.objects.values_list("status", flat=True))
    assert statuses["open"] and statuses["resolved"] and statuses["withdrawn"]
    assert set(Challenge.objects.values_list("track", flat=True)) == {"iro", "cpc"}
    # The records beside the events: a response row for each response, a referral for each referral,
    # only an IRO refers, and a resolved challenge keeps its outcome and learning.
    assert Response.objects.count() == types["response_recorded"]
    assert CafcassReferral.objects.count() == types["cafcass_referred"]
    assert not Challenge.objects.filter(track="cpc", cafcass_referred_on__isnull=False).exists()
    on_time = Counter(
        detail["on_time"]
        for detail in Event.objects.filter(type="response_recorded").values_list("detail", flat=True)
    )
    assert on_time[True] and on_time[False]
    resolved = Challenge.objects.filter(status="resolved")
    assert not resolved.filter(outcome="").exists() and not resolved.filter(resolved_on__isnull=True).exists()
    assert not Challenge.objects.exclude(status="resolved").exclude(outcome="").exists()
    # Resolved at every stage of the ladder.
    at = set(Event.objects.filter(type="resolved").values_list("stage_key", flat=True))
    assert at == {"informal", "stage_1", "stage_2", "stage_3", "stage_4"}
    assert not Event.objects.filter(on__gt=TODAY).exists()
    assert list(verify_all()) == []


def test_the_same_seed_builds_the_same_histories(authority: Any) -> None:
    def shapes() -> list[tuple[Any, ...]]:
        rows = Challenge.objects.order_by("id").annotate(n=Count("events"))
        return list(rows.values_list("status", "track", "raised_on", "stage_key", "n"))

    _load(40, "--seed", "3")
    first = shapes()
    # Bulk rows are never removed: a second load with the same seed adds the same histories again.
    _load(40, "--seed", "3")
    assert shapes()[40:] == first


def _schema() -> list[tuple[Any, ...]]:
    """Every table and index as the database describes it (SQLite's statistics tables aside)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT type, name, tbl_name, sql FROM sqlite_master "
                "WHERE name NOT LIKE 'sqlite_stat%%' ORDER BY type, name"
            )
        else:
            cursor.execute(
                "SELECT tablename, indexname, indexdef FROM pg_indexes "
                "WHERE schemaname = current_schema() ORDER BY tablename, indexname"
            )
        return cursor.fetchall()


def test_the_schema_after_a_load_is_the_migrated_one(authority: Any) -> None:
    """Brief: the secondary indexes, created after the load, are rebuilt "exactly as the migrations
    define them" (`sqlite_master` compared), and they hold every row."""
    migrated = _schema()
    assert any(row[1] == "challenge_list_order" for row in migrated)
    _load(30)
    assert _schema() == migrated
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA integrity_check")
            assert cursor.fetchall() == [("ok",)]
    # The lists' index answers the newest challenges, the loaded ones among them.
    rows = sorted(Challenge.objects.values_list("raised_on", "id"), reverse=True)
    newest = Challenge.objects.order_by("-raised_on", "-id").values_list("id", flat=True)[:5]
    assert list(newest) == [pk for _, pk in rows[:5]]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's own settings")
def test_sqlite_settings_for_the_load_are_set_back_afterwards(authority: Any) -> None:
    def current() -> dict[str, Any]:
        with connection.cursor() as cursor:
            found = {}
            for name in load_bulk.SQLITE_LOADING:
                cursor.execute(f"PRAGMA {name}")
                found[name] = cursor.fetchone()[0]
            return found

    before = current()
    assert before["synchronous"] != 0 and before["cache_size"] != int(load_bulk.SQLITE_LOADING["cache_size"])
    _load(5)
    assert current() == before
