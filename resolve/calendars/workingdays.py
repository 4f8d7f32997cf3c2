"""An in-memory working-day calendar: due dates by lookup, not by walking day by day.

Pure Python, no database: the services build it from the NonWorkingDay table, and the engine, the
tests and the benchmarks can build one from any set of dates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from resolve.calendars.types import Nation

# The years seeded from the bank-holiday source. A due date outside them cannot be trusted (future
# bank holidays are unknown, past closure days unrecorded), so the calendar refuses instead of guessing.
FIRST_YEAR = 2000
LAST_YEAR = 2060


class CalendarRangeError(ValueError):
    """A date, or the working day asked for, falls outside the years the calendar knows."""


class WorkingCalendar:
    """Working days of one nation: Monday to Friday less its bank holidays and closure days.

    Built once from the non-working days of a fixed range of dates into two arrays:

    - ``_working``: every working day in the range, in order (``_working[k]`` is the (k+1)-th);
    - ``_rank``: for each day of the range (indexed by ordinal - first ordinal), how many working
      days fall on or before it.

    The days-th working day strictly after ``start`` is then ``_working[_rank[start] + days - 1]``:
    two list indexings whatever ``days`` is, and the same rule serves a start on a weekend or a bank
    holiday (its rank counts only the working days before it, so the next working day is day 1).
    """

    __slots__ = ("_first", "_last", "_last_ordinal", "_origin", "_rank", "_working", "nation")

    def __init__(
        self,
        nation: Nation,
        non_working_days: Iterable[dt.date],
        *,
        first: dt.date = dt.date(FIRST_YEAR, 1, 1),
        last: dt.date = dt.date(LAST_YEAR, 12, 31),
    ) -> None:
        if last < first:
            raise ValueError(f"The calendar's last day {last} is before its first day {first}.")
        self.nation = nation
        self._first = first
        self._last = last
        self._origin = first.toordinal()
        self._last_ordinal = last.toordinal()
        closed = {day.toordinal() for day in non_working_days}
        working: list[dt.date] = []
        rank: list[int] = []
        for ordinal in range(self._origin, self._last_ordinal + 1):
            # date.fromordinal(1) is a Monday, so ordinal % 7 is 6 on Saturdays and 0 on Sundays.
            if ordinal % 7 not in (0, 6) and ordinal not in closed:
                working.append(dt.date.fromordinal(ordinal))
            rank.append(len(working))
        self._working = working
        self._rank = rank

    @property
    def first(self) -> dt.date:
        return self._first

    @property
    def last(self) -> dt.date:
        return self._last

    def __repr__(self) -> str:
        return f"<WorkingCalendar {self.nation.value} {self._first}..{self._last}>"

    def _index(self, day: dt.date) -> int:
        index = day.toordinal() - self._origin
        if index < 0 or day.toordinal() > self._last_ordinal:
            raise CalendarRangeError(
                f"{day.isoformat()} is outside the working-day calendar, which covers "
                f"{self._first.isoformat()} to {self._last.isoformat()}."
            )
        return index

    def add_working_days(self, start: dt.date, days: int) -> dt.date:
        """The ``days``-th working day strictly after ``start``; ``days=0`` gives ``start`` itself.

        A start on a non-working day counts its next working day as day 1 (from Saturday, Monday is
        day 1). Raises ValueError for negative ``days`` and CalendarRangeError when ``start`` or the
        answer falls outside the calendar's range.
        """
        if days < 0:
            raise ValueError(f"days must be zero or more (got {days}); count forwards from an earlier date.")
        index = start.toordinal() - self._origin
        if index < 0 or index >= len(self._rank):
            self._index(start)  # raises CalendarRangeError with the message
        if days == 0:
            return start
        position = self._rank[index] + days - 1
        if position >= len(self._working):
            raise CalendarRangeError(
                f"{days} working days after {start.isoformat()} falls after {self._last.isoformat()}, "
                f"the end of the working-day calendar, which covers {self._first.isoformat()} to "
                f"{self._last.isoformat()}."
            )
        return self._working[position]

    def is_working_day(self, day: dt.date) -> bool:
        index = self._index(day)
        previous = self._rank[index - 1] if index else 0
        return self._rank[index] != previous

    def last_working_day_on_or_before(self, day: dt.date) -> dt.date:
        """``day`` itself when it is a working day, else the working day before it."""
        rank = self._rank[self._index(day)]
        if rank == 0:
            raise CalendarRangeError(f"No working day on or before {day.isoformat()} is in the calendar.")
        return self._working[rank - 1]

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """How many working days fall in (start, end]; negative (minus those in (end, start]) when end
        is before start, so that ``working_days_between(a, b) == -working_days_between(b, a)``."""
        return self._rank[self._index(end)] - self._rank[self._index(start)]
