"""The period a report covers: a financial year (April to March, the default), a quarter of one, a
month, or any span of days; and the shorter periods a trend is shown over."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from resolve.calendars.types import MONTHS
from resolve.core.errors import ServiceError

PeriodKind = Literal["year", "quarter", "month", "custom"]
# A custom period longer than this is refused: reports look back a few years, not decades.
MAX_CUSTOM_DAYS = 5 * 366
FIRST_YEAR, LAST_YEAR = 2000, 2059


@dataclass(frozen=True, slots=True)
class Period:
    kind: PeriodKind
    start: dt.date
    end: dt.date  # inclusive
    label: str

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end

    def query(self) -> dict[str, str]:
        """The query-string parameters that choose this period again (for links and exports)."""
        if self.kind == "year":
            return {"year": str(self.start.year)}
        if self.kind == "quarter":
            return {"year": str(financial_year_of(self.start)), "quarter": str(quarter_of(self.start))}
        if self.kind == "month":
            return {"month": f"{self.start.year:04d}-{self.start.month:02d}"}
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}

    @property
    def slug(self) -> str:
        """The period in a file name: ``2025-26``, ``2025-26-q1``, ``2025-04``, or
        ``2025-04-01-to-2025-06-30``."""
        if self.kind == "year":
            return f"{self.start.year}-{(self.start.year + 1) % 100:02d}"
        if self.kind == "quarter":
            year = financial_year_of(self.start)
            return f"{year}-{(year + 1) % 100:02d}-q{quarter_of(self.start)}"
        if self.kind == "month":
            return f"{self.start.year:04d}-{self.start.month:02d}"
        return f"{self.start.isoformat()}-to-{self.end.isoformat()}"


def financial_year_of(day: dt.date) -> int:
    """The year a financial year starts in: 1 April 2025 to 31 March 2026 is 2025."""
    return day.year if day.month >= 4 else day.year - 1


def quarter_of(day: dt.date) -> int:
    """The quarter of the financial year: April to June is 1, January to March is 4."""
    return (day.month - 4) % 12 // 3 + 1


def _month_end(year: int, month: int) -> dt.date:
    following = dt.date(year + (month == 12), month % 12 + 1, 1)
    return following - dt.timedelta(days=1)


def financial_year(year: int) -> Period:
    return Period("year", dt.date(year, 4, 1), dt.date(year + 1, 3, 31), f"{year} to {year + 1}")


def financial_quarter(year: int, quarter: int) -> Period:
    first_month = 4 + 3 * (quarter - 1)
    start_year = year + (first_month > 12)
    month = (first_month - 1) % 12 + 1
    end = _month_end(start_year, month + 2)
    return Period(
        "quarter",
        dt.date(start_year, month, 1),
        end,
        f"Quarter {quarter} of {year} to {year + 1} "
        f"({MONTHS[month - 1]} to {MONTHS[month + 1]} {start_year})",
    )


def calendar_month(year: int, month: int) -> Period:
    return Period("month", dt.date(year, month, 1), _month_end(year, month), f"{MONTHS[month - 1]} {year}")


def custom(start: dt.date, end: dt.date) -> Period:
    return Period("custom", start, end, f"{start:%-d %B %Y} to {end:%-d %B %Y}")


def _invalid(field: str, message: str) -> ServiceError:
    return ServiceError("invalid", "invalid_period", message, field)


def _year(value: str, field: str) -> int:
    if not value.isdigit() or not FIRST_YEAR <= int(value) <= LAST_YEAR:
        raise _invalid(
            field, f"Enter the year the financial year starts in as four digits, {FIRST_YEAR} to {LAST_YEAR}."
        )
    return int(value)


def _date(value: str, field: str) -> dt.date:
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise _invalid(field, "Enter a real date as YYYY-MM-DD, for example 2025-04-01.") from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise _invalid(field, f"Enter a date from {FIRST_YEAR} to {LAST_YEAR}.")
    return day


def period_parse(params: Mapping[str, str], *, today: dt.date) -> Period:
    """The period chosen by ``year`` (+ ``quarter``), ``month`` (YYYY-MM) or ``from`` and ``to``;
    with none of them, the financial year that ``today`` falls in. Bad values are refused with
    ``ServiceError(invalid)`` naming the parameter."""
    year = (params.get("year") or "").strip()
    quarter = (params.get("quarter") or "").strip()
    month = (params.get("month") or "").strip()
    start, end = (params.get("from") or "").strip(), (params.get("to") or "").strip()
    if start or end:
        if not (start and end):
            raise _invalid(
                "from" if not start else "to", "Enter both the first and the last day of the period."
            )
        first, last = _date(start, "from"), _date(end, "to")
        if last < first:
            raise _invalid("to", "The last day of the period must be on or after its first day.")
        if (last - first).days > MAX_CUSTOM_DAYS:
            raise _invalid("to", "Choose a period of five years or less.")
        return custom(first, last)
    if month:
        parts = month.split("-")
        if len(parts) != 2 or not all(part.isdigit() for part in parts) or not 1 <= int(parts[1]) <= 12:
            raise _invalid("month", "Enter the month as YYYY-MM, for example 2025-04.")
        return calendar_month(_year(parts[0], "month"), int(parts[1]))
    chosen = _year(year, "year") if year else financial_year_of(today)
    if quarter:
        if quarter not in {"1", "2", "3", "4"}:
            raise _invalid("quarter", "Choose quarter 1, 2, 3 or 4 of the financial year.")
        return financial_quarter(chosen, int(quarter))
    return financial_year(chosen)


def sub_periods(period: Period) -> list[Period]:
    """The periods a trend is shown over: quarters of a year, months of anything shorter, and for a
    custom period, its months (its quarters when it is longer than a year)."""
    if period.kind == "year":
        year = financial_year_of(period.start)
        return [financial_quarter(year, quarter) for quarter in (1, 2, 3, 4)]
    months: list[Period] = []
    day = period.start.replace(day=1)
    while day <= period.end:
        months.append(calendar_month(day.year, day.month))
        day = _month_end(day.year, day.month) + dt.timedelta(days=1)
    if len(months) <= 12:
        return [Period("month", max(m.start, period.start), min(m.end, period.end), m.label) for m in months]
    quarters: list[Period] = []
    for month_period in months:
        fy = financial_year_of(month_period.start)
        q = financial_quarter(fy, quarter_of(month_period.start))
        if not quarters or quarters[-1].start != q.start:
            quarters.append(q)
    return [Period("quarter", max(q.start, period.start), min(q.end, period.end), q.label) for q in quarters]
