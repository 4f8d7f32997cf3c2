"""The calendar contract the engine and the services rely on."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Protocol

# The names GOV.UK writes dates with ("1 April 2026", "Wednesday 1 April 2026"), in English whatever the
# server's locale (``calendar.month_name`` follows the locale).
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class Nation(StrEnum):
    ENGLAND_AND_WALES = "england-and-wales"
    SCOTLAND = "scotland"
    NORTHERN_IRELAND = "northern-ireland"


class WorkingDays(Protocol):
    """Working days for one nation: Monday to Friday less its bank holidays and closure days."""

    def add_working_days(self, start: dt.date, days: int) -> dt.date:
        """The ``days``-th working day strictly after ``start`` (``days`` >= 0; 0 gives ``start``)."""
        ...

    def is_working_day(self, day: dt.date) -> bool: ...

    def last_working_day_on_or_before(self, day: dt.date) -> dt.date:
        """``day`` itself when it is a working day, else the working day before it."""
        ...

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """How many working days fall in (start, end]; negative when end is before start."""
        ...
