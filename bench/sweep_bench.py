"""The deadline sweep among 1,000,000 challenges: its selection (the query it runs for each batch)
against a plain SQL query selecting the same rows, then the full sweep of one day, then a catch-up
sweep acting on every deadline still unfired at once (a worker that was down for a month): about
100,000 deadlines, the issue's goal being all of them in under 60 s on SQLite.

The challenges are bulk-created with a realistic spread: raised over the last 60 calendar days at
every stage of the national procedure, about a third answered; about one in nine is open, the rest resolved
or withdrawn (a table of a million is mostly history). The open ones' deadlines are computed by the
same function the write path uses; those whose day has passed are marked fired (the state a sweep
running every few minutes leaves), so what is due is what today brings.
``RESOLVE_BENCH_SWEEP_CHALLENGES=100000`` runs it on fewer.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import time
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils import timezone

from resolve.calendars.services import working_calendar
from resolve.calendars.types import Nation
from resolve.challenges.models import Challenge, StageVisit
from resolve.children.models import Child
from resolve.notifications.models import Deadline
from resolve.notifications.services import _deadline_row, deadline_specs
from resolve.notifications.sweep import DUE_COLUMNS, deadline_due_queryset, deadline_due_rows, deadlines_sweep
from resolve.people.demo import authority_build
from resolve.procedures.selectors import procedure_get, procedure_version_model

CHALLENGES = int(os.environ.get("RESOLVE_BENCH_SWEEP_CHALLENGES", "1000000"))
OPEN_SHARE = 0.115
SEED = 20_250_312
TODAY = dt.date(2025, 3, 12)  # a Wednesday
REPEATS = 5

# The sweep's selection written by hand: the same columns of the same rows, in the same order.
PLAIN_SQL = """
SELECT d.id, d.key, d.trigger, d.challenge_id, d.action_id, d.stage_key, d.meeting_id, d.due_on, d.fire_on,
       c.child_id, c.track, c.policy_id, c.status, c.concern, c.stage_key, c.stage_due_on,
       c.stage_responded_on, c.formal_due_on, p.sha256,
       k.case_number, k.first_name, k.last_name, k.social_worker_id, k.team_id, k.iro_id, k.cp_chair_id
