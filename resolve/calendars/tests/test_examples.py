"""Due dates a person can check on a wall calendar, and the errors at the edges."""

from __future__ import annotations

import datetime as dt

import pytest

from resolve.calendars.selectors import add_working_days, is_working_day, working_days_between
from resolve.calendars.services import CALENDAR_FIRST_DAY, CALENDAR_LAST_DAY, working_calendar
from resolve.calendars.types import Nation
from resolve.calendars.workingdays import CalendarRangeError

pytestmark = pytest.mark.django_db

EW, SCOT, NI = Nation.ENGLAND_AND_WALES, Nation.SCOTLAND, Nation.NORTHERN_IRELAND
D = dt.date


@pytest.mark.parametrize(
    ("nation", "start", "days", "due"),
    [
        # Christmas 2026: the 25th is a Friday, Boxing Day a Saturday moved to Monday the 28th.
        (EW, D(2026, 12, 21), 5, D(2026, 12, 30)),
        (SCOT, D(2026, 12, 21), 5, D(2026, 12, 30)),
        (EW, D(2026, 12, 24), 1, D(2026, 12, 29)),
        # New Year 2027: Friday 1st; Scotland's 2nd January moves to Monday the 4th.
        (EW, D(2026, 12, 31), 1, D(2027, 1, 4)),
        (SCOT, D(2026, 12, 31), 1, D(2027, 1, 5)),
        # Easter 2026: Good Friday 3 April everywhere, Easter Monday 6 April except in Scotland.
        (EW, D(2026, 4, 2), 1, D(2026, 4, 7)),
        (NI, D(2026, 4, 2), 1, D(2026, 4, 7)),
        (SCOT, D(2026, 4, 2), 1, D(2026, 4, 6)),
        (EW, D(2026, 3, 30), 10, D(2026, 4, 15)),
        # The IRO Handbook's 20 working days across Christmas 2025 (25, 26 Dec and 1 Jan off).
        (EW, D(2025, 12, 15), 20, D(2026, 1, 15)),
        # Northern Ireland: the Boyne on Sunday 12 July 2026 is taken on Monday the 13th.
        (NI, D(2026, 7, 10), 1, D(2026, 7, 14)),
        (EW, D(2026, 7, 10), 1, D(2026, 7, 13)),
        # Scotland's World Cup day, Monday 15 June 2026.
        (SCOT, D(2026, 6, 12), 1, D(2026, 6, 16)),
        (EW, D(2026, 6, 12), 1, D(2026, 6, 15)),
        # A weekend start counts Monday as day 1; zero days leaves the start alone, even a Saturday.
        (EW, D(2026, 12, 19), 1, D(2026, 12, 21)),
        (EW, D(2026, 12, 20), 5, D(2026, 12, 29)),
        (EW, D(2026, 12, 19), 0, D(2026, 12, 19)),
        (EW, D(2026, 12, 25), 0, D(2026, 12, 25)),
        # A start on a bank holiday: the next working day is day 1.
        (EW, D(2026, 12, 25), 1, D(2026, 12, 29)),
    ],
)
def test_due_dates(nation: Nation, start: dt.date, days: int, due: dt.date) -> None:
    assert add_working_days(start=start, days=days, nation=nation) == due
    if days:
        assert working_days_between(start=start, end=due, nation=nation) == days


def test_working_days_between_is_negative_backwards() -> None:
    assert working_days_between(start=D(2026, 12, 30), end=D(2026, 12, 21), nation=EW) == -5
    assert working_days_between(start=D(2026, 12, 21), end=D(2026, 12, 21), nation=EW) == 0


def test_is_working_day() -> None:
    assert is_working_day(day=D(2026, 12, 24), nation=EW)
    assert not is_working_day(day=D(2026, 12, 25), nation=EW)
    assert not is_working_day(day=D(2026, 12, 26), nation=EW)  # Saturday


def test_negative_days_are_refused_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match=r"days must be zero or more \(got -1\)"):
        add_working_days(start=D(2026, 1, 5), days=-1, nation=EW)


@pytest.mark.parametrize("start", [D(1999, 12, 31), D(2061, 1, 1), D(1900, 1, 1)])
def test_start_outside_the_calendar_names_the_supported_range(start: dt.date) -> None:
    with pytest.raises(CalendarRangeError, match="covers 2000-01-01 to 2060-12-31"):
        add_working_days(start=start, days=1, nation=EW)
    with pytest.raises(CalendarRangeError):
        is_working_day(day=start, nation=EW)
    with pytest.raises(CalendarRangeError):
        working_days_between(start=D(2026, 1, 1), end=start, nation=EW)


def test_answer_beyond_the_calendar_is_refused() -> None:
    with pytest.raises(CalendarRangeError, match=r"falls after 2060-12-31.*covers 2000-01-01 to 2060-12-31"):
        add_working_days(start=D(2060, 12, 20), days=30, nation=EW)
    # The last working day of the range is still reachable.
    calendar = working_calendar(EW)
    last_working = max(
        day for day in (D(2060, 12, 31) - dt.timedelta(n) for n in range(10)) if calendar.is_working_day(day)
    )
    assert add_working_days(start=last_working - dt.timedelta(days=1), days=1, nation=EW) == last_working


def test_range_error_is_a_value_error() -> None:
    assert issubclass(CalendarRangeError, ValueError)


def test_calendar_covers_the_seeded_range() -> None:
    calendar = working_calendar(SCOT)
    assert (calendar.first, calendar.last) == (CALENDAR_FIRST_DAY, CALENDAR_LAST_DAY)
    assert calendar.nation is SCOT
    assert add_working_days(start=D(2000, 1, 1), days=1, nation=SCOT) == D(2000, 1, 5)  # 3 and 4 Jan off
