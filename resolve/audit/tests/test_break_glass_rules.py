"""Break-glass: a reason that says something, reported above the breaker, read-only, one grant at a time."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
import time_machine
from django.db import connection, connections

from resolve.access import NotVisible, challenge_get_for_user, child_get_for_change, child_get_for_user
from resolve.access.permissions import Perm
from resolve.access.tests.world import TODAY, World, world_build
from resolve.audit.models import BreakGlassGrant
from resolve.audit.services import break_glass_open, break_glass_reviewers
from resolve.challenges.services import challenge_record_meeting
from resolve.children.models import CaseNote
from resolve.children.services import case_note_correct
from resolve.core.errors import ServiceError
from resolve.notifications.models import Kind, OutboxMessage
from resolve.people.demo import authority_build

REASON = "Police called about Ben tonight"


@pytest.fixture
def world(authority: Any) -> World:
    return world_build(authority)


def _open(world: World, username: str, **extra: Any) -> BreakGlassGrant:
    arguments: dict[str, Any] = {"reason_category": "agency_request", "reason": REASON, **extra}
    return break_glass_open(user=world.user(username), case_number="LCS-B", **arguments)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "reason",
    ["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "a b c d e f g h i j k l m n", "help help help help help", "x" * 19],
)
def test_a_reason_without_content_is_refused(world: World, reason: str) -> None:
    with pytest.raises(ServiceError) as refused:
        _open(world, "team_manager", reason=reason)
    assert (refused.value.code, refused.value.field) == ("reason_required", "reason")
    assert not BreakGlassGrant.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("category", ["", "because", "OTHER"])
def test_a_reason_category_from_the_list_is_required(world: World, category: str) -> None:
    with pytest.raises(ServiceError) as refused:
        _open(world, "team_manager", reason_category=category)
    assert refused.value.field == "reason_category"


@pytest.mark.django_db
def test_the_category_and_justification_are_recorded_and_reported(world: World) -> None:
    grant = _open(world, "team_manager")
    assert (grant.reason_category, grant.reason) == ("agency_request", REASON)
    (report,) = OutboxMessage.objects.filter(kind=Kind.BREAK_GLASS)
    assert "police, a court or another agency" in report.body and REASON in report.body


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("breaker", "told"),
    [
        ("team_manager", {"iro_service_manager"}),
        ("iro", {"iro_service_manager"}),
        ("iro_service_manager", {"iro_senior_manager"}),
        ("iro_senior_manager", {"head_of_safeguarding"}),
        # The top rung: every other reviewer of access, never the breaker alone.
        ("head_of_safeguarding", {"iro_team_manager", "iro_service_manager", "iro_senior_manager"}),
    ],
)
def test_break_glass_is_reported_above_the_breaker_never_only_to_them(
    world: World, breaker: str, told: set[str]
) -> None:
    _open(world, breaker)
    recipients = {
        message.recipient.get_username() for message in OutboxMessage.objects.filter(kind=Kind.BREAK_GLASS)
    }
    assert recipients == told and breaker not in recipients


@pytest.mark.django_db
def test_with_nobody_on_the_next_rung_the_report_goes_on_up(world: World) -> None:
    world.user("iro_senior_manager").posts.all().delete()
    names = {user.get_username() for user in break_glass_reviewers(breaker=world.user("iro_service_manager"))}
    assert names == {"head_of_safeguarding"}


@pytest.mark.django_db
def test_break_glass_gives_reads_not_writes(world: World) -> None:
    with time_machine.travel(dt.datetime(2026, 12, 1, 10, 0), tick=False):
        challenge = world.challenge(world.b)
        note = CaseNote.objects.create(child=world.b, note_type="Visit", body="Seen at home", on=TODAY)
        reader = world.user("team_manager")
        _open(world, "team_manager")
        assert child_get_for_user(user=reader, case_number="LCS-B") == world.b
        assert challenge_get_for_user(user=reader, challenge_id=challenge.pk) == challenge
        with pytest.raises(ServiceError, match="no such challenge"):
            challenge_record_meeting(
                user=reader, challenge_id=challenge.pk, summary="Met the family", on=TODAY
            )
        with pytest.raises(NotVisible):
            case_note_correct(user=reader, note_id=note.pk, body="Seen at school, not at home")
        with pytest.raises(NotVisible):
            child_get_for_change(user=reader, child_id=world.b.pk, perm=Perm.RECORD_MEETING)
        assert not challenge.meetings.exists() and not note.corrections.exists()


@pytest.mark.django_db
def test_a_second_grant_while_one_is_active_is_a_conflict(world: World) -> None:
    _open(world, "team_manager")
    with pytest.raises(ServiceError) as refused:
        _open(world, "team_manager")
    assert refused.value.kind == "conflict"
    assert BreakGlassGrant.objects.count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs real concurrent transactions")
def test_twenty_simultaneous_requests_make_one_grant() -> None:
    authority = authority_build(password=None)
    world = world_build(authority)
    start = threading.Barrier(20)
    outcomes: list[str] = []

    def request() -> None:
        try:
            start.wait()
            _open(world, "team_manager")
            outcomes.append("granted")
        except ServiceError as refusal:
            outcomes.append(refusal.kind)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=request) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert BreakGlassGrant.objects.filter(user=world.user("team_manager"), child=world.b).count() == 1
    assert sorted(outcomes) == ["conflict"] * 19 + ["granted"]
    assert (
        dt.timedelta(0) < BreakGlassGrant.objects.get().expires_at - BreakGlassGrant.objects.get().granted_at
    )