FROM notifications_deadline d
JOIN challenges_challenge c ON c.id = d.challenge_id
JOIN policies_policyversion p ON p.id = c.policy_id
JOIN children_child k ON k.id = c.child_id
WHERE d.fired_at IS NULL AND d.fire_on <= %s
ORDER BY d.fire_on, d.id
LIMIT %s"""


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
    template = Challenge(
        child=children[0],
        track="iro",
        policy=version,
        raised_by_id=staff["iro"].pk,
        raised_on=TODAY,
        concern="Bench",
        impact_on_child="Bench",
        last_event_on=TODAY,
    )
    # The closed challenges (nine in ten) go in as plain rows: the template's values with their own
    # child, status, stage and dates; the open ones through the ORM, with their deadlines.
    varying = ("child_id", "status", "raised_on", "stage_key", "stage_entered_on", "last_event_on")
    closed: list[list[Any]] = []
    open_rows: list[Challenge] = []
    for index in range(CHALLENGES):
        entered = TODAY - dt.timedelta(days=rng.randint(0, 60))
        stage = stages[rng.randrange(len(stages))]
        child = children[index % len(children)]
        if rng.random() >= OPEN_SHARE:
            status = rng.choice((Challenge.Status.RESOLVED, Challenge.Status.WITHDRAWN))
            closed.append([child.pk, status, entered, stage.key, entered, entered])
            if len(closed) == 50_000:
                _insert_like(template, varying, closed)
                closed = []
            continue
        due = calendar.add_working_days(entered, stage.response_working_days or 5)
        formal_started = entered if stage.kind == "formal" else None
        open_rows.append(
            Challenge(
                child=child,
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
    _insert_like(template, varying, closed)
    challenges = Challenge.objects.bulk_create(open_rows, batch_size=5000)
    # Each open challenge at its stage, sent to the social worker and copied to the team manager.
    StageVisit.objects.bulk_create(
        (
            StageVisit(
                challenge_id=challenge.pk,
                sequence=1,
                stage_key=challenge.stage_key,
                entered_on=challenge.stage_entered_on or challenge.raised_on,
                due_on=challenge.stage_due_on,
                responded_on=challenge.stage_responded_on,
                to_users=["social_worker"],
                cc_users=["team_manager"],
            )
            for challenge in challenges
        ),
        batch_size=5000,
    )
    deadlines = [
        _deadline_row(challenge.pk, spec)
        for challenge in challenges
        for spec in deadline_specs(challenge=challenge, procedure=procedure, actions=(), calendar=calendar)
    ]
    Deadline.objects.bulk_create(deadlines, batch_size=5000)
    # A sweep every few minutes has already acted on every earlier day.
    Deadline.objects.filter(fire_on__lt=TODAY).update(fired_at=timezone.now(), outcome="sent")


def _insert_like(template: Challenge, varying: tuple[str, ...], rows: list[list[Any]]) -> None:
    """Insert one challenge per item of ``rows``: ``template``'s column values, with the columns
    named in ``varying`` (attribute names) set from the item, in one executemany."""
    if not rows:
        return
    db = connections[DEFAULT_DB_ALIAS]
    fields = [field for field in Challenge._meta.concrete_fields if not field.primary_key]
    values = [field.get_db_prep_save(field.pre_save(template, True), db) for field in fields]
    by_name = {field.attname: index for index, field in enumerate(fields)}
    places = [by_name[name] for name in varying]
    prepared: dict[tuple[int, Any], Any] = {}  # few distinct values: each prepared once
    table = connection.ops.quote_name(str(Challenge._meta.db_table))
    columns = ", ".join(connection.ops.quote_name(str(field.column)) for field in fields)
    marks = ", ".join(["%s"] * len(fields))
    with connection.cursor() as cursor:
        batch = []
        for item in rows:
            row = list(values)
            for place, value in zip(places, item, strict=True):
                if (place, value) not in prepared:
                    prepared[place, value] = fields[place].get_db_prep_save(value, db)
                row[place] = prepared[place, value]
            batch.append(row)
        # The model's own table and columns; every value is a parameter.
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", batch)  # noqa: S608  # nosec B608


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
        f"Created {Challenge.objects.count():,} challenges "
        f"({Challenge.objects.filter(status=Challenge.Status.OPEN).count():,} open) "
        f"and {Deadline.objects.count():,} deadlines "
        f"in {time.perf_counter() - started:.1f} s"
    )
    due_today = deadline_due_queryset(today=TODAY).count()

    # On PostgreSQL the sweep locks the rows it selects (skipping those another sweep holds): so
    # does the plain query, each inside a transaction as the sweep's batch is.
    locking = " FOR UPDATE OF d SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""

    def orm() -> list[int]:
        with transaction.atomic():
            return [row[0] for row in deadline_due_rows(today=TODAY, limit=due_today)]

    def plain() -> list[int]:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(PLAIN_SQL + locking, [TODAY.isoformat(), due_today])
            return [row[0] for row in cursor.fetchall()]

    orm_time, orm_ids = _best(orm)
    sql_time, sql_ids = _best(plain)
    assert orm_ids == sql_ids, "the two queries must select the same rows"
    plan = ""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            sql, params = (
                deadline_due_queryset(today=TODAY)
                .values_list(*DUE_COLUMNS)[:due_today]
                .query.sql_with_params()
            )
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            plan = "; ".join(str(row[-1]) for row in cursor.fetchall())
    print(f"Due on {TODAY}: {len(orm_ids):,} deadlines (best of {REPEATS})")
    print(f"  sweep selection (deadline_due_rows):   {orm_time * 1000:8.1f} ms")
    print(f"  plain SQL, same rows:                  {sql_time * 1000:8.1f} ms")
    print(f"  ratio sweep / SQL (goal: at most 1.5): {orm_time / sql_time:8.2f}")
    if plan:
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
    started, cpu_started = time.perf_counter(), time.process_time()
    caught_up = deadlines_sweep(today=later)
    took, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    # This process's CPU too (on SQLite, all the work): steadier than the elapsed time on a busy machine.
    print(
        f"Catch-up sweep after a month without one: {due:,} due, {caught_up.fired:,} acted on, "
        f"{caught_up.messages:,} messages written in {took:.1f} s (CPU {cpu:.1f} s; "
        f"{took / max(caught_up.fired, 1) * 1000:.2f} ms per deadline; goal: 100,000 in under 60 s)"
    )
