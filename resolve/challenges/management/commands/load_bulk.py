"""``manage.py load_bulk N``: add N challenges at once, to measure lists, the sweep and the reports at scale.

Each challenge lives a history through the engine (``engine.decide``, so its stages, due dates,
event details and case-note words are those the write path would produce): raised at a stage of the
national procedure, then one of the ``PLANS`` below, in working days on the procedure's calendar and
stopping at ``--today`` (a step the engine refuses as a conflict, such as escalating past the last
stage or a CP Chair referring to Cafcass, ends the plan there). Of 100,000, 44% stay open (some
answered, some never, some extended) and the rest were answered on time or late, escalated, resolved
at every stage with an outcome and learning, re-opened, withdrawn or referred to Cafcass.

Each history is then written with bulk writes instead of one transaction per challenge: its row,
its stage visits, responses and Cafcass referral, its events and their case notes on the child's
record, sealed exactly as the write path seals them (the event and case-note chains, the records
chain of the challenge, its visits, responses and referral as they end up, and every chain's head),
so ``manage.py verify_evidence`` still passes afterwards; every link through ``chain.link_seal``, as
the write path adds them. On PostgreSQL the rows go in with ``COPY`` (psycopg's ``cursor.copy()``),
indexes in place; on SQLite with one prepared INSERT per table over the rows, SQLite set for loading
(``SQLITE_LOADING``) and the secondary indexes created after the rows, as the migrations made them.
Histories are computed once per (track, first stage, day raised, plan) and reused.
"""

from __future__ import annotations

import datetime as dt
import gc
import operator
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.management.base import BaseCommand, CommandParser
from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, OperationalError, connection, connections, models, transaction
from django.db.models import Max
from django.db.models.base import ModelState
from django.utils import timezone

from resolve.audit.chain import case_note_fields, event_fields, link_seal, seal_fields
from resolve.audit.models import EvidenceHead, EvidenceSeal
from resolve.audit.sealing import current_key_id, row_digest
from resolve.calendars.services import working_calendar
from resolve.calendars.types import Nation, WorkingDays
from resolve.challenges import engine
from resolve.challenges.case_notes import StagePeople, case_note_body, case_note_type, enters_stage
from resolve.challenges.events import CafcassReferred, Resolved, ResponseRecorded, detail_to_json
from resolve.challenges.models import (
    ALLOCATION_COPIED,
    CafcassReferral,
    Challenge,
    Event,
    Response,
    StageVisit,
)
from resolve.children.models import CaseNote, Child
from resolve.people.demo import authority_build
from resolve.procedures.schema import Procedure
from resolve.procedures.selectors import procedure_get, procedure_version_model

CHUNK = 5_000
M = TypeVar("M", bound=models.Model)

# The steps of a plan, each dated from the one before in working days.
ON_TIME, LATE, EXTEND, ESCALATE, RESOLVE, WITHDRAW, REOPEN, REFER, REFER_URGENT = (
    "on_time",
    "late",
    "extend",
    "escalate",
    "resolve",
    "withdraw",
    "reopen",
    "refer",
    "refer_urgent",
)

# (weight, steps): what happens after a challenge is raised.
PLANS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (14, ()),  # not answered: awaiting a response, or missing once past its date
    (7, (ON_TIME,)),
    (5, (LATE,)),
    (2, (EXTEND,)),
    (13, (ON_TIME, RESOLVE)),
    (8, (LATE, RESOLVE)),
    (5, (EXTEND, ON_TIME, RESOLVE)),
    (6, (LATE, ESCALATE)),
    (5, (ESCALATE,)),
    (8, (ON_TIME, ESCALATE, ON_TIME, RESOLVE)),
    (6, (LATE, ESCALATE, ON_TIME, RESOLVE)),
    (5, (LATE, ESCALATE, LATE, ESCALATE, ON_TIME, RESOLVE)),
    (2, (ESCALATE, LATE, ESCALATE, ESCALATE, REFER)),
    (4, (WITHDRAW,)),
    (3, (ON_TIME, WITHDRAW)),
    (2, (LATE, ESCALATE, WITHDRAW)),
    (2, (ON_TIME, RESOLVE, REOPEN, LATE, RESOLVE)),
    (1, (ON_TIME, RESOLVE, REFER)),
    (1, (REFER_URGENT,)),
)
# The first stage: mostly informal or the first formal one, some bypassed straight to a later one.
START_WEIGHTS = (55, 30, 8, 5, 2)
CP_CHAIR_SHARE = 0.2
THEMES = (
    ("voice_of_child",),
    ("drift_delay_planning",),
    ("management_oversight", "drift_delay_planning"),
    ("placement",),
    ("safeguarding", "voice_of_child"),
    ("drift_delay_legal",),
    ("drift_delay_planning", "placement"),
)


