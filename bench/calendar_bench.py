"""Due dates: our WorkingCalendar against numpy.busday_offset and workalendar, per scalar call.

Every method gets the same 100,000 (start, days) pairs (starts 2018-2028, days 0-30, fixed seed).
Each is checked against GOV.UK's published bank holidays (tests/data/govuk-bank-holidays.json, by a
day-by-day walk) for the pairs whose answer falls in 2018-2028, and against ours for every pair.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import cast

import numpy as np
from workalendar.core import Calendar
from workalendar.europe import Scotland, UnitedKingdom, UnitedKingdomNorthernIreland

from resolve.calendars.models import NonWorkingDay
from resolve.calendars.selectors import add_working_days
from resolve.calendars.services import working_calendar
from resolve.calendars.types import Nation

PAIRS = 100_000
SEED = 20_260_101
FIRST = dt.date(2018, 1, 1)
LAST = dt.date(2028, 12, 31)
MAX_DAYS = 30
# Our method is quick enough that timer noise matters: take the best of a few runs.
OUR_REPEATS = 5
GOVUK_FILE = Path(__file__).resolve().parent.parent / "tests" / "data" / "govuk-bank-holidays.json"
WORKALENDAR: dict[Nation, type[Calendar]] = {
    Nation.ENGLAND_AND_WALES: UnitedKingdom,
    Nation.SCOTLAND: Scotland,
    Nation.NORTHERN_IRELAND: UnitedKingdomNorthernIreland,
}

Pair = tuple[dt.date, int]
AddFunction = Callable[[dt.date, int], dt.date]


def make_pairs() -> list[Pair]:
    rng = random.Random(SEED)
    span = (LAST - FIRST).days
    return [(FIRST + dt.timedelta(days=rng.randint(0, span)), rng.randint(0, MAX_DAYS)) for _ in range(PAIRS)]


def govuk_bank_holidays() -> dict[Nation, frozenset[dt.date]]:
    data = json.loads(GOVUK_FILE.read_text(encoding="utf-8"))
    return {
        nation: frozenset(dt.date.fromisoformat(event["date"]) for event in data[nation.value]["events"])
        for nation in Nation
    }


def walk(start: dt.date, days: int, closed: frozenset[dt.date]) -> dt.date:
    day, counted = start, 0
    while counted < days:
        day += dt.timedelta(days=1)
        if day.weekday() < 5 and day not in closed:
            counted += 1
    return day


Timing = tuple[list[dt.date], float, float]


def timed(function: AddFunction, pairs: Sequence[Pair], repeats: int = 1) -> Timing:
    """Results, and the best CPU time and wall time per call in nanoseconds (loop overhead included,
    the same for every method). CPU time is the one compared: on a shared machine wall time also
    counts other people's work."""
    best_cpu = best_wall = float("inf")
    results: list[dt.date] = []
    for _ in range(repeats):
        cpu, wall = time.process_time_ns(), time.perf_counter_ns()
        results = [function(start, days) for start, days in pairs]
        best_cpu = min(best_cpu, (time.process_time_ns() - cpu) / len(pairs))
        best_wall = min(best_wall, (time.perf_counter_ns() - wall) / len(pairs))
    return results, best_cpu, best_wall


def numpy_methods(closed: Sequence[dt.date]) -> dict[str, AddFunction]:
    """numpy with our non-working days. busday_offset(roll='forward') moves a non-working start to the
    next working day and then counts from it, so that day would be day 0, where ours makes it day 1:
    for such a start, offset by days - 1. days=0 returns the start itself, as ours does."""
    holidays = np.array(sorted(closed), dtype="datetime64[D]")
    calendar = np.busdaycalendar(holidays=holidays)

    def with_holidays(start: dt.date, days: int) -> dt.date:
        if days == 0:
            return start
        day = np.datetime64(start, "D")
        offset = days if np.is_busday(day, holidays=holidays) else days - 1
        result = cast(dt.date, np.busday_offset(day, offset, roll="forward", holidays=holidays).item())
        return result

    def with_busdaycal(start: dt.date, days: int) -> dt.date:
        if days == 0:
            return start
        day = np.datetime64(start, "D")
        offset = days if np.is_busday(day, busdaycal=calendar) else days - 1
        result = cast(dt.date, np.busday_offset(day, offset, roll="forward", busdaycal=calendar).item())
        return result

    def backward_one_call(start: dt.date, days: int) -> dt.date:
        # Rolling a non-working start back to the previous working day gives our count in one call.
        if days == 0:
            return start
        day = np.datetime64(start, "D")
        return cast(dt.date, np.busday_offset(day, days, roll="backward", busdaycal=calendar).item())

    return {
        "numpy busday_offset(holidays=, roll='forward')": with_holidays,
        "numpy busday_offset(busdaycal=, roll='forward')": with_busdaycal,
        "numpy busday_offset(busdaycal=, roll='backward')": backward_one_call,
    }


