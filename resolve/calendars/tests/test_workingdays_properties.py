"""Invariants of WorkingCalendar over random dates, day counts and closure days (no database)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from resolve.calendars.services import bank_holidays
from resolve.calendars.types import Nation
from resolve.calendars.workingdays import FIRST_YEAR, LAST_YEAR, WorkingCalendar

FIRST = dt.date(FIRST_YEAR, 1, 1)
LAST = dt.date(LAST_YEAR, 12, 31)
# Starts leave room for 60 working days before the end of the range.
starts = st.dates(min_value=FIRST, max_value=dt.date(LAST_YEAR, 9, 30))
day_counts = st.integers(min_value=0, max_value=60)
nations = st.sampled_from(list(Nation))

_BANK_HOLIDAYS = {
    nation: bank_holidays(nation=nation, years=range(FIRST_YEAR, LAST_YEAR + 1)) for nation in Nation
}
_CALENDARS = {nation: WorkingCalendar(nation, _BANK_HOLIDAYS[nation]) for nation in Nation}


def naive_add(calendar_closed: set[dt.date], start: dt.date, days: int) -> dt.date:
    day, counted = start, 0
    while counted < days:
        day += dt.timedelta(days=1)
        if day.weekday() < 5 and day not in calendar_closed:
            counted += 1
    return day


@given(nations, starts, day_counts)
def test_result_is_a_working_day_strictly_after_start(nation: Nation, start: dt.date, days: int) -> None:
    calendar = _CALENDARS[nation]
    due = calendar.add_working_days(start, days)
    if days == 0:
        assert due == start
    else:
        assert due > start
        assert calendar.is_working_day(due)


@given(nations, starts, day_counts)
def test_between_inverts_add(nation: Nation, start: dt.date, days: int) -> None:
    calendar = _CALENDARS[nation]
    assert calendar.working_days_between(start, calendar.add_working_days(start, days)) == days


@given(nations, starts, day_counts)
def test_monotonic_and_one_working_day_per_step(nation: Nation, start: dt.date, days: int) -> None:
    calendar = _CALENDARS[nation]
    this, following = calendar.add_working_days(start, days + 1), calendar.add_working_days(start, days + 2)
    assert this < following
    # Nothing in between is a working day: no working day is skipped.
    gap = [this + dt.timedelta(days=n) for n in range(1, (following - this).days)]
    assert not any(calendar.is_working_day(day) for day in gap)


@given(nations, starts, st.integers(0, 30), st.integers(0, 30))
def test_adding_in_two_steps_is_adding_once(nation: Nation, start: dt.date, first: int, second: int) -> None:
    calendar = _CALENDARS[nation]
    once = calendar.add_working_days(start, first + second)
    if first:
        assert calendar.add_working_days(calendar.add_working_days(start, first), second) == once


@given(nations, starts, starts)
def test_between_is_antisymmetric_and_counts_working_days(nation: Nation, a: dt.date, b: dt.date) -> None:
    calendar = _CALENDARS[nation]
    assert calendar.working_days_between(a, b) == -calendar.working_days_between(b, a)
    low, high = min(a, b), max(a, b)
    if (high - low).days <= 400:
        counted = sum(
            calendar.is_working_day(low + dt.timedelta(days=n)) for n in range(1, (high - low).days + 1)
        )
        assert calendar.working_days_between(low, high) == counted


@given(starts, day_counts)
def test_weekend_start_counts_from_the_next_working_day(start: dt.date, days: int) -> None:
    calendar = _CALENDARS[Nation.ENGLAND_AND_WALES]
    saturday = start + dt.timedelta(days=(5 - start.weekday()) % 7)
    if days:
        assert calendar.add_working_days(saturday, days) == calendar.add_working_days(
            saturday + dt.timedelta(days=1), days
        )


@settings(max_examples=60)
@given(
    nations,
    st.sets(st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2026, 12, 31)), max_size=40),
    st.dates(min_value=dt.date(2025, 12, 1), max_value=dt.date(2026, 12, 31)),
    st.integers(0, 40),
)
def test_agrees_with_a_walk_whatever_the_closure_days(
    nation: Nation, closures: set[dt.date], start: dt.date, days: int
) -> None:
    closed = set(_BANK_HOLIDAYS[nation]) | closures
    calendar = WorkingCalendar(nation, closed, first=dt.date(2025, 1, 1), last=dt.date(2028, 12, 31))
    assert calendar.add_working_days(start, days) == naive_add(closed, start, days)
    for day in closures:
        assert not calendar.is_working_day(day)
