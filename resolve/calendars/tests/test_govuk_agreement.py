"""The seeded calendar agrees with GOV.UK's published bank holidays for 2018-2028, in every nation."""

from __future__ import annotations

import datetime as dt

import pytest

from resolve.calendars.models import NonWorkingDay
from resolve.calendars.services import working_calendar
from resolve.calendars.tests.conftest import GOVUK_FIRST, GOVUK_LAST
from resolve.calendars.types import Nation

pytestmark = pytest.mark.django_db

ONE_DAY = dt.timedelta(days=1)


def every_day(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def naive_working(day: dt.date, bank_holidays: frozenset[dt.date]) -> bool:
    return day.weekday() < 5 and day not in bank_holidays


def naive_add(start: dt.date, days: int, bank_holidays: frozenset[dt.date]) -> dt.date:
    """The obvious day-by-day walk, as a person counts on a wall calendar."""
    day, counted = start, 0
    while counted < days:
        day += ONE_DAY
        if naive_working(day, bank_holidays):
            counted += 1
    return day


@pytest.mark.parametrize("nation", list(Nation))
def test_seeded_bank_holidays_are_govuks(nation: Nation, govuk: dict[Nation, frozenset[dt.date]]) -> None:
    seeded = set(
        NonWorkingDay.objects.filter(
            nation=nation.value, kind=NonWorkingDay.Kind.BANK_HOLIDAY, date__range=(GOVUK_FIRST, GOVUK_LAST)
        ).values_list("date", flat=True)
    )
    assert seeded == govuk[nation]


@pytest.mark.parametrize("nation", list(Nation))
def test_is_working_day_matches_govuk_on_every_day(
    nation: Nation, govuk: dict[Nation, frozenset[dt.date]]
) -> None:
    calendar = working_calendar(nation)
    wrong = [
        day
        for day in every_day(GOVUK_FIRST, GOVUK_LAST)
        if calendar.is_working_day(day) != naive_working(day, govuk[nation])
    ]
    assert wrong == []


@pytest.mark.parametrize("nation", list(Nation))
def test_add_working_days_matches_a_walk_over_govuk(
    nation: Nation, govuk: dict[Nation, frozenset[dt.date]]
) -> None:
    calendar = working_calendar(nation)
    checked, wrong = 0, list[tuple[object, ...]]()
    for start in every_day(GOVUK_FIRST - dt.timedelta(days=3), GOVUK_LAST):
        for days in (0, 1, 2, 3, 4, 5, 7, 10, 15, 20, 30):
            expected = naive_add(start, days, govuk[nation])
            if expected > GOVUK_LAST:
                continue  # beyond the published data; nothing to compare with
            checked += 1
            got = calendar.add_working_days(start, days)
            if got != expected:
                wrong.append((start, days, got, expected))
            if calendar.working_days_between(start, expected) != days:
                wrong.append((start, days, "between", calendar.working_days_between(start, expected)))
    assert wrong == []
    assert checked > 40_000


@pytest.mark.parametrize(
    ("nation", "day"),
    [
        (Nation.ENGLAND_AND_WALES, dt.date(2020, 5, 8)),  # Early May bank holiday moved to VE day
        (Nation.SCOTLAND, dt.date(2020, 5, 8)),
        (Nation.NORTHERN_IRELAND, dt.date(2020, 5, 8)),
        (Nation.ENGLAND_AND_WALES, dt.date(2022, 6, 2)),  # Spring bank holiday moved for the Jubilee
        (Nation.ENGLAND_AND_WALES, dt.date(2022, 6, 3)),  # Platinum Jubilee
        (Nation.SCOTLAND, dt.date(2022, 6, 3)),
        (Nation.NORTHERN_IRELAND, dt.date(2022, 9, 19)),  # State Funeral
        (Nation.SCOTLAND, dt.date(2022, 9, 19)),
        (Nation.ENGLAND_AND_WALES, dt.date(2023, 5, 8)),  # Coronation
        (Nation.SCOTLAND, dt.date(2022, 1, 4)),  # 2nd January, substitute
        (Nation.SCOTLAND, dt.date(2024, 12, 2)),  # St Andrew's Day, substitute
        (Nation.SCOTLAND, dt.date(2026, 6, 15)),  # World Cup, Scotland only
        (Nation.NORTHERN_IRELAND, dt.date(2024, 3, 18)),  # St Patrick's Day, substitute
        (Nation.NORTHERN_IRELAND, dt.date(2025, 7, 14)),  # Battle of the Boyne, substitute
    ],
)
def test_one_off_and_national_days_are_not_working_days(nation: Nation, day: dt.date) -> None:
    assert not working_calendar(nation).is_working_day(day)


@pytest.mark.parametrize(
    ("nation", "day"),
    [
        (Nation.ENGLAND_AND_WALES, dt.date(2020, 5, 4)),  # the first Monday of May 2020 was worked
        (Nation.ENGLAND_AND_WALES, dt.date(2022, 5, 30)),  # the last Monday of May 2022 was worked
        (Nation.ENGLAND_AND_WALES, dt.date(2026, 6, 15)),  # the World Cup day is Scotland's only
        (Nation.NORTHERN_IRELAND, dt.date(2026, 6, 15)),
        (Nation.SCOTLAND, dt.date(2026, 4, 6)),  # no Easter Monday in Scotland
        (Nation.SCOTLAND, dt.date(2026, 8, 31)),  # Scotland's summer holiday is in early August
        (Nation.ENGLAND_AND_WALES, dt.date(2026, 8, 3)),
        (Nation.ENGLAND_AND_WALES, dt.date(2026, 3, 17)),  # St Patrick's Day is Northern Ireland's
    ],
)
def test_days_that_are_holidays_elsewhere_are_working_days(nation: Nation, day: dt.date) -> None:
    assert working_calendar(nation).is_working_day(day)
