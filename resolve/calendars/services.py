"""Seeding the non-working days and serving each nation's working-day calendar.

Why our own table instead of asking the ``holidays`` package at each due date: administrators add
their authority's closure days, which no package knows; the table is the one place both kinds live,
so every process counts the same days; and a calendar built once from it answers by lookup.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import holidays
from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models import Count, Max

from resolve.calendars.models import NonWorkingDay
from resolve.calendars.types import Nation
from resolve.calendars.workingdays import FIRST_YEAR, LAST_YEAR, CalendarRangeError, WorkingCalendar

__all__ = [
    "CALENDAR_FIRST_DAY",
    "CALENDAR_LAST_DAY",
    "CalendarRangeError",
    "SeedResult",
    "WorkingCalendar",
    "bank_holidays",
    "calendar_seed",
    "working_calendar",
    "working_calendar_cache_clear",
]

logger = logging.getLogger(__name__)

CALENDAR_FIRST_DAY = dt.date(FIRST_YEAR, 1, 1)
CALENDAR_LAST_DAY = dt.date(LAST_YEAR, 12, 31)

# GOV.UK's divisions map onto the holidays package's subdivisions; Wales shares England's days.
_SUBDIVISION = {
    Nation.ENGLAND_AND_WALES: "ENG",
    Nation.SCOTLAND: "SCT",
    Nation.NORTHERN_IRELAND: "NIR",
}

# How stale a process's calendar may be after another process changes the table. Within a process,
# saves and deletes clear the cache at once (signals); this bounds the rest (other workers, bulk
# writes that send no signals, a rolled-back transaction whose rows the cache had seen).
FINGERPRINT_RECHECK_SECONDS = 5.0


def bank_holidays(*, nation: Nation, years: range) -> dict[dt.date, str]:
    """The weekday bank holidays of ``nation`` in ``years``, as GOV.UK lists them.

    The package also lists a holiday on its calendar date when that is a weekend (Boxing Day on a
    Saturday beside "Boxing Day (observed)" on the Monday). GOV.UK lists only the day off, and a
    weekend is never a working day anyway, so weekend dates are dropped. For 2018 to 2028 the result
    equals GOV.UK's published list, which ``tests/test_govuk_agreement.py`` checks.
    """
    source = holidays.country_holidays("GB", subdiv=_SUBDIVISION[nation], years=years)
    return {day: str(name) for day, name in sorted(source.items()) if day.weekday() < 5}


@dataclass(frozen=True)
class SeedResult:
    created: int = 0
    renamed: int = 0
    deleted: int = 0
    # Bank holidays already covered by an administrator's closure day on the same date.
    under_closure: int = 0


def calendar_seed(*, using: str = DEFAULT_DB_ALIAS) -> SeedResult:
    """Bring the table's bank holidays for FIRST_YEAR..LAST_YEAR in line with the source. Idempotent.

    Creates missing bank holidays, renames changed ones and deletes bank-holiday rows the source no
    longer lists (a corrected date). Closure days are never changed or removed; a bank holiday that
    falls on a closure day is left to the closure (the day is non-working either way).
    """
    years = range(FIRST_YEAR, LAST_YEAR + 1)
    with transaction.atomic(using=using):
        rows = NonWorkingDay.objects.using(using).filter(date__range=(CALENDAR_FIRST_DAY, CALENDAR_LAST_DAY))
        existing = {(row.nation, row.date): row for row in rows.select_for_update()}
        wanted: set[tuple[str, dt.date]] = set()
        to_create: list[NonWorkingDay] = []
        to_rename: list[NonWorkingDay] = []
        under_closure = 0
        for nation in Nation:
            for day, name in bank_holidays(nation=nation, years=years).items():
                key = (nation.value, day)
                wanted.add(key)
                row = existing.get(key)
                if row is None:
                    to_create.append(
                        NonWorkingDay(
                            nation=nation.value, date=day, name=name, kind=NonWorkingDay.Kind.BANK_HOLIDAY
                        )
                    )
                elif row.kind == NonWorkingDay.Kind.CLOSURE:
                    under_closure += 1
                elif row.name != name:
                    row.name = name
                    to_rename.append(row)
        stale = [
            row.pk
            for key, row in existing.items()
            if row.kind == NonWorkingDay.Kind.BANK_HOLIDAY and key not in wanted
        ]
        NonWorkingDay.objects.using(using).bulk_create(to_create, batch_size=500)
        NonWorkingDay.objects.using(using).bulk_update(to_rename, ["name", "updated_at"], batch_size=500)
        deleted = NonWorkingDay.objects.using(using).filter(pk__in=stale).delete()[0] if stale else 0
        # Bulk writes send no save signals; clear now for this transaction and again once committed.
        working_calendar_cache_clear()
        transaction.on_commit(working_calendar_cache_clear, using=using)
    return SeedResult(
        created=len(to_create), renamed=len(to_rename), deleted=deleted, under_closure=under_closure
    )


@dataclass
class _CalendarCache:
    calendars: dict[Nation, WorkingCalendar] = field(default_factory=dict)
    fingerprint: tuple[int, int | None, dt.datetime | None] | None = None
    checked_at: float = -math.inf


_cache = _CalendarCache()
_lock = threading.Lock()
# A seam for the tests: the cross-process recheck is driven by this clock.
_clock: Callable[[], float] = time.monotonic


def _table_fingerprint() -> tuple[int, int | None, dt.datetime | None]:
    """Cheap to read, and changes on any insert (max id), delete (count) or edit (max updated_at)."""
    summary = NonWorkingDay.objects.aggregate(
        rows=Count("id"), last_id=Max("id"), last_edit=Max("updated_at")
    )
    return (summary["rows"], summary["last_id"], summary["last_edit"])


def _calendar_build(nation: Nation) -> WorkingCalendar:
    rows = NonWorkingDay.objects.filter(
        nation=nation.value, date__range=(CALENDAR_FIRST_DAY, CALENDAR_LAST_DAY)
    ).values_list("date", "kind")
    days: list[dt.date] = []
    has_bank_holidays = False
    for day, kind in rows:
        days.append(day)
        has_bank_holidays = has_bank_holidays or kind == NonWorkingDay.Kind.BANK_HOLIDAY
    if not has_bank_holidays:
        # Counting without bank holidays gives due dates that are silently early; say so loudly.
        logger.error(
            "No bank holidays for %s in the calendar table: run `manage.py seed_calendar`.", nation.value
        )
    return WorkingCalendar(Nation(nation), days, first=CALENDAR_FIRST_DAY, last=CALENDAR_LAST_DAY)


def working_calendar(nation: Nation) -> WorkingCalendar:
    """The working-day calendar of ``nation``, built from the table and cached in this process.

    The cache is cleared at once when a NonWorkingDay is saved or deleted in this process, and is
    rebuilt when the table's fingerprint has changed, checked at most every
    FINGERPRINT_RECHECK_SECONDS, so other processes' changes are seen within that delay.
    """
    now = _clock()
    calendar = _cache.calendars.get(nation)
    if calendar is not None and now - _cache.checked_at < FINGERPRINT_RECHECK_SECONDS:
        return calendar
    with _lock:
        if now - _cache.checked_at >= FINGERPRINT_RECHECK_SECONDS:
            # Read the fingerprint before the rows: a change in between only costs a needless rebuild.
            fingerprint = _table_fingerprint()
            if fingerprint != _cache.fingerprint:
                _cache.calendars.clear()
                _cache.fingerprint = fingerprint
            _cache.checked_at = now
        calendar = _cache.calendars.get(nation)
        if calendar is None:
            calendar = _calendar_build(nation)
            _cache.calendars[nation] = calendar
        return calendar


def working_calendar_cache_clear() -> None:
    """Forget every cached calendar; the next call re-reads the fingerprint and the table."""
    with _lock:
        _cache.calendars.clear()
        _cache.fingerprint = None
        _cache.checked_at = -math.inf
