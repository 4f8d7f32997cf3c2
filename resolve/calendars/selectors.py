from __future__ import annotations

import datetime as dt

from resolve.calendars.services import working_calendar
from resolve.calendars.types import Nation


def add_working_days(*, start: dt.date, days: int, nation: Nation) -> dt.date:
    """The ``days``-th working day strictly after ``start`` in ``nation`` (0 gives ``start``).

    Raises ValueError for negative ``days`` and CalendarRangeError (a ValueError) outside the calendar.
    """
    return working_calendar(nation).add_working_days(start, days)


def working_days_between(*, start: dt.date, end: dt.date, nation: Nation) -> int:
    """How many working days of ``nation`` fall in (start, end]."""
    return working_calendar(nation).working_days_between(start, end)


def is_working_day(*, day: dt.date, nation: Nation) -> bool:
    return working_calendar(nation).is_working_day(day)
