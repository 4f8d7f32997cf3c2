"""When a stage is overdue, and when a challenge is past the formal cap, in one place: each rule in
Python, the same rule as a query, and how a stage's timing reads (on time, late, overdue, no response
in time).

A stage's response is overdue from the first working day after its due date until a response is
recorded: a response due on a Friday is not overdue that weekend, and is on Monday (on Tuesday after
a bank holiday Monday). The overdue alert goes out that same day, and every list, page and API answer
says the same.

The formal cap (the procedure's, else the IRO Handbook's 20 working days) runs from when the challenge
first entered a formal stage. An open challenge is **past the cap** from the first working day after
``formal_due_on``: its page, every list and the API say so (``past_cap``), whatever stage it is at.
Re-opening does not restart the cap (the seeds: "revert to this process at the point they last
exited"), so a challenge re-opened after its cap passed is past the cap at once; the "cap passed" alert
is not sent for it again, since the cap passed before the re-opening (see
``notifications.services.deadline_specs``).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from django.db.models import Q

from resolve.calendars.services import working_calendar
from resolve.calendars.types import Nation, WorkingDays


def past_due(due_on: dt.date | None, on: dt.date, calendar: WorkingDays) -> bool:
    """Whether ``on`` is past ``due_on`` counted in working days: from the first working day after it."""
    return due_on is not None and calendar.last_working_day_on_or_before(on) > due_on


def stage_overdue(*, due_on: dt.date | None, answered: bool, today: dt.date, calendar: WorkingDays) -> bool:
    """An unanswered stage past its due date (see the module's docstring)."""
    return not answered and past_due(due_on, today, calendar)


def _cutoffs(today: dt.date) -> dict[Nation, dt.date]:
    # A due date before its nation's cutoff is past due today (``past_due``).
    return {nation: working_calendar(nation).last_working_day_on_or_before(today) for nation in Nation}


def due_past_q(*, today: dt.date) -> Q:
    """The stage's due date is past today in the challenge's own nation's working days (``past_due``),
    answered or not. A range on the due date first, so that a list in due-date order walks its index:
    where every nation's cutoff is the same day (most days), the range alone, with no join."""
    cutoffs = _cutoffs(today)
    if len(set(cutoffs.values())) == 1:
        return Q(stage_due_on__lt=next(iter(cutoffs.values())))
    by_nation = Q()
    for nation, cutoff in cutoffs.items():
        by_nation |= Q(policy__nation=nation.value, stage_due_on__lt=cutoff)
    return Q(stage_due_on__lt=max(cutoffs.values())) & by_nation


def due_not_past_q(*, today: dt.date) -> Q:
    """The stage has a due date and it is not past today (``due_past_q``'s other side)."""
    cutoffs = _cutoffs(today)
    if len(set(cutoffs.values())) == 1:
        return Q(stage_due_on__gte=next(iter(cutoffs.values())))
    by_nation = Q()
    for nation, cutoff in cutoffs.items():
        by_nation |= Q(policy__nation=nation.value, stage_due_on__gte=cutoff)
    return Q(stage_due_on__gte=min(cutoffs.values())) & by_nation


def overdue_q(*, today: dt.date) -> Q:
    """``stage_overdue`` as a filter on challenges: open, unanswered, and past the due date of their stage
    in their own nation's working days."""
    return Q(status="open", stage_responded_on__isnull=True) & due_past_q(today=today)


def past_cap_q(*, today: dt.date) -> Q:
    """Open challenges past the formal cap: the working day after ``formal_due_on`` has come, in each
    nation's working days (the same rule as ``stage_overdue``, applied to the whole formal process)."""
    cutoffs = _cutoffs(today)
    if len(set(cutoffs.values())) == 1:  # most days: the date alone, with no join to the procedure
        return Q(status="open", formal_due_on__lt=next(iter(cutoffs.values())))
    by_nation = Q()
    for nation, cutoff in cutoffs.items():
        by_nation |= Q(policy__nation=nation.value, formal_due_on__lt=cutoff)
    return Q(status="open") & by_nation


class Timing(StrEnum):
    """How a stage's response stands against its due date."""

    NO_TIMESCALE = "no_timescale"  # the procedure sets none
    ON_TIME = "on_time"  # answered by the due date
    LATE = "late"  # answered after it
    MISSED = "missed"  # left (escalated, resolved, withdrawn) unanswered once overdue
    NOT_ANSWERED = "not_answered"  # left unanswered before it was overdue
    OVERDUE = "overdue"  # still waiting, and overdue
    WAITING = "waiting"  # still waiting, not yet overdue

    @property
    def on_time(self) -> bool | None:
        """The API's ``on_time``: True or False once known, None while it may still come in time."""
        if self is Timing.ON_TIME:
            return True
        if self in {Timing.LATE, Timing.MISSED, Timing.OVERDUE}:
            return False
        return None


def stage_timing(
    *,
    due_on: dt.date | None,
    responded_on: dt.date | None,
    left_on: dt.date | None,
    today: dt.date,
    calendar: WorkingDays,
) -> Timing:
    if due_on is None:
        return Timing.NO_TIMESCALE
    if responded_on is not None:
        return Timing.ON_TIME if responded_on <= due_on else Timing.LATE
    if left_on is not None:
        return Timing.MISSED if past_due(due_on, left_on, calendar) else Timing.NOT_ANSWERED
    return Timing.OVERDUE if past_due(due_on, today, calendar) else Timing.WAITING
