"""A change's seals, events and case notes go into the database in one statement, exactly as written.

On PostgreSQL the three inserts are one data-modifying ``WITH``; on SQLite the rows go as JSON into a
view whose trigger inserts them (``resolve/audit/links_write.py``). Either way every value must reach
its column as the evidence chain sealed it, or ``verify_evidence`` would report a break.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
import time_machine
from django.db import connection

from resolve.audit.links_write import LINKED, TRIGGER, VIEW, columns
from resolve.audit.models import EvidenceSeal
from resolve.audit.verify import verify_all
from resolve.challenges import services
from resolve.challenges.models import Event
from resolve.children.models import CaseNote, Child
from resolve.people.demo import Authority

pytestmark = pytest.mark.django_db

# Quotes, backslashes, a new paragraph, accents and a character outside the Basic Multilingual Plane:
# each must come out of the JSON the trigger reads exactly as it went in.
AWKWARD = 'She said "not yet" \\ twice.\n\nZoë\'s plan: ½ done 🙂 <b>&amp;</b>'


def test_the_trigger_writes_every_column_of_the_models_as_they_are_now() -> None:
    if connection.vendor != "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM information_schema.views WHERE table_name = %s", [VIEW])
            assert cursor.fetchone()[0] == 0  # PostgreSQL inserts them with a data-modifying WITH
        return
    from django.apps import apps

    # A migration that changes one of these tables' columns must create the view and trigger again.
    with connection.cursor() as cursor:
        cursor.execute("SELECT sql FROM sqlite_master WHERE name = %s", [TRIGGER])
        trigger = cursor.fetchone()[0]
    for app, name in LINKED:
        model = apps.get_model(app, name)
        found = re.search(rf'INSERT INTO "{model._meta.db_table}" \((.*?)\) SELECT (.*?) FROM', trigger)
        assert found, f"the trigger does not insert {model._meta.db_table}"
        written = [column.strip('" ') for column in found.group(1).split(",")]
        assert sorted(written) == sorted(columns(model))
        # Each column from its own key of the row's JSON.
        assert found.group(2) == ", ".join(f"json_extract(value, '$.{column}')" for column in written)


def test_text_of_every_kind_reaches_its_column_as_sealed(authority: Authority, child: Child) -> None:
    iro = authority.staff["iro"]
    with time_machine.travel(dt.datetime(2026, 12, 1, 10, 0), tick=False):
        challenge = services.challenge_raise(
            user=iro,
            child=child,
            track="iro",
            concern=AWKWARD,
            impact_on_child=AWKWARD,
            procedure_key="national",
        )
        services.challenge_escalate(user=iro, challenge_id=challenge.pk, reason=AWKWARD)
    events = list(Event.objects.filter(challenge=challenge).order_by("sequence"))
    assert [event.type for event in events] == ["raised", "escalated"]
    assert events[0].detail["concern"] == AWKWARD
    assert events[1].detail["reason"] == AWKWARD
    notes = CaseNote.objects.filter(challenge=challenge).order_by("id")
    assert AWKWARD in notes[1].body
    # Written in order: each chain's links by their number, each record's seal after its row.
    assert [event.sequence for event in events] == [1, 2]
    seals = list(EvidenceSeal.objects.filter(chain=f"records:{challenge.pk}").order_by("id"))
    assert [seal.sequence for seal in seals] == list(range(1, len(seals) + 1))
    assert list(verify_all()) == []


def test_rows_are_written_with_their_dates_and_people(authority: Authority, child: Child) -> None:
    iro = authority.staff["iro"]
    with time_machine.travel(dt.datetime(2026, 12, 1, 10, 0), tick=False):
        challenge = services.challenge_raise(
            user=iro, child=child, track="iro", concern="Plan", impact_on_child="Delay"
        )
    stored: Any = Event.objects.get(challenge=challenge)
    assert (stored.on, stored.by_id, stored.stage_key) == (dt.date(2026, 12, 1), iro.pk, "informal")
    note = CaseNote.objects.get(challenge=challenge)
    assert (note.child_id, note.author_id, note.on) == (child.pk, iro.pk, dt.date(2026, 12, 1))
