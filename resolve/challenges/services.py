"""The one write path for every change to a challenge.

Each service loads the challenge's state, asks the engine, and writes — in one transaction — the new
state, the event, the typed case note on the child's record, and whatever the change recorded
(a response, a meeting, a referral). A refused command raises ``ServiceError`` and writes nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import DatabaseError, connection, transaction
from django.db.models import IntegerField, TextField
from django.db.models.expressions import RawSQL
from django.utils import timezone

from resolve.access import (
    NotVisible,
    challenge_get_for_change,
    challenge_get_for_hand_over,
    child_get_for_change,
    work_get_for_hand_over,
)
from resolve.access.permissions import Perm
from resolve.audit.chain import case_note_fields, event_fields, evidence_batch, evidence_seal, rows_returning
from resolve.audit.models import EvidenceHead
from resolve.calendars.services import working_calendar
from resolve.calendars.types import Nation
from resolve.challenges import engine, events
from resolve.challenges.case_notes import (
    StagePeople,
    case_note_body,
    case_note_type,
    enters_stage,
    fmt_date,
)
from resolve.challenges.documents import directors_briefing_clean
from resolve.challenges.events import (
    REVIEWS,
    AgreementAnswered,
    AgreementRequested,
    HandedOver,
    MeetingRequested,
    detail_to_json,
)
from resolve.challenges.models import (
    Action,
    Agreement,
    CafcassReferral,
    Challenge,
    Concern,
    ConcernClosure,
    Document,
    Event,
    Meeting,
    Response,
    StageVisit,
)
from resolve.challenges.selectors import (
    ChangePeople,
    DueDate,
    challenge_actor,
    challenge_change_people,
    challenge_state,
    child_cafcass_agreements,
    child_cafcass_state,
    child_raise_people,
    concern_chair_due,
    due_date_explain,
    person_for_command,
)
from resolve.children.models import CaseNote, Child
from resolve.children.selectors import ChildLine, child_chair, child_line
from resolve.children.services import child_allocation_hand_over
from resolve.core import limits
from resolve.core.clock import today
from resolve.core.errors import ServiceError
from resolve.core.retry import retried
from resolve.core.rows import json_rows, rows_from, value_from_json
from resolve.notifications.services import (
    child_cafcass_messages,
    notifications_for_events,
)
from resolve.people.roles import CHAIR_ROLE_FOR_TRACK, role_label
from resolve.people.selectors import user_roles
from resolve.procedures.models import PolicyVersion
from resolve.procedures.schema import Procedure
from resolve.procedures.selectors import procedure_get, procedure_model_for, procedure_version_model

# -- writing -------------------------------------------------------------------------------------


def _stage_people(visit: StageVisit, line: ChildLine) -> StagePeople:
    names = _people_named([*visit.to_users, *visit.cc_users, *visit.notify_users], line)
    return StagePeople(
        to=[names[username] for username in visit.to_users],
        copied=[names[username] for username in visit.cc_users],
        told=[names[username] for username in visit.notify_users],
        due_on=visit.due_on,
    )


def _people_named(usernames: Sequence[str], line: ChildLine) -> dict[str, str]:
    """'Full Name (username)' for each username, so a case note reads well and still names the account."""
    known = line.people()
    unknown = [username for username in usernames if username not in known]
    if unknown:
        known.update((user.username, user) for user in User.objects.filter(username__in=unknown))
    return {
        username: f"{known[username].get_full_name() or username} ({username})"
        if username in known
        else username
        for username in usernames
    }


# New rows a change writes with its visits (``_sync_visits``): a response, raising's actions.
Companion = Response | Action


def _sync_visits(
    challenge: Challenge,
    procedure: Procedure,
    old: engine.ChallengeState,
    new: engine.ChallengeState,
    rows: list[StageVisit],
    line: ChildLine,
    companion: Callable[[list[StageVisit]], Sequence[Companion]] | None = None,
) -> list[StageVisit]:
    """Write the engine's visits back over ``rows`` (the visits as loaded); returns them in order.

    The changed visits and the new ones are written in one statement (an insert that updates the
    row of a visit already there, by its challenge and sequence), and sealed with the change.
    ``companion``: new rows of one model the change records (given the visits): the response at the
    current stage, the actions raising agrees. On PostgreSQL they are inserted in the same statement
    as the visits (a data-modifying ``WITH``), on SQLite in one of their own; either way sealed after
    the visits, as saves in the change's ``after`` would seal them.
    """
    rows = list(rows)
    changed: list[StageVisit] = []
    added: list[StageVisit] = []
    for index, visit in enumerate(new.visits):
        if index < len(rows):
            row = rows[index]
            if index < len(old.visits) and old.visits[index] == visit:
                continue
            row.left_on, row.left_how = visit.left_on, visit.left_how or ""
            row.response, row.responded_on = visit.response or "", visit.responded_on
            row.meetings = visit.meetings
            # An agreed extension moves the response date (and so the reminders and the overdue day).
            row.due_on, row.procedure_due_on, row.extended_from = (
                visit.due_on,
                visit.procedure_due_on,
                visit.extended_from,
            )
            _visit_contact_set(row, visit)
            changed.append(row)
        else:
            stage = procedure.stage(visit.stage)
            # A partner agency's stage goes to its contact, outside Resolve: nobody in it is its "To".
            to_users = [user.get_username() for user in line.holders(stage.to_role)] if stage.to_role else []
            cc_users = _usernames_for(stage.cc_roles, line, exclude=to_users)
            notify_roles = [*stage.notify_roles, *visit.extra_notify_roles]
            notify_users = _usernames_for(notify_roles, line, exclude=[*to_users, *cc_users])
            added.append(
                StageVisit(
                    challenge=challenge,
                    sequence=index + 1,
                    stage_key=visit.stage,
                    entered_on=visit.entered_on,
                    due_on=visit.due_on,
                    procedure_due_on=visit.procedure_due_on,
                    to_users=to_users,
                    cc_users=cc_users,
                    notify_users=notify_users,
                )
            )
            _visit_contact_set(added[-1], visit)
    written = [*changed, *added]
    rows.extend(added)
    extras = list(companion(rows)) if companion is not None else []
    # On PostgreSQL they join the visits' statement (a data-modifying WITH); SQLite has none, and a
    # response at a stage entered by this change waits for its visit's id.
    joined = (
        bool(extras)
        and bool(written)
        and all(getattr(extra, "visit_id", 0) is not None for extra in extras)
        and transaction.get_connection().vendor == "postgresql"
    )
    if written:
        _visits_upsert(written, extras if joined else [])
        for row in written:
            evidence_seal(row)
    if extras and not joined:
        model: Any = type(extras[0])
        model.objects.bulk_create(extras)
    for extra in extras:
        evidence_seal(extra)
    return rows


# (vendor, rows) -> the visits' upsert: the same text for every change that writes that many.
_VISIT_UPSERTS: dict[tuple[str, int], str] = {}


def _visits_upsert(rows: list[StageVisit], companion: Sequence[Companion] = ()) -> None:
    """Write ``rows`` in one statement: an insert that updates the visit already there by its
    challenge and sequence (the conflict target), answering each row's id (a changed visit's as it
    was), as ``bulk_create(update_conflicts=True)`` does, with the text built once per shape.

    ``companion``: on PostgreSQL, new rows of one model to insert in the same statement (a
    data-modifying ``WITH``): a response (its visit already there), raising's actions; sealed by the
    caller.
    """
    db = transaction.get_connection()
    meta = StageVisit._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    shape = (db.vendor, len(rows))
    if companion:
        _visits_upsert_with(db, _visits_upsert_sql(db, shape, fields, len(rows)), fields, rows, companion)
        return
    sql = _visits_upsert_sql(db, shape, fields, len(rows))
    rows_returning(db, sql, fields, rows)


def _visits_upsert_sql(db: Any, shape: tuple[str, int], fields: list[Any], count: int) -> str:
    """The visits' upsert for ``count`` rows, built once per shape."""
    meta = StageVisit._meta
    sql = _VISIT_UPSERTS.get(shape)
    if sql is None:
        quote = db.ops.quote_name
        column = {field.name: quote(str(field.column)) for field in meta.concrete_fields}
        marks = f"({', '.join(['%s'] * len(fields))})"
        updated = ", ".join(f"{column[name]} = EXCLUDED.{column[name]}" for name in _VISIT_UPDATED)
        # The model's own table and quoted columns; every value is a parameter.
        sql = (
            f"INSERT INTO {quote(meta.db_table)} ({', '.join(column[f.name] for f in fields)}) "  # noqa: S608  # nosec B608
            f"VALUES {', '.join([marks] * count)} "
            f"ON CONFLICT ({column['challenge']}, {column['sequence']}) DO UPDATE SET {updated} "
            f"RETURNING {column['id']}"
        )
        if count <= 8:  # a change writes one or two; kept for those
            _VISIT_UPSERTS[shape] = sql
    return sql


def _visits_upsert_with(
    db: Any, upsert: str, fields: list[Any], rows: list[StageVisit], extras: Sequence[Companion]
) -> None:
    """PostgreSQL: the visits' ``upsert`` and the insert of ``extras`` (rows of one model) in one
    statement, answering the visits' ids in order, then theirs; each row is given its id and marked
    saved."""
    meta = type(extras[0])._meta
    quote = db.ops.quote_name
    extra_fields = [field for field in meta.concrete_fields if not field.primary_key]
    marks = f"({', '.join(['%s'] * len(extra_fields))})"
    ident = quote(str(meta.pk.column))
    # The model's own tables and quoted columns; every value is a parameter.
    sql = (
        f"WITH visits AS ({upsert}), added AS (INSERT INTO {quote(meta.db_table)} "  # noqa: S608  # nosec B608
        f"({', '.join(quote(str(field.column)) for field in extra_fields)}) "
        f"VALUES {', '.join([marks] * len(extras))} RETURNING {ident}) "
        f"SELECT 0, {quote('id')} FROM visits UNION ALL SELECT 1, {ident} FROM added"
    )
    params = [field.get_db_prep_save(field.pre_save(visit, True), db) for visit in rows for field in fields]
    params += [
        field.get_db_prep_save(field.pre_save(extra, True), db) for extra in extras for field in extra_fields
    ]
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        answered = cursor.fetchall()
    visit_ids = [pk for part, pk in answered if part == 0]
    extra_ids = [pk for part, pk in answered if part == 1]
    for saved, pk in zip([*rows, *extras], [*visit_ids, *extra_ids], strict=True):
        saved.pk = pk
        saved._state.adding = False
        saved._state.db = db.alias


def _visit_contact_set(row: StageVisit, visit: engine.Visit) -> None:
    """The contact at the partner agency the stage went to (empty on the authority's own ladder)."""
    contact = visit.contact
    row.contact_name = contact.name if contact else ""
    row.contact_role = contact.role if contact else ""
    row.contact_email = contact.email if contact else ""


def contact_bounds_check(contact: engine.AgencyContact | None, field: str = "contact") -> None:
    """A partner agency's contact within resolve.core.limits: one line each, a name's length."""
    if contact is None:
        return
    limits.text_check(field=f"{field}.name", value=contact.name, max_length=limits.MAX_NAME, single_line=True)
    limits.text_check(field=f"{field}.role", value=contact.role, max_length=limits.MAX_NAME, single_line=True)
    limits.text_check(
        field=f"{field}.email", value=contact.email, max_length=limits.MAX_KEY, single_line=True
    )


# What a visit's row may change once written: everything but its challenge and place in the order.
_VISIT_UPDATED = [
    field.name
    for field in StageVisit._meta.concrete_fields
    if not field.primary_key and field.name not in {"challenge", "sequence"}
]


def _usernames_for(roles: Sequence[str], line: ChildLine, *, exclude: Sequence[str]) -> list[str]:
    """The people holding ``roles`` for this challenge, each once, leaving out those already named."""
    found = {user.get_username() for role in roles for user in line.holders(role)}
    return sorted(found - set(exclude))


# The events of the change being written, for an ``after`` hook that records what they say (the
# events themselves reach the database with the change's other links, after the hook has run).
_CHANGE_EVENTS: ContextVar[tuple[engine.Event, ...]] = ContextVar("resolve_change_events", default=())


def _change_detail(kind: type[Any]) -> Any:
    """The detail of this change's event of type ``kind`` (for an ``after`` hook)."""
    return next(event.detail for event in _CHANGE_EVENTS.get() if isinstance(event.detail, kind))


