from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from resolve.calendars.services import working_calendar_cache_clear
from resolve.calendars.types import Nation

GOVUK_FILE = Path(__file__).resolve().parents[3] / "tests" / "data" / "govuk-bank-holidays.json"
GOVUK_FIRST = dt.date(2018, 1, 1)
GOVUK_LAST = dt.date(2028, 12, 31)


def govuk_bank_holidays() -> dict[Nation, frozenset[dt.date]]:
    """GOV.UK's bank holidays for 2018-2028, by nation (division names are our Nation values)."""
    data = json.loads(GOVUK_FILE.read_text(encoding="utf-8"))
    return {
        nation: frozenset(
            day
            for event in data[nation.value]["events"]
            if GOVUK_FIRST <= (day := dt.date.fromisoformat(event["date"])) <= GOVUK_LAST
        )
        for nation in Nation
    }


@pytest.fixture(scope="session")
def govuk() -> dict[Nation, frozenset[dt.date]]:
    return govuk_bank_holidays()


@pytest.fixture(autouse=True)
def _fresh_calendar_cache() -> Iterator[None]:
    # A test's rows vanish with its rolled-back transaction, which sends no signal; don't let a
    # calendar built from them leak into the next test.
    working_calendar_cache_clear()
    yield
    working_calendar_cache_clear()