def report_nation(nation: Nation, pairs: list[Pair], govuk: frozenset[dt.date]) -> str:
    expected = [walk(start, days, govuk) for start, days in pairs]
    comparable = [index for index, day in enumerate(expected) if day <= LAST]

    calendar = working_calendar(nation)
    ours, ours_cpu, ours_wall = timed(calendar.add_working_days, pairs, OUR_REPEATS)

    def through_selector(start: dt.date, days: int) -> dt.date:
        return add_working_days(start=start, days=days, nation=nation)

    # numpy gets exactly our non-working days, limited to the years the pairs can reach (a longer
    # list only slows its holidays= variant down).
    closed_ours = list(
        NonWorkingDay.objects.filter(
            nation=nation.value, date__range=(dt.date(2017, 1, 1), dt.date(2029, 12, 31))
        ).values_list("date", flat=True)
    )
    methods: dict[str, AddFunction] = {"ours: selectors.add_working_days (+cache check)": through_selector}
    methods |= numpy_methods(closed_ours)
    workalendar_name = f"workalendar {WORKALENDAR[nation].__name__}"

    rows = [("ours: WorkingCalendar.add_working_days", ours, ours_cpu, ours_wall)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # workalendar warns that its Scotland is "highly experimental"
        methods[workalendar_name] = WORKALENDAR[nation]().add_working_days
        for name, function in methods.items():
            rows.append((name, *timed(function, pairs)))

    print(f"\n{nation.value}: {len(comparable):,} of the pairs answer within 2018-2028 (checked with GOV.UK)")
    print(
        f"  {'method':<50} {'cpu ns/call':>12} {'wall ns/call':>13} {'ours x faster':>14}"
        f" {'wrong vs GOV.UK':>16} {'differ from ours':>17}"
    )
    cpu = {}
    for name, results, cpu_ns, wall_ns in rows:
        cpu[name] = cpu_ns
        wrong = sum(1 for index in comparable if results[index] != expected[index])
        differ = sum(1 for got, our in zip(results, ours, strict=True) if got != our)
        print(
            f"  {name:<50} {cpu_ns:>12,.0f} {wall_ns:>13,.0f} {cpu_ns / ours_cpu:>14.1f}"
            f" {wrong:>16,} {differ:>17,}"
        )
    numpy_best = min(ns for name, ns in cpu.items() if name.startswith("numpy"))
    numpy_asked = cpu["numpy busday_offset(holidays=, roll='forward')"]
    numpy_met = "met" if ours_cpu <= numpy_best else "NOT met"
    workalendar_met = "met" if cpu[workalendar_name] >= 50 * ours_cpu else "NOT met"
    return (
        f"  {nation.value:<18} ours {ours_cpu:,.0f} ns; {numpy_asked / ours_cpu:.1f}x numpy holidays=, "
        f"{numpy_best / ours_cpu:.1f}x fastest numpy ({numpy_met}); "
        f"{cpu[workalendar_name] / ours_cpu:.0f}x workalendar ({workalendar_met})"
    )


def run() -> None:
    pairs = make_pairs()
    govuk = govuk_bank_holidays()
    print(
        f"{PAIRS:,} (start, days) pairs: starts {FIRST}..{LAST}, days 0..{MAX_DAYS}, seed {SEED}. "
        f"Per call; best of {OUR_REPEATS} runs for ours, one run for the others; ratios on CPU time."
    )
    summary = [report_nation(nation, pairs, govuk[nation]) for nation in Nation]
    print("\nTargets: at least as fast as numpy, at least 50x faster than workalendar")
    print("\n".join(summary))
