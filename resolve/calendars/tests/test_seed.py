from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, transaction

from resolve.calendars.models import NonWorkingDay
from resolve.calendars.services import SeedResult, calendar_seed, working_calendar
from resolve.calendars.types import Nation

pytestmark = pytest.mark.django_db

EW = Nation.ENGLAND_AND_WALES
CHRISTMAS_2026 = dt.date(2026, 12, 25)


def test_migrate_seeded_every_nation_for_the_whole_range() -> None:
    for nation in Nation:
        years = set(
            NonWorkingDay.objects.filter(nation=nation.value, kind=NonWorkingDay.Kind.BANK_HOLIDAY).dates(
                "date", "year"
            )
        )
        assert {day.year for day in years} == set(range(2000, 2061))
    # No weekend dates: GOV.UK lists the substitute weekday only.
    assert not [row for row in NonWorkingDay.objects.all() if row.date.weekday() >= 5]


def test_seeding_again_changes_nothing() -> None:
    before = sorted(NonWorkingDay.objects.values_list("nation", "date", "name", "kind"))
    assert calendar_seed() == SeedResult()
    assert sorted(NonWorkingDay.objects.values_list("nation", "date", "name", "kind")) == before


def test_seeding_restores_missing_and_stale_bank_holidays_but_never_touches_closures() -> None:
    NonWorkingDay.objects.filter(nation=EW.value, date=CHRISTMAS_2026).delete()
    NonWorkingDay.objects.filter(nation=EW.value, date=dt.date(2026, 12, 28)).update(name="Wrong name")
    NonWorkingDay.objects.create(
        nation=EW.value,
        date=dt.date(2026, 12, 29),
        name="Not a bank holiday",
        kind=NonWorkingDay.Kind.BANK_HOLIDAY,
    )
    # An administrator's closure on a bank holiday's date, and one on an ordinary day.
    NonWorkingDay.objects.filter(nation=Nation.SCOTLAND.value, date=CHRISTMAS_2026).update(
        kind=NonWorkingDay.Kind.CLOSURE, name="Office closed"
    )
    NonWorkingDay.objects.create(
        nation=EW.value, date=dt.date(2026, 12, 30), name="Christmas closure", kind=NonWorkingDay.Kind.CLOSURE
    )

    assert calendar_seed() == SeedResult(created=1, renamed=1, deleted=1, under_closure=1)

    assert (
        NonWorkingDay.objects.get(nation=EW.value, date=CHRISTMAS_2026).kind
        == NonWorkingDay.Kind.BANK_HOLIDAY
    )
    assert NonWorkingDay.objects.get(nation=EW.value, date=dt.date(2026, 12, 28)).name != "Wrong name"
    assert not NonWorkingDay.objects.filter(nation=EW.value, date=dt.date(2026, 12, 29)).exists()
    scottish = NonWorkingDay.objects.get(nation=Nation.SCOTLAND.value, date=CHRISTMAS_2026)
    assert (scottish.kind, scottish.name) == (NonWorkingDay.Kind.CLOSURE, "Office closed")
    assert NonWorkingDay.objects.get(nation=EW.value, date=dt.date(2026, 12, 30)).name == "Christmas closure"
    assert not working_calendar(EW).is_working_day(dt.date(2026, 12, 30))
    assert calendar_seed() == SeedResult(under_closure=1)


def test_seed_calendar_command_reports_what_it_did() -> None:
    NonWorkingDay.objects.filter(nation=EW.value, date=CHRISTMAS_2026).delete()
    out = StringIO()
    call_command("seed_calendar", stdout=out)
    assert "1 created, 0 renamed, 0 deleted" in out.getvalue()
    assert not working_calendar(EW).is_working_day(CHRISTMAS_2026)


def test_one_row_per_nation_and_date() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        NonWorkingDay.objects.create(nation=EW.value, date=CHRISTMAS_2026, name="Again")


def test_closure_days_outside_the_calendar_are_refused_by_validation() -> None:
    closure = NonWorkingDay(nation=EW.value, date=dt.date(2061, 1, 3), name="Too late")
    with pytest.raises(ValidationError, match="2000 to 2060"):
        closure.full_clean()
    NonWorkingDay(nation=EW.value, date=dt.date(2026, 1, 2), name="Closure").full_clean()
