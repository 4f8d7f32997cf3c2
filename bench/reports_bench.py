"""The reports dashboard's figures for a financial year against plain SQL ``GROUP BY`` queries that
compute the figures SQL can express (raised by track, status, stage reached, stage resolved at,
responses on time or late by stage, themes, teams), timed side by side in the same run.

The baseline is the spreadsheet-style count a warehouse would run: it reads the challenge rows'
current status and the events' own ``on_time`` flags, so it cannot say "as at the end of the period",
"missing", the working days taken (median, 90th percentile) or past the cap, which the report works
out from the events with the working-day calendar. The ratio is what that costs.

``CHALLENGES`` challenges are bulk-created with their events (raised over two years across every
stage of a procedure, about half answered on time or late, escalated, resolved, re-opened or
withdrawn), for an authority-wide reader. Events are bulk-inserted without their evidence seals,
which the reports never read. 1,000,000 challenges (issue 12's target, on PostgreSQL) would take
this script about an hour to build through bulk_create and several GB of memory on SQLite in memory;
run it against PostgreSQL with ``scripts/with_postgres.py`` and a ``load_bulk``-style loader instead.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import time
from typing import Any

from django.db import connection

from resolve.calendars.services import working_calendar
from resolve.calendars.types import Nation
from resolve.challenges.events import EventType
from resolve.challenges.models import Challenge, Event
from resolve.children.models import Child
from resolve.people.demo import authority_build
from resolve.procedures.selectors import procedure_get, procedure_version_model
from resolve.reports.periods import financial_year
from resolve.reports.selectors import ReportFilters, report_for

CHALLENGES = int(os.environ.get("REPORTS_BENCH_CHALLENGES", "10000"))
SEED = 20_260_401
TODAY = dt.date(2026, 6, 1)
YEAR = financial_year(2025)
REPEATS = 3
THEMES = ["voice_of_child", "drift_delay_planning", "management_oversight", "placement", "safeguarding"]

# The challenges raised in the year (%s and %s: its first and last days), kept in a temporary table
# for the queries after it, which count the figures SQL can by itself.
COHORT_SQL = (
    "CREATE TEMPORARY TABLE cohort AS SELECT challenge_id FROM challenges_event "
    "WHERE type = 'raised' AND \"on\" BETWEEN %s AND %s"
)
PLAIN_SQL = [
    "SELECT c.track, COUNT(*) FROM challenges_challenge c "
    "WHERE c.id IN (SELECT challenge_id FROM cohort) GROUP BY c.track",
    "SELECT c.status, COUNT(*) FROM challenges_challenge c "
    "WHERE c.id IN (SELECT challenge_id FROM cohort) GROUP BY c.status",
    "SELECT e.stage_key, COUNT(DISTINCT e.challenge_id) FROM challenges_event e "
    "WHERE e.type IN ('raised', 'escalated', 'reopened') "
    "AND e.challenge_id IN (SELECT challenge_id FROM cohort) GROUP BY e.stage_key",
    "SELECT e.stage_key, e.type, COUNT(*) FROM challenges_event e "
    "WHERE e.type IN ('resolved', 'withdrawn') "
    "AND e.challenge_id IN (SELECT challenge_id FROM cohort) GROUP BY e.stage_key, e.type",
    "SELECT e.stage_key, {on_time}, COUNT(*) FROM challenges_event e "
    "WHERE e.type = 'response_recorded' AND e.challenge_id IN (SELECT challenge_id FROM cohort) "
    "GROUP BY 1, 2",
    "SELECT t.value, COUNT(*) FROM challenges_event e, {themes} "
    "WHERE e.type = 'raised' AND e.challenge_id IN (SELECT challenge_id FROM cohort) GROUP BY t.value",
    "SELECT ch.team_id, COUNT(*) FROM challenges_challenge c "
    "JOIN children_child ch ON ch.id = c.child_id "
    "WHERE c.id IN (SELECT challenge_id FROM cohort) GROUP BY ch.team_id",
]


# The JSON parts, in each database's words.
JSON_SQL = {
    "sqlite": {
        "on_time": "json_extract(e.detail, '$.on_time')",
        "themes": "json_each(e.detail, '$.themes') AS t",
    },
    "postgresql": {
        "on_time": "e.detail->>'on_time'",
        "themes": "jsonb_array_elements_text(e.detail->'themes') AS t(value)",
    },
}


def _populate() -> Any:
    authority = authority_build(password=None)
    staff = authority.staff
    version = procedure_get(key="challenge_and_resolution")
    procedure = procedure_version_model(version)
    calendar = working_calendar(Nation(procedure.nation))
    teams = [authority.teams["social_work"], authority.teams["second"]]
    children = Child.objects.bulk_create(
        Child(
            case_number=f"LCS{700000 + index}",
            first_name="Child",
            last_name=str(index),
            date_of_birth=dt.date(2012, 1, 1),
            social_worker_id=staff["social_worker"].pk,
            team=teams[index % 2],
            iro_id=staff["iro"].pk,
            cp_chair_id=staff["cp_chair"].pk,
        )
        for index in range(max(CHALLENGES // 3, 1))
    )
    rng = random.Random(SEED)
    stages = procedure.stages
    plans: list[tuple[Challenge, list[tuple[str, str, dt.date, dict[str, Any]]]]] = []
    events: list[tuple[str, str, dt.date, dict[str, Any]]]
    for index in range(CHALLENGES):
        day = dt.date(2024, 4, 1) + dt.timedelta(days=rng.randint(0, 760))
        at = rng.choice([0, 0, 0, 1, 2])
        themes = rng.sample(THEMES, rng.randint(1, 2))

        def due(on: dt.date, stage_index: int) -> str | None:
            days = stages[stage_index].response_working_days
            return calendar.add_working_days(on, days).isoformat() if days else None

        events = [("raised", stages[at].key, day, {"themes": themes, "due_on": due(day, at)})]
        status = "open"
        for _ in range(rng.randint(0, 4)):
            day += dt.timedelta(days=rng.randint(1, 12))
            move = rng.random()
            if status == "open" and move < 0.45:
                events.append(("response_recorded", stages[at].key, day, {"on_time": rng.random() < 0.6}))
            elif status == "open" and move < 0.7 and at + 1 < len(stages):
                at += 1
                target = stages[at].key
                events.append(("escalated", target, day, {"to_stage": target, "due_on": due(day, at)}))
            elif status == "open" and move < 0.9:
                status = "resolved"
                events.append(
                    ("resolved", stages[at].key, day, {"outcome": "Done", "learning_points": "Learn"})
                )
            elif status == "open":
                status = "withdrawn"
                events.append(("withdrawn", stages[at].key, day, {"reason": "Moved"}))
            elif status == "resolved" and move < 0.1:
                status = "open"
                target = stages[at].reentry_stage or stages[at].key
                at = [s.key for s in stages].index(target)
                events.append(("reopened", target, day, {"reentry_stage": target, "due_on": due(day, at)}))
        challenge = Challenge(
            child=children[index % len(children)],
            track="iro" if rng.random() < 0.7 else "cpc",
            policy=version,
            status=status,
            raised_by_id=staff["iro"].pk,
            raised_on=events[0][2],
            concern="Bench",
            impact_on_child="Bench",
            themes=themes,
            stage_key=stages[at].key if status == "open" else "",
            last_event_on=events[-1][2],
        )
        plans.append((challenge, events))
    made = Challenge.objects.bulk_create([challenge for challenge, _ in plans], batch_size=5000)
    rows = [
        Event(challenge_id=challenge.pk, sequence=sequence, type=type_, stage_key=stage, on=on, detail=detail)
        for challenge, (_, events) in zip(made, plans, strict=True)
        for sequence, (type_, stage, on, detail) in enumerate(events, start=1)
    ]
    Event.objects.bulk_create(rows, batch_size=5000)
    return staff["iro_service_manager"]


def _best(function: Any) -> tuple[float, Any]:
    best, value = float("inf"), None
    for _ in range(REPEATS):
        started = time.perf_counter()
        value = function()
        best = min(best, time.perf_counter() - started)
    return best, value


def run() -> None:
    started = time.perf_counter()
    reader = _populate()
    print(
        f"Created {Challenge.objects.count():,} challenges and {Event.objects.count():,} events "
        f"in {time.perf_counter() - started:.1f} s"
    )
    assert EventType.RAISED.value == "raised"

    def dashboard() -> int:
        report = report_for(user=reader, period=YEAR, filters=ReportFilters(), today=TODAY)
        return report.count("raised")

    def plain() -> int:
        bounds = [YEAR.start.isoformat(), YEAR.end.isoformat()]
        with connection.cursor() as cursor:
            cursor.execute(COHORT_SQL, bounds)
            counts = []
            words = JSON_SQL[connection.vendor]
            for sql in PLAIN_SQL:
                cursor.execute(sql.format(**words))
                counts.append(cursor.fetchall())
            cursor.execute("DROP TABLE cohort")
        return sum(count for _, count in counts[0])

    report_time, raised = _best(dashboard)
    sql_time, sql_raised = _best(plain)
    assert raised == sql_raised, f"both must count the same challenges ({raised} and {sql_raised})"
    print(
        f"Financial year {YEAR.label}: {raised:,} challenges raised (best of {REPEATS}, {connection.vendor})"
    )
    print(f"  report figures from the events (report_for): {report_time * 1000:9.1f} ms")
    print(f"  plain SQL GROUP BY queries ({len(PLAIN_SQL)}):              {sql_time * 1000:9.1f} ms")
    print(f"  ratio report / plain SQL:                    {report_time / sql_time:9.2f}")