@dataclass
class _InChange:
    """What the change being written read with its challenge and what it adds, for its ``after`` hook
    and the records of its events, so that neither reads a row again."""

    actions: tuple[Action, ...] = ()  # the challenge's actions as read (whole rows)
    meetings: tuple[Meeting, ...] | None = None  # its meetings as read with the lock (None: not)
    named: Mapping[str, User] = dataclasses.field(default_factory=dict)  # the people the change names
    # The actions and meetings it adds (``_actions_put``, ``_meeting_add``): its schedule is worked out
    # from them and from the rows it read, instead of reading them all again.
    added: list[Action | Meeting] = dataclasses.field(default_factory=list)


_IN_CHANGE: ContextVar[_InChange | None] = ContextVar("resolve_in_change", default=None)


def _change_action(challenge: Challenge, action_id: int) -> Action:
    """Action ``action_id`` of ``challenge`` as this change read it (read now if it was not): saved
    with ``update_fields``, it is one UPDATE, sealed from the row in memory."""
    for row in _in_change().actions:
        if row.pk == action_id and row.challenge_id == challenge.pk:
            return row
    return Action.objects.get(pk=action_id, challenge=challenge)


def _in_change() -> _InChange:
    return _IN_CHANGE.get() or _InChange()


@contextmanager
def _changing(in_change: _InChange) -> Iterator[None]:
    """``in_change`` is what the change being written read and adds, while it is written."""
    token = _IN_CHANGE.set(in_change)
    try:
        yield
    finally:
        _IN_CHANGE.reset(token)


def _change_meeting_requests(challenge: Challenge, numbers: Collection[int]) -> dict[int, Meeting]:
    """The latest request of each meeting in ``numbers`` (the one asked again when its chair was
    handed over), by number in order, from the meetings this change read with the challenge (read
    now if it did not)."""
    read: Iterable[Meeting] | None = _in_change().meetings
    if read is None:
        read = Meeting.objects.filter(challenge=challenge, number__in=numbers).select_related("visit")
    asked = [row for row in read if row.requested and row.number in numbers]
    return {row.number: row for row in sorted(asked, key=lambda row: (row.number, row.pk))}


def _change_named(username: str) -> User:
    """The account ``username`` as the change read it with its people (read now if it did not)."""
    person = _in_change().named.get(username)
    return person if person is not None else User.objects.get(username=username)


def _meeting_add(**fields: Any) -> Meeting:
    """Write a meeting row (a request, a request asked again, minutes) in a change, which keeps it for
    its schedule."""
    row = Meeting.objects.create(**fields)
    _in_change().added.append(row)
    return row


def _meetings_after(meetings: Sequence[Meeting] | None, sealed: set[int]) -> list[Meeting] | None:
    """The challenge's meetings as the change leaves them, from those it read and those it added
    (``sealed``: the ids of the meeting rows its evidence batch seals), as the read with the lock
    would answer them now: a row pointed at by a new one (its minutes, or its request asked again) has
    minutes. None, to read them again, when they were not read or the change wrote one it did not keep."""
    added = [row for row in _in_change().added if isinstance(row, Meeting)]
    if meetings is None or {row.pk for row in added} != sealed:
        return None
    pointed = {row.request_id for row in added if row.request_id is not None}
    for row in meetings:
        row.has_minutes = row.has_minutes or row.pk in pointed  # type: ignore[attr-defined]
    for row in added:
        row.has_minutes = row.pk in pointed  # type: ignore[attr-defined]
    # The read's own filter: numbered meetings and requests (minutes of an unasked meeting are number 0).
    return [*meetings, *(row for row in added if row.number > 0 or row.requested)]


# vendor -> the update of every column of a challenge by its id, as ``save()`` compiles it.
_CHALLENGE_UPDATES: dict[str, str] = {}


def _challenge_update(challenge: Challenge) -> None:
    """Save a challenge read for the change as ``save()`` does (every column but the id, each
    value through its field's ``pre_save`` and ``get_db_prep_save``, then its seal with the batch),
    with the statement's text built once per database rather than compiled by the ORM each time.
    ``Challenge`` has no ``pre_save``/``post_save`` receivers to send to. One read with columns
    left out is saved by ``save()``, which writes only those it has."""
    if challenge.get_deferred_fields():
        challenge.save()
        return
    db = transaction.get_connection()
    meta = Challenge._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    sql = _CHALLENGE_UPDATES.get(db.vendor)
    if sql is None:
        quote = db.ops.quote_name
        table = quote(meta.db_table)
        assigned = ", ".join(f"{quote(str(field.column))} = %s" for field in fields)
        # The model's own table and quoted columns; every value is a parameter.
        sql = f"UPDATE {table} SET {assigned} WHERE {table}.{quote(str(meta.pk.column))} = %s"  # noqa: S608  # nosec B608
        _CHALLENGE_UPDATES[db.vendor] = sql
    params = [field.get_db_prep_save(field.pre_save(challenge, False), db) for field in fields]
    with db.cursor() as cursor:
        cursor.execute(sql, [*params, challenge.pk])
        if cursor.rowcount != 1:  # the row is locked for the change: it cannot have gone
            raise DatabaseError(f"Challenge {challenge.pk} was not updated.")
    evidence_seal(challenge)


def _write(
    *,
    challenge: Challenge,
    procedure: Procedure,
    user: User | None,
    old: engine.ChallengeState,
    decision: engine.Accepted,
    after: Callable[[Challenge, list[StageVisit], engine.ChallengeState], None] | None = None,
    visits: Sequence[StageVisit] = (),
    line: ChildLine | None = None,
    actions: Sequence[tuple[int, dt.date, str]]
    | Callable[[], Sequence[tuple[int, dt.date, str]] | None]
    | None = None,
    heads: Mapping[str, EvidenceHead] | None = None,
    meetings: Sequence[Meeting] | None = None,
    companion: Callable[[Challenge, list[StageVisit]], Sequence[Companion]] | None = None,
) -> Challenge:
    """Write an accepted change: the state, the visits, what ``after`` records, the events and case
    notes, the messages and the deadlines, with every seal of the evidence chains written together.
    ``after`` may set fields of the challenge itself (an outcome, learning points) without saving
    it: they are written with the change's own update of the challenge.

    ``visits``: the challenge's visit rows as loaded; ``line``: the child's line read for the change;
    ``actions``: its actions (id, due, status) as loaded, or a function that answers them once
    ``after`` has run (raising, which writes them there); None: they are read again. ``heads``: the
    chain heads read with the locked challenge (``_change_rows``), moved on only from what they were.
    ``meetings``: its meeting rows read with it, for the schedule unless the change writes a meeting.
    ``companion``: new rows the change records (a response, raising's actions), written with the
    visits (``_sync_visits``).
    """
    line = line if line is not None else child_line(child=challenge.child, track=challenge.track)
    new = decision.state
    current = new.current
    challenge.status = new.status if new.status != "new" else Challenge.Status.OPEN
    challenge.stage_key = current.stage if current else ""
    challenge.stage_entered_on = current.entered_on if current else None
    challenge.stage_due_on = current.due_on if current else None
    challenge.stage_responded_on = current.responded_on if current else None
    challenge.formal_started_on = new.formal_started_on
    challenge.formal_due_on = new.formal_due_on
    challenge.cafcass_referred_on = new.cafcass_referred_on
    challenge.last_event_on = new.last_event_on or challenge.last_event_on
    challenge.documents = sorted(new.documents)
    challenge.final_comments_on = new.final_comments_on
    with evidence_batch() as batch:
        batch.heads_read.update(heads or {})
        raising = challenge.pk is None
        if raising:
            # Saved first: its visits, actions and documents need its id.
            batch.new_chains = True
            # The child's allocation, for the scope and the lists; a change of allocation moves it.
            challenge.allocation_copy(challenge.child)
            challenge.save()
        else:
            challenge.version += 1
        rows = _sync_visits(
            challenge,
            procedure,
            old,
            new,
            list(visits),
            line,
            (lambda rows: companion(challenge, rows)) if companion is not None else None,
        )
        if after is not None:
            token = _CHANGE_EVENTS.set(decision.events)
            try:
                after(challenge, rows, new)
            finally:
                _CHANGE_EVENTS.reset(token)
        if not raising:
            # One update for the new state and whatever ``after`` set on the challenge (an outcome).
            _challenge_update(challenge)
        entered = rows[-1] if rows else None
        for event in decision.events:
            row = Event(
                challenge=challenge,
                type=event.type.value,
                stage_key=event.stage or "",
                on=event.on,
                by=user,
                detail=detail_to_json(event.detail),
            )
            batch.link(row, chain=row.evidence_chain, fields=event_fields, before=row.number)
            people = _stage_people(entered, line) if entered is not None and enters_stage(event) else None
            note = CaseNote(
                child=challenge.child,
                challenge=challenge,
                note_type=case_note_type(procedure, event),
                body=case_note_body(procedure, event, people),
                on=event.on,
                author=user,
            )
            batch.link(note, chain=note.evidence_chain, fields=case_note_fields)
            _record_agreement(challenge, event, user)
            _record_meeting_request(challenge, event, user, rows)
        # A meeting written (minutes, a request, a chair handed over) joins those read, for the schedule.
        meeting_label = Meeting._meta.label_lower
        sealed = {
            link.row.record_id for link in batch.links if getattr(link.row, "record", "") == meeting_label
        }
        if sealed:
            meetings = _meetings_after(meetings, sealed)
    # The messages this change causes, in its own transaction: rolled back with it, never lost after.
    notifications_for_events(
        challenge=challenge,
        procedure=procedure,
        events=decision.events,
        visits=rows,
        state=new,
        line=line,
        actions=actions() if callable(actions) else actions,
        # An action added to the plan is not in the engine's state: the schedule is then worked out
        # whatever the state says.
        before=None if any(isinstance(row, Action) for row in _in_change().added) else old,
        meetings=meetings,
    )
    return challenge


def _record_agreement(challenge: Challenge, event: engine.Event, user: User | None) -> None:
    """Keep the requests for agreement in step with their events: asked, handed over to a leaver's
    successor, then confirmed or declined. The person asked, and a successor, as the change read
    them with its people (``_change_named``)."""
    detail = event.detail
    if isinstance(detail, AgreementRequested):
        assert user is not None  # a person asks; Resolve never does
        Agreement.objects.create(
            challenge=challenge,
            number=detail.number,
            purpose=detail.purpose,
            key=detail.key,
            kind=detail.kind,
            person=_change_named(detail.person),
            role=detail.role,
            note=detail.note,
            requested_by=user,
            requested_on=event.on,
        )
    elif isinstance(detail, HandedOver) and detail.agreements:
        # The requests still waiting on the leaver's answer now wait on the successor's.
        successor = _change_named(detail.successor)
        for row in Agreement.objects.filter(
            challenge=challenge, number__in=detail.agreements, status=Agreement.Status.PENDING
        ).order_by("number"):
            row.person = successor
            row.save()
    elif isinstance(detail, AgreementAnswered):
        row = Agreement.objects.get(challenge=challenge, number=detail.number)
        row.status = detail.answer
        row.answered_on = event.on
        row.answered_at = timezone.now()
        row.comments = detail.comments
        row.save()


def _record_meeting_request(
    challenge: Challenge, event: engine.Event, user: User | None, visits: list[StageVisit]
) -> None:
    """A requested meeting is a ``Meeting`` row of its own; its minutes are another that points at it.
    A leaver's requested meeting is asked again, as it was, with their successor as its chair (the
    rows are append-only: the first request stays as evidence)."""
    detail = event.detail
    if isinstance(detail, HandedOver) and detail.meetings:
        assert user is not None  # a person hands over; Resolve never does
        successor = _change_named(detail.successor)
        for row in _change_meeting_requests(challenge, detail.meetings).values():
            _meeting_add(
                challenge=challenge,
                visit=row.visit,
                held_on=None,
                summary=row.summary,
                recorded_by=user,
                number=row.number,
                meeting_key=row.meeting_key,
                requested=True,
                scheduled_for=row.scheduled_for,
                chair=successor,
                attendees=list(row.attendees),
                outsiders=list(row.outsiders),
                request=row,
            )
        return
    if not isinstance(detail, MeetingRequested):
        return
    assert user is not None  # a person asks; Resolve never does
    _meeting_add(
        challenge=challenge,
        visit=visits[-1],
        held_on=None,
        summary=detail.note,
        recorded_by=user,
        number=detail.number,
        meeting_key=detail.key,
        requested=True,
        scheduled_for=detail.scheduled_for,
        # The chair as read with the change's people (``challenge_request_meeting``), else read now.
        chair=_change_named(detail.chair),
        attendees=list(detail.attendees),
        outsiders=list(detail.outsiders),
    )


