"""Editing, removing or reordering any event or case note in the database is caught by verify_evidence."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection

from resolve.access.tests.world import World, world_build
from resolve.audit.models import EvidenceHead
from resolve.audit.verify import verify_all
from resolve.challenges import services
from resolve.challenges.models import Event
from resolve.children.models import CaseNote
from resolve.children.services import case_note_correct

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(authority: Any) -> World:
    with time_machine.travel(dt.datetime(2026, 12, 1, 10, 0), tick=False):
        built = world_build(authority)
        challenge = built.challenge(built.a)
        iro = built.user("iro")
        services.challenge_record_meeting(
            user=iro, challenge_id=challenge.pk, summary="Met", on=dt.date(2026, 12, 1)
        )
        services.challenge_escalate(
            user=iro, challenge_id=challenge.pk, reason="No visit", on=dt.date(2026, 12, 1)
        )
        built.challenge(built.b)
        return built


def _sql(statement: str, *params: Any) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def _events() -> list[Event]:
    return list(Event.objects.order_by("challenge_id", "sequence"))


def _assert_caught(kind: str, row_id: int | None = None) -> None:
    breaks = list(verify_all())
    assert breaks, "tampering was not detected"
    assert breaks[0].chain.startswith(kind)
    if row_id is not None:
        assert f" {row_id} " in f" {breaks[0].row} ", breaks[0]
    with pytest.raises(CommandError):
        call_command("verify_evidence")


def test_untouched_evidence_verifies(world: World, capsys: Any) -> None:
    assert len(_events()) >= 4
    assert all(event.hash and len(event.hash) == 64 for event in _events())
    call_command("verify_evidence")
    assert "Every evidence chain holds" in capsys.readouterr().out


def test_each_event_links_to_the_one_before(world: World) -> None:
    events = [e for e in _events() if e.challenge_id == _events()[0].challenge_id]
    assert events[0].previous_hash == ""
    for before, after in itertools.pairwise(events):
        assert after.previous_hash == before.hash


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("detail", '{"reason": "changed"}'),
        ("type", "withdrawn"),
        ("on", "2026-11-01"),
        ("stage_key", "x"),
        ("created_at", "2026-01-01 00:00:00"),
        ("by_id", None),
    ],
)
def test_editing_an_event_is_caught(world: World, column: str, value: Any) -> None:
    target = _events()[1]
    _sql(
        f"UPDATE challenges_event SET {connection.ops.quote_name(column)} = %s WHERE id = %s",
        value,
        target.pk,
    )
    _assert_caught("challenge:", target.pk)


def test_deleting_an_event_in_the_middle_is_caught(world: World) -> None:
    target = _events()[1]
    _sql("DELETE FROM challenges_event WHERE id = %s", target.pk)
    _assert_caught("challenge:")


def test_deleting_the_newest_event_is_caught(world: World) -> None:
    first_chain = _events()[0].challenge_id
    newest = [e for e in _events() if e.challenge_id == first_chain][-1]
    _sql("DELETE FROM challenges_event WHERE id = %s", newest.pk)
    _assert_caught(f"challenge:{first_chain}")


def test_deleting_every_event_of_a_challenge_is_caught(world: World) -> None:
    first_chain = _events()[0].challenge_id
    _sql("DELETE FROM challenges_event WHERE challenge_id = %s", first_chain)
    _assert_caught(f"challenge:{first_chain}")


def test_reordering_events_is_caught(world: World) -> None:
    one, two = _events()[0], _events()[1]
    _sql("UPDATE challenges_event SET sequence = 999 WHERE id = %s", one.pk)
    _sql("UPDATE challenges_event SET sequence = %s WHERE id = %s", one.sequence, two.pk)
    _sql("UPDATE challenges_event SET sequence = %s WHERE id = %s", two.sequence, one.pk)
    _assert_caught("challenge:")


def test_recomputing_a_row_hash_after_an_edit_is_still_caught(world: World) -> None:
    """A forger who rewrites a row and its own hash breaks the link from the next row."""
    from resolve.audit.chain import event_fields, link_hash

    target = _events()[0]
    _sql("UPDATE challenges_event SET detail = %s WHERE id = %s", '{"concern": "nothing"}', target.pk)
    edited = Event.objects.get(pk=target.pk)
    _sql(
        "UPDATE challenges_event SET hash = %s WHERE id = %s",
        link_hash(event_fields(edited), edited.previous_hash, edited.key_id),
        target.pk,
    )
    _assert_caught("challenge:", _events()[1].pk)


def test_altering_a_chain_head_is_caught(world: World) -> None:
    EvidenceHead.objects.filter(chain__startswith="challenge:").update(length=1)
    _assert_caught("challenge:")


def test_case_notes_are_chained_per_child(world: World) -> None:
    notes = list(CaseNote.objects.filter(child=world.a).order_by("id"))
    assert notes[0].previous_hash == "" and all(n.hash for n in notes)
    correction = case_note_correct(
        user=world.user("iro"), note_id=notes[0].pk, body="The visit was on Tuesday"
    )
    assert correction.previous_hash == notes[-1].hash
    assert list(verify_all()) == []


@pytest.mark.parametrize("change", ["edit", "delete", "delete_newest", "reorder"])
def test_tampering_with_case_notes_is_caught(world: World, change: str) -> None:
    notes = list(CaseNote.objects.filter(child=world.a).order_by("id"))
    if change == "edit":
        _sql("UPDATE children_casenote SET body = %s WHERE id = %s", "Nothing happened", notes[1].pk)
    elif change == "delete":
        _sql("DELETE FROM children_casenote WHERE id = %s", notes[1].pk)
    elif change == "delete_newest":
        _sql("DELETE FROM children_casenote WHERE id = %s", notes[-1].pk)
    else:
        _sql("UPDATE children_casenote SET body = %s WHERE id = %s", notes[0].body, notes[1].pk)
        _sql("UPDATE children_casenote SET body = %s WHERE id = %s", notes[1].body, notes[0].pk)
    _assert_caught(f"child:{world.a.pk}")
