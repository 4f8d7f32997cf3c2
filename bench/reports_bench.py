"""The reports dashboard for a financial year against plain SQL ``GROUP BY`` queries that compute the
same figures, timed in turns in the same run (issue 12: "within 2x").

**The dashboard** is what ``/reports/`` works out before it renders: ``report_for`` (every figure
from the events, as they stood at the period's end, scoped to the reader, in one query), the names
of teams and people, and every table with the newest outcomes and learning it shows.

**The baseline** is the queries an analyst would write by hand against the same database for the same
tables, one plain ``GROUP BY`` each over the challenges raised in the year: by track, by status, stage
reached, resolved or withdrawn at, responses on time, late and missing by stage with the median and
90th percentile days (``percentile_cont``/``percentile_disc`` on PostgreSQL; SQLite has no
percentiles, so there the baseline takes a plain average and is the cheaper for it), themes, teams,
themes by team, managers' responses, Cafcass referrals, children with more than one challenge, past
the formal limit, and the outcomes and learning (how many, and the newest 50). They read the columns
the write path keeps on the challenge and its stage visits (today's status, the visit's response
date), with no access scoping, no "as at the period's end" and calendar days, not working days: the
same figures in the simplest SQL, which is why they are the yardstick.

Data: by default ``CHALLENGES`` challenges are bulk-created with their events and stage visits (raised
over two years across every stage of a procedure, about half answered on time or late, escalated,
resolved, re-opened or withdrawn). With ``REPORTS_BENCH_EXISTING=1`` the challenges already in the
database are used, as ``manage.py load_bulk`` builds them: whole histories lived through the engine
(responses on time and late, extensions, escalations, resolutions at every stage, re-openings,
withdrawals and Cafcass referrals), so both sides read real histories. For the issue's million on
PostgreSQL (see docs/reports.md for the figures and docs/performance.md for keeping the server's
data between runs)::

    scripts/with_postgres.py -- sh -c '.venv/bin/python manage.py migrate &&
        nice .venv/bin/python manage.py load_bulk 1000000 --today 2026-06-01 &&
        RESOLVE_BENCH_POSTGRES=1 REPORTS_BENCH_EXISTING=1 .venv/bin/python bench/run.py reports'
"""

from __future__ import annotations

import datetime as dt
import os
import random
import time
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection

from resolve.calendars.services import working_calendar
from resolve.calendars.types import Nation
from resolve.challenges.events import EventType
from resolve.challenges.models import Challenge, Event, StageVisit
from resolve.children.models import Child
from resolve.people.demo import authority_build
from resolve.procedures.selectors import procedure_get, procedure_version_model
from resolve.reports.figures import Report
from resolve.reports.periods import financial_year
from resolve.reports.queries import REPORT_WORK_MEM
from resolve.reports.selectors import ReportFilters, report_for, report_names
from resolve.reports.tables import report_tables
from resolve.reports.views import LEARNING_SHOWN

CHALLENGES = int(os.environ.get("REPORTS_BENCH_CHALLENGES", "10000"))
EXISTING = os.environ.get("REPORTS_BENCH_EXISTING") == "1"
SEED = 20_260_401
TODAY = dt.date(2026, 6, 1)
YEAR = financial_year(2025)
REPEATS = 3
THEMES = ["voice_of_child", "drift_delay_planning", "management_oversight", "placement", "safeguarding"]