# -- the rows a change reads with its locked challenge -------------------------------------------
@dataclass(frozen=True)
class _ChangeRows:
    """What a change reads of its challenge besides the row: its visits and actions, and the heads of
    the chains it will extend (read without a lock: moved on only from what they were here)."""

    visits: list[StageVisit]
    actions: list[Action]
    heads: dict[str, EvidenceHead]
    # Its requests for agreement (as the engine sees them) and its requested and recorded meetings
    # (each with its visit and chair's username, and whether minutes point at it).
    agreements: list[engine.AgreementState]
    meetings: list[Meeting]


# (vendor) -> the annotations; the SQL is the same for every change.
_ROWS_SQL: dict[str, dict[str, str]] = {}


def _change_rows_sql() -> dict[str, RawSQL] | None:
    """Annotations that read the challenge's visits, actions and chain heads in the statement that
    locks it (``challenge_get_for_change``'s ``with_rows``): three fewer statements for every change.
    None on a database other than SQLite or PostgreSQL (they are then read one by one)."""
    db = connection
    if db.vendor not in ("sqlite", "postgresql"):
        return None
    texts = _ROWS_SQL.get(db.vendor)
    if texts is None:
        quote = db.ops.quote_name
        outer = quote(Challenge._meta.db_table)
        ident, child = f"{outer}.{quote('id')}", f"{outer}.{quote('child_id')}"
        head_chain = quote("chain")
        as_text = "CAST({} AS TEXT)".format
        users, meetings = quote(User._meta.db_table), quote(Meeting._meta.db_table)

        def user_name(column: str) -> str:
            """The username of the account in ``column`` of the row ``r``."""
            return f"(SELECT u.{quote('username')} FROM {users} u WHERE u.{quote('id')} = r.{quote(column)})"  # noqa: S608  # nosec B608

        texts = _ROWS_SQL[db.vendor] = {
            "rows_visits": json_rows(db, StageVisit, f"r.{quote('challenge_id')} = {ident}", ["sequence"]),
            "rows_actions": json_rows(db, Action, f"r.{quote('challenge_id')} = {ident}", ["due", "id"]),
            # The chains a change extends: its events', its records' and its child's case notes'.
            "rows_heads": json_rows(
                db,
                EvidenceHead,
                f"r.{head_chain} IN ('challenge:' || {as_text(ident)}, 'records:' || {as_text(ident)}, "
                f"'child:' || {as_text(child)})",
                ["chain"],
            ),
            # Its requests for agreement, with the username of the person asked.
            "rows_agreements": json_rows(
                db,
                Agreement,
                f"r.{quote('challenge_id')} = {ident}",
                ["number"],
                extra=[user_name("person_id")],
            ),
            # Its requested meetings and recorded ones, each with its chair's username and whether
            # minutes point at it (a request still to be held).
            "rows_meetings": json_rows(
                db,
                Meeting,
                f"r.{quote('challenge_id')} = {ident} AND (r.{quote('number')} > 0 "
                f"OR r.{quote('requested')} = TRUE)",
                ["number", "id"],
                extra=[
                    user_name("chair_id"),
                    f"EXISTS (SELECT 1 FROM {meetings} m "  # noqa: S608  # nosec B608
                    f"WHERE m.{quote('request_id')} = r.{quote('id')})",
                ],
            ),
            # On PostgreSQL a locked row that another change moved on is read as it now is, but the
            # subqueries above still see the statement's snapshot: this tells the two apart.
            "rows_seen_version": (
                f"(SELECT s.{quote('version')} FROM {outer} s "  # noqa: S608  # nosec B608
                f"WHERE s.{quote('id')} = {ident})"
            ),
        }
    # The model's own tables and quoted columns; no value of a request is in them.
    return {
        name: RawSQL(sql, (), output_field=IntegerField() if name == "rows_seen_version" else TextField())  # noqa: S611  # nosec B611: our own tables and columns, no value of a request
        for name, sql in texts.items()
    }


# (vendor, chains) -> the annotations raising reads with the child; the SQL is the same for every raise.
_RAISE_SQL: dict[tuple[str, tuple[str, ...]], dict[str, str]] = {}
# What raising reads of the procedure's version: all but its document (parsed once per process).
_VERSION_READ = "document"


def _raise_rows_sql(key: str, chains: tuple[str, ...] = ("child",)) -> dict[str, RawSQL] | None:
    """Annotations that read, in the statement that finds the child through the chokepoint, the heads
    of the child's evidence chains the change extends (``chains``, by prefix: ``child`` for the case
    note raising writes; ``child-records`` too for a referral with no challenge) and the current
    version of the procedure ``key``, each as a JSON array. None on a database other than SQLite or
    PostgreSQL."""
    db = connection
    if db.vendor not in ("sqlite", "postgresql"):
        return None
    texts = _RAISE_SQL.get((db.vendor, chains))
    if texts is None:
        quote = db.ops.quote_name
        ident = f"CAST({quote(Child._meta.db_table)}.{quote('id')} AS TEXT)"
        # The prefixes are our own words, never a request's.
        named = ", ".join(f"'{prefix}:' || {ident}" for prefix in chains)
        texts = _RAISE_SQL[db.vendor, chains] = {
            "rows_heads": json_rows(db, EvidenceHead, f"r.{quote('chain')} IN ({named})", ["chain"]),
            "rows_version": json_rows(
                db,
                PolicyVersion,
                f"r.{quote('key')} = %s AND r.{quote('is_current')} = %s",
                ["id"],
                exclude=[_VERSION_READ],
            ),
        }
    # The model's own tables and quoted columns; the procedure's key is a parameter.
    return {
        "rows_heads": RawSQL(texts["rows_heads"], (), output_field=TextField()),  # noqa: S611  # nosec B611: our own tables and columns
        "rows_version": RawSQL(texts["rows_version"], (key, True), output_field=TextField()),  # noqa: S611  # nosec B611: our own tables and columns; the key a parameter
    }


def _raise_version(child: Child, key: str) -> PolicyVersion | None:
    """The current version of the procedure ``key`` read with the child (its document deferred), or
    None when there is no such procedure; read on its own on another database."""
    if not hasattr(child, "rows_version"):
        return PolicyVersion.objects.filter(key=key, is_current=True).first()
    text = child.rows_version
    fields = [field for field in PolicyVersion._meta.concrete_fields if field.name != _VERSION_READ]
    for values in json.loads(text) if text else []:
        return PolicyVersion.from_db(
            connection.alias,
            [field.attname for field in fields],
            [value_from_json(f, v) for f, v in zip(fields, values, strict=True)],
        )
    return None


def _raise_heads(child: Child) -> dict[str, EvidenceHead]:
    """The heads of the child's evidence chains read with it (none for a chain not started yet)."""
    heads = rows_from(EvidenceHead, getattr(child, "rows_heads", None), None)
    return {head.chain: head for head in heads}


def _change_rows(challenge: Challenge) -> _ChangeRows | None:
    """The rows read with the locked challenge, or None when they were not read with it, or were read
    from an older snapshot than the row (PostgreSQL, after waiting for another change's lock)."""
    read = {
        name: getattr(challenge, name, None)
        for name in ("rows_visits", "rows_actions", "rows_heads", "rows_agreements", "rows_meetings")
    }
    if (
        not hasattr(challenge, "rows_visits")
        or getattr(challenge, "rows_seen_version", None) != challenge.version
    ):
        return None
    heads = rows_from(EvidenceHead, read["rows_heads"], None)
    visits = rows_from(StageVisit, read["rows_visits"], challenge)
    return _ChangeRows(
        visits=visits,
        actions=rows_from(Action, read["rows_actions"], challenge),
        heads={head.chain: head for head in heads},
        agreements=_agreements_from(read["rows_agreements"]),
        meetings=_meetings_from(read["rows_meetings"], challenge, visits),
    )


def _agreements_from(text: str | None) -> list[engine.AgreementState]:
    """The requests for agreement read with the challenge, as the engine sees them."""
    fields = Agreement._meta.concrete_fields
    found = []
    for values in json.loads(text) if text else []:
        row = {f.attname: value_from_json(f, v) for f, v in zip(fields, values, strict=False)}
        found.append(
            engine.AgreementState(
                number=row["number"],
                purpose=row["purpose"],
                key=row["key"],
                username=values[len(fields)],
                kind=row["kind"],
                status=row["status"],
                requested_on=row["requested_on"],
                answered_on=row["answered_on"],
                role=row["role"],
            )
        )
    return found


def _meetings_from(text: str | None, challenge: Challenge, visits: Sequence[StageVisit]) -> list[Meeting]:
    """The meetings read with the challenge: each with its visit (from ``visits``), its chair (the
    account's id and username only) and ``has_minutes``, whether minutes point at it."""
    fields = Meeting._meta.concrete_fields
    names = [field.attname for field in fields]
    by_id = {visit.pk: visit for visit in visits}
    rows = []
    for values in json.loads(text) if text else []:
        row = Meeting.from_db(
            connection.alias,
            names,
            [value_from_json(f, v) for f, v in zip(fields, values[: len(fields)], strict=True)],
        )
        row.challenge = challenge
        row.visit = by_id[row.visit_id]
        chair_name, minutes = values[len(fields)], values[len(fields) + 1]
        if row.chair_id is not None:
            row.chair = User.from_db(connection.alias, ["id", "username"], [row.chair_id, chair_name])
        row.has_minutes = bool(minutes)  # type: ignore[attr-defined]
        rows.append(row)
    return rows


def _load_for_change(
    *,
    user: User | None,
    challenge_id: int,
    command: engine.Command,
    expected_version: int | None,
    people: ChangePeople | None = None,
    with_rows: Mapping[str, Any] | None = None,
) -> tuple[Challenge, Procedure]:
    """The challenge, locked, through the write chokepoint: in the user's scope, with the permission
    the transition declares. ``people``: the person's posts, read with the line just before."""
    transition = engine.TRANSITION_FOR[type(command)]
    try:
        if isinstance(command, engine.HandOver) and user is not None:
            # Handing over reaches what the person may hand over, not only what they see.
            challenge = challenge_get_for_hand_over(user=user, challenge_id=challenge_id, with_rows=with_rows)
        else:
            challenge = challenge_get_for_change(
                user=user,
                challenge_id=challenge_id,
                perm=transition.perm,
                owner_may=transition.owner_may,
                posts=people.own if people is not None and user is not None else None,
                with_rows=with_rows,
            )
    except NotVisible:
        raise ServiceError("not_found", "not_found", "There is no such challenge.") from None
    if expected_version is not None and expected_version != challenge.version:
        raise ServiceError(
            "conflict",
            "stale_version",
            "Someone changed this challenge after you read it: read it again, then retry.",
            "version",
        )
    return challenge, procedure_version_model(challenge.policy)


def _command_bounds_check(command: engine.Command) -> None:
    """Every text a change carries (a reason, comments, an outcome, a summary) within MAX_TEXT."""
    for item in dataclasses.fields(command):
        value = getattr(command, item.name)
        if isinstance(value, str):
            limits.text_check(field=item.name, value=value)


class _ChangeCheck(Protocol):
    """Refuses a change from what was read for it (``_change``'s ``check``)."""

    def __call__(
        self,
        *,
        challenge: Challenge,
        procedure: Procedure,
        state: engine.ChallengeState,
        visits: Sequence[StageVisit],
        line: ChildLine,
    ) -> None: ...