@dataclass(frozen=True, slots=True)
class Step:
    """One event of a history as the engine decided it, who recorded it, and its case note's words."""

    event: engine.Event
    by: str
    note_type: str
    note_body: str
    detail: dict[str, Any]  # the event's detail as stored


@dataclass(frozen=True, slots=True)
class History:
    state: engine.ChallengeState
    steps: tuple[Step, ...]
    themes: list[str]
    documents: list[str]  # the documents the challenge ends up with, sorted as the write path keeps them


def _next_id(model: type[models.Model]) -> int:
    return int(model._base_manager.aggregate(top=Max("pk"))["top"] or 0) + 1


_DEFAULTS: dict[type[models.Model], dict[str, Any]] = {}


def _row(model: type[M], **values: Any) -> M:
    """A model instance as ``model(**values)`` makes it, without its per-field work: every column's
    default, then ``values`` (by attribute name: ``child_id``, not ``child``). Django's constructor
    would be a fifth of the load's time. A column added to the model gets its default here."""
    defaults = _DEFAULTS.get(model)
    if defaults is None:
        # Shared mutable defaults (an empty list) are safe: the rows are written, never changed.
        defaults = _DEFAULTS[model] = {
            field.attname: field.get_default() for field in model._meta.concrete_fields
        }
    if "pk" in values:
        values[model._meta.pk.attname] = values.pop("pk")
    row = model.__new__(model)
    row.__dict__.update(defaults)
    row.__dict__.update(values)
    row._state = ModelState()
    return row


# Columns whose values go to the database as they are (Django's preparation only checks their type).
_AS_IS = (
    models.AutoField,
    models.BigAutoField,
    models.IntegerField,
    models.CharField,
    models.TextField,
    models.BooleanField,
    models.ForeignKey,
)


def _values(model: type[models.Model], rows: Sequence[models.Model]) -> tuple[list[str], list[Any]]:
    """The model's columns and each row's values, prepared for the database as Django would."""
    fields = list(model._meta.concrete_fields)
    # The connection itself, not the thread-local proxy: asked once per value, the proxy costs more
    # than the value.
    db = connections[DEFAULT_DB_ALIAS]
    columns = [str(field.column) for field in fields]
    # Read from each row's own values (``_row`` sets every column): a foreign key's attribute would
    # be a call per value.
    stored = operator.itemgetter(*(field.attname for field in fields))

    def every(row: models.Model) -> Any:
        return stored(row.__dict__)

    # Dates, times and JSON are prepared once per value: the rows share their days, their "now" and
    # their JSON (a history's details are the same objects in every challenge that lived it); a JSON
    # value is known by its identity, and kept, so that no other value takes its identity meanwhile.
    prepared: list[tuple[int, models.Field[Any, Any], bool, dict[Any, Any]]] = [
        (index, field, isinstance(field, models.JSONField), {})
        for index, field in enumerate(fields)
        if isinstance(field, models.JSONField) or not isinstance(field, _AS_IS)
    ]
    if not prepared:
        return columns, [every(row) for row in rows]
    kept: list[Any] = []
    prepare = [
        (index, field.get_db_prep_save, by_identity, cache) for index, field, by_identity, cache in prepared
    ]
    values: list[Any] = []
    append = values.append
    for row in rows:
        value = list(every(row))
        for index, prep, by_identity, cache in prepare:
            raw = value[index]
            key = id(raw) if by_identity else raw
            found = cache.get(key, _MISSING)
            if found is _MISSING:
                found = cache[key] = prep(raw, db)
                if by_identity:
                    kept.append(raw)
            value[index] = found
        append(value)
    return columns, values