# The challenges raised in the year (%s and %s: its first and last days), kept in a temporary table
# for the queries after it.
COHORT_SQL = (
    "CREATE TEMPORARY TABLE cohort AS SELECT e.challenge_id, c.child_id, ch.team_id, c.status "
    "FROM challenges_event e JOIN challenges_challenge c ON c.id = e.challenge_id "
    "JOIN children_child ch ON ch.id = c.child_id "
    "WHERE e.type = 'raised' AND e.\"on\" BETWEEN %s AND %s"
)
IN_COHORT = "IN (SELECT challenge_id FROM cohort)"
PLAIN_SQL = [
    (
        "raised by track",
        f"SELECT c.track, COUNT(*) FROM challenges_challenge c WHERE c.id {IN_COHORT} GROUP BY c.track",
    ),
    (
        "status",
        "SELECT status, COUNT(*) FROM cohort GROUP BY status",
    ),
    (
        "stage reached",
        "SELECT e.stage_key, COUNT(DISTINCT e.challenge_id) FROM challenges_event e "
        f"WHERE e.type IN ('raised', 'escalated', 'reopened') AND e.challenge_id {IN_COHORT} "
        "GROUP BY e.stage_key",
    ),
    (
        "resolved or withdrawn at",
        "SELECT e.stage_key, e.type, COUNT(*) FROM challenges_event e "
        f"WHERE e.type IN ('resolved', 'withdrawn') AND e.challenge_id {IN_COHORT} "
        "GROUP BY e.stage_key, e.type",
    ),
    (
        "responses by stage",
        "SELECT v.stage_key, "
        "SUM(CASE WHEN v.responded_on <= v.due_on THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN v.responded_on > v.due_on THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN v.responded_on IS NULL AND v.due_on < %(as_at)s THEN 1 ELSE 0 END), {percentiles} "
        f"FROM challenges_stagevisit v WHERE v.challenge_id {IN_COHORT} GROUP BY v.stage_key",
    ),
    (
        "themes",
        f"SELECT t.value, COUNT(*) FROM challenges_event e {{themes}} WHERE e.type = 'raised' "
        f"AND e.challenge_id {IN_COHORT} GROUP BY t.value",
    ),
    (
        "teams",
        "SELECT team_id, COUNT(*) FROM cohort GROUP BY team_id",
    ),
    (
        "themes by team",
        "SELECT k.team_id, t.value, COUNT(*) FROM challenges_event e JOIN cohort k ON k.challenge_id = "
        "e.challenge_id {themes} WHERE e.type = 'raised' GROUP BY k.team_id, t.value",
    ),
    (
        "managers",
        "SELECT e.by_id, COUNT(*) FROM challenges_event e "
        f"WHERE e.type = 'response_recorded' AND e.challenge_id {IN_COHORT} GROUP BY e.by_id",
    ),
    (
        "Cafcass",
        "SELECT {urgent}, COUNT(*) FROM challenges_event e "
        f"WHERE e.type = 'cafcass_referred' AND e.challenge_id {IN_COHORT} GROUP BY 1",
    ),
    (
        "repeat children",
        "SELECT COUNT(*), SUM(n) FROM (SELECT child_id, COUNT(*) AS n FROM cohort GROUP BY child_id "
        "HAVING COUNT(*) > 1) repeated",
    ),
    (
        "past the limit",
        f"SELECT COUNT(*) FROM challenges_challenge c WHERE c.id {IN_COHORT} AND c.status = 'open' "
        "AND c.formal_due_on < %(as_at)s",
    ),
    (
        "learning count",
        f"SELECT COUNT(*) FROM challenges_event e WHERE e.type = 'resolved' AND e.challenge_id {IN_COHORT}",
    ),
    (
        "newest learning",
        'SELECT e.challenge_id, e."on", e.detail FROM challenges_event e '
        f"WHERE e.type = 'resolved' AND e.challenge_id {IN_COHORT} "
        'ORDER BY e."on" DESC, e.challenge_id DESC LIMIT 50',
    ),
]