@retried
def _change(
    *,
    challenge_id: int,
    user: User | None,
    command: engine.Command,
    expected_version: int | None,
    after: Callable[[Challenge, list[StageVisit], engine.ChallengeState], None] | None = None,
    prepare: Callable[[Challenge, Procedure, Mapping[str, User]], engine.Command] | None = None,
    named: Sequence[str | None] = (),
    acting_as: frozenset[str] = frozenset(),
    companion: Callable[[Challenge, list[StageVisit]], Sequence[Companion]] | None = None,
    check: _ChangeCheck | None = None,
) -> Challenge:
    """``prepare``: builds the command from the challenge, its procedure and the people ``named``
    (usernames the command names: who chairs, who is invited, who agreed, who owns an action), read
    with the change's people in its one query, whatever their posts; ``command`` is then what is
    known before (its texts checked before anything is read). ``acting_as``: relations the person
    has to the challenge by what they are doing (handing over a leaver's work), beyond those the
    management line gives them. ``companion``: the response the change records (given the challenge
    and its visits), written with the visits. ``check``: refuses the change, before the engine
    decides it, from what was read for it (called with the challenge, its procedure, its state, its
    visits and the child's line, by name)."""
    _command_bounds_check(command)
    if not limits.row_id_held(challenge_id):  # no row has it: never hand it to the database
        raise ServiceError("not_found", "not_found", "There is no such challenge.")
    # @retried opened the transaction: no savepoint inside it.
    with transaction.atomic(savepoint=False):
        # The person's posts, everyone the change may involve and everyone it names, in one query
        # (``ChangePeople``).
        people = challenge_change_people(
            challenge_id=challenge_id, user=user, named=[name for name in named if name]
        )
        challenge, procedure = _load_for_change(
            user=user,
            challenge_id=challenge_id,
            command=command,
            expected_version=expected_version,
            people=people,
            with_rows=_change_rows_sql(),
        )
        if prepare is not None:
            command = prepare(challenge, procedure, people.named)
            _command_bounds_check(command)
        rows = _change_rows(challenge)
        visits = rows.visits if rows is not None else list(challenge.visits.all())
        actions = rows.actions if rows is not None else list(challenge.actions.all())
        state = challenge_state(
            challenge=challenge,
            visits=visits,
            actions=actions,
            procedure=procedure,
            agreements=rows.agreements if rows is not None else None,
            meetings=rows.meetings if rows is not None else None,
        )
        # Everyone the change may involve, read once: who the actor is, who the stage goes to, who is
        # told (read again only if the child moved team or changed chair since).
        line = people.line(challenge) or child_line(child=challenge.child, track=challenge.track)
        # No user: Resolve itself acts (an automatic escalation); the engine decides whether it may.
        actor = (
            engine.Actor(username="", relations=frozenset({engine.SYSTEM}))
            if user is None
            else challenge_actor(
                user=user,
                child=challenge.child,
                track=challenge.track,
                procedure=procedure,
                stage_key=challenge.stage_key or None,
                line=line,
            )
        )
        if acting_as:
            actor = dataclasses.replace(actor, relations=actor.relations | acting_as)
        if check is not None:
            check(challenge=challenge, procedure=procedure, state=state, visits=visits, line=line)
        decision = engine.decide(
            procedure=procedure,
            state=state,
            command=command,
            actor=actor,
            today=today(),
            calendar=working_calendar(Nation(procedure.nation)),
        )
        if isinstance(decision, engine.Refused):
            raise ServiceError(decision.kind, decision.code, decision.message, decision.field)
        in_change = _InChange(
            actions=tuple(actions),
            meetings=tuple(rows.meetings) if rows is not None else None,
            named=people.named,
        )
        read_ids = {action.pk for action in actions}

        def actions_now() -> list[tuple[int, dt.date, str]] | None:
            """The actions as the change leaves them (re-dated, closed, handed over), with those it
            added (at a meeting, to the plan) once ``after`` has written them through ``_actions_put``
            and they have ids; None, to read them again, if the decision has more new ones than that."""
            kept = [(a.id, a.due, a.status) for a in decision.state.actions if a.id in read_ids]
            added = [(row.pk, row.due, row.status) for row in in_change.added if isinstance(row, Action)]
            if len(added) < len(decision.state.actions) - len(kept):
                return None
            return [*kept, *added]

        with _changing(in_change):
            return _write(
                challenge=challenge,
                procedure=procedure,
                user=user,
                old=state,
                decision=decision,
                after=after,
                visits=visits,
                line=line,
                heads=rows.heads if rows is not None else {},
                meetings=rows.meetings if rows is not None else None,
                companion=companion,
                actions=actions_now,
            )


def _change_naming(
    *,
    challenge_id: int,
    user: User,
    command: Callable[[engine.Person | None], engine.Command],
    expected_version: int | None,
    username: str | None,
    field: str,
) -> Challenge:
    """A change whose command (``command``, given the person) names one person (who agreed, who is
    asked): ``username``, read with the change's people and refused by ``field`` when unknown."""

    def prepare(challenge: Challenge, procedure: Procedure, named: Mapping[str, User]) -> engine.Command:
        return command(person_for_command(username=username, field=field, named=named))

    return _change(
        challenge_id=challenge_id,
        user=user,
        command=command(None),
        expected_version=expected_version,
        prepare=prepare,
        named=[username],
    )


# -- the services --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ActionInput:
    action: str
    owner: str
    due: dt.date
    owner_user: str | None = None  # the username of the owner, when they are a person in Resolve


def _documents_for(
    *, child: Child, directors_briefing: Mapping[str, Any] | None
) -> tuple[frozenset[str], dict[str, dict[str, Any]]]:
    """Validate the documents supplied with a move; returns their kinds and cleaned contents."""
    contents: dict[str, dict[str, Any]] = {}
    if directors_briefing is not None:
        contents["directors_briefing"] = directors_briefing_clean(data=directors_briefing, child=child)
    return frozenset(contents), contents


def _store_documents(
    challenge: Challenge, contents: Mapping[str, dict[str, Any]], on: dt.date, user: User
) -> None:
    for kind, content in contents.items():
        Document.objects.create(challenge=challenge, kind=kind, content=content, on=on, by=user)


@dataclass(frozen=True)
class _RaiseDecision:
    version: PolicyVersion
    procedure: Procedure
    child: Child
    state: engine.ChallengeState
    decision: engine.Accepted
    documents: dict[str, dict[str, Any]]
    line: ChildLine
    owners: tuple[User | None, ...] = ()
    concern: Concern | None = None
    named: Mapping[str, User] = dataclasses.field(default_factory=dict)  # the people it names, as read


def _raise_bounds_check(
    *,
    concern: str,
    impact_on_child: str,
    bypass_reason: str,
    themes: Sequence[str],
    actions: Sequence[ActionInput],
    directors_briefing: Mapping[str, Any] | None,
) -> None:
    """Refuse input past resolve.core.limits before anything is loaded or locked."""
    limits.count_check(field="actions", count=len(actions), most=limits.MAX_ACTIONS)
    limits.count_check(field="themes", count=len(themes), most=limits.MAX_CHOICES)
    limits.texts_check(
        [("concern", concern), ("impact_on_child", impact_on_child), ("bypass_reason", bypass_reason)]
    )
    for index, item in enumerate(actions):
        limits.text_check(field=f"actions[{index}].action", value=item.action)
        limits.text_check(field=f"actions[{index}].owner", value=item.owner, max_length=limits.MAX_KEY)
    for key, value in (directors_briefing or {}).items():
        if isinstance(value, str):
            limits.text_check(field=f"directors_briefing.{key}", value=value)


def _raise_decide(
    *,
    user: User,
    child: Child,
    track: str,
    concern: str,
    impact_on_child: str,
    desired_outcome: str = "",
    procedure_key: str | None,
    stage: str | None,
    bypass_reason: str,
    bypass_agreed_by: str | None,
    themes: Sequence[str],
    actions: Sequence[ActionInput],
    directors_briefing: Mapping[str, Any] | None,
    on: dt.date,
    respond_by: dt.date | None = None,
    review: str = "",
    review_on: dt.date | None = None,
    concern_id: int | None = None,
    notify_optional: bool | None = None,
    agency: str = "",
    agency_kind: str = "",
    contact: engine.AgencyContact | None = None,
) -> _RaiseDecision:
    """Everything raising decides, written by ``challenge_raise`` and shown by its preview."""
    limits.text_check(field="agency.name", value=agency, max_length=limits.MAX_KEY, single_line=True)
    limits.text_check(field="agency.kind", value=agency_kind, max_length=limits.MAX_KEY, single_line=True)
    contact_bounds_check(contact)
    _raise_bounds_check(
        concern=concern,
        impact_on_child=impact_on_child,
        bypass_reason=bypass_reason,
        themes=themes,
        actions=actions,
        directors_briefing=directors_briefing,
    )
    if track not in engine.TRACKS:
        raise ServiceError("invalid", "unknown_track", "Choose a track: iro or cpc.", "track")
    key = procedure_key or settings.RESOLVE_DEFAULT_POLICY
    # The person's posts, the child's line and everyone the challenge names, in one query; the child,
    # through the chokepoint, with its evidence chain's head and the procedure, in one more.
    people = child_raise_people(
        child_id=child.pk,
        user=user,
        named=[bypass_agreed_by or "", *((a.owner_user or a.owner.strip()) for a in actions)],
    )
    try:
        child = child_get_for_change(
            user=user,
            child_id=child.pk,
            perm=engine.TRANSITION_FOR[engine.Raise].perm,
            posts=people.own,
            with_rows=_raise_rows_sql(key),
        )
    except NotVisible:
        raise ServiceError("not_found", "not_found", "There is no such child.") from None
    version = _raise_version(child, key)
    if version is None:
        raise ServiceError("invalid", "unknown_policy", f"There is no procedure called {key!r}.", "policy")
    procedure = procedure_model_for(policy_id=version.pk, sha256=version.sha256)
    if child_chair(child=child, track=track) is None:
        raise ServiceError(
            "conflict",
            "no_chair",
            f"{child.full_name} has no allocated {role_label(CHAIR_ROLE_FOR_TRACK[track])}: "
            "allocate one first.",
            "track",
        )
    kinds, contents = _documents_for(child=child, directors_briefing=directors_briefing)
    carried = _concern_for_raise(child=child, track=track, concern_id=concern_id)
    if carried is not None:
        concern = concern if concern.strip() else carried.concern
        if not review and review_on is None:
            review, review_on = carried.review, carried.review_on
    owners = tuple(
        _action_owner(
            owner=a.owner, owner_user=a.owner_user, field=f"actions[{index}].owner_user", named=people.named
        )[0]
        for index, a in enumerate(actions)
    )
    command = engine.Raise(
        on=on,
        concern=concern,
        impact_on_child=impact_on_child,
        desired_outcome=desired_outcome,
        stage=stage,
        bypass_reason=bypass_reason,
        bypass_agreed_by=person_for_command(
            username=bypass_agreed_by, field="bypass_agreed_by", named=people.named
        ),
        themes=tuple(themes),
        actions=tuple(
            engine.NewAction(action=a.action, owner=owner.get_username() if owner else a.owner, due=a.due)
            for a, owner in zip(actions, owners, strict=True)
        ),
        documents=kinds,
        respond_by=respond_by,
        review=review,
        review_on=review_on,
        from_concern_on=carried.on if carried is not None else None,
        notify_optional=notify_optional,
        agency=agency,
        agency_kind=agency_kind,
        contact=contact,
    )
    state = engine.ChallengeState(track=track)  # type: ignore[arg-type]
    line = people.child_line(child, track) or child_line(child=child, track=track)
    actor = challenge_actor(
        user=user, child=child, track=track, procedure=procedure, stage_key=None, line=line
    )
    decision = engine.decide(
        procedure=procedure,
        state=state,
        command=command,
        actor=actor,
        today=today(),
        calendar=working_calendar(Nation(procedure.nation)),
    )
    if isinstance(decision, engine.Refused):
        raise ServiceError(decision.kind, decision.code, decision.message, decision.field)
    return _RaiseDecision(
        version, procedure, child, state, decision, contents, line, owners, carried, people.named
    )


def _concern_for_raise(*, child: Child, track: str, concern_id: int | None) -> Concern | None:
    """The concern a new challenge carries: one recorded on this child, on this track, not yet carried."""
    if concern_id is None:
        return None
    # The child was loaded through the write chokepoint; its concerns are within the same scope.
    concern = Concern.objects.filter(pk=concern_id, child=child).select_related("challenge").first()
    if concern is None:
        raise ServiceError(
            "invalid", "unknown_concern", "There is no such concern on this child's record.", "concern_id"
        )
    if concern.track != track:
        raise ServiceError(
            "invalid",
            "concern_other_track",
            f"That concern was recorded on the {engine.TRACKS[concern.track]} track.",
            "concern_id",
        )
    if ConcernClosure.objects.filter(concern=concern).exists():
        raise ServiceError(
            "conflict", "concern_closed", "That concern was closed without a challenge.", "concern_id"
        )
    if getattr(concern, "challenge", None) is not None:
        raise ServiceError(
            "conflict",
            "concern_carried",
            f"That concern already became the challenge raised on {concern.challenge.raised_on:%d %B %Y}.",
            "concern_id",
        )
    return concern


def _action_new(challenge: Challenge, *, action: str, due: dt.date, person: User | None, name: str) -> Action:
    """An agreed action, not saved yet: owned by a person in Resolve (their account, with their username
    in ``owner``) or by someone outside it, named in words (``name``)."""
    return Action(
        challenge=challenge,
        action=action.strip(),
        owner=person.get_username() if person else name.strip(),
        owner_user=person,
        due=due,
    )


def _actions_put(rows: list[Action]) -> None:
    """Insert actions a change agrees (in its ``after``) in one statement and seal them with the
    change. Their deadlines go in with the change's own schedule, which takes them from here with
    their ids (``_InChange.added``): saved one by one, each would write the schedule on its own first
    (the post-save signal, for an action added outside a change), four statements an action."""
    if rows:
        Action.objects.bulk_create(rows)
        for row in rows:
            evidence_seal(row)
        _in_change().added.extend(rows)