_MISSING = object()


def _write(model: type[models.Model], rows: Sequence[models.Model]) -> None:
    """Write ``rows`` (ids already set): ``COPY ... FROM STDIN`` on PostgreSQL, else multi-row INSERTs."""
    if not rows:
        return
    columns, values = _values(model, rows)
    table = connection.ops.quote_name(str(model._meta.db_table))
    names = ", ".join(connection.ops.quote_name(column) for column in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The model's own table and column names; the rows go as COPY data, never as SQL.
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
            return
        placeholders = ", ".join(["%s"] * len(columns))
        # The model's own table and column names; every value is a parameter.
        sql = f"INSERT INTO {table} ({names}) VALUES ({placeholders})"  # noqa: S608  # nosec B608
        for start in range(0, len(values), CHUNK):
            cursor.executemany(sql, values[start : start + CHUNK])


# SQLite's settings for the load only, on this command's connection, and set back afterwards: the
# rollback journal in memory instead of the write-ahead log (which would hold every new page once
# more, then copy it into the database), no waiting for the disk, and a cache that holds the indexes
# the rows go into (1 GiB at most, taken as it fills). A crash during the load can leave the file
# unusable: it is a measuring tool, never for a live database.
SQLITE_LOADING = {
    "journal_mode": "MEMORY",
    "synchronous": "OFF",
    "cache_size": "-1048576",
    "temp_store": "MEMORY",
}


@contextmanager
def _sqlite_for_loading() -> Iterator[None]:
    """On SQLite, ``SQLITE_LOADING`` while the block runs (outside its transaction: the journal cannot
    change inside one), and each setting as it was afterwards."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        before = {}
        for name, value in SQLITE_LOADING.items():
            # Our own names and values (above), not input.
            cursor.execute(f"PRAGMA {name}")
            before[name] = cursor.fetchone()[0]
            try:
                cursor.execute(f"PRAGMA {name} = {value}")
            except OperationalError:  # another connection holds the database: its journal stays
                before.pop(name)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for name, value in before.items():
                cursor.execute(f"PRAGMA {name} = {value}")


@contextmanager
def _sqlite_indexes_after(written: Sequence[type[models.Model]]) -> Iterator[None]:
    """On SQLite, the written tables' secondary indexes are dropped for the load and created again
    after it (sorting each once instead of inserting into it row by row), each by its own statement as
    the migrations left it in ``sqlite_master``, so the schema ends as it began. Unique indexes stay:
    every constraint holds throughout. Inside the load's transaction, so a load that fails keeps them."""
    if connection.vendor != "sqlite":
        yield
        return
    tables = {str(model._meta.db_table) for model in written}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tbl_name, name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            "AND sql NOT LIKE 'CREATE UNIQUE%%' ORDER BY rowid"
        )
        indexes = [(name, sql) for table, name, sql in cursor.fetchall() if table in tables]
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    yield
    with connection.cursor() as cursor:
        for _, sql in indexes:
            # The statement SQLite stored when the migration created the index.
            cursor.execute(sql)


