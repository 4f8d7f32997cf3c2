"""The sweep works in sets: a batch costs the same statements for three due deadlines as for twelve,
marks them fired with their outcomes in one statement, and a deadline not yet due moves on with the
batch. These count statements; they time nothing (the sweep's speed is in ``make bench``)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from resolve.calendars.models import NonWorkingDay
from resolve.challenges import engine
from resolve.challenges.services import challenge_add_learning_points
from resolve.notifications.models import Deadline, Kind, OutboxMessage
from resolve.notifications.services import deadlines_unchanged
from resolve.notifications.sweep import deadline_due_rows, deadlines_sweep
from resolve.notifications.tests.conftest import at
from resolve.people.demo import Authority
from resolve.procedures.selectors import procedure_get, procedure_version_model

pytestmark = pytest.mark.django_db

D = dt.date
OVERDUE_DAY = D(2024, 6, 11)  # raised Monday 3 June, due Monday 10 June: overdue from Tuesday


def _statements_to_sweep(raise_on: Any, challenges: int) -> int:
    for _ in range(challenges):
        raise_on(D(2024, 6, 3))
    with at(OVERDUE_DAY, hour=7), CaptureQueriesContext(connection) as captured:
        result = deadlines_sweep()
    assert result.fired == 2 * challenges  # each challenge's reminder (missed) and overdue alert
    return len(captured.captured_queries)


def test_a_batch_runs_as_many_statements_for_twelve_deadlines_as_for_three(raise_on: Any) -> None:
    few = _statements_to_sweep(raise_on, 3)
    Deadline.objects.all().delete()
    OutboxMessage.objects.all().delete()
    many = _statements_to_sweep(raise_on, 12)
    assert many == few


def test_a_batch_marks_its_deadlines_fired_with_their_outcomes_in_one_statement(raise_on: Any) -> None:
    for _ in range(4):
        raise_on(D(2024, 6, 3))
    with at(OVERDUE_DAY, hour=7), CaptureQueriesContext(connection) as captured:
        deadlines_sweep()
    marking = [
        query["sql"]
        for query in captured.captured_queries
        if query["sql"].startswith('UPDATE "notifications_deadline"')
    ]
    assert len(marking) == 1
    outcomes = sorted(Deadline.objects.values_list("trigger", "outcome"))
    assert outcomes == [("response_overdue", "sent")] * 4 + [("response_reminder", "missed")] * 4
    assert OutboxMessage.objects.filter(kind=Kind.RESPONSE_OVERDUE).count() == 8  # worker and manager


def test_a_deadline_not_yet_due_moves_to_its_day_and_keeps_no_outcome(raise_on: Any) -> None:
    challenge = raise_on(D(2024, 6, 3))
    # A closure day added after scheduling, Tuesday 11 June: the overdue alert, due on the first
    # working day after Monday 10 June, now waits until Wednesday 12 June.
    NonWorkingDay.objects.create(
        nation="england-and-wales", date=D(2024, 6, 11), name="Office move", kind="closure"
    )
    overdue = Deadline.objects.get(challenge=challenge, trigger="response_overdue")
    with at(OVERDUE_DAY, hour=7):
        result = deadlines_sweep()
    overdue.refresh_from_db()
    assert result.rescheduled == 1
    assert overdue.fired_at is None
    assert overdue.fire_on == D(2024, 6, 12)
    assert overdue.outcome == ""


def test_the_selection_reads_each_due_deadline_with_its_challenge_and_child(raise_on: Any) -> None:
    challenge = raise_on(D(2024, 6, 3))
    rows = deadline_due_rows(today=OVERDUE_DAY, limit=10)
    assert [row[0] for row in rows] == list(
        Deadline.objects.filter(challenge=challenge).order_by("fire_on", "id").values_list("id", flat=True)
    )
    assert challenge.child.case_number in rows[0]


def test_a_change_that_moves_nothing_scheduled_leaves_the_deadlines_as_they_were(
    raise_on: Any, authority: Authority
) -> None:
    challenge = raise_on(D(2024, 6, 3))
    before = set(Deadline.objects.filter(challenge=challenge).values_list("key", "fire_on", "fired_at"))
    with at(D(2024, 6, 4)):
        challenge_add_learning_points(
            user=authority.staff["iro"], challenge_id=challenge.pk, learning_points="Plan earlier"
        )
    after = set(Deadline.objects.filter(challenge=challenge).values_list("key", "fire_on", "fired_at"))
    assert after == before


def test_what_the_schedule_is_computed_from() -> None:
    informal = engine.Visit(stage="informal", entered_on=D(2024, 6, 3), due_on=D(2024, 6, 10))
    state = engine.ChallengeState(track="iro", status="open", visits=(informal,))
    assert deadlines_unchanged(state, dataclasses.replace(state, final_comments_on=D(2024, 6, 4)))
    answered = engine.Visit(
        stage="informal", entered_on=D(2024, 6, 3), due_on=D(2024, 6, 10), responded_on=D(2024, 6, 4)
    )
    assert not deadlines_unchanged(state, dataclasses.replace(state, visits=(answered,)))
    assert not deadlines_unchanged(state, dataclasses.replace(state, status="resolved"))


def test_procedures_say_whether_they_can_hold_agreements_and_meetings() -> None:
    """A change under a procedure that can have neither reads neither (test_transition_queries)."""
    cases = {
        key: (procedure.holds_meetings(), procedure.asks_agreement())
        for key in ("national", "cla_dispute_resolution", "informal_challenge_dispute_resolution")
        for procedure in [procedure_version_model(procedure_get(key=key))]
    }
    assert cases == {
        "national": (False, False),
        # Seed 001: "IRO DRP stage 3 formal resolution request for meeting with Service Director", and
        # a bypass "following discussion with their Service Manager".
        "cla_dispute_resolution": (True, True),
        # Seed 004 calls meetings; its Cafcass referral names no one to agree first.
        "informal_challenge_dispute_resolution": (True, False),
    }