def _active_named(username: str, named: Mapping[str, User] | None) -> User | None:
    """The active account called ``username``: from ``named`` (``ChangePeople.named``) when the change
    read the people it names, else read now."""
    if named is None:
        return User.objects.filter(username=username, is_active=True).first()
    person = named.get(username)
    return person if person is not None and person.is_active else None


def _action_owner(
    *, owner: str, owner_user: str | None, field: str, named: Mapping[str, User] | None = None
) -> tuple[User | None, str]:
    """Who owns an action: a person in Resolve (an active account, named by username) or someone
    outside it, named in words. A name that is an active account's username is that person.
    ``named``: the people read for the change by username, when it read them."""
    if owner_user:
        person = _active_named(owner_user, named)
        if person is None:
            raise ServiceError(
                "invalid",
                "unknown_user",
                f"There is no active user called {owner_user!r}: name them in words if they are not in "
                "Resolve.",
                field,
            )
        return person, person.get_username()
    name = owner.strip()
    person = _active_named(name, named) if name else None
    return person, name


@retried
def challenge_raise(
    *,
    user: User,
    child: Child,
    track: str,
    concern: str,
    impact_on_child: str,
    procedure_key: str | None = None,
    stage: str | None = None,
    bypass_reason: str = "",
    bypass_agreed_by: str | None = None,
    themes: Sequence[str] = (),
    desired_outcome: str = "",
    actions: Sequence[ActionInput] = (),
    directors_briefing: Mapping[str, Any] | None = None,
    on: dt.date | None = None,
    respond_by: dt.date | None = None,
    review: str = "",
    review_on: dt.date | None = None,
    concern_id: int | None = None,
    notify_optional: bool | None = None,
    agency: str = "",
    agency_kind: str = "",
    contact: engine.AgencyContact | None = None,
) -> Challenge:
    """Raise a challenge for a child under a procedure, at its first stage or (with a reason) a later one.

    Under a partner agency procedure (seed 000 section 2) it is a challenge to ``agency`` (of kind
    ``agency_kind``), sent to ``contact`` there, who is emailed ``desired_outcome`` (what is asked)
    and the reply date.

    ``respond_by``: an earlier response date than the procedure's; ``review`` and ``review_on``: the
    review that triggered it; ``concern_id``: the concern on the child's record that it carries;
    ``notify_optional``: whether to tell the roles the stage lets the chair choose to tell (seed 000's
    Chief Executive); needed, yes or no, when the stage has them."""
    on = on or today()
    limits.text_check(field="desired_outcome", value=desired_outcome)
    raised = _raise_decide(
        user=user,
        child=child,
        track=track,
        concern=concern,
        impact_on_child=impact_on_child,
        desired_outcome=desired_outcome,
        procedure_key=procedure_key,
        stage=stage,
        bypass_reason=bypass_reason,
        bypass_agreed_by=bypass_agreed_by,
        themes=themes,
        actions=actions,
        directors_briefing=directors_briefing,
        on=on,
        respond_by=respond_by,
        review=review,
        review_on=review_on,
        concern_id=concern_id,
        notify_optional=notify_optional,
        agency=agency,
        agency_kind=agency_kind,
        contact=contact,
    )

    written: list[Action] = []

    def agreed(challenge: Challenge, visits: list[StageVisit]) -> list[Companion]:
        # Written with the visits (one statement on PostgreSQL) and sealed after them; their deadlines
        # are scheduled with the challenge's, which comes after.
        written.extend(
            _action_new(challenge, action=item.action, due=item.due, person=owner, name=item.owner)
            for item, owner in zip(actions, raised.owners, strict=True)
        )
        return list(written)

    def after(challenge: Challenge, visits: list[StageVisit], new: engine.ChallengeState) -> None:
        _store_documents(challenge, raised.documents, on, user)

    with transaction.atomic(savepoint=False):
        challenge = Challenge(
            child=raised.child,
            track=track,
            policy=raised.version,
            raised_by=user,
            raised_on=on,
            concern=concern.strip(),
            impact_on_child=impact_on_child.strip(),
            desired_outcome=desired_outcome.strip(),
            themes=list(themes),
            last_event_on=on,
        )
        raised_detail = raised.decision.events[0].detail
        assert isinstance(raised_detail, events.Raised)
        if raised.concern is not None:
            challenge.concern = raised_detail.concern
            challenge.from_concern = raised.concern
        challenge.trigger_review = raised_detail.review
        challenge.trigger_review_on = raised_detail.review_on
        challenge.agency = raised.decision.state.agency
        challenge.agency_kind = raised.decision.state.agency_kind
        challenge.chair_due_on = raised_detail.chair_due_on
        with _changing(_InChange(named=raised.named)):
            return _write(
                challenge=challenge,
                procedure=raised.procedure,
                user=user,
                old=raised.state,
                decision=raised.decision,
                after=after,
                line=raised.line,
                actions=lambda: [(row.pk, row.due, row.status) for row in written],
                heads=_raise_heads(raised.child),
                companion=agreed,
            )


@dataclass(frozen=True)
class RaisePreview:
    stage_name: str
    to_role: str
    due: DueDate
    bypassed: tuple[str, ...] = ()
    respond_by: dt.date | None = None  # the earlier response date the chair set
    chair_due_on: dt.date | None = None  # the chair's own deadline from the review, where there is one


def challenge_raise_preview(
    *,
    user: User,
    child: Child,
    track: str,
    procedure_key: str,
    concern: str,
    impact_on_child: str,
    stage: str | None = None,
    bypass_reason: str = "",
    bypass_agreed_by: str | None = None,
    themes: Sequence[str] = (),
    actions: Sequence[ActionInput] = (),
    directors_briefing: Mapping[str, Any] | None = None,
    on: dt.date,
    respond_by: dt.date | None = None,
    review: str = "",
    review_on: dt.date | None = None,
    concern_id: int | None = None,
    notify_optional: bool | None = None,
    desired_outcome: str = "",
    agency: str = "",
    agency_kind: str = "",
    contact: engine.AgencyContact | None = None,
) -> RaisePreview:
    """What ``challenge_raise`` would do with these answers, without writing anything.

    The same decision the service makes, so a check-your-answers page shows the stage and due date
    and catches what raising would refuse; raises ``ServiceError`` exactly as the service would.
    """
    raised = _raise_decide(
        user=user,
        child=child,
        track=track,
        concern=concern,
        impact_on_child=impact_on_child,
        procedure_key=procedure_key,
        stage=stage,
        bypass_reason=bypass_reason,
        bypass_agreed_by=bypass_agreed_by,
        themes=themes,
        actions=actions,
        directors_briefing=directors_briefing,
        on=on,
        respond_by=respond_by,
        review=review,
        review_on=review_on,
        concern_id=concern_id,
        notify_optional=notify_optional,
        desired_outcome=desired_outcome,
        agency=agency,
        agency_kind=agency_kind,
        contact=contact,
    )
    procedure = raised.procedure
    target = procedure.stage(raised.decision.state.visits[0].stage)
    visit = raised.decision.state.visits[0]
    detail = raised.decision.events[0].detail
    return RaisePreview(
        respond_by=visit.due_on if visit.procedure_due_on is not None else None,
        chair_due_on=detail.chair_due_on if isinstance(detail, events.Raised) else None,
        stage_name=target.name,
        to_role=target.to_words if target.to_role is None else role_label(target.to_role),
        due=due_date_explain(nation=procedure.nation, start=on, working_days=target.response_working_days),
        bypassed=tuple(s.name for s in procedure.stages[: procedure.order(target.key) - 1]),
    )


def challenge_respond(
    *,
    user: User,
    challenge_id: int,
    response: str,
    comments: str = "",
    further: bool = False,
    on: dt.date | None = None,
    expected_version: int | None = None,
) -> Challenge:
    """Record the stage recipient's response: agree, disagree, or no remit to implement. A second
    response at the same stage is refused unless it is sent as a further response."""
    on = on or today()

    def recorded(challenge: Challenge, visits: list[StageVisit]) -> list[Companion]:
        # Written with the visits' update (one statement on PostgreSQL), sealed after them.
        return [
            Response(
                challenge=challenge,
                visit=visits[-1],
                response=response,
                comments=comments.strip(),
                on=on,
                by=user,
            )
        ]

    command = engine.Respond(on=on, response=response, comments=comments, further=further)
    return _change(
        challenge_id=challenge_id,
        user=user,
        command=command,
        expected_version=expected_version,
        companion=recorded,
    )


def challenge_escalate(
    *,
    user: User,
    challenge_id: int,
    to_stage: str | None = None,
    reason: str = "",
    bypass_agreed_by: str | None = None,
    directors_briefing: Mapping[str, Any] | None = None,
    on: dt.date | None = None,
    expected_version: int | None = None,
    respond_by: dt.date | None = None,
    notify_optional: bool | None = None,
    contact: engine.AgencyContact | None = None,
) -> Challenge:
    """Move a challenge up the ladder: to the next stage, or with a reason past several (and, if the
    chair sets one, an earlier response date than the procedure's).

    ``contact``: on a partner agency's ladder, the contact at the next level, who is emailed.

    ``notify_optional``: whether to tell the roles the stage lets the chair choose to tell (seed 000's
    "Consideration given to notifying Chief Executive"); needed, yes or no, when the stage has them."""
    on = on or today()
    contact_bounds_check(contact)
    contents: dict[str, dict[str, Any]] = {}

    def prepare(challenge: Challenge, procedure: Procedure, named: Mapping[str, User]) -> engine.Command:
        kinds, cleaned = _documents_for(child=challenge.child, directors_briefing=directors_briefing)
        contents.update(cleaned)
        return engine.Escalate(
            on=on,
            to_stage=to_stage,
            reason=reason,
            bypass_agreed_by=person_for_command(
                username=bypass_agreed_by, field="bypass_agreed_by", named=named
            ),
            documents=kinds,
            respond_by=respond_by,
            notify_optional=notify_optional,
            contact=contact,
        )

    def after(challenge: Challenge, visits: list[StageVisit], new: engine.ChallengeState) -> None:
        _store_documents(challenge, contents, on, user)

    return _change(
        challenge_id=challenge_id,
        user=user,
        command=engine.Escalate(on=on),
        expected_version=expected_version,
        prepare=prepare,
        named=[bypass_agreed_by],
        after=after,
    )


def challenge_escalate_overdue(*, challenge_id: int, reason: str, on: dt.date | None = None) -> Challenge:
    """Escalate, as the system, a stage whose procedure escalates it automatically once overdue.

    The event and case note have no author; ``reason`` says why (the missed due date).
    """
    command = engine.Escalate(on=on or today(), reason=reason)
    return _change(challenge_id=challenge_id, user=None, command=command, expected_version=None)


def challenge_resolve(
    *,
    user: User,
    challenge_id: int,
    outcome: str,
    learning_points: str = "",
    on: dt.date | None = None,
    expected_version: int | None = None,
) -> Challenge:
    """Close a challenge as resolved, with the outcome for the child and the learning."""
    on = on or today()

    def after(challenge: Challenge, visits: list[StageVisit], new: engine.ChallengeState) -> None:
        challenge.outcome, challenge.learning_points, challenge.resolved_on = (
            outcome.strip(),
            learning_points.strip(),
            on,
        )

    command = engine.Resolve(on=on, outcome=outcome, learning_points=learning_points)
    return _change(
        challenge_id=challenge_id, user=user, command=command, expected_version=expected_version, after=after
    )


def challenge_reopen(
    *,
    user: User,
    challenge_id: int,
    reason: str,
    directors_briefing: Mapping[str, Any] | None = None,
    on: dt.date | None = None,
    expected_version: int | None = None,
    respond_by: dt.date | None = None,
    contact: engine.AgencyContact | None = None,
) -> Challenge:
    """Re-open a resolved challenge at the re-entry stage of the stage it last left, with the
    documents that stage needs if the challenge does not have them yet.

    ``contact``: on a partner agency's ladder, who to send it to (default: the last contact)."""
    on = on or today()
    contact_bounds_check(contact)
    contents: dict[str, dict[str, Any]] = {}

    def prepare(challenge: Challenge, procedure: Procedure, named: Mapping[str, User]) -> engine.Command:
        kinds, cleaned = _documents_for(child=challenge.child, directors_briefing=directors_briefing)
        contents.update(cleaned)
        return engine.Reopen(on=on, reason=reason, documents=kinds, respond_by=respond_by, contact=contact)

    def after(challenge: Challenge, visits: list[StageVisit], new: engine.ChallengeState) -> None:
        _store_documents(challenge, contents, on, user)
        # The resolution being re-opened is kept in the events and case notes; the form starts afresh.
        challenge.resolved_on = None
        challenge.outcome = challenge.learning_points = challenge.final_comments = ""

    return _change(
        challenge_id=challenge_id,
        user=user,
        command=engine.Reopen(on=on, reason=reason),
        expected_version=expected_version,
        prepare=prepare,
        after=after,
    )