class Histories:
    """Histories lived through the engine, each worked out once per (track, first stage, day, plan)."""

    def __init__(self, procedure: Procedure, calendar: WorkingDays, today: dt.date, names: dict[str, str]):
        self.procedure, self.calendar, self.today, self.names = procedure, calendar, today, names
        self.keys = [stage.key for stage in procedure.stages]
        self.agreed = engine.Person(username="iro_service_manager", roles=frozenset({"iro_service_manager"}))
        self._found: dict[tuple[str, int, dt.date, int], History] = {}
        self._to_users: dict[str, list[str]] = {}

    def get(self, track: str, start: int, raised_on: dt.date, plan: int) -> History:
        key = (track, start, raised_on, plan)
        found = self._found.get(key)
        if found is None:
            found = self._found[key] = self._live(track, start, raised_on, plan)
        return found

    def to_users(self, stage_key: str) -> list[str]:
        # Bulk data is raised under the authority's own ladder, whose stages go to a role; the demo
        # authority's holder of each role has the role's key as username. One list per stage.
        found = self._to_users.get(stage_key)
        if found is None:
            to_role = self.procedure.stage(stage_key).to_role
            found = self._to_users[stage_key] = [to_role] if to_role else []
        return found

    def _people(self, visit: engine.Visit) -> StagePeople:
        return StagePeople(
            to=[self.names.get(name, name) for name in self.to_users(visit.stage)],
            copied=[],
            told=[],
            due_on=visit.due_on,
        )

    def _live(self, track: str, start: int, raised_on: dt.date, plan: int) -> History:
        procedure, work = self.procedure, self.calendar.add_working_days
        chair = "iro" if track == "iro" else "cp_chair"
        chair_actor = engine.Actor(username=chair, relations=frozenset({engine.CHAIR}))
        themes = THEMES[(raised_on.toordinal() + plan) % len(THEMES)]
        state = engine.ChallengeState(track=track)  # type: ignore[arg-type]
        steps: list[Step] = []

        def apply(command: engine.Command, actor: engine.Actor) -> bool:
            nonlocal state
            if command.on > self.today:
                return False
            decision = engine.decide(
                procedure=procedure,
                state=state,
                command=command,
                actor=actor,
                today=self.today,
                calendar=self.calendar,
            )
            if isinstance(decision, engine.Refused):
                if decision.kind == "conflict":  # escalating past the top, a CP Chair and Cafcass
                    return False
                raise RuntimeError(f"The engine refused a bulk {type(command).__name__}: {decision.message}")
            state = decision.state
            for event in decision.events:
                people = self._people(state.visits[-1]) if enters_stage(event) else None
                steps.append(
                    Step(
                        event=event,
                        by=actor.username,
                        note_type=case_note_type(procedure, event),
                        note_body=case_note_body(procedure, event, people),
                        detail=detail_to_json(event.detail),
                    )
                )
            return True

        first = self.keys[start]
        apply(
            engine.Raise(
                on=raised_on,
                concern="Bulk",
                impact_on_child="Bulk",
                stage=None if start == 0 else first,
                bypass_reason="" if start == 0 else "Bulk data",
                bypass_agreed_by=None if start == 0 else self.agreed,
                themes=themes,
                documents=frozenset(procedure.stage(first).documents),
            ),
            chair_actor,
        )
        for move in PLANS[plan][1]:
            visit, last = state.visits[-1], state.last_event_on or raised_on
            command: engine.Command
            actor = chair_actor
            if move in (ON_TIME, LATE):
                # Answered one to five working days in, or one to eight past the date, varying by day.
                spread = raised_on.toordinal() + len(steps)
                if move == ON_TIME:
                    on = work(visit.entered_on, 1 + spread % 5)
                    on = min(on, visit.due_on) if visit.due_on else on
                else:
                    on = work(visit.due_on or visit.entered_on, 1 + spread * 7 % 8)
                command = engine.Respond(
                    on=max(on, last), response="agree" if move == ON_TIME else "disagree"
                )
                recipient = self.to_users(visit.stage)
                actor = engine.Actor(username=recipient[0], relations=frozenset({engine.RECIPIENT}))
            elif move == EXTEND:
                if visit.due_on is None:
                    break
                command = engine.ExtendDeadline(
                    on=max(work(visit.entered_on, 1), last),
                    due=work(visit.due_on, 3),
                    reason="Bulk extension",
                    agreed_by=self.agreed,
                )
            elif move == ESCALATE:
                order = self.keys.index(visit.stage) + 1
                if order >= len(self.keys):
                    break
                command = engine.Escalate(
                    on=work(max(last, visit.due_on or last), 1),
                    documents=frozenset(procedure.stages[order].documents),
                )
            elif move == RESOLVE:
                command = engine.Resolve(
                    on=work(last, 2), outcome="Bulk outcome", learning_points="Bulk learning"
                )
            elif move == WITHDRAW:
                command = engine.Withdraw(on=work(last, 3), reason="Bulk withdrawal")
            elif move == REOPEN:
                command = engine.Reopen(on=work(last, 10), reason="Bulk re-opening")
            else:
                command = engine.ReferToCafcass(
                    on=work(last, 1),
                    reason="Bulk referral",
                    checklist={item.key: True for item in procedure.cafcass.checklist},
                    urgent=move == REFER_URGENT,
                )
            if not apply(command, actor):
                break
        return History(
            state=state, steps=tuple(steps), themes=list(themes), documents=sorted(state.documents)
        )


