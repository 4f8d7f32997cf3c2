"""Closure days change due dates at once in this process, and within the recheck delay elsewhere."""

from __future__ import annotations

import datetime as dt

import pytest
from pytest_django import DjangoAssertNumQueries

from resolve.calendars import services
from resolve.calendars.models import NonWorkingDay
from resolve.calendars.selectors import add_working_days
from resolve.calendars.services import working_calendar
from resolve.calendars.types import Nation

pytestmark = pytest.mark.django_db

EW = Nation.ENGLAND_AND_WALES
MONDAY = dt.date(2026, 12, 21)
CLOSURE = dt.date(2026, 12, 29)  # a council's Christmas closure: Tuesday between the holidays


def test_a_closure_day_changes_due_dates_at_once_and_deleting_it_reverts() -> None:
    assert add_working_days(start=MONDAY, days=5, nation=EW) == dt.date(2026, 12, 30)

    closure = NonWorkingDay.objects.create(
        nation=EW.value, date=CLOSURE, name="Christmas closure", kind=NonWorkingDay.Kind.CLOSURE
    )
    assert not working_calendar(EW).is_working_day(CLOSURE)
    assert add_working_days(start=MONDAY, days=5, nation=EW) == dt.date(2026, 12, 31)
    # Other nations are not affected.
    assert add_working_days(start=MONDAY, days=5, nation=Nation.SCOTLAND) == dt.date(2026, 12, 30)

    closure.date = dt.date(2026, 12, 30)
    closure.save()
    assert working_calendar(EW).is_working_day(CLOSURE)
    assert add_working_days(start=MONDAY, days=5, nation=EW) == dt.date(2026, 12, 31)
    assert add_working_days(start=MONDAY, days=4, nation=EW) == dt.date(2026, 12, 29)

    closure.delete()
    assert add_working_days(start=MONDAY, days=5, nation=EW) == dt.date(2026, 12, 30)


def test_other_processes_changes_are_seen_after_the_recheck_delay(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]
    monkeypatch.setattr(services, "_clock", lambda: now[0])
    assert add_working_days(start=MONDAY, days=5, nation=EW) == dt.date(2026, 12, 30)

    # bulk_create sends no signal: as far as this process knows, someone else wrote the row.
    NonWorkingDay.objects.bulk_create(
        [NonWorkingDay(nation=EW.value, date=CLOSURE, name="Closure", kind=NonWorkingDay.Kind.CLOSURE)]
    )
    now[0] += services.FINGERPRINT_RECHECK_SECONDS / 2
    assert add_working_days(start=MONDAY, days=5, nation=EW) == dt.date(2026, 12, 30)  # still cached

    now[0] += services.FINGERPRINT_RECHECK_SECONDS
    assert add_working_days(start=MONDAY, days=5, nation=EW) == dt.date(2026, 12, 31)

    # An edit that keeps the row count and the largest id is seen too (updated_at moves).
    NonWorkingDay.objects.filter(date=CLOSURE, nation=EW.value).update(
        date=dt.date(2026, 12, 30), updated_at=dt.datetime(2099, 1, 1, tzinfo=dt.UTC)
    )
    now[0] += services.FINGERPRINT_RECHECK_SECONDS
    assert add_working_days(start=MONDAY, days=4, nation=EW) == dt.date(2026, 12, 29)


def test_the_calendar_is_built_once_and_reused() -> None:
    working_calendar(EW)
    first = working_calendar(EW)
    assert working_calendar(EW) is first


def test_cached_calls_make_no_queries(django_assert_max_num_queries: DjangoAssertNumQueries) -> None:
    working_calendar(EW)
    with django_assert_max_num_queries(0):
        for _ in range(100):
            add_working_days(start=MONDAY, days=5, nation=EW)