def _refer_command(
    *,
    on: dt.date,
    reason: str,
    checklist: Mapping[str, bool],
    preconditions: Mapping[str, str] | None,
    urgent: bool,
    named: Mapping[str, User] | None = None,
) -> engine.ReferToCafcass:
    """The engine's command for a referral to Cafcass, from a challenge or from the child's case: the
    people named for its preconditions are people in Resolve (each refusal names its field).
    ``named``: those people as the change read them (``ChangePeople.named``), when it did."""
    people = {
        key: person_for_command(username=username, field=f"preconditions.{key}", named=named)
        for key, username in (preconditions or {}).items()
    }
    return engine.ReferToCafcass(
        on=on,
        reason=reason,
        checklist=dict(checklist),
        preconditions={key: person for key, person in people.items() if person is not None},
        urgent=urgent,
    )


def challenge_refer_to_cafcass(
    *,
    user: User,
    challenge_id: int,
    reason: str,
    checklist: Mapping[str, bool],
    preconditions: Mapping[str, str] | None = None,
    urgent: bool = False,
    on: dt.date | None = None,
    expected_version: int | None = None,
) -> Challenge:
    """Refer a looked-after child's case to Cafcass (Regulation 45); the challenge may stay open alongside."""
    on = on or today()
    command = _refer_command(on=on, reason=reason, checklist=checklist, preconditions=None, urgent=urgent)

    def prepare(challenge: Challenge, procedure: Procedure, named: Mapping[str, User]) -> engine.Command:
        return _refer_command(
            on=on, reason=reason, checklist=checklist, preconditions=preconditions, urgent=urgent, named=named
        )

    def after(challenge: Challenge, visits: list[StageVisit], new: engine.ChallengeState) -> None:
        CafcassReferral.objects.create(
            challenge=challenge,
            on=on,
            reason=reason.strip(),
            urgent=urgent,
            checklist=dict(checklist),
            # Who agreed or was told, as the engine found them among the challenge's requests.
            preconditions=dict(_change_detail(events.CafcassReferred).preconditions),
            by=user,
        )

    return _change(
        challenge_id=challenge_id,
        user=user,
        command=command,
        expected_version=expected_version,
        prepare=prepare,
        named=list((preconditions or {}).values()),
        after=after,
    )


def challenge_action_mark(
    *,
    user: User,
    challenge_id: int,
    action_id: int,
    status: str,
    on: dt.date | None = None,
    expected_version: int | None = None,
    reason: str = "",
    reason_required: bool = True,
) -> Challenge:
    """Close an agreed action: done, or not done with the reason why (``reason_required=False`` only for
    the API's first action route, which records "not done" without one as it always has)."""
    on = on or today()

    def after(challenge: Challenge, visits: list[StageVisit], new: engine.ChallengeState) -> None:
        row = _change_action(challenge, action_id)
        row.status, row.status_on = status, on
        row.status_reason = reason.strip() if status == "not_done" else ""
        row.save(update_fields=["status", "status_on", "status_reason"])

    command = engine.MarkAction(
        on=on, action_id=action_id, status=status, reason=reason, reason_required=reason_required
    )
    return _change(
        challenge_id=challenge_id, user=user, command=command, expected_version=expected_version, after=after
    )


def challenge_record_meeting(
    *,
    user: User,
    challenge_id: int,
    summary: str,
    on: dt.date | None = None,
    expected_version: int | None = None,
    number: int | None = None,
    held_on: dt.date | None = None,
    attendees: Sequence[str] = (),
    outsiders: Sequence[str] = (),
    actions: Sequence[ActionInput] = (),
) -> Challenge:
    """Record a meeting held at the current stage (some stages are resolved only at a meeting).

    With ``number``, the minutes of a requested meeting, by the person it named to record them: who
    was there, and the actions agreed (written as the challenge's actions); the minutes are sent to
    the attendees through the outbox.
    """
    on = on or today()
    limits.count_check(field="actions", count=len(actions), most=limits.MAX_ACTIONS)
    limits.count_check(field="attendees", count=len(attendees), most=limits.MAX_CHOICES)
    limits.count_check(field="outsiders", count=len(outsiders), most=limits.MAX_CHOICES)
    for index, name in enumerate(outsiders):
        limits.text_check(field=f"outsiders[{index}]", value=name, max_length=limits.MAX_NAME)
    for index, item in enumerate(actions):
        limits.text_check(field=f"actions[{index}].action", value=item.action)
        limits.text_check(field=f"actions[{index}].owner", value=item.owner, max_length=limits.MAX_KEY)

    def prepare(challenge: Challenge, procedure: Procedure, named: Mapping[str, User]) -> engine.Command:
        present = [person_for_command(username=name, field="attendees", named=named) for name in attendees]
        return dataclasses.replace(
            command, attendees=tuple(person.username for person in present if person is not None)
        )

    def after(challenge: Challenge, visits: list[StageVisit], new: engine.ChallengeState) -> None:
        request = _change_meeting_requests(challenge, [number]).get(number) if number is not None else None
        detail = _change_detail(events.MeetingRecorded)
        _meeting_add(
            challenge=challenge,
            visit=visits[-1],
            held_on=held_on or on,
            summary=summary.strip(),
            recorded_by=user,
            number=number or 0,
            meeting_key=request.meeting_key if request is not None else "meeting",
            chair_id=request.chair_id if request is not None else None,  # the id: the person is not read
            attendees=list(detail.attendees),
            outsiders=list(detail.outsiders),
            request=request,
            actions_on_time=detail.actions_on_time,
        )
        # The actions agreed at the meeting, written as raising writes the challenge's actions; an
        # owner named by username was read with the change's people.
        agreed = []
        for index, item in enumerate(actions):
            person, name = _action_owner(
                owner=item.owner, owner_user=None, field=f"actions[{index}].owner", named=_in_change().named
            )
            agreed.append(_action_new(challenge, action=item.action, due=item.due, person=person, name=name))
        _actions_put(agreed)

    # The people named are read with the change's (``prepare``), in its one query however many.
    command = engine.RecordMeeting(
        on=on,
        summary=summary,
        number=number,
        held_on=held_on,
        outsiders=tuple(outsiders),
        actions=tuple(engine.NewAction(action=a.action, owner=a.owner, due=a.due) for a in actions),
    )
    return _change(
        challenge_id=challenge_id,
        user=user,
        command=command,
        expected_version=expected_version,
        prepare=prepare,
        named=[*attendees, *(item.owner.strip() for item in actions)],
        after=after,
    )


def challenge_request_meeting(
    *,
    user: User,
    challenge_id: int,
    scheduled_for: dt.date,
    key: str = "meeting",
    chair: str | None = None,
    attendees: Sequence[str] = (),
    outsiders: Sequence[str] = (),
    note: str = "",
    on: dt.date | None = None,
    expected_version: int | None = None,
) -> Challenge:
    """Ask for one of the current stage's meetings: its date (within the procedure's bound), who chairs
    it (the role the procedure names) and who is invited, people in Resolve and named outsiders. The
    invitations go through the outbox; the sweep reminds before the date and reports the minutes late."""
    limits.count_check(field="attendees", count=len(attendees), most=limits.MAX_CHOICES)
    limits.count_check(field="outsiders", count=len(outsiders), most=limits.MAX_CHOICES)
    for index, name in enumerate(outsiders):
        limits.text_check(field=f"outsiders[{index}]", value=name, max_length=limits.MAX_NAME)
    command = engine.RequestMeeting(
        on=on or today(), scheduled_for=scheduled_for, key=key, outsiders=tuple(outsiders), note=note
    )
    named = [*((name, "attendees") for name in attendees), (chair, "chair")]

    def prepare(challenge: Challenge, procedure: Procedure, people: Mapping[str, User]) -> engine.Command:
        *invited, chaired = (
            person_for_command(username=name, field=field, named=people) for name, field in named
        )
        return dataclasses.replace(
            command, chair=chaired, attendees=tuple(person for person in invited if person is not None)
        )

    # The chair and everyone invited are read with the change's people (``prepare``), in its one
    # query however many.
    return _change(
        challenge_id=challenge_id,
        user=user,
        command=command,
        expected_version=expected_version,
        prepare=prepare,
        named=[name for name, _ in named],
    )


def challenge_withdraw(
    *,
    user: User,
    challenge_id: int,
    reason: str,
    on: dt.date | None = None,
    expected_version: int | None = None,
) -> Challenge:
    """Withdraw an open challenge, with the reason."""
    command = engine.Withdraw(on=on or today(), reason=reason)
    return _change(challenge_id=challenge_id, user=user, command=command, expected_version=expected_version)


def challenge_add_final_comments(
    *,
    user: User,
    challenge_id: int,
    comments: str,
    on: dt.date | None = None,
    expected_version: int | None = None,
) -> Challenge:
    """The IRO/CP Service Manager's final comments on a resolved challenge, where the procedure has them."""
    on = on or today()

    def after(challenge: Challenge, visits: list[StageVisit], new: engine.ChallengeState) -> None:
        challenge.final_comments = comments.strip()

    command = engine.AddFinalComments(on=on, comments=comments)
    return _change(
        challenge_id=challenge_id, user=user, command=command, expected_version=expected_version, after=after
    )


def challenge_add_learning_points(
    *,
    user: User,
    challenge_id: int,
    learning_points: str,
    on: dt.date | None = None,
    expected_version: int | None = None,
) -> Challenge:
    """Add key learning points to the challenge form: the chair, the stage's recipient or the child's
    social work team, while the challenge is open or after it is resolved (seed 002 5.1)."""
    on = on or today()

    def after(challenge: Challenge, visits: list[StageVisit], new: engine.ChallengeState) -> None:
        added = learning_points.strip()
        challenge.learning_points = (
            f"{challenge.learning_points}\n{added}" if challenge.learning_points else added
        )

    command = engine.AddLearningPoints(on=on, learning_points=learning_points)
    return _change(
        challenge_id=challenge_id, user=user, command=command, expected_version=expected_version, after=after
    )


# -- when someone leaves -------------------------------------------------------------------------


@dataclass(frozen=True)
class HandOverDone:
    """What a hand-over moved: the children re-allocated and the challenges with a hand-over event."""

    leaver: str
    successor: str
    children: list[str]  # case numbers
    challenges: list[int]
    stages: int
    actions: int
    agreements: int = 0  # requests for agreement that waited on the leaver's answer
    meetings: int = 0  # requested meetings the leaver was to chair


def _replace_person(usernames: Sequence[str], leaver: str, successor: str) -> list[str]:
    return list(dict.fromkeys(successor if name == leaver else name for name in usernames))