# -- rows: one builder per model, so that a field added to a model is filled in one place ------------
def child_row(pk: int, *, team: Any, staff: dict[str, Any], now: dt.datetime) -> Child:
    return _row(
        Child,
        pk=pk,
        case_number=f"BULK{pk:09d}",
        first_name="Bulk",
        last_name=f"Child {pk}",
        date_of_birth=dt.date(2010, 1, 1) + dt.timedelta(days=pk % 3000),
        social_worker_id=staff["social_worker"].pk,
        team_id=team.pk,
        iro_id=staff["iro"].pk,
        cp_chair_id=staff["cp_chair"].pk,
        created_at=now,
    )


def challenge_row(
    pk: int, *, child: Child, track: str, policy: Any, history: History, raised_by: Any, now: dt.datetime
) -> Challenge:
    """The challenge's row as the write path leaves it after the history (``services._write``)."""
    state, current = history.state, history.state.current
    # The write path keeps the outcome of the resolution in force; a re-opening clears it.
    resolution = next(
        (step for step in reversed(history.steps) if isinstance(step.event.detail, Resolved)), None
    )
    resolved = resolution.event.detail if state.status == "resolved" and resolution is not None else None
    return _row(
        Challenge,
        pk=pk,
        child_id=child.pk,
        track=track,
        policy_id=policy.pk,
        status=state.status,
        raised_by_id=raised_by.pk,
        raised_on=history.steps[0].event.on,
        concern="Bulk",
        impact_on_child="Bulk",
        themes=history.themes,
        stage_key=current.stage if current else "",
        stage_entered_on=current.entered_on if current else None,
        stage_due_on=current.due_on if current else None,
        stage_responded_on=current.responded_on if current else None,
        formal_started_on=state.formal_started_on,
        formal_due_on=state.formal_due_on,
        cafcass_referred_on=state.cafcass_referred_on,
        last_event_on=state.last_event_on,
        documents=history.documents,
        outcome=resolved.outcome if isinstance(resolved, Resolved) else "",
        learning_points=resolved.learning_points if isinstance(resolved, Resolved) else "",
        resolved_on=resolution.event.on if resolved is not None and resolution is not None else None,
        final_comments_on=state.final_comments_on,
        version=len(history.steps),
        created_at=now,
        updated_at=now,
        # The copy of the child's allocation the lists scope by, as raising writes it.
        **{column: getattr(child, column) for column in ALLOCATION_COPIED},
    )


# Shared by every row (prepared once); the rows are written, never changed.
_NOBODY: list[str] = []


def visit_row(
    pk: int, *, challenge: Challenge, sequence: int, visit: engine.Visit, to_users: list[str]
) -> StageVisit:
    return _row(
        StageVisit,
        pk=pk,
        challenge_id=challenge.pk,
        sequence=sequence,
        stage_key=visit.stage,
        entered_on=visit.entered_on,
        due_on=visit.due_on,
        left_on=visit.left_on,
        left_how=visit.left_how or "",
        response=visit.response or "",
        responded_on=visit.responded_on,
        meetings=visit.meetings,
        to_users=to_users,
        cc_users=_NOBODY,
        notify_users=_NOBODY,
        procedure_due_on=visit.procedure_due_on,
        extended_from=visit.extended_from,
    )


def response_row(
    pk: int,
    *,
    challenge: Challenge,
    visit: StageVisit,
    detail: ResponseRecorded,
    on: dt.date,
    by: Any,
    now: dt.datetime,
) -> Response:
    return _row(
        Response,
        pk=pk,
        challenge_id=challenge.pk,
        visit_id=visit.pk,
        response=detail.response,
        comments=detail.comments,
        on=on,
        by_id=by.pk,
        created_at=now,
    )


