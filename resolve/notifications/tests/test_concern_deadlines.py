"""The chair's own deadline on a concern: reminded before it, alerted once it passes, once each, and
no more once a challenge carries the concern.

Seed 000: "STAGE 1 Trigger out of the child's review" ... "IRO completes informal resolution form
within 3 days" (outcome_resolution: 3 calendar days after the review).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest

from resolve.challenges.models import Concern
from resolve.challenges.services import challenge_raise, concern_close, concern_record
from resolve.children.models import Child
from resolve.notifications.models import Kind, OutboxMessage
from resolve.notifications.sweep import concern_deadlines_due, sweep_run
from resolve.notifications.tests.conftest import at
from resolve.people.demo import Authority

pytestmark = pytest.mark.django_db

D = dt.date
REVIEW = D(2027, 3, 1)  # a Monday: the form is due Thursday 4 March ("within 3 days")


def sweep(day: dt.date) -> Any:
    with at(day, hour=7):
        return sweep_run(today=day)


def sent(kind: str) -> Counter[str]:
    return Counter(OutboxMessage.objects.filter(kind=kind).values_list("recipient__username", flat=True))


def concern(
    authority: Authority, child: Child, *, procedure_key: str = "outcome_resolution", **kwargs: Any
) -> Concern:
    with at(REVIEW, hour=16):
        return concern_record(
            user=authority.staff["iro"],
            child=child,
            track="iro",
            concern="The pathway plan has not been updated.",
            review=kwargs.pop("review", "cla_review"),
            review_on=kwargs.pop("review_on", REVIEW),
            procedure_key=procedure_key,
            **kwargs,
        )


def test_the_chair_is_reminded_the_working_day_before_and_alerted_once_it_passes(
    authority: Authority, child: Child
) -> None:
    concern(authority, child)
    sweep(D(2027, 3, 2))
    assert not sent(Kind.CONCERN_FORM_REMINDER)
    sweep(D(2027, 3, 3))  # Wednesday: one working day (Thursday) left
    sweep(D(2027, 3, 3))
    sweep(D(2027, 3, 4))
    assert sent(Kind.CONCERN_FORM_REMINDER) == {"iro": 1}
    assert not sent(Kind.CONCERN_FORM_OVERDUE)
    sweep(D(2027, 3, 5))  # the first working day after the due date
    sweep(D(2027, 3, 8))
    sweep(D(2027, 3, 9))
    assert sent(Kind.CONCERN_FORM_OVERDUE) == {"iro": 1}
    assert sum(sent(Kind.CONCERN_FORM_REMINDER).values()) == 1
    alert = OutboxMessage.objects.get(kind=Kind.CONCERN_FORM_OVERDUE)
    assert "IRO completes informal resolution form was due by 4 March 2027" in alert.body
    assert alert.link == f"/children/{child.case_number}/"
    assert alert.due_on == D(2027, 3, 4)
    assert alert.notification is not None  # and in the chair's notifications
    # Once alerted, the sweep no longer selects the concern at all.
    assert concern_deadlines_due(today=D(2027, 3, 10)) == []


def test_a_sweep_that_first_runs_after_the_deadline_sends_the_alert_alone(
    authority: Authority, child: Child
) -> None:
    concern(authority, child)
    sweep(D(2027, 3, 8))
    assert sent(Kind.CONCERN_FORM_OVERDUE) == {"iro": 1}
    assert not sent(Kind.CONCERN_FORM_REMINDER)


def test_the_reminders_stop_when_the_concern_becomes_a_challenge(authority: Authority, child: Child) -> None:
    carried = concern(authority, child)
    with at(D(2027, 3, 2)):
        challenge_raise(
            user=authority.staff["iro"],
            child=child,
            track="iro",
            concern="",
            impact_on_child="Amelia's move is delayed.",
            procedure_key="outcome_resolution",
            concern_id=carried.pk,
        )
    for day in (D(2027, 3, 3), D(2027, 3, 5), D(2027, 3, 8)):
        sweep(day)
    assert not sent(Kind.CONCERN_FORM_REMINDER)
    assert not sent(Kind.CONCERN_FORM_OVERDUE)


def test_no_deadline_no_message(authority: Authority, child: Child) -> None:
    """A concern with no review date has no deadline; a procedure without one (national) sets none."""
    with at(REVIEW, hour=16):
        concern_record(
            user=authority.staff["iro"],
            child=child,
            track="iro",
            concern="No review noted.",
            procedure_key="outcome_resolution",
        )
    concern(authority, child, procedure_key="national")
    for day in (D(2027, 3, 3), D(2027, 3, 5)):
        sweep(day)
    assert not OutboxMessage.objects.filter(
        kind__in=[Kind.CONCERN_FORM_REMINDER, Kind.CONCERN_FORM_OVERDUE]
    ).exists()


def test_the_reminders_stop_when_the_concern_is_closed(authority: Authority, child: Child) -> None:
    closed = concern(authority, child)
    with at(D(2027, 3, 2)):
        concern_close(user=authority.staff["iro"], concern_id=closed.pk, reason="The plan was updated.")
    for day in (D(2027, 3, 3), D(2027, 3, 5), D(2027, 3, 8)):
        sweep(day)
    assert not OutboxMessage.objects.filter(
        kind__in=[Kind.CONCERN_FORM_REMINDER, Kind.CONCERN_FORM_OVERDUE]
    ).exists()