@retried
def leaver_hand_over(*, user: User, leaver: str, successor: str, reason: str) -> HandOverDone:
    """Hand everything that waits on ``leaver`` to ``successor`` in one step, so nothing waits on an
    empty chair: their children's allocations (``child_allocation_hand_over``: an "Allocation
    changed" case note on each), and on each challenge a "Work handed over" event and case note for
    the current stage they were sent, copied or told of (the stage's recorded people change), the
    chair, their open actions (by account; free-text owners stay as written), the requests for
    agreement waiting on their answer (the successor is asked in their place) and the requested
    meetings they were to chair (asked again with the successor as chair).

    All or nothing, in one transaction; the leaver's account is left as it is (closing it is a
    separate step). Refused: a role without ``hand_over_work``; a manager when any of it is outside
    their scope; a successor who does not hold the role a stage sent to the leaver needs, the role a
    request for agreement waiting on the leaver was asked of, or the role that chairs their meeting.
    """
    reason = reason.strip()
    if not reason:
        raise ServiceError("invalid", "required", "Enter why the work is handed over.", "reason")
    limits.text_check(field="reason", value=reason)
    users = get_user_model().objects
    leaving = users.filter(username=leaver).first()
    if leaving is None:
        raise ServiceError("invalid", "unknown_user", f"There is no user called {leaver!r}.", "leaver")
    taking = users.filter(username=successor, is_active=True).first()
    if taking is None:
        raise ServiceError(
            "invalid", "unknown_user", f"There is no active user called {successor!r}.", "successor"
        )
    if taking.pk == leaving.pk:
        raise ServiceError(
            "invalid", "same_person", "Choose someone other than the leaver to hand the work to.", "successor"
        )
    on = today()
    with transaction.atomic():
        work = work_get_for_hand_over(user=user, leaver=leaving)
        if not work.children and not work.challenges:
            raise ServiceError(
                "conflict",
                "nothing_to_hand_over",
                f"No children, stages, actions, requests for agreement or meetings wait on {leaver}.",
                "leaver",
            )
        # The chairs as they were, before the children's allocations change.
        chaired = {
            challenge.pk
            for challenge in work.challenges
            if (challenge.child.iro_id if challenge.track == "iro" else challenge.child.cp_chair_id)
            == leaving.pk
        }
        note_reason = f"Work of {leaver} handed over to {successor}. {reason}"
        for child in work.children:
            child_allocation_hand_over(
                user=user, child=child, leaver=leaving, successor=taking, reason=note_reason
            )
        moved = {"stages": 0, "actions": 0, "agreements": 0, "meetings": 0}
        successor_roles = user_roles(user=taking)
        for challenge in work.challenges:
            staged = challenge.pk in work.staged
            check = partial(
                _hand_over_check,
                leaver=leaving,
                successor=taking,
                successor_roles=successor_roles,
                staged=staged,
            )

            def after(
                changed: Challenge,
                visits: list[StageVisit],
                new: engine.ChallengeState,
                staged: bool = staged,
            ) -> None:
                handed = _change_detail(HandedOver)
                moved["agreements"] += len(handed.agreements)
                moved["meetings"] += len(handed.meetings)
                # Each action re-addressed is the row read with the lock, saved: one UPDATE.
                owned = {action.id for action in new.actions if action.owner == successor}
                for row in _in_change().actions:
                    if row.pk in owned and row.owner_user_id == leaving.pk:
                        row.owner, row.owner_user = successor, taking
                        row.save(update_fields=["owner", "owner_user"])
                        moved["actions"] += 1
                if staged and new.status == "open" and visits:
                    visit = visits[-1]
                    visit.to_users = _replace_person(visit.to_users, leaver, successor)
                    visit.cc_users = _replace_person(visit.cc_users, leaver, successor)
                    visit.notify_users = _replace_person(visit.notify_users, leaver, successor)
                    visit.save()
                    moved["stages"] += 1

            command = engine.HandOver(
                on=on,
                leaver=leaver,
                successor=successor,
                reason=reason,
                stage=staged,
                chair=challenge.pk in chaired,
            )
            _change(
                challenge_id=challenge.pk,
                user=user,
                command=command,
                expected_version=None,
                after=after,
                named=[successor],
                acting_as=frozenset({engine.HANDING_OVER}),
                check=check,
            )
    return HandOverDone(
        leaver=leaver,
        successor=successor,
        children=[child.case_number for child in work.children],
        challenges=[challenge.pk for challenge in work.challenges],
        stages=moved["stages"],
        actions=moved["actions"],
        agreements=moved["agreements"],
        meetings=moved["meetings"],
    )


def _hand_over_check(
    *,
    challenge: Challenge,
    procedure: Procedure,
    state: engine.ChallengeState,
    visits: Sequence[StageVisit],
    line: ChildLine,
    leaver: User,
    successor: User,
    successor_roles: set[str],
    staged: bool,
) -> None:
    """What of ``challenge`` waits on the leaver goes to the successor only if they can take it up,
    checked on the rows its change read with the lock (after the children's allocations moved):

    - a stage sent to the leaver, if the successor holds its "To" role for this child;
    - a request for agreement waiting on the leaver's answer, if the successor holds the role it was
      asked of (as asking them afresh would need: the engine's ``_request_agreement``);
    - a requested meeting the leaver was to chair, if the successor holds the role the procedure
      names to chair it (as asking for it afresh would need: ``_request_meeting``).
    """
    username = leaver.get_username()
    visit = visits[-1] if visits else None
    if staged and visit is not None and username in visit.to_users:
        role = procedure.stage(visit.stage_key).to_role
        # A partner agency's stage (no role) goes to its contact, outside Resolve.
        if role is not None and all(holder.pk != successor.pk for holder in line.holders(role)):
            raise ServiceError(
                "invalid",
                "successor_cannot_answer",
                f"Challenge {challenge.pk} for {challenge.child.case_number} waits on {username} "
                f"as {role_label(role)}, and {successor.get_username()} is not the {role_label(role)} "
                "for that child: give them that post first, or choose someone who holds it.",
                "successor",
            )
    for agreement in state.agreements:
        waiting = (agreement.username, agreement.status, agreement.kind) == (username, "pending", "agree")
        if waiting and agreement.role not in successor_roles:
            raise ServiceError(
                "invalid",
                "successor_cannot_agree",
                f"Request {agreement.number} on challenge {challenge.pk} for {challenge.child.case_number} "
                f"waits on {_person_name(leaver)}'s answer as {role_label(agreement.role)}, and "
                f"{_person_name(successor)} does not hold that post: give them the post first, or choose "
                "someone who holds it.",
                "successor",
            )
    for meeting in state.meetings:
        if meeting.chair != username or meeting.held_on is not None:
            continue
        stage = procedure.stage(meeting.stage) if procedure.has_stage(meeting.stage) else None
        asked = stage.meeting_for(meeting.key) if stage is not None else None
        role = asked.chair_role if asked is not None else None
        if role and role not in successor_roles:
            raise ServiceError(
                "invalid",
                "successor_cannot_chair",
                f"Meeting {meeting.number} on challenge {challenge.pk} for {challenge.child.case_number} "
                f"is chaired by {_person_name(leaver)} as {role_label(role)}, and "
                f"{_person_name(successor)} does not hold that post: give them the post first, or choose "
                "someone who holds it.",
                "successor",
            )


def _person_name(user: User) -> str:
    return user.get_full_name() or user.get_username()


# -- the action plan, agreed timescales and concerns ---------------------------------------------


def challenge_action_add(
    *,
    user: User,
    challenge_id: int,
    action: str,
    due: dt.date,
    owner: str = "",
    owner_user: str | None = None,
    on: dt.date | None = None,
    expected_version: int | None = None,
) -> Challenge:
    """Agree a SMART action at any point while the challenge is open or monitored after resolution:
    what, by when, and by whom (``owner_user``: a person in Resolve; else ``owner``: a named outsider,
    or the username of an active account)."""
    on = on or today()
    limits.text_check(field="owner", value=owner, max_length=limits.MAX_KEY, single_line=True)
    limits.text_check(field="owner_user", value=owner_user or "", max_length=limits.MAX_KEY, single_line=True)
    command = engine.AddAction(on=on, action=action, due=due, owner=owner.strip())
    owned: list[tuple[User | None, str]] = []

    def prepare(challenge: Challenge, procedure: Procedure, named: Mapping[str, User]) -> engine.Command:
        # The owner, read with the change's people.
        person, name = _action_owner(owner=owner, owner_user=owner_user, field="owner_user", named=named)
        owned.append((person, name))
        return dataclasses.replace(
            command,
            owner=name,
            owner_user=engine.Person(username=person.get_username(), roles=frozenset()) if person else None,
            owner_name=(person.get_full_name() or person.get_username()) if person else "",
        )

    def after(challenge: Challenge, visits: list[StageVisit], new: engine.ChallengeState) -> None:
        person, name = owned[-1]
        _actions_put([_action_new(challenge, action=action, due=due, person=person, name=name)])

    return _change(
        challenge_id=challenge_id,
        user=user,
        command=command,
        expected_version=expected_version,
        prepare=prepare,
        named=[owner_user or owner.strip()],
        after=after,
    )


def challenge_action_redate(
    *,
    user: User,
    challenge_id: int,
    action_id: int,
    due: dt.date,
    reason: str,
    on: dt.date | None = None,
    expected_version: int | None = None,
) -> Challenge:
    """Move an open action's date, with the reason; its reminders move with it."""
    on = on or today()

    # The write path reschedules the action's reminders from the engine's state, which carries the
    # new date.
    def after(challenge: Challenge, visits: list[StageVisit], new: engine.ChallengeState) -> None:
        row = _change_action(challenge, action_id)
        row.due = due
        row.save(update_fields=["due"])

    command = engine.RedateAction(on=on, action_id=action_id, due=due, reason=reason)
    return _change(
        challenge_id=challenge_id, user=user, command=command, expected_version=expected_version, after=after
    )


def challenge_deadline_extend(
    *,
    user: User,
    challenge_id: int,
    due: dt.date,
    reason: str,
    agreed_by: str | None,
    on: dt.date | None = None,
    expected_version: int | None = None,
) -> Challenge:
    """Record an agreed extension of the current stage's response date: who agreed, why, the new date
    (within the procedure's maximum). The overdue day and the reminders move with it."""
    on = on or today()
    limits.text_check(field="agreed_by", value=agreed_by or "", max_length=limits.MAX_KEY, single_line=True)
    return _change_naming(
        challenge_id=challenge_id,
        user=user,
        command=lambda agreed: engine.ExtendDeadline(on=on, due=due, reason=reason, agreed_by=agreed),
        expected_version=expected_version,
        username=agreed_by,
        field="agreed_by",
    )


@retried
def concern_record(
    *,
    user: User,
    child: Child,
    track: str,
    concern: str,
    review: str = "",
    review_on: dt.date | None = None,
    procedure_key: str | None = None,
    on: dt.date | None = None,
) -> Concern:
    """Record a concern on the child's record without starting a challenge, as the case-note type the
    procedure names (seed 001's "Case Note - Independent Reviewing Officer"), with the review
    it came from. It may later become an informal challenge that carries it (``challenge_raise``)."""
    on = on or today()
    limits.text_check(field="concern", value=concern)
    text = concern.strip()
    if not text:
        raise ServiceError("invalid", "required", "Enter what the concern is.", "concern")
    if track not in engine.TRACKS:
        raise ServiceError("invalid", "unknown_track", "Choose a track: iro or cpc.", "track")
    if on > today():
        raise ServiceError("invalid", "date_in_future", "The date cannot be in the future.", "on")
    if review and review not in REVIEWS:
        raise ServiceError(
            "invalid", "unknown_review", f"Choose the review: one of {', '.join(REVIEWS)}.", "review"
        )
    if review and review_on is None:
        raise ServiceError("invalid", "required", "Enter the date of the review.", "review_on")
    if review_on is not None and not review:
        raise ServiceError("invalid", "required", "Choose the review that the date belongs to.", "review")
    if review_on is not None and review_on > on:
        raise ServiceError(
            "invalid", "review_after_recorded", "The review cannot be later than the concern.", "review_on"
        )
    key = procedure_key or settings.RESOLVE_DEFAULT_POLICY
    try:
        version = procedure_get(key=key)
    except PolicyVersion.DoesNotExist:
        raise ServiceError(
            "invalid", "unknown_policy", f"There is no procedure called {key!r}.", "policy"
        ) from None
    procedure = procedure_version_model(version)
    if track not in procedure.tracks:
        raise ServiceError(
            "invalid", "track_not_in_policy", f"{procedure.name} is not used on this track.", "track"
        )
    with transaction.atomic():
        try:
            child = child_get_for_change(user=user, child_id=child.pk, perm=Perm.RECORD_CONCERN)
        except NotVisible:
            raise ServiceError("not_found", "not_found", "There is no such child.") from None
        chair = child_chair(child=child, track=track)
        if chair is None or chair.pk != user.pk:
            raise ServiceError(
                "forbidden",
                "not_allowed",
                f"Only the child's allocated {role_label(CHAIR_ROLE_FOR_TRACK[track])} can record a concern "
                "on this track.",
            )
        row = Concern.objects.create(
            child=child,
            track=track,
            policy=version,
            concern=text,
            review=review,
            review_on=review_on,
            on=on,
            recorded_by=user,
        )
        lines = [f"Concern: {text}"]
        if review:
            lines.append(f"Identified at the {REVIEWS[review]} of {fmt_date(review_on)}.")
        rule = procedure.stages[0].chair_deadline
        due = concern_chair_due(procedure=procedure, review_on=review_on)
        if rule is not None and due is not None:
            lines.append(f"{rule.description}: due by {fmt_date(due)}.")
        lines.append("No challenge has been started.")
        CaseNote.objects.create(
            child=child,
            note_type=procedure.case_notes.concern_type,
            body="\n".join(lines),
            on=on,
            author=user,
        )
        return row


