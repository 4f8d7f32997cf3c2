"""The deadline sweep on 100,000 open challenges: its selection (the ORM query it runs) against a plain
SQL query selecting the same rows, then the full sweep of one day, then a catch-up sweep acting on
every deadline still unfired at once (a worker that was down for a month).

The challenges are bulk-created with a realistic spread: raised over the last 60 calendar days at
every stage of the national procedure, about a third answered. Their deadlines are computed by the
same function the write path uses; those whose day has passed are marked fired (the state a sweep
running every few minutes leaves), so what is due is what today brings.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from typing import Any

from django.db import connection
from django.utils import timezone

from resolve.calendars.services import working_calendar
from resolve.calendars.types import Nation
from resolve.challenges.models import Challenge
from resolve.children.models import Child
from resolve.notifications.models import Deadline
from resolve.notifications.services import _deadline_row, deadline_specs
from resolve.notifications.sweep import deadline_due_queryset, deadlines_sweep
from resolve.people.demo import authority_build
from resolve.procedures.selectors import procedure_get, procedure_version_model

CHALLENGES = 100_000
SEED = 20_250_312
TODAY = dt.date(2025, 3, 12)  # a Wednesday
REPEATS = 5

PLAIN_SQL = """
SELECT d.id, d.key, d.trigger, d.challenge_id, d.action_id, d.stage_key, d.due_on, d.fire_on,
       c.id, c.status, c.stage_key, c.stage_due_on, c.stage_responded_on, c.formal_due_on, c.policy_id
FROM notifications_deadline d JOIN challenges_challenge c ON c.id = d.challenge_id
WHERE d.fired_at IS NULL AND d.fire_on <= %s
ORDER BY d.fire_on, d.id
"""


def _populate() -> None:
    authority = authority_build(password=None)
    version = procedure_get(key="national")
    procedure = procedure_version_model(version)
    calendar = working_calendar(Nation(procedure.nation))
    staff = authority.staff
    children = Child.objects.bulk_create(
        Child(
            case_number=f"LCS{900000 + index}",
            first_name="Child",
            last_name=str(index),
            date_of_birth=dt.date(2012, 1, 1),
            social_worker_id=staff["social_worker"].pk,
            team=authority.teams["social_work"],
            iro_id=staff["iro"].pk,
            cp_chair_id=staff["cp_chair"].pk,
        )
        for index in range(500)
    )
    rng = random.Random(SEED)
    stages = procedure.stages
    rows = []
    for index in range(CHALLENGES):
        entered = TODAY - dt.timedelta(days=rng.randint(0, 60))
        stage = stages[rng.randrange(len(stages))]
        due = calendar.add_working_days(entered, stage.response_working_days or 5)
        formal_started = entered if stage.kind == "formal" else None
        rows.append(
            Challenge(
                child=children[index % len(children)],
                track="iro",
                policy=version,
                status=Challenge.Status.OPEN,
                raised_by_id=staff["iro"].pk,
                raised_on=entered,
                concern="Bench",
                impact_on_child="Bench",
                stage_key=stage.key,
                stage_entered_on=entered,
                stage_due_on=due,
                stage_responded_on=(entered + dt.timedelta(days=2)) if rng.random() < 0.33 else None,
                formal_started_on=formal_started,
                formal_due_on=calendar.add_working_days(formal_started, procedure.formal_cap_working_days)
                if formal_started
                else None,
                last_event_on=entered,
            )
        )
    challenges = Challenge.objects.bulk_create(rows, batch_size=5000)
    deadlines = [
        _deadline_row(challenge.pk, spec)
        for challenge in challenges
        for spec in deadline_specs(challenge=challenge, procedure=procedure, actions=(), calendar=calendar)
    ]
    Deadline.objects.bulk_create(deadlines, batch_size=5000)
    # A sweep every few minutes has already acted on every earlier day.
    Deadline.objects.filter(fire_on__lt=TODAY).update(fired_at=timezone.now(), outcome="sent")


def _best(function: Any) -> tuple[float, Any]:
    best, value = float("inf"), None
    for _ in range(REPEATS):
        started = time.perf_counter()
        value = function()
        best = min(best, time.perf_counter() - started)
    return best, value


def run() -> None:
    started = time.perf_counter()
    _populate()
    print(
        f"Created {Challenge.objects.count():,} open challenges and {Deadline.objects.count():,} deadlines "
        f"in {time.perf_counter() - started:.1f} s"
    )
    selection = deadline_due_queryset(today=TODAY).select_related("challenge")

    def orm() -> list[int]:
        return [row.pk for row in selection.all()]  # .all(): a fresh query each time, no result cache

    def plain() -> list[int]:
        with connection.cursor() as cursor:
            cursor.execute(PLAIN_SQL, [TODAY.isoformat()])
            return [row[0] for row in cursor.fetchall()]

    orm_time, orm_ids = _best(orm)
    sql_time, sql_ids = _best(plain)
    assert orm_ids == sql_ids, "the two queries must select the same rows"
    with connection.cursor() as cursor:
        sql, params = selection.query.sql_with_params()
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = "; ".join(str(row[-1]) for row in cursor.fetchall())
    print(f"Due on {TODAY}: {len(orm_ids):,} deadlines (best of {REPEATS})")
    print(f"  sweep selection (ORM, select_related): {orm_time * 1000:8.1f} ms")
    print(f"  plain SQL, same rows:                  {sql_time * 1000:8.1f} ms")
    print(f"  ratio ORM / SQL:                       {orm_time / sql_time:8.2f}")
    print(f"  plan: {plan}")
    started = time.perf_counter()
    result = deadlines_sweep(today=TODAY)
    took = time.perf_counter() - started
    print(
        f"Full sweep of the day: {result.fired:,} acted on, {result.messages:,} messages written "
        f"in {took:.1f} s "
        f"({took / max(result.fired, 1) * 1000:.1f} ms per deadline)"
    )
    started = time.perf_counter()
    again = deadlines_sweep(today=TODAY)
    again_ms = (time.perf_counter() - started) * 1000
    print(f"Second sweep of the same day: {again.fired} acted on in {again_ms:.1f} ms")
    # A worker that was down for a month: every deadline still unfired is due at once.
    later = TODAY + dt.timedelta(days=31)
    due = deadline_due_queryset(today=later).count()
    started = time.perf_counter()
    caught_up = deadlines_sweep(today=later)
    took = time.perf_counter() - started
    print(
        f"Catch-up sweep after a month without one: {due:,} due, {caught_up.fired:,} acted on, "
        f"{caught_up.messages:,} messages written in {took:.1f} s "
        f"({took / max(caught_up.fired, 1) * 1000:.2f} ms per deadline; goal: 100,000 in under 60 s)"
    )