def referral_row(
    pk: int, *, challenge: Challenge, detail: CafcassReferred, on: dt.date, by: Any, now: dt.datetime
) -> CafcassReferral:
    return _row(
        CafcassReferral,
        pk=pk,
        challenge_id=challenge.pk,
        on=on,
        reason=detail.reason,
        urgent=detail.urgent,
        checklist=dict(detail.checklist),
        preconditions=dict(detail.preconditions),
        by_id=by.pk,
        created_at=now,
    )


class Command(BaseCommand):
    help = (
        "Add COUNT challenges at once (with their histories: stage visits, responses, events, case notes "
        "and Cafcass referrals, sealed into valid evidence chains) to the demo authority, on new children "
        "named 'Bulk', for measuring lists, the sweep and the reports at scale. Not for a live database: "
        "the records are made up."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("count", type=int, help="How many challenges to add.")
        parser.add_argument("--per-child", type=int, default=4, help="Challenges per new child (default 4).")
        parser.add_argument("--seed", type=int, default=14, help="Seed of the random spread.")
        parser.add_argument(
            "--today", type=dt.date.fromisoformat, default=None, help="The day to count back from."
        )

    def handle(
        self, *args: Any, count: int, per_child: int, seed: int, today: dt.date | None, **_: Any
    ) -> None:
        if count < 1 or per_child < 1:
            self.stderr.write("COUNT and --per-child must be at least 1.")
            return
        started = time.perf_counter()
        today = today or timezone.localdate()
        authority = authority_build(password=None)
        # The rows of a batch hold no reference cycles: the cyclic collector, run again and again over
        # the growing cache of histories, would only cost time.
        collecting = gc.isenabled()
        gc.disable()
        try:
            with _sqlite_for_loading(), transaction.atomic(), _sqlite_indexes_after(WRITTEN):
                added = self._load(authority, count, per_child, random.Random(seed), today)
        finally:
            if collecting:
                gc.enable()
        with connection.cursor() as cursor:
            for statement in connection.ops.sequence_reset_sql(no_style(), list(WRITTEN)):
                cursor.execute(statement)
            # Fresh statistics, as a database that grew day by day has them (PostgreSQL's autovacuum
            # gathers them itself; SQLite only when asked): without them SQLite's planner sorts
            # every visible challenge instead of walking the lists' index.
            cursor.execute("ANALYZE")
        self.stdout.write(f"Added {added:,} challenges in {time.perf_counter() - started:.1f} s.")

    def _load(self, authority: Any, count: int, per_child: int, rng: random.Random, today: dt.date) -> int:
        staff = authority.staff
        version = procedure_get(key="national")
        procedure = procedure_version_model(version)
        calendar = working_calendar(Nation(procedure.nation))
        names = {
            user.username: f"{user.get_full_name() or user.username} ({user.username})"
            for user in staff.values()
        }
        histories = Histories(procedure, calendar, today, names)
        key_id = current_key_id()
        now = timezone.now()
        teams = [authority.teams["social_work"], authority.teams["second"]]
        ids = {model: _next_id(model) for model in WRITTEN}

        def take(model: type[models.Model]) -> int:
            ids[model] += 1
            return ids[model] - 1

        plans = range(len(PLANS))
        plan_weights = [weight for weight, _ in PLANS]
        starts = range(len(START_WEIGHTS))
        added = 0
        # Batches hold whole children, so that each child's chain head is final when it is written.
        step = max(per_child, CHUNK - CHUNK % per_child)
        while added < count:
            batch = min(step, count - added)
            rows: dict[type[models.Model], list[Any]] = {model: [] for model in WRITTEN}
            child_heads: dict[int, EvidenceHead] = {}
            child: Child | None = None
            for index in range(batch):
                if (added + index) % per_child == 0 or child is None:
                    pk = take(Child)
                    child = child_row(pk, team=teams[pk % 2], staff=staff, now=now)
                    rows[Child].append(child)
                    child_heads[pk] = _row(
                        EvidenceHead, pk=take(EvidenceHead), chain=f"child:{pk}", updated_at=now
                    )
                raised_on = today - dt.timedelta(days=rng.randint(0, 730))
                while raised_on.weekday() >= 5:
                    raised_on -= dt.timedelta(days=1)
                track = "cpc" if rng.random() < CP_CHAIR_SHARE else "iro"
                start = rng.choices(starts, START_WEIGHTS)[0]
                history = histories.get(track, start, raised_on, rng.choices(plans, plan_weights)[0])
                self._challenge(
                    history,
                    rows=rows,
                    take=take,
                    child=child,
                    child_head=child_heads[child.pk],
                    track=track,
                    version=version,
                    staff=staff,
                    histories=histories,
                    key_id=key_id,
                    now=now,
                )
            rows[EvidenceHead].extend(child_heads.values())
            for model in WRITTEN:
                _write(model, rows[model])
            added += batch
            self.stdout.write(f"  {added:,} of {count:,}")
        return added

    def _challenge(
        self,
        history: History,
        *,
        rows: dict[type[models.Model], list[Any]],
        take: Callable[[type[models.Model]], int],
        child: Child,
        child_head: EvidenceHead,
        track: str,
        version: Any,
        staff: dict[str, Any],
        histories: Histories,
        key_id: str,
        now: dt.datetime,
    ) -> None:
        """One challenge's rows from its history: the records, the events and case notes, the seals."""
        challenge = challenge_row(
            take(Challenge),
            child=child,
            track=track,
            policy=version,
            history=history,
            raised_by=staff[history.steps[0].by],
            now=now,
        )
        visits = [
            visit_row(
                take(StageVisit),
                challenge=challenge,
                sequence=sequence,
                visit=visit,
                to_users=histories.to_users(visit.stage),
            )
            for sequence, visit in enumerate(history.state.visits, start=1)
        ]
        records: list[models.Model] = [challenge, *visits]
        events_head = _row(
            EvidenceHead, pk=take(EvidenceHead), chain=f"challenge:{challenge.pk}", updated_at=now
        )
        entered = 0
        for sequence, step in enumerate(history.steps, start=1):
            event_state, detail = step.event, step.event.detail
            entered += enters_stage(event_state)
            by = staff[step.by]
            event = _row(
                Event,
                pk=take(Event),
                challenge_id=challenge.pk,
                sequence=sequence,
                type=event_state.type.value,
                stage_key=event_state.stage or "",
                on=event_state.on,
                by_id=by.pk,
                detail=step.detail,
                created_at=now,
            )
            link_seal(event, events_head, event_fields, key_id)
            rows[Event].append(event)
            note = _row(
                CaseNote,
                pk=take(CaseNote),
                child_id=child.pk,
                challenge_id=challenge.pk,
                note_type=step.note_type,
                body=step.note_body,
                on=event_state.on,
                author_id=by.pk,
                created_at=now,
            )
            link_seal(note, child_head, case_note_fields, key_id)
            rows[CaseNote].append(note)
            if isinstance(detail, ResponseRecorded):
                records.append(
                    response_row(
                        take(Response),
                        challenge=challenge,
                        visit=visits[entered - 1],
                        detail=detail,
                        on=event_state.on,
                        by=by,
                        now=now,
                    )
                )
            elif isinstance(detail, CafcassReferred):
                records.append(
                    referral_row(
                        take(CafcassReferral),
                        challenge=challenge,
                        detail=detail,
                        on=event_state.on,
                        by=by,
                        now=now,
                    )
                )
        # The records chain: each record once, as the history leaves it (the newest seal is what counts).
        chain = _row(EvidenceHead, pk=take(EvidenceHead), chain=f"records:{challenge.pk}", updated_at=now)
        for record in records:
            seal = _row(
                EvidenceSeal,
                pk=take(EvidenceSeal),
                chain=chain.chain,
                sequence=chain.length + 1,
                record=record._meta.label_lower,
                record_id=record.pk,
                digest=row_digest(record, getattr(record, "evidence_exclude", ())),
                created_at=now,
            )
            link_seal(seal, chain, seal_fields, key_id)
            rows[EvidenceSeal].append(seal)
            rows[type(record)].append(record)
        rows[EvidenceHead].extend([chain, events_head])


# Written in this order (a row after those it refers to), and their sequences reset afterwards.
WRITTEN: tuple[type[models.Model], ...] = (
    Child,
    Challenge,
    StageVisit,
    Response,
    CafcassReferral,
    Event,
    CaseNote,
    EvidenceSeal,
    EvidenceHead,
)