@retried
def concern_close(*, user: User, concern_id: int, reason: str, on: dt.date | None = None) -> ConcernClosure:
    """Close a concern without a challenge (the social worker or team manager put it right): the chair on
    its track, with the reason, recorded as a case note of the type the procedure names for concerns.
    The reminders of the chair's deadline stop, and no challenge can carry it afterwards."""
    on = on or today()
    limits.text_check(field="reason", value=reason)
    text = reason.strip()
    if not text:
        raise ServiceError("invalid", "required", "Enter why the concern is closed.", "reason")
    if on > today():
        raise ServiceError("invalid", "date_in_future", "The date cannot be in the future.", "on")
    with transaction.atomic(savepoint=False):
        # The concern's child through the write chokepoint, locked: one closing at a time.
        found = Concern.objects.filter(pk=concern_id).values_list("child_id", flat=True).first()
        try:
            if found is None:
                raise NotVisible(concern_id)
            child = child_get_for_change(user=user, child_id=found, perm=Perm.RECORD_CONCERN, lock=True)
        except NotVisible:
            raise ServiceError("not_found", "not_found", "There is no such concern.") from None
        concern = Concern.objects.select_related("policy", "challenge", "closure").get(pk=concern_id)
        chair = child_chair(child=child, track=concern.track)
        if chair is None or chair.pk != user.pk:
            raise ServiceError(
                "forbidden",
                "not_allowed",
                f"Only the child's allocated {role_label(CHAIR_ROLE_FOR_TRACK[concern.track])} can close "
                "this concern.",
            )
        if getattr(concern, "challenge", None) is not None:
            raise ServiceError(
                "conflict",
                "concern_carried",
                f"That concern became the challenge raised on {concern.challenge.raised_on:%-d %B %Y}.",
            )
        if getattr(concern, "closure", None) is not None:
            raise ServiceError(
                "conflict", "concern_closed", f"That concern was closed on {fmt_date(concern.closure.on)}."
            )
        if on < concern.on:
            raise ServiceError(
                "invalid", "date_before_concern", "The date cannot be earlier than the concern.", "on"
            )
        row = ConcernClosure.objects.create(concern=concern, on=on, reason=text, closed_by=user)
        procedure = procedure_version_model(concern.policy)
        CaseNote.objects.create(
            child=child,
            note_type=procedure.case_notes.concern_type,
            body=f"Concern of {fmt_date(concern.on)} closed without a challenge.\n"
            f"Concern: {concern.concern}\nReason: {text}",
            on=on,
            author=user,
        )
        return row


def challenge_request_agreement(
    *,
    user: User,
    challenge_id: int,
    purpose: str,
    key: str,
    person: str | None,
    note: str,
    on: dt.date | None = None,
    expected_version: int | None = None,
) -> Challenge:
    """Ask a named person to agree to (or tell them of) a bypass or a Cafcass referral: the request is
    recorded and sent to them, and they confirm or decline it in Resolve (seeds 001, 002, 003)."""
    limits.texts_check([("purpose", purpose), ("key", key)], max_length=limits.MAX_KEY)
    return _change_naming(
        challenge_id=challenge_id,
        user=user,
        command=lambda asked: engine.RequestAgreement(
            on=on or today(), purpose=purpose, key=key, person=asked, note=note
        ),
        expected_version=expected_version,
        username=person,
        field="person",
    )


def challenge_answer_agreement(
    *,
    user: User,
    challenge_id: int,
    number: int,
    answer: str,
    comments: str = "",
    on: dt.date | None = None,
    expected_version: int | None = None,
) -> Challenge:
    """Confirm or decline a request made to you; the answer is recorded with its date and time."""
    command = engine.AnswerAgreement(on=on or today(), number=number, answer=answer, comments=comments)
    return _change(challenge_id=challenge_id, user=user, command=command, expected_version=expected_version)


def challenge_ask_agency(
    *,
    user: User,
    challenge_id: int,
    contact: engine.AgencyContact | None,
    on: dt.date | None = None,
    expected_version: int | None = None,
) -> Challenge:
    """Send a challenge to a partner agency to another contact at its current stage (seed 000 section
    2): the same question and reply date; the new contact is emailed."""
    contact_bounds_check(contact)
    command = engine.AskAgency(on=on or today(), contact=contact)
    return _change(challenge_id=challenge_id, user=user, command=command, expected_version=expected_version)


# -- a Cafcass referral with no challenge (seeds 000 and 004) ---------------------------------------
def _child_procedure(child: Child, key: str) -> tuple[PolicyVersion, Procedure]:
    """The child's procedure for a referral with no challenge: the authority's IRO-track procedure
    (``key``), read with the child (``_raise_rows_sql``)."""
    version = _raise_version(child, key)
    if version is None:
        raise ServiceError("conflict", "unknown_policy", f"The authority's procedure {key!r} is not loaded.")
    return version, procedure_model_for(policy_id=version.pk, sha256=version.sha256)


def _is_cp_chair_only(user: User, child: Child | None) -> bool:
    roles = user_roles(user=user)
    return "cp_chair" in roles and "iro" not in roles and (child is None or child.iro_id != user.pk)


@retried
def _child_cafcass_change(
    *,
    user: User,
    child_id: int,
    perm: Perm,
    command: engine.ChildCommand,
    write: Callable[[Child, PolicyVersion, engine.ChildAccepted, Sequence[Agreement]], Any],
    named: Sequence[str | None] = (),
    prepare: Callable[[Mapping[str, User]], engine.ChildCommand] | None = None,
) -> Any:
    """The one write path of a referral with no challenge and its requests: the child locked through
    the chokepoint, the engine's decision, the record (``write``), the case note on the child's record
    and the messages, in one transaction.

    As a change to a challenge does: the person's posts, the child's line and the people ``named``
    (usernames the command names) are read in one query; the child with the heads of its chains and
    the procedure in one more; ``prepare`` builds the command from the people named (``command`` is
    what is known before, its texts checked before anything is read); the record and the case note
    are sealed together (``evidence_batch``), their chains' heads moved on from what was read."""
    _command_bounds_check(command)
    if not limits.row_id_held(child_id):  # no row has it: never hand it to the database
        raise ServiceError("not_found", "not_found", "There is no such child.")
    key = settings.RESOLVE_DEFAULT_POLICY
    with transaction.atomic(savepoint=False):
        people = child_raise_people(child_id=child_id, user=user, named=[name for name in named if name])
        try:
            child = child_get_for_change(
                user=user,
                child_id=child_id,
                perm=perm,
                lock=True,
                posts=people.own,
                with_rows=_raise_rows_sql(key, ("child", "child-records")),
            )
        except NotVisible:
            raise ServiceError("not_found", "not_found", "There is no such child.") from None
        except ServiceError as error:
            if error.kind == "forbidden" and _is_cp_chair_only(user, None):
                raise ServiceError("forbidden", "cafcass_iro_only", engine.CAFCASS_IRO_ONLY) from None
            raise
        version, procedure = _child_procedure(child, key)
        # The child's requests for agreement, for the decision and for an answer to one.
        agreements = child_cafcass_agreements(child=child)
        if prepare is not None:
            command = prepare(people.named)
            _command_bounds_check(command)
        line = people.child_line(child, "iro") or child_line(child=child, track="iro")
        actor = challenge_actor(
            user=user, child=child, track="iro", procedure=procedure, stage_key=None, line=line
        )
        decision = engine.decide_for_child(
            procedure=procedure,
            track="iro",
            state=child_cafcass_state(child=child, agreements=agreements),
            command=command,
            actor=actor,
            today=today(),
        )
        if isinstance(decision, engine.Refused):
            if decision.kind == "forbidden" and _is_cp_chair_only(user, child):
                raise ServiceError("forbidden", "cafcass_iro_only", engine.CAFCASS_IRO_ONLY)
            raise ServiceError(decision.kind, decision.code, decision.message, decision.field)
        event = engine.Event("", command.on, decision.detail)
        body = case_note_body(procedure, event, None)
        with evidence_batch() as batch:
            # The child's chains may not be started yet: their heads are written or moved on from
            # what was read, in one statement (``EvidenceBatch.new_chains``).
            batch.new_chains = True
            batch.heads_read.update(_raise_heads(child))
            row = write(child, version, decision, agreements)
            note = CaseNote(
                child=child,
                note_type=case_note_type(procedure, event),
                body=f"With no challenge (a referral of the child's case to Cafcass).\n{body}",
                on=command.on,
                author=user,
            )
            batch.link(note, chain=note.evidence_chain, fields=case_note_fields)
        asker = ""
        if isinstance(decision.detail, AgreementAnswered):
            asker = row.requested_by.get_username()
        child_cafcass_messages(
            child=child,
            procedure=procedure,
            detail=decision.detail,
            on=command.on,
            asker=asker,
            referral_id=row.pk if isinstance(row, CafcassReferral) else 0,
            line=line,
        )
        return row


def child_request_cafcass_agreement(
    *, user: User, child_id: int, key: str, person: str | None, note: str, on: dt.date | None = None
) -> Agreement:
    """Ask a named person to agree to (or tell them of) a referral of the child's case to Cafcass with
    no challenge, as the procedure's preconditions say; they confirm or decline it in Resolve."""
    limits.text_check(field="key", value=key, max_length=limits.MAX_KEY)
    command = engine.RequestAgreement(on=on or today(), purpose="cafcass", key=key, person=None, note=note)
    named_read: dict[str, User] = {}

    def prepare(named: Mapping[str, User]) -> engine.ChildCommand:
        named_read.update(named)
        asked = person_for_command(username=person, field="person", named=named)
        return dataclasses.replace(command, person=asked)

    def write(
        child: Child, version: PolicyVersion, decision: engine.ChildAccepted, asked: Sequence[Agreement]
    ) -> Agreement:
        detail = decision.detail
        assert isinstance(detail, AgreementRequested)
        return Agreement.objects.create(
            child=child,
            number=detail.number,
            purpose=detail.purpose,
            key=detail.key,
            kind=detail.kind,
            person=named_read[detail.person],
            role=detail.role,
            note=detail.note,
            requested_by=user,
            requested_on=command.on,
        )

    row: Agreement = _child_cafcass_change(
        user=user,
        child_id=child_id,
        perm=Perm.ASK_AGREEMENT,
        command=command,
        write=write,
        named=[person],
        prepare=prepare,
    )
    return row


def child_answer_cafcass_agreement(
    *, user: User, child_id: int, number: int, answer: str, comments: str = "", on: dt.date | None = None
) -> Agreement:
    """Confirm or decline a request made to you about a referral of a child's case with no challenge."""
    command = engine.AnswerAgreement(on=on or today(), number=number, answer=answer, comments=comments)

    def write(
        child: Child, version: PolicyVersion, decision: engine.ChildAccepted, asked: Sequence[Agreement]
    ) -> Agreement:
        detail = decision.detail
        assert isinstance(detail, AgreementAnswered)
        # As read for the decision, with the person who asked (whom the answer is sent to): the
        # child's row, locked, holds every change to its requests.
        row = next(agreement for agreement in asked if agreement.number == detail.number)
        row.status = detail.answer
        row.answered_on = command.on
        row.answered_at = timezone.now()
        row.comments = detail.comments
        row.save()
        return row

    row: Agreement = _child_cafcass_change(
        user=user, child_id=child_id, perm=Perm.ANSWER_REQUEST, command=command, write=write
    )
    return row


def child_refer_to_cafcass(
    *,
    user: User,
    child_id: int,
    reason: str,
    checklist: Mapping[str, bool],
    preconditions: Mapping[str, str] | None = None,
    urgent: bool = False,
    on: dt.date | None = None,
) -> CafcassReferral:
    """Refer a looked-after child's case to Cafcass with no challenge (seed 000: "Alongside or out with
    the Outcome Resolution the IRO can consider whether to make a referral to Cafcass"): IRO track only,
    under the authority's procedure, whose preconditions, checklist and form completer apply as to a
    challenge's referral."""
    on = on or today()
    command = _refer_command(on=on, reason=reason, checklist=checklist, preconditions=None, urgent=urgent)

    def prepare(named: Mapping[str, User]) -> engine.ChildCommand:
        return _refer_command(
            on=on, reason=reason, checklist=checklist, preconditions=preconditions, urgent=urgent, named=named
        )

    def write(
        child: Child, version: PolicyVersion, decision: engine.ChildAccepted, asked: Sequence[Agreement]
    ) -> CafcassReferral:
        detail = decision.detail
        assert isinstance(detail, events.CafcassReferred)
        return CafcassReferral.objects.create(
            child=child,
            policy=version,
            on=on,
            reason=detail.reason,
            urgent=detail.urgent,
            checklist=dict(detail.checklist),
            preconditions=dict(detail.preconditions),
            by=user,
            agreements_upto=max((agreement.number for agreement in decision.agreements), default=0),
        )

    row: CafcassReferral = _child_cafcass_change(
        user=user,
        child_id=child_id,
        perm=Perm.REFER_TO_CAFCASS,
        command=command,
        write=write,
        named=list((preconditions or {}).values()),
        prepare=prepare,
    )
    return row
