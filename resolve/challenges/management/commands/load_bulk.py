"""``manage.py load_bulk N``: add N challenges at once, to measure lists and the sweep at scale.

Each challenge is raised through the engine (``engine.decide``, so its stage, due date, event detail
and case-note words are those the write path would produce), then written with plain multi-row
inserts instead of one transaction per challenge: its row, its stage visit, its "raised" event and
the case note on the child's record, sealed exactly as the write path seals them (the event and
case-note chains, the records chain of the challenge and its visit, and every chain's head), so
``manage.py verify_evidence`` still passes afterwards. About seven in ten are left open, the rest
resolved or withdrawn, raised over the last two years at every stage of the national procedure.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Sequence
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, connection, connections, models, transaction
from django.db.models import Max
from django.utils import timezone

from resolve.audit.chain import case_note_fields, event_fields, link_hash, seal_fields
from resolve.audit.models import EvidenceHead, EvidenceSeal
from resolve.audit.sealing import current_key_id, row_digest
from resolve.calendars.services import working_calendar
from resolve.calendars.types import Nation
from resolve.challenges import engine
from resolve.challenges.case_notes import StagePeople, case_note_body, case_note_type
from resolve.challenges.events import detail_to_json
from resolve.challenges.models import Challenge, Event, StageVisit
from resolve.children.models import CaseNote, Child
from resolve.people.demo import authority_build
from resolve.procedures.selectors import procedure_get, procedure_version_model

CHUNK = 5_000


def _insert(model: type[models.Model], rows: Sequence[models.Model]) -> None:
    """One multi-row INSERT per chunk of ``rows`` (ids already set), values prepared as Django would."""
    if not rows:
        return
    fields = list(model._meta.concrete_fields)
    # The connection itself, not the thread-local proxy: asked once per value, the proxy costs more
    # than the value.
    db = connections[DEFAULT_DB_ALIAS]
    table = connection.ops.quote_name(str(model._meta.db_table))
    columns = ", ".join(connection.ops.quote_name(str(field.column)) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    # The model's own table and column names; every value is a parameter.
    sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608  # nosec B608
    with connection.cursor() as cursor:
        for start in range(0, len(rows), CHUNK):
            cursor.executemany(
                sql,
                [
                    [field.get_db_prep_save(getattr(row, field.attname), db) for field in fields]
                    for row in rows[start : start + CHUNK]
                ],
            )


def _next_id(model: type[models.Model]) -> int:
    return int(model._base_manager.aggregate(top=Max("pk"))["top"] or 0) + 1


class Command(BaseCommand):
    help = (
        "Add COUNT challenges at once (with their stage visits, events and case notes, sealed into "
        "valid evidence chains) to the demo authority, on new children named 'Bulk', for measuring "
        "lists and the sweep at scale. Not for a live database: the records are made up."
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
        with transaction.atomic():
            added = self._load(authority, count, per_child, random.Random(seed), today)
        with connection.cursor() as cursor:
            for statement in connection.ops.sequence_reset_sql(
                no_style(), [Child, Challenge, StageVisit, Event, CaseNote, EvidenceSeal, EvidenceHead]
            ):
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
        agreed = engine.Person(username="iro_service_manager", roles=frozenset({"iro_service_manager"}))
        names = {
            user.username: f"{user.get_full_name() or user.username} ({user.username})"
            for user in staff.values()
        }
        key_id = current_key_id()
        now = timezone.now()
        teams = [authority.teams["social_work"], authority.teams["second"]]
        decisions: dict[tuple[str, dt.date], engine.Accepted] = {}

        def decided(stage: str, on: dt.date) -> engine.Accepted:
            key = (stage, on)
            if key not in decisions:
                target = procedure.stage(stage)
                first = stage == procedure.stages[0].key
                decision = engine.decide(
                    procedure=procedure,
                    state=engine.ChallengeState(track="iro"),
                    command=engine.Raise(
                        on=on,
                        concern="Bulk",
                        impact_on_child="Bulk",
                        stage=None if first else stage,
                        bypass_reason="" if first else "Bulk data",
                        bypass_agreed_by=None if first else agreed,
                        documents=frozenset(target.documents),
                    ),
                    actor=engine.Actor(username="iro", relations=frozenset({engine.CHAIR})),
                    today=on,
                    calendar=calendar,
                )
                if isinstance(decision, engine.Refused):
                    raise RuntimeError(f"The engine refused a bulk challenge at {stage}: {decision.message}")
                decisions[key] = decision
            return decisions[key]

        child_id, challenge_id, visit_id = _next_id(Child), _next_id(Challenge), _next_id(StageVisit)
        event_id, note_id, seal_id, head_id = (
            _next_id(Event),
            _next_id(CaseNote),
            _next_id(EvidenceSeal),
            _next_id(EvidenceHead),
        )
        stages = [stage.key for stage in procedure.stages]
        added = 0
        # Batches hold whole children, so that each child's chain head is final when it is written.
        step = max(per_child, CHUNK - CHUNK % per_child)
        while added < count:
            batch = min(step, count - added)
            children: list[Child] = []
            rows: list[Challenge] = []
            visits: list[StageVisit] = []
            events: list[Event] = []
            notes: list[CaseNote] = []
            seals: list[EvidenceSeal] = []
            heads: list[EvidenceHead] = []
            child_heads: dict[int, EvidenceHead] = {}
            for index in range(batch):
                if (added + index) % per_child == 0:
                    child = Child(
                        pk=child_id,
                        case_number=f"BULK{child_id:09d}",
                        first_name="Bulk",
                        last_name=f"Child {child_id}",
                        date_of_birth=dt.date(2010, 1, 1) + dt.timedelta(days=child_id % 3000),
                        social_worker_id=staff["social_worker"].pk,
                        team=teams[child_id % 2],
                        iro_id=staff["iro"].pk,
                        cp_chair_id=staff["cp_chair"].pk,
                        created_at=now,
                    )
                    children.append(child)
                    child_heads[child.pk] = EvidenceHead(
                        pk=head_id, chain=f"child:{child.pk}", updated_at=now
                    )
                    head_id += 1
                    child_id += 1
                child = children[-1]
                raised_on = today - dt.timedelta(days=rng.randint(0, 730))
                while raised_on.weekday() >= 5:
                    raised_on -= dt.timedelta(days=1)
                decision = decided(stages[rng.randrange(len(stages))], raised_on)
                visit_state = decision.state.visits[0]
                roll = rng.random()
                status = "open" if roll < 0.7 else "resolved" if roll < 0.95 else "withdrawn"
                closed_on = raised_on + dt.timedelta(days=rng.randint(1, 20)) if status != "open" else None
                challenge = Challenge(
                    pk=challenge_id,
                    child=child,
                    track="iro",
                    policy=version,
                    status=status,
                    raised_by_id=staff["iro"].pk,
                    raised_on=raised_on,
                    concern="Bulk",
                    impact_on_child="Bulk",
                    themes=[],
                    stage_key=visit_state.stage if status == "open" else "",
                    stage_entered_on=raised_on if status == "open" else None,
                    stage_due_on=visit_state.due_on if status == "open" else None,
                    formal_started_on=decision.state.formal_started_on,
                    formal_due_on=decision.state.formal_due_on,
                    last_event_on=raised_on,
                    documents=sorted(decision.state.documents),
                    outcome="Bulk" if status == "resolved" else "",
                    resolved_on=closed_on if status == "resolved" else None,
                    version=1,
                    created_at=now,
                    updated_at=now,
                )
                challenge.allocation_copy(child)
                challenge_id += 1
                target = procedure.stage(visit_state.stage)
                # Bulk data is raised under the authority's own ladder, whose stages go to a role.
                to_users = [target.to_role] if target.to_role else []
                visit = StageVisit(
                    pk=visit_id,
                    challenge=challenge,
                    sequence=1,
                    stage_key=visit_state.stage,
                    entered_on=raised_on,
                    due_on=visit_state.due_on,
                    left_on=closed_on,
                    left_how=status if status != "open" else "",
                    to_users=to_users,
                    cc_users=[],
                    notify_users=[],
                )
                visit_id += 1
                rows.append(challenge)
                visits.append(visit)
                event_state = decision.events[0]
                event = Event(
                    pk=event_id,
                    challenge=challenge,
                    sequence=1,
                    type=event_state.type.value,
                    stage_key=event_state.stage or "",
                    on=raised_on,
                    by_id=staff["iro"].pk,
                    detail=detail_to_json(event_state.detail),
                    created_at=now,
                    previous_hash="",
                    key_id=key_id,
                )
                event.hash = link_hash(event_fields(event), "", key_id)
                event_id += 1
                events.append(event)
                people = StagePeople(
                    to=[names.get(name, name) for name in to_users], copied=[], told=[], due_on=visit.due_on
                )
                child_head = child_heads[child.pk]
                note = CaseNote(
                    pk=note_id,
                    child=child,
                    challenge=challenge,
                    note_type=case_note_type(procedure, event_state),
                    body=case_note_body(procedure, event_state, people),
                    on=raised_on,
                    author_id=staff["iro"].pk,
                    created_at=now,
                    previous_hash=child_head.hash,
                    key_id=key_id,
                )
                note.hash = link_hash(case_note_fields(note), child_head.hash, key_id)
                child_head.length += 1
                child_head.hash = note.hash
                note_id += 1
                notes.append(note)
                records = EvidenceHead(pk=head_id, chain=f"records:{challenge.pk}", updated_at=now)
                head_id += 1
                for sealed, exclude in ((challenge, set(Challenge.evidence_exclude)), (visit, set())):
                    seal = EvidenceSeal(
                        pk=seal_id,
                        chain=records.chain,
                        sequence=records.length + 1,
                        record=sealed._meta.label_lower,
                        record_id=sealed.pk,
                        digest=row_digest(sealed, exclude),
                        created_at=now,
                        key_id=key_id,
                        previous_hash=records.hash,
                    )
                    seal.hash = link_hash(seal_fields(seal), records.hash, key_id)
                    records.length += 1
                    records.hash = seal.hash
                    seal_id += 1
                    seals.append(seal)
                events_head = EvidenceHead(
                    pk=head_id, chain=f"challenge:{challenge.pk}", length=1, hash=event.hash, updated_at=now
                )
                head_id += 1
                heads.extend([records, events_head])
            _insert(Child, children)
            _insert(Challenge, rows)
            _insert(StageVisit, visits)
            _insert(Event, events)
            _insert(CaseNote, notes)
            _insert(EvidenceSeal, seals)
            _insert(EvidenceHead, [*heads, *child_heads.values()])
            added += batch
            self.stdout.write(f"  {added:,} of {count:,}")
        return added