# The JSON parts and percentiles, in each database's words.
JSON_SQL = {
    "sqlite": {
        "themes": "JOIN json_each(e.detail, '$.themes') AS t",
        "urgent": "json_extract(e.detail, '$.urgent')",
        "percentiles": "AVG(julianday(v.responded_on) - julianday(v.entered_on))",
    },
    "postgresql": {
        "themes": "CROSS JOIN LATERAL jsonb_array_elements_text(e.detail->'themes') AS t(value)",
        "urgent": "e.detail->>'urgent'",
        "percentiles": "percentile_cont(0.5) WITHIN GROUP (ORDER BY v.responded_on - v.entered_on), "
        "percentile_disc(0.9) WITHIN GROUP (ORDER BY v.responded_on - v.entered_on)",
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
    StageVisit.objects.bulk_create(
        [
            visit
            for challenge, (_, events) in zip(made, plans, strict=True)
            for visit in _visits(challenge, events)
        ],
        batch_size=5000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # statistics, as a database that grew day by day has them
    return staff["iro_service_manager"]


def _visits(challenge: Challenge, events: list[tuple[str, str, dt.date, dict[str, Any]]]) -> list[StageVisit]:
    """The stage visits the write path keeps beside the events: entered, due, first response, left."""
    visits: list[StageVisit] = []
    for type_, stage, on, detail in events:
        if type_ in ("raised", "escalated", "reopened"):
            if visits and visits[-1].left_on is None:
                visits[-1].left_on, visits[-1].left_how = on, "escalated"
            due = detail.get("due_on")
            visits.append(
                StageVisit(
                    challenge=challenge,
                    sequence=len(visits) + 1,
                    stage_key=stage,
                    entered_on=on,
                    due_on=dt.date.fromisoformat(due) if due else None,
                )
            )
        elif type_ == "response_recorded" and visits[-1].responded_on is None:
            visits[-1].responded_on, visits[-1].response = on, "agree"
        elif type_ in ("resolved", "withdrawn"):
            visits[-1].left_on, visits[-1].left_how = on, type_
    return visits


def _existing() -> Any:
    """The reader of the challenges already in the database (``manage.py load_bulk``'s histories)."""
    reader = get_user_model().objects.get(username="iro_service_manager")
    if not Event.objects.filter(type="response_recorded").exists():
        raise SystemExit(
            "REPORTS_BENCH_EXISTING: these challenges have no history beyond being raised; build them "
            "with this version of manage.py load_bulk."
        )
    return reader


def _best_in_turns(first: Any, second: Any) -> tuple[float, Any, float, Any]:
    """The best of ``REPEATS`` runs of each, taken in turns (first, second, first...), so that a
    change in the shared machine's load falls on both sides rather than on one."""
    best = [float("inf"), float("inf")]
    values: list[Any] = [None, None]
    for _ in range(REPEATS):
        for side, function in enumerate((first, second)):
            started = time.perf_counter()
            values[side] = function()
            best[side] = min(best[side], time.perf_counter() - started)
    return best[0], values[0], best[1], values[1]


def run() -> None:
    started = time.perf_counter()
    reader = _existing() if EXISTING else _populate()
    print(
        f"{'Found' if EXISTING else 'Created'} {Challenge.objects.count():,} challenges and "
        f"{Event.objects.count():,} events in {time.perf_counter() - started:.1f} s"
    )
    assert EventType.RAISED.value == "raised"

    def dashboard() -> Report:
        report = report_for(user=reader, period=YEAR, filters=ReportFilters(), today=TODAY)
        report_tables(report, report_names(report=report), learning_limit=LEARNING_SHOWN)
        return report

    each: dict[str, float] = {}

    def plain() -> list[list[Any]]:
        bounds = [YEAR.start.isoformat(), YEAR.end.isoformat()]
        answers = []
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # As the dashboard's query runs: no compiling, the same memory to sort and group in.
                cursor.execute("SET jit = off")
                cursor.execute(f"SET work_mem = '{REPORT_WORK_MEM}'")
            cursor.execute(COHORT_SQL, bounds)
            cursor.execute("ANALYZE cohort")  # its statistics, so that each query is planned well
            words = JSON_SQL[connection.vendor]
            for label, sql in PLAIN_SQL:
                began = time.perf_counter()
                cursor.execute(sql.format(**words), {"as_at": YEAR.end.isoformat()})
                answers.append(cursor.fetchall())
                each[label] = min(each.get(label, float("inf")), time.perf_counter() - began)
            cursor.execute("DROP TABLE cohort")
            if connection.vendor == "postgresql":
                cursor.execute("RESET jit")
                cursor.execute("RESET work_mem")
        return answers

    report_time, report, sql_time, answers = _best_in_turns(dashboard, plain)
    raised = report.count("raised")
    # Both count the same challenges, by track and by child (the figures that do not depend on
    # reading the history as at the period's end).
    by_track = dict(answers[0])
    assert by_track == {key: report.count(f"track:{key}") for key in by_track}, by_track
    assert raised == sum(by_track.values()), f"both must count the same challenges ({raised}, {by_track})"
    assert answers[10][0][1] == report.count("repeat:child") or not report.count("repeat:child")
    print(
        f"Financial year {YEAR.label}: {raised:,} challenges raised "
        f"(best of {REPEATS}, in turns, {connection.vendor})"
    )
    print(f"  the dashboard's figures and tables (report_for):  {report_time * 1000:9.1f} ms")
    print(f"  plain SQL GROUP BY queries ({len(PLAIN_SQL)}):                  {sql_time * 1000:9.1f} ms")
    print(f"  ratio dashboard / plain SQL:                      {report_time / sql_time:9.2f}")
    print(
        "  the plain queries, each at its best: "
        + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in each.items())
    )
