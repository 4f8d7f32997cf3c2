"""Writes of the notifications app: the outbox, the deadline schedule, the sweep, delivery, digests.

Reliability rests on three rules:

- Every message is an ``OutboxMessage`` row written in the transaction of the change that causes it
  (``notifications_for_events`` is called from the challenge write path, ``deadlines_sweep`` writes
  its messages in the transaction that marks the deadline fired). A rolled-back change leaves none.
- A message's ``dedupe_key`` names its kind, its challenge or action, its stage and its due date, and
  is unique per recipient: running the sweep twice, or two sweeps at once, writes each message once.
- Delivery claims a row (pending -> sending, with a claim token) just before it talks to the mail
  server and checks the claim again just before sending; on PostgreSQL the row is also locked
  (``FOR UPDATE SKIP LOCKED``) until the send is recorded. Two workers never send the same row; a
  failure puts it back with exponential backoff.
  A worker that dies between the SMTP answer and the "sent" mark leaves the row pending (PostgreSQL,
  rolled back) or "sending" (SQLite, retried after ``RESOLVE_OUTBOX_CLAIM_TIMEOUT_SECONDS``); its
  fixed Message-ID lets the receiving server drop that one duplicate. No outbox can promise more than
  that over SMTP.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, assert_never

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, connection, transaction
from django.db.models import CharField, F, Q, Value
from django.utils import timezone
from django_tasks import task

from resolve.calendars.services import CalendarRangeError, WorkingCalendar, working_calendar
from resolve.calendars.types import Nation
from resolve.challenges import engine
from resolve.challenges.case_notes import hand_over_words
from resolve.challenges.events import (
    AgencyAsked,
    AgreementAnswered,
    AgreementRequested,
    CafcassReferred,
    DeadlineExtended,
    Escalated,
    Event,
    EventType,
    HandedOver,
    MeetingRecorded,
    MeetingRequested,
    ResponseRecorded,
)
from resolve.challenges.models import Action, Agreement, Challenge, Meeting, StageVisit
from resolve.children.models import Child
from resolve.children.selectors import ChildLine, child_line
from resolve.core.conf import conf
from resolve.notifications.models import (
    AgencyMessage,
    Deadline,
    Kind,
    Notification,
    NotificationPreference,
    OutboxMessage,
    calendar_secret_digest,
)
from resolve.notifications.triggers import SCHEDULE
from resolve.procedures.schema import Procedure
from resolve.procedures.selectors import procedure_version_model

logger = logging.getLogger(__name__)

Trigger = Deadline.Trigger


def _fmt(day: dt.date | None) -> str:
    return f"{day.day} {day:%B %Y}" if day else "no set date"


def _challenge_link(challenge: Challenge) -> str:
    return f"/challenges/{challenge.pk}/"


def _message_link(message: Message) -> str:
    """The page a message opens: its challenge's, else the one it names."""
    return _challenge_link(message.challenge) if message.challenge is not None else message.link


# -- who ---------------------------------------------------------------------------------------------
def _users(usernames: Iterable[str]) -> list[User]:
    names = sorted({name for name in usernames if name})
    if not names:
        return []
    found = get_user_model().objects.filter(username__in=names, is_active=True)
    return sorted(found, key=lambda user: user.get_username())


# -- the outbox --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Message:
    kind: str
    key: str
    subject: str
    body: str
    challenge: Challenge | None = None
    action: Action | None = None
    due_on: dt.date | None = None
    link: str = ""  # where the message opens when it is about no challenge (a child's page)


# Never held for a daily digest: the digest itself, a break-glass report, which a reviewer must see
# the day it happens, and the alert that deadlines are not being checked.
_NEVER_HELD = frozenset({Kind.DIGEST, Kind.BREAK_GLASS, Kind.SWEEP_STALE})


def _wants_digest(user: User) -> bool:
    return NotificationPreference.objects.filter(
        user_id=user.pk, email=NotificationPreference.Email.DAILY_DIGEST
    ).exists()


def message_put(*, recipient: User, message: Message) -> OutboxMessage | None:
    """Write ``message`` for ``recipient`` (and its in-app copy) unless it was written before.

    Returns the new row, or None when the recipient already has this message. Call it inside the
    transaction of the change that causes the message.
    """
    # The key names the kind too: one message per recipient, kind, challenge or action, and due date.
    dedupe_key = f"{message.kind}|{message.key}"[:200]
    if OutboxMessage.objects.filter(recipient_id=recipient.pk, dedupe_key=dedupe_key).exists():
        return None
    held = _wants_digest(recipient) and message.kind not in _NEVER_HELD
    try:
        # A savepoint: a concurrent sweep that wrote the same message first costs only this insert.
        with transaction.atomic():
            row = OutboxMessage.objects.create(
                recipient_id=recipient.pk,
                kind=message.kind,
                dedupe_key=dedupe_key,
                challenge=message.challenge,
                action=message.action,
                due_on=message.due_on,
                subject=message.subject[:200],
                body=message.body,
                link=_message_link(message),
                status=OutboxMessage.Status.HELD if held else OutboxMessage.Status.PENDING,
                next_attempt_at=timezone.now(),
            )
            # Its in-app copy is written with it, by the outbox's trigger (``triggers.py``).
    except IntegrityError:
        return None
    return row


def outbox_deliver_on_commit() -> None:
    """Ask the worker to deliver once this transaction commits; the periodic delivery is the fallback.

    Call it after ``message_put``/``messages_put`` wrote something inside the transaction.
    """
    if conf.deliver_on_commit:
        transaction.on_commit(_enqueue_delivery)


def _enqueue_delivery() -> None:
    try:
        outbox_deliver_task.enqueue()
    except Exception:
        logger.exception("Could not enqueue outbox delivery; the next periodic run sends the messages")


def messages_put(*, recipients: Iterable[User], message: Message) -> int:
    seen: set[Any] = set()
    written = 0
    for user in recipients:
        if user.pk in seen:
            continue
        seen.add(user.pk)
        if message_put(recipient=user, message=message) is not None:
            written += 1
    return written


def messages_put_many(*, messages: Sequence[tuple[User, Message]], racing: bool = False) -> int:
    """Write each (recipient, message) unless the recipient already has it, in one statement
    whatever their number: the outbox rows (skipping those already written, held for a digest where
    the recipient reads one), each with its in-app notification, which the outbox's trigger writes
    from the row in the same statement (``resolve/notifications/triggers.py``).

    For a change to a challenge: call it inside the change's transaction, which holds the challenge
    row, so no other writer adds the same keys for it at once. ``racing``: another writer may add
    the same messages at the same moment (two sweeps): the ones already written and who reads a
    digest are asked first, and a row the other writer wrote first is skipped, never an error (two
    statements). Returns how many were written (a daily digest not counted).
    """
    wanted: dict[tuple[Any, str], tuple[User, Message]] = {}
    for recipient, message in messages:
        wanted.setdefault((recipient.pk, f"{message.kind}|{message.key}"[:200]), (recipient, message))
    if not wanted:
        return 0
    if not racing:
        return _messages_insert(wanted)
    recipient_ids = {recipient_id for recipient_id, _ in wanted}
    # One statement: the (recipient, key) pairs already written, and (reader, "") for each recipient
    # who reads a daily digest (a written key is never empty).
    already = (
        OutboxMessage.objects.filter(
            recipient_id__in=recipient_ids, dedupe_key__in={key for _, key in wanted}
        )
        .order_by()
        .values_list("recipient_id", "dedupe_key")
    )
    digest = (
        NotificationPreference.objects.filter(
            user_id__in=recipient_ids, email=NotificationPreference.Email.DAILY_DIGEST
        )
        .order_by()
        .values_list("user_id", Value("", output_field=CharField()))
    )
    found = set(already.union(digest, all=True))
    digest_readers = {recipient_id for recipient_id, key in found if key == ""}
    fresh = [(pair, value) for pair, value in wanted.items() if pair not in found]
    if not fresh:
        return 0
    now = timezone.now()
    columns = [
        {
            "recipient_id": recipient_id,
            "kind": message.kind,
            "dedupe_key": dedupe_key,
            "challenge_id": message.challenge.pk if message.challenge is not None else None,
            "action_id": message.action.pk if message.action is not None else None,
            "due_on": message.due_on,
            "subject": message.subject[:200],
            "body": message.body,
            "link": _message_link(message),
            "status": OutboxMessage.Status.HELD
            if recipient_id in digest_readers and message.kind not in _NEVER_HELD
            else OutboxMessage.Status.PENDING,
            "next_attempt_at": now,
        }
        for (recipient_id, dedupe_key), (_, message) in fresh
    ]
    # Each with its in-app copy (the outbox's trigger); those another writer wrote first are skipped
    # and not counted. A digest (not counted) goes on its own.
    digests = [row for row in columns if row["kind"] == Kind.DIGEST]
    _rows_insert(OutboxMessage, digests, ignore_conflicts=True)
    return _rows_insert(
        OutboxMessage, [row for row in columns if row["kind"] != Kind.DIGEST], ignore_conflicts=True
    )


def _messages_insert(wanted: Mapping[tuple[Any, str], tuple[User, Message]]) -> int:
    """The outbox rows of a change to a challenge, and their in-app copies, in one statement.

    One insert writes every message a recipient does not have yet (one already written, under the
    same recipient and dedupe key, is skipped by the unique constraint), each held for a daily digest
    when its recipient reads one (asked inside the insert), and answers the rows it wrote; the
    outbox's trigger writes their notifications from them (``triggers.py``). The change's
    transaction holds the challenge row, so no one else writes the same keys for it meanwhile.
    """
    db = transaction.get_connection()
    fields = [field for field in OutboxMessage._meta.concrete_fields if not field.primary_key]
    now = timezone.now()
    quote = db.ops.quote_name
    preference = quote(NotificationPreference._meta.db_table)
    # Held for the digest when the recipient reads one: asked of their preference row, in the insert.
    held = (
        f"CASE WHEN EXISTS (SELECT 1 FROM {preference} WHERE {quote('user_id')} = %s "  # noqa: S608  # nosec B608
        f"AND {quote('email')} = %s) THEN %s ELSE %s END"
    )
    rows_sql: list[str] = []
    params: list[Any] = []
    for (recipient_id, dedupe_key), (_, message) in wanted.items():
        values = {
            "recipient_id": recipient_id,
            "kind": message.kind,
            "dedupe_key": dedupe_key,
            "challenge_id": message.challenge.pk if message.challenge is not None else None,
            "action_id": message.action.pk if message.action is not None else None,
            "due_on": message.due_on,
            "subject": message.subject[:200],
            "body": message.body,
            "link": _message_link(message),
            "next_attempt_at": now,
            "created_at": now,
        }
        marks: list[str] = []
        for field in fields:
            if field.attname == "status":
                if message.kind in _NEVER_HELD:
                    marks.append("%s")
                    params.append(OutboxMessage.Status.PENDING)
                else:
                    marks.append(held)
                    params.extend(
                        [
                            recipient_id,
                            NotificationPreference.Email.DAILY_DIGEST,
                            OutboxMessage.Status.HELD,
                            OutboxMessage.Status.PENDING,
                        ]
                    )
                continue
            marks.append("%s")
            raw = values[field.attname] if field.attname in values else field.get_default()
            params.append(field.get_db_prep_save(raw, db))
        rows_sql.append(f"({', '.join(marks)})")
    table = quote(OutboxMessage._meta.db_table)
    names = ", ".join(quote(field.column) for field in fields)
    # The model's own table and quoted columns; every value is a parameter.
    sql = (
        f"INSERT INTO {table} ({names}) VALUES {', '.join(rows_sql)} "  # noqa: S608  # nosec B608
        f"ON CONFLICT DO NOTHING RETURNING {quote('id')}, {quote('recipient_id')}, {quote('kind')}"
    )
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        written = cursor.fetchall()
    return len(written)


# Values the database driver cannot take as they are: Django prepares these (dates, times, JSON).
_PREPARED_TYPES = frozenset({"DateField", "DateTimeField", "JSONField"})


def _rows_insert(model: type[Any], rows: Sequence[Mapping[str, Any]], *, ignore_conflicts: bool) -> int:
    """Insert one row of ``model`` for each mapping of column values (by attribute name; a column left
    out takes its field's default) in one ``executemany``, skipping a row that breaks a unique
    constraint when ``ignore_conflicts``. The ids are not read back; answers how many were written.

    What ``bulk_create`` writes, without building a model object and preparing every value of every
    row through its field: for the thousands of messages of a sweep's batch that is most of the
    cost. Ids, integers and text go to the driver as they are; dates, times and JSON are prepared
    as Django prepares them, each distinct value once.
    """
    if not rows:
        return 0
    db = transaction.get_connection()
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    now = timezone.now()
    defaults = [
        now
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
        else field.get_default()
        for field in fields
    ]
    prepared = [field.get_internal_type() in _PREPARED_TYPES for field in fields]
    cache: dict[tuple[int, Any], Any] = {}

    def value(index: int, field: Any, row: Mapping[str, Any]) -> Any:
        raw = row.get(field.attname, defaults[index])
        if not prepared[index]:
            return raw
        if isinstance(raw, list | dict):
            return field.get_db_prep_save(raw, db)
        if (index, raw) not in cache:
            cache[index, raw] = field.get_db_prep_save(raw, db)
        return cache[index, raw]

    table = db.ops.quote_name(model._meta.db_table)
    names = ", ".join(db.ops.quote_name(field.column) for field in fields)
    marks = ", ".join(["%s"] * len(fields))
    conflict = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    # The model's own table and quoted columns; every value is a parameter.
    sql = f"INSERT INTO {table} ({names}) VALUES ({marks}){conflict}"  # noqa: S608  # nosec B608
    values = [[value(index, field, row) for index, field in enumerate(fields)] for row in rows]
    with db.cursor() as cursor:
        cursor.executemany(sql, values)
        return max(cursor.rowcount, 0)


# -- messages caused by a change --------------------------------------------------------------------
def _full_name(user: User) -> str:
    return f"{user.first_name} {user.last_name}".strip() or user.get_username()


def _child_words(challenge: Challenge) -> str:
    child = challenge.child
    return f"{child.full_name} ({child.case_number})"


class _People:
    """The people of one change, by username: those of the child's line, read once, and any other
    active account looked up on first use."""

    def __init__(self, line: ChildLine) -> None:
        self.line = line
        everyone = line.people()
        self.known = {name: user for name, user in everyone.items() if user.is_active}
        self.looked_up: set[str] = set()
        # Names by username, for the words of a message: anyone with an account, a leaver included.
        self.named = {name: _full_name(user) for name, user in everyone.items()}

    def names(self, usernames: Iterable[str]) -> list[str]:
        """The people named in a change, by name (their username when they have no account), in order;
        those not in the child's line are read in one statement."""
        wanted = [name for name in usernames if name]
        unknown = sorted({name for name in wanted if name not in self.named})
        if unknown:
            for user in get_user_model().objects.filter(username__in=unknown):
                self.named[user.get_username()] = _full_name(user)
            self.named.update((name, name) for name in unknown if name not in self.named)
        return [self.named[name] for name in wanted]

    def users(self, usernames: Iterable[str]) -> list[User]:
        """As ``_users``: the active accounts among ``usernames``, sorted by username."""
        names = sorted({name for name in usernames if name})
        unknown = [name for name in names if name not in self.known and name not in self.looked_up]
        if unknown:
            self.looked_up.update(unknown)
            self.known.update((user.get_username(), user) for user in _users(unknown))
        return [self.known[name] for name in names if name in self.known]


def _audience(
    audience: engine.Audience,
    challenge: Challenge,
    event: Event,
    visit: StageVisit | None,
    people: _People | None = None,
) -> list[User]:
    """The people an audience of a transition's declaration means for this change."""
    people = (
        people if people is not None else _People(child_line(child=challenge.child, track=challenge.track))
    )
    line = people.line
    match audience:
        case engine.Audience.STAGE_TO:
            return people.users(visit.to_users) if visit is not None else []
        case engine.Audience.STAGE_CC:
            return people.users(visit.cc_users) if visit is not None else []
        case engine.Audience.STAGE_NOTIFIED:
            return people.users(visit.notify_users) if visit is not None else []
        case engine.Audience.STAGE_TO_AND_CC:
            return people.users([*visit.to_users, *visit.cc_users]) if visit is not None else []
        case engine.Audience.CHAIR:
            chair = line.chair
            return [chair] if chair is not None else []
        case engine.Audience.CHAIR_WHEN_AUTOMATIC:
            automatic = isinstance(event.detail, Escalated) and event.detail.automatic
            chair = line.chair
            return [chair] if automatic and chair is not None else []
        case engine.Audience.CAFCASS_TOLD:
            # Seed 003: "The IRO Service Manager will also notify their Head of Service"; those who
            # agreed to or were told of the referral are told it was made.
            named = event.detail.preconditions.values() if isinstance(event.detail, CafcassReferred) else ()
            told = [
                *line.holders("iro_service_manager"),
                *line.holders("head_of_safeguarding"),
                *people.users(named),
            ]
            return list({user.pk: user for user in told}.values())
        case engine.Audience.SUCCESSOR:
            return people.users([event.detail.successor]) if isinstance(event.detail, HandedOver) else []
        case engine.Audience.PERSON_ASKED:
            return people.users([event.detail.person]) if isinstance(event.detail, AgreementRequested) else []
        case engine.Audience.ASKER_AND_CHAIR:
            if not isinstance(event.detail, AgreementAnswered):
                return []
            asked = Agreement.objects.filter(challenge=challenge, number=event.detail.number).first()
            chair = people.line.chair
            told = [*([asked.requested_by] if asked is not None else []), *([chair] if chair else [])]
            return list({user.pk: user for user in told if user.is_active}.values())
        case engine.Audience.MEETING_PEOPLE:
            detail = event.detail
            chair = people.line.chair
            if isinstance(detail, MeetingRequested):
                invited = people.users([detail.chair, *detail.attendees])
            elif isinstance(detail, MeetingRecorded) and detail.number:
                # Seed 001: "Minutes of Meeting to be completed and circulated to all attendees."
                invited = people.users(list(detail.attendees))
            else:
                return []
            return list({user.pk: user for user in [*invited, *([chair] if chair else [])]}.values())
        case engine.Audience.AGENCY_CONTACT:
            return []  # nobody in Resolve: ``agency_messages_put`` writes to the contact's address
        case _:
            assert_never(audience)


def _message(
    kind: str,
    challenge: Challenge,
    procedure: Procedure,
    event: Event,
    visit: StageVisit | None,
    people: _People,
) -> Message:
    """The words of one notification of a change; the people it names, by name."""
    child = _child_words(challenge)
    stage_name = procedure.stage(event.stage).name if event.stage else ""
    sequence = visit.sequence if visit is not None else 0
    due_on = visit.due_on if visit is not None else None
    detail = event.detail
    if kind in {Kind.STAGE_SENT, Kind.STAGE_COPIED, Kind.STAGE_NOTIFIED}:
        what = {
            EventType.RAISED: "raised with you",
            EventType.ESCALATED: "escalated to you",
            EventType.REOPENED: "re-opened with you",
        }[event.type]
        due = f"Please respond by {_fmt(due_on)}." if due_on else "The procedure sets no response date."
        body = (
            f"A challenge about {child} has been {what} at {stage_name}.\n{due}\n\n"
            f"Concern: {challenge.concern}"
        )
        if event.stage and "directors_briefing" in procedure.stage(event.stage).documents:
            # Seed 002 Appendix B: the Director's briefing goes with the stage; it is read on the page.
            body += (
                "\n\nThe Director's briefing for this stage is on the challenge page: "
                f"{conf.base_url}{_challenge_link(challenge)}#directors-briefing"
            )
        key = f"stage:{challenge.pk}:v{sequence}"
        if kind == Kind.STAGE_SENT:
            return Message(kind, key, f"Challenge for {child}: {stage_name}", body, challenge, due_on=due_on)
        if kind == Kind.STAGE_COPIED:
            return Message(
                kind, key, f"Copy: challenge for {child}: {stage_name}", body, challenge, due_on=due_on
            )
        return Message(
            kind,
            key,
            f"For information: challenge for {child}: {stage_name}",
            f"The procedure asks that you are told of this stage.\n\n{body}",
            challenge,
        )
    if kind == Kind.AUTO_ESCALATED:
        reason = detail.reason if isinstance(detail, Escalated) else ""
        return Message(
            kind,
            f"auto:{challenge.pk}:v{sequence}",
            f"Escalated automatically: {child}",
            f"The challenge about {child} was escalated to {stage_name} by Resolve. {reason}",
            challenge,
            due_on=due_on,
        )
    if kind == Kind.RESPONSE_RECORDED and isinstance(detail, ResponseRecorded):
        return Message(
            kind,
            f"response:{challenge.pk}:v{sequence}:{event.on.isoformat()}",
            f"Response recorded: {child}",
            f"{stage_name}: {detail.response_label}.\n{detail.comments}",
            challenge,
        )
    if kind == Kind.CAFCASS_REFERRED and isinstance(detail, CafcassReferred):
        return Message(
            kind,
            f"cafcass:{challenge.pk}",
            f"Referred to Cafcass: {child}",
            f"The IRO referred the case of {child} to Cafcass on {_fmt(event.on)}"
            f"{' as urgent' if detail.urgent else ''}.\nReason: {detail.reason}",
            challenge,
        )
    if kind == Kind.DEADLINE_EXTENDED and isinstance(detail, DeadlineExtended):
        return Message(
            kind,
            f"extended:{challenge.pk}:v{sequence}:{detail.to_due.isoformat()}",
            f"Response date extended: {child}",
            f"The response at {stage_name} is now due by {_fmt(detail.to_due)} (it was due by "
            f"{_fmt(detail.from_due)}), as agreed by {people.names([detail.agreed_by])[0]}.\n"
            f"Reason: {detail.reason}",
            challenge,
            due_on=detail.to_due,
        )
    if kind == Kind.AGREEMENT_REQUESTED and isinstance(detail, AgreementRequested):
        what = _agreement_words(procedure, detail.purpose, detail.key)
        if detail.kind == "agree":
            subject = f"Your agreement is asked: {child}"
            opening = f"You are asked to agree to {what} for the challenge about {child}."
            ask = "Please confirm or decline it in Resolve."
        else:
            subject = f"For your information before a referral to Cafcass: {child}"
            opening = f"You are told, before it is made, of {what} for the challenge about {child}."
            ask = "You can acknowledge it in Resolve."
        return Message(
            kind,
            f"agreement:{challenge.pk}:{detail.number}",
            subject,
            f"{opening}\n\n{detail.note}\n\n{ask}",
            challenge,
        )
    if kind == Kind.AGREEMENT_ANSWERED and isinstance(detail, AgreementAnswered):
        what = _agreement_words(procedure, detail.purpose, detail.key)
        word = "confirmed" if detail.answer == "confirmed" else "declined"
        return Message(
            kind,
            f"agreement-answer:{challenge.pk}:{detail.number}",
            f"Request {word}: {child}",
            f"The request about {what} for the challenge about {child} was {word} on {_fmt(event.on)}."
            + (f"\n\n{detail.comments}" if detail.comments else ""),
            challenge,
        )
    if kind == Kind.MEETING_REQUESTED and isinstance(detail, MeetingRequested):
        meeting = procedure.stage(event.stage).meeting_for(detail.key) if event.stage else None
        title = meeting.title if meeting is not None else "Meeting"
        invited = ", ".join([*people.names(detail.attendees), *detail.outsiders]) or "no one else yet"
        return Message(
            kind,
            f"meeting:{challenge.pk}:{detail.number}",
            f"Meeting on {_fmt(detail.scheduled_for)}: {child}",
            f"{title} ({stage_name}) about the challenge for {child} is set for "
            f"{_fmt(detail.scheduled_for)}, chaired by {people.names([detail.chair])[0]}.\n"
            f"Invited: {invited}." + (f"\n\n{detail.note}" if detail.note else ""),
            challenge,
            due_on=detail.scheduled_for,
        )
    if kind == Kind.MEETING_MINUTES and isinstance(detail, MeetingRecorded):
        actions = f"\n\nActions agreed: {detail.actions} (on the challenge page)." if detail.actions else ""
        return Message(
            kind,
            f"minutes:{challenge.pk}:{detail.number}",
            f"Minutes of the meeting of {_fmt(detail.held_on)}: {child}",
            f"Minutes of the meeting held on {_fmt(detail.held_on)} at {stage_name} about {child}:\n\n"
            f"{detail.summary}{actions}",
            challenge,
        )
    if kind == Kind.CHALLENGE_CLOSED:
        word = "resolved" if event.type == EventType.RESOLVED else "withdrawn"
        return Message(
            kind,
            f"closed:{challenge.pk}:v{sequence}:{event.type}",
            f"Challenge {word}: {child}",
            f"The challenge about {child} was {word} at {stage_name} on {_fmt(event.on)}.",
            challenge,
        )
    if kind == Kind.WORK_HANDED_OVER and isinstance(detail, HandedOver):
        return Message(
            kind,
            f"handed_over:{challenge.pk}:{detail.leaver}:{event.on.isoformat()}",
            f"Work handed over to you: {child}",
            f"{people.names([detail.leaver])[0]}'s part in the challenge about {child} is now yours: "
            f"{hand_over_words(detail)}.\nReason: {detail.reason}",
            challenge,
            due_on=due_on if detail.stage else None,
        )
    raise ValueError(f"No words for a {kind!r} notification of a {event.type} event")


def _agreement_words(procedure: Procedure, purpose: str, key: str) -> str:
    if purpose == "bypass" and procedure.has_stage(key):
        return f"going straight to {procedure.stage(key).name}"
    labels = {item.key: item.label for item in procedure.cafcass.requires}
    return f"a referral to Cafcass ({labels.get(key, key)})"


# -- a Cafcass referral with no challenge ------------------------------------------------------------
def child_cafcass_messages(
    *,
    child: Child,
    procedure: Procedure,
    detail: CafcassReferred | AgreementRequested | AgreementAnswered,
    on: dt.date,
    asker: str = "",
    referral_id: int = 0,
    line: ChildLine | None = None,
) -> int:
    """The messages of a Cafcass referral of a child's case with no challenge, or of a request for
    agreement to it: whom a challenge's referral or request would tell, told the same (the person
    asked; who asked and the IRO; the IRO Service Manager, the Head of Safeguarding and who agreed or
    was told). ``asker``: the username who made the request an answer answers; ``referral_id``: the
    referral's row; ``line``: the child's IRO line read for the change (read here otherwise). Call it
    inside the change's transaction. Returns how many were written."""
    people = _People(line if line is not None else child_line(child=child, track="iro"))
    words = f"{child.full_name} ({child.case_number})"
    link = f"/children/{child.case_number}/cafcass-referral/"
    match detail:
        case AgreementRequested():
            what = _agreement_words(procedure, detail.purpose, detail.key)
            if detail.kind == "agree":
                subject = f"Your agreement is asked: {words}"
                opening = f"You are asked to agree to {what} of the case of {words}, with no challenge."
                ask = "Please confirm or decline it in Resolve."
            else:
                subject = f"For your information before a referral to Cafcass: {words}"
                opening = (
                    f"You are told, before it is made, of {what} of the case of {words}, with no challenge."
                )
                ask = "You can acknowledge it in Resolve."
            recipients = people.users([detail.person])
            message = Message(
                Kind.AGREEMENT_REQUESTED,
                f"child-agreement:{child.pk}:{detail.number}",
                subject,
                f"{opening}\n\n{detail.note}\n\n{ask}",
                link=link,
            )
        case AgreementAnswered():
            what = _agreement_words(procedure, detail.purpose, detail.key)
            word = "confirmed" if detail.answer == "confirmed" else "declined"
            chair = people.line.chair
            recipients = [*people.users([asker]), *([chair] if chair is not None else [])]
            message = Message(
                Kind.AGREEMENT_ANSWERED,
                f"child-agreement-answer:{child.pk}:{detail.number}",
                f"Request {word}: {words}",
                f"The request about {what} of the case of {words} was {word} on {_fmt(on)}."
                + (f"\n\n{detail.comments}" if detail.comments else ""),
                link=link,
            )
        case CafcassReferred():
            recipients = [
                *people.line.holders("iro_service_manager"),
                *people.line.holders("head_of_safeguarding"),
                *people.users(detail.preconditions.values()),
            ]
            message = Message(
                Kind.CAFCASS_REFERRED,
                f"child-cafcass:{child.pk}:{referral_id}",
                f"Referred to Cafcass: {words}",
                f"The IRO referred the case of {words} to Cafcass on {_fmt(on)}"
                f"{' as urgent' if detail.urgent else ''}, with no challenge.\nReason: {detail.reason}",
                link=link,
            )
        case _:
            assert_never(detail)
    unique = list({user.pk: user for user in recipients}.values())
    written = messages_put_many(messages=[(user, message) for user in unique])
    if written:
        outbox_deliver_on_commit()
    return written


def notifications_for_events(
    *,
    challenge: Challenge,
    procedure: Procedure,
    events: Sequence[Event],
    visits: Sequence[StageVisit],
    state: engine.ChallengeState | None = None,
    line: ChildLine | None = None,
    actions: Sequence[tuple[int, dt.date, str]] | None = None,
    before: engine.ChallengeState | None = None,
    meetings: Sequence[Meeting] | None = None,
) -> None:
    """The messages a change to a challenge causes, as its transition declares (``engine.TRANSITIONS``
    ``tells``), and its deadline schedule brought up to date (left alone when ``before``, the state
    the change started from, schedules the same deadlines as ``state``: ``deadlines_unchanged``).

    Called by the challenge write path inside its transaction, after the events are written, with
    the visit rows and the child's line it read (``line``), so that nobody is looked up twice and
    every message is written in one go (``messages_put_many``); ``actions``: the challenge's
    actions (id, due, status) as the change leaves them, those it added included (None: read them);
    ``meetings``: its meeting rows as the change leaves them (each with its visit and
    ``has_minutes``; None: read them).
    """
    visit = visits[-1] if visits else None
    people = _People(line if line is not None else child_line(child=challenge.child, track=challenge.track))
    messages: list[tuple[User, Message]] = []
    for event in events:
        for tell in engine.TRANSITION_BY_EVENT[event.type].tells:
            recipients = _audience(tell.audience, challenge, event, visit, people)
            if recipients:
                message = _message(tell.kind, challenge, procedure, event, visit, people)
                messages.extend((recipient, message) for recipient in recipients)
    # Delivered when the worker's clock next finds them waiting (``outbox_waiting``, every few
    # seconds): a change queues no task of its own, one statement fewer for every change.
    messages_put_many(messages=messages)
    agency_messages_put(challenge=challenge, procedure=procedure, events=events, chair=people.line.chair)
    if (
        before is not None
        and state is not None
        and actions is not None
        and deadlines_unchanged(before, state)
    ):
        return
    action_statuses = {action.id: action.status for action in state.actions} if state is not None else {}
    deadlines_schedule(
        challenge=challenge,
        procedure=procedure,
        action_statuses=action_statuses,
        visits=visits,
        actions=actions,
        first=before is not None and before.status == "new",
        meetings=meetings,
    )


# -- partner agencies: an email to an address, for someone with no account --------------------------
def agency_messages_put(
    *, challenge: Challenge, procedure: Procedure, events: Sequence[Event], chair: User | None
) -> int:
    """The emails a change sends to contacts at partner agencies (seed 000 section 2): what is asked
    and by when, to their address (they need no account), written to the outbox in the change's
    transaction and delivered, retried and de-duplicated like every other message. Returns how many."""
    told = {
        event.type
        for event in events
        if any(
            tell.audience is engine.Audience.AGENCY_CONTACT
            for tell in engine.TRANSITION_BY_EVENT[event.type].tells
        )
    }
    if not told:
        return 0
    escalated = next((event.detail for event in events if isinstance(event.detail, Escalated)), None)
    now = timezone.now()
    rows = [
        AgencyMessage(
            address=event.detail.contact_email,
            kind=Kind.AGENCY_ASKED,
            # One per change and address: ``version`` is the challenge's after this change.
            dedupe_key=f"{Kind.AGENCY_ASKED}|{challenge.pk}:v{challenge.version}:{event.detail.contact_email}"[
                :200
            ],
            challenge=challenge,
            due_on=event.detail.due_on,
            subject=_agency_subject(challenge, event.detail)[:200],
            body=_agency_body(challenge, procedure, event, chair, escalated),
            status=AgencyMessage.Status.PENDING,
            next_attempt_at=now,
        )
        for event in events
        if event.type in told and isinstance(event.detail, AgencyAsked)
    ]
    return len(AgencyMessage.objects.bulk_create(rows, ignore_conflicts=True))


def _agency_subject(challenge: Challenge, detail: AgencyAsked) -> str:
    reply = f": please reply by {_fmt(detail.due_on)}" if detail.due_on else ""
    return f"Challenge about {challenge.child.full_name} from the child's independent chair{reply}"


def _agency_body(
    challenge: Challenge, procedure: Procedure, event: Event, chair: User | None, escalated: Escalated | None
) -> str:
    detail = event.detail
    assert isinstance(detail, AgencyAsked)
    child = challenge.child
    chair_name = (chair.get_full_name() or chair.get_username()) if chair is not None else "The chair"
    chair_email = chair.email if chair is not None and chair.email else ""
    stage = procedure.stage(event.stage).name if event.stage else ""
    lines = [
        f"Dear {detail.contact_name},",
        "",
        f"{chair_name}, the independent chair for {child.full_name} (born {_fmt(child.date_of_birth)}), "
        f"is raising a challenge with {detail.agency} under the multi-agency escalation procedure "
        f"({procedure.name}), at {stage}: you are contacted as the agency's {detail.level}.",
        "",
        f"The concern: {challenge.concern}",
        f"The impact on the child: {challenge.impact_on_child}",
        f"What you are asked to do: {detail.asked}",
    ]
    if escalated is not None and escalated.reason:
        lines.append(f"Why it is escalated to you: {escalated.reason}")
    lines.append("")
    reply_to = f" at {chair_email}" if chair_email else ""
    by = f"by {_fmt(detail.due_on)}" if detail.due_on else "as soon as you can"
    lines.append(
        f"Please reply to {chair_name}{reply_to} {by}, saying whether you agree and will act, do not "
        "agree, or do not have the remit to act. Your reply is recorded on the child's record."
    )
    return "\n".join(lines)


# -- the deadline schedule --------------------------------------------------------------------------
@dataclass(frozen=True)
class DeadlineSpec:
    key: str
    trigger: str
    due_on: dt.date
    fire_on: dt.date
    stage_key: str = ""
    action_id: int | None = None
    meeting_id: int | None = None


def deadlines_unchanged(before: engine.ChallengeState, after: engine.ChallengeState) -> bool:
    """Whether a change from ``before`` to ``after`` leaves the deadline schedule as it was.

    ``deadline_specs`` reads only the status, the stage visits (the current stage, its due date,
    whether it is answered, whether it was entered by re-opening), the formal cap, the actions and
    the requested meetings: a change that moves none of them (learning points, final comments, a
    request for agreement) has nothing to reschedule.
    """
    return (
        before.status == after.status
        and before.visits == after.visits
        and before.formal_due_on == after.formal_due_on
        and before.actions == after.actions
        and before.meetings == after.meetings
    )


def _earliest_within(calendar: WorkingCalendar, due: dt.date, working_days: int) -> dt.date:
    """The first day from which at most ``working_days`` working days remain until ``due``."""
    day = due
    for _ in range(working_days * 7 + 14):
        earlier = day - dt.timedelta(days=1)
        if calendar.working_days_between(earlier, due) > working_days:
            return day
        day = earlier
    return day


def _first_working_day_after(calendar: WorkingCalendar, due: dt.date) -> dt.date:
    return calendar.add_working_days(due, 1)


def _reopened_on(challenge: Challenge, visits: Sequence[StageVisit] | None = None) -> dt.date | None:
    """When the challenge's current stage was entered by re-opening it, else None.

    ``visits``: the challenge's visit rows in order, when the caller has them."""
    last_two: list[tuple[str, dt.date]]
    if visits is not None:
        last_two = [
            (visit.left_how, visit.entered_on)
            for visit in sorted(visits, key=lambda visit: visit.sequence, reverse=True)[:2]
        ]
    else:
        last_two = list(challenge.visits.order_by("-sequence").values_list("left_how", "entered_on")[:2])
    if len(last_two) == 2 and last_two[1][0] == "resolved":
        return last_two[0][1]
    return None


def deadline_specs(
    *,
    challenge: Challenge,
    procedure: Procedure,
    actions: Iterable[tuple[int, dt.date, str]],
    calendar: WorkingCalendar,
    visits: Sequence[StageVisit] | None = None,
    meetings: Sequence[Meeting] | None = None,
) -> list[DeadlineSpec]:
    """Every moment the sweep should look at this challenge and its open actions, from its state now.

    ``meetings``: the challenge's meeting rows, each with its visit and ``has_minutes`` (whether
    minutes point at it), when the caller read them in this transaction."""
    specs: list[DeadlineSpec] = []
    cid = challenge.pk
    is_open = challenge.status == Challenge.Status.OPEN
    try:
        due = challenge.stage_due_on
        if is_open and due is not None and challenge.stage_responded_on is None and challenge.stage_key:
            stage = procedure.stage(challenge.stage_key)
            if stage.reminder_working_days:
                specs.append(
                    DeadlineSpec(
                        f"c{cid}:response_reminder:{stage.key}:{due}",
                        Trigger.RESPONSE_REMINDER,
                        due,
                        _earliest_within(calendar, due, stage.reminder_working_days),
                        stage.key,
                    )
                )
            specs.append(
                DeadlineSpec(
                    f"c{cid}:response_overdue:{stage.key}:{due}",
                    Trigger.RESPONSE_OVERDUE,
                    due,
                    _first_working_day_after(calendar, due),
                    stage.key,
                )
            )
        cap = challenge.formal_due_on
        if is_open and cap is not None:
            # The cap is not restarted by re-opening; an alert whose day came while the challenge was
            # resolved is not sent when it is re-opened (the page and lists show it past the cap).
            reopened_on = _reopened_on(challenge, visits)
            cap_specs = (
                DeadlineSpec(
                    f"c{cid}:cap_warning:{cap}",
                    Trigger.CAP_WARNING,
                    cap,
                    _earliest_within(calendar, cap, conf.cap_warning_working_days),
                ),
                DeadlineSpec(
                    f"c{cid}:cap_passed:{cap}",
                    Trigger.CAP_PASSED,
                    cap,
                    _first_working_day_after(calendar, cap),
                ),
            )
            specs.extend(spec for spec in cap_specs if reopened_on is None or spec.fire_on > reopened_on)
        if challenge.status in {Challenge.Status.OPEN, Challenge.Status.RESOLVED}:
            remind = conf.action_reminder_working_days
            for action_id, action_due, status in actions:
                if status != Action.Status.OPEN:
                    continue
                after = _first_working_day_after(calendar, action_due)
                specs.append(
                    DeadlineSpec(
                        f"a{action_id}:action_reminder:{action_due}",
                        Trigger.ACTION_REMINDER,
                        action_due,
                        _earliest_within(calendar, action_due, remind),
                        action_id=action_id,
                    )
                )
                specs.append(
                    DeadlineSpec(
                        f"a{action_id}:action_overdue:{action_due}",
                        Trigger.ACTION_OVERDUE,
                        action_due,
                        after,
                        action_id=action_id,
                    )
                )
                if challenge.status == Challenge.Status.RESOLVED:
                    specs.append(
                        DeadlineSpec(
                            f"a{action_id}:reopen_prompt:{action_due}",
                            Trigger.REOPEN_PROMPT,
                            action_due,
                            after,
                            action_id=action_id,
                        )
                    )
        if is_open and procedure.holds_meetings():
            specs.extend(_meeting_specs(challenge, procedure, calendar, meetings))
    except CalendarRangeError:
        logger.warning("Challenge %s has a date outside the working-day calendar; no deadlines", cid)
    return specs


def meeting_minutes_due(procedure: Procedure, meeting: Meeting, calendar: WorkingCalendar) -> dt.date:
    """When a requested meeting's minutes and actions are due: the procedure's hours after its date
    (seed 001: "Actions from Meeting to be recorded within 24 hours"), else its date."""
    assert meeting.scheduled_for is not None
    stage = procedure.stage(meeting.visit.stage_key) if procedure.has_stage(meeting.visit.stage_key) else None
    declared = stage.meeting_for(meeting.meeting_key) if stage is not None else None
    hours = declared.actions_recorded_within_hours if declared is not None else None
    return (
        calendar.add_working_days(meeting.scheduled_for, -(-hours // 24)) if hours else meeting.scheduled_for
    )


def _meeting_specs(
    challenge: Challenge,
    procedure: Procedure,
    calendar: WorkingCalendar,
    meetings: Sequence[Meeting] | None = None,
) -> list[DeadlineSpec]:
    """A reminder before each requested meeting not yet recorded, and the alert once its minutes are late.

    ``meetings``: the challenge's meeting rows read with it (``has_minutes`` set on each); read here
    otherwise."""
    specs: list[DeadlineSpec] = []
    pending: Iterable[Meeting] = (
        Meeting.objects.filter(challenge=challenge, requested=True, records__isnull=True)
        .select_related("visit")
        .order_by("number")
        if meetings is None
        else sorted(
            (row for row in meetings if row.requested and not row.has_minutes),  # type: ignore[attr-defined]
            key=lambda row: row.number,
        )
    )
    for meeting in pending:
        if meeting.scheduled_for is None:
            continue
        day = meeting.scheduled_for
        due = meeting_minutes_due(procedure, meeting, calendar)
        specs.append(
            DeadlineSpec(
                f"m{meeting.pk}:meeting_reminder:{day}",
                Trigger.MEETING_REMINDER,
                day,
                _earliest_within(calendar, day, 1),
                meeting.visit.stage_key,
                meeting_id=meeting.pk,
            )
        )
        specs.append(
            DeadlineSpec(
                f"m{meeting.pk}:meeting_overdue:{due}",
                Trigger.MEETING_OVERDUE,
                due,
                _first_working_day_after(calendar, due),
                meeting.visit.stage_key,
                meeting_id=meeting.pk,
            )
        )
    return specs


def deadlines_schedule(
    *,
    challenge: Challenge,
    procedure: Procedure,
    action_statuses: Mapping[int, str] | None = None,
    visits: Sequence[StageVisit] | None = None,
    actions: Sequence[tuple[int, dt.date, str]] | None = None,
    first: bool = False,
    meetings: Sequence[Meeting] | None = None,
) -> None:
    """Bring the challenge's unfired deadlines in line with its state (fired ones are history).

    ``action_statuses`` overrides the stored status of actions the current change has just marked;
    ``visits``: the challenge's visit rows in order, and ``actions`` its actions (id, due, status)
    as read in this transaction, when the caller has them; ``first``: the challenge was raised in
    this transaction, so it has no deadlines yet to remove; ``meetings``: its meeting rows as read
    in this transaction (``_meeting_specs``), when the caller has them.
    """
    statuses = action_statuses or {}
    stored = (
        Action.objects.filter(challenge=challenge).values_list("pk", "due", "status")
        if actions is None
        else actions
    )
    rows = [(pk, due, statuses.get(pk, status)) for pk, due, status in stored]
    calendar = working_calendar(Nation(procedure.nation))
    specs = {
        spec.key: spec
        for spec in deadline_specs(
            challenge=challenge,
            procedure=procedure,
            actions=rows,
            calendar=calendar,
            visits=visits,
            meetings=meetings,
        )
    }
    # Unfired deadlines the state no longer has go; a key already there (fired or not) is kept as
    # it is, since the insert skips it.
    _deadlines_write(challenge.pk, list(specs.values()), remove=not first)


def _deadlines_write(challenge_id: int, specs: Sequence[DeadlineSpec], *, remove: bool) -> None:
    """Remove the challenge's unfired deadlines whose key is not in ``specs`` (when ``remove``) and
    insert those of ``specs`` not already there, in one statement: on PostgreSQL the removal is a
    data-modifying ``WITH``; SQLite has none, so there both go through the schedule's view, whose
    trigger does the two writes (``triggers.py``)."""
    db = transaction.get_connection()
    if remove and specs and db.vendor == "sqlite":
        rows = [
            [
                spec.key,
                spec.trigger,
                spec.action_id,
                spec.stage_key,
                spec.meeting_id,
                spec.due_on.isoformat(),
                spec.fire_on.isoformat(),
            ]
            for spec in specs
        ]
        with db.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {SCHEDULE} (challenge_id, remove, rows) VALUES (%s, %s, %s)",  # noqa: S608  # nosec B608: the view's own name
                [challenge_id, True, json.dumps(rows)],
            )
        return
    quote = db.ops.quote_name
    table = quote(Deadline._meta.db_table)
    statements: list[tuple[str, list[Any]]] = []
    if remove:
        # The model's own table and quoted columns; every value is a parameter.
        delete = (
            f"DELETE FROM {table} WHERE {quote('challenge_id')} = %s "  # noqa: S608  # nosec B608
            f"AND {quote('fired_at')} IS NULL"
        )
        if specs:
            delete += f" AND {quote('key')} NOT IN ({', '.join(['%s'] * len(specs))})"
        statements.append((delete, [challenge_id, *(spec.key for spec in specs)]))
    if specs:
        fields = [field for field in Deadline._meta.concrete_fields if not field.primary_key]
        names = ", ".join(quote(str(field.column)) for field in fields)
        marks = f"({', '.join(['%s'] * len(fields))})"
        insert = (
            f"INSERT INTO {table} ({names}) VALUES "  # noqa: S608  # nosec B608
            f"{', '.join([marks] * len(specs))} ON CONFLICT DO NOTHING"
        )
        values: list[Any] = []
        for spec in specs:
            row = _deadline_row(challenge_id, spec)
            values.extend(field.get_db_prep_save(getattr(row, field.attname), db) for field in fields)
        if statements and db.vendor == "postgresql":
            # The removal and the insert touch different keys, so one snapshot serves both.
            delete, kept = statements.pop()
            statements.append((f"WITH gone AS ({delete} RETURNING 1) {insert}", [*kept, *values]))
        else:
            statements.append((insert, values))
    with db.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)


def _deadline_row(challenge_id: int, spec: DeadlineSpec) -> Deadline:
    return Deadline(
        key=spec.key,
        trigger=spec.trigger,
        challenge_id=challenge_id,
        action_id=spec.action_id,
        meeting_id=spec.meeting_id,
        stage_key=spec.stage_key,
        due_on=spec.due_on,
        fire_on=spec.fire_on,
    )


def deadlines_schedule_action(*, action: Action) -> None:
    """A new action: add its reminder and overdue deadlines (its challenge's write path may not see it)."""
    challenge = action.challenge
    procedure = procedure_version_model(challenge.policy)
    deadlines_schedule(challenge=challenge, procedure=procedure)


# -- delivery ----------------------------------------------------------------------------------------
@dataclass
class DeliveryResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    recovered: int = 0
    lost: int = 0


def outbox_backoff(attempts: int) -> dt.timedelta:
    """Wait before the next try after ``attempts`` failed ones: doubling from the base, capped."""
    base = conf.outbox_backoff_base_seconds
    cap = conf.outbox_backoff_max_seconds
    return dt.timedelta(seconds=min(cap, base * 2 ** max(attempts - 1, 0)))


# The two tables delivery sends from: the outbox (a person in Resolve) and the emails to partner
# agencies' contacts (an address, no account). The same claim, retry and back-off for both.
Delivered = OutboxMessage | AgencyMessage
DELIVERED_FROM: tuple[type[OutboxMessage] | type[AgencyMessage], ...] = (OutboxMessage, AgencyMessage)


def _claim(
    pk: int,
    now: dt.datetime,
    *,
    locked: bool,
    model: type[OutboxMessage] | type[AgencyMessage] = OutboxMessage,
) -> tuple[Delivered, str] | None:
    """Claim one due row for this worker (pending -> sending, with a fresh token), or None if taken.

    ``locked``: the caller's transaction is held until the send is recorded, and the row is locked
    with ``SELECT ... FOR UPDATE SKIP LOCKED`` (PostgreSQL): no other worker can see it as due until
    this one commits, and if this worker dies the lock dies with its connection and the row is still
    pending. Otherwise (SQLite) the conditional UPDATE commits at once and the token is the lease.
    """
    due = model.objects.filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
        pk=pk,
        status=OutboxMessage.Status.PENDING,
    )
    if locked and not list(due.select_for_update(skip_locked=True).values_list("pk", flat=True)):
        return None
    token = secrets.token_hex(16)
    # claimed_at is the real time of the claim, not the start of the run: the claim timeout counts
    # from the moment this worker took the row.
    won = due.update(
        status=OutboxMessage.Status.SENDING,
        claim_token=token,
        claimed_at=timezone.now(),
        attempts=F("attempts") + 1,
    )
    if not won:
        return None
    if model is AgencyMessage:
        return AgencyMessage.objects.get(pk=pk), token
    return OutboxMessage.objects.select_related("recipient").get(pk=pk), token


def _claim_held(row: Delivered, token: str) -> bool:
    """Is the claim still ours, and young enough that no other worker may have recovered the row?"""
    young = timezone.now() - dt.timedelta(seconds=conf.outbox_claim_timeout_seconds)
    return (
        type(row)
        .objects.filter(
            pk=row.pk, status=OutboxMessage.Status.SENDING, claim_token=token, claimed_at__gt=young
        )
        .exists()
    )


def outbox_deliver(
    *, now: dt.datetime | None = None, batch_size: int = 100, max_batches: int | None = None
) -> DeliveryResult:
    """Send the pending messages that are due, by email; record each outcome on its row.

    Each row is claimed just before it is sent, and the claim is checked again just before the
    message goes to the mail server, so two workers never send the same row (see ``_claim``).
    """
    result = DeliveryResult()
    now = now or timezone.now()
    timeout = dt.timedelta(seconds=conf.outbox_claim_timeout_seconds)
    max_attempts = conf.outbox_max_attempts
    locked = bool(connection.features.has_select_for_update_skip_locked)
    mail = get_connection(fail_silently=False)
    try:
        for model in DELIVERED_FROM:
            result.recovered += model.objects.filter(
                status=OutboxMessage.Status.SENDING, claimed_at__lt=timezone.now() - timeout
            ).update(status=OutboxMessage.Status.PENDING, next_attempt_at=now, claim_token="")
            batches = 0
            done: set[int] = set()
            while max_batches is None or batches < max_batches:
                batches += 1
                due = model.objects.filter(
                    Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
                    status=OutboxMessage.Status.PENDING,
                ).exclude(pk__in=done)
                ids = list(due.order_by("id").values_list("pk", flat=True)[:batch_size])
                if not ids:
                    break
                done.update(ids)
                for pk in ids:
                    with transaction.atomic() if locked else contextlib.nullcontext():
                        claim = _claim(pk, now, locked=locked, model=model)
                        if claim is not None:
                            _deliver_one(claim[0], claim[1], mail, now, max_attempts, result)
    finally:
        try:
            mail.close()
        except Exception:
            logger.exception("Closing the mail connection failed")
    return result


def _deliver_one(
    row: Delivered, token: str, mail: Any, now: dt.datetime, max_attempts: int, result: DeliveryResult
) -> None:
    mine = type(row).objects.filter(pk=row.pk, claim_token=token)
    outside = isinstance(row, AgencyMessage)
    address = row.address if isinstance(row, AgencyMessage) else getattr(row.recipient, "email", "")
    if not address:
        who = row.address if isinstance(row, AgencyMessage) else row.recipient
        mine.update(status=OutboxMessage.Status.FAILED, last_error=f"{who} has no email address.")
        result.failed += 1
        return
    email = EmailMessage(
        subject=row.subject,
        body=_agency_email_body(row) if isinstance(row, AgencyMessage) else _email_body(row),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[address],
        headers={"Message-ID": f"<{'agency' if outside else 'outbox'}-{row.pk}@resolve>"},
        connection=mail,
    )
    if not _claim_held(row, token):
        logger.warning("Outbox message %s: the claim lapsed before sending; another worker has it", row.pk)
        result.lost += 1
        return
    try:
        email.send()
    except Exception as error:
        failed = row.attempts >= max_attempts
        mine.update(
            status=OutboxMessage.Status.FAILED if failed else OutboxMessage.Status.PENDING,
            next_attempt_at=None if failed else now + outbox_backoff(row.attempts),
            last_error=f"{type(error).__name__}: {error}"[:2000],
        )
        if failed:
            result.failed += 1
        else:
            result.retried += 1
        # The connection may be broken now: let the next message open a fresh one.
        try:
            mail.close()
        except Exception:
            logger.debug("Closing a failed mail connection", exc_info=True)
        return
    if not mine.update(status=OutboxMessage.Status.SENT, sent_at=timezone.now(), last_error=""):
        logger.warning("Outbox message %s was sent after its claim was taken over", row.pk)
    result.sent += 1


def _agency_email_body(row: AgencyMessage) -> str:
    """Someone outside Resolve (a partner agency's contact): no link into Resolve, nothing to set."""
    return f"{row.body}\n\n--\nSent by Resolve for the chair named above: reply to them, not to this address."


def _email_body(row: OutboxMessage) -> str:
    base = conf.base_url
    link = f"\n\n{base}{row.link}" if row.link and base else ""
    return f"{row.body}{link}\n\n--\nResolve. Change how you are emailed at {base}/notifications/"


@task()
def outbox_deliver_task() -> dict[str, int]:
    """Deliver what is due now (enqueued when a change commits with messages, and periodically)."""
    delivery = outbox_deliver()
    return {"sent": delivery.sent, "retried": delivery.retried, "failed": delivery.failed}


def outbox_retry_now(
    *, ids: Iterable[int], model: type[OutboxMessage] | type[AgencyMessage] = OutboxMessage
) -> int:
    """Put failed or waiting messages back in the queue at once (the admin's "retry now")."""
    return model.objects.filter(
        pk__in=list(ids), status__in=[OutboxMessage.Status.FAILED, OutboxMessage.Status.PENDING]
    ).update(status=OutboxMessage.Status.PENDING, next_attempt_at=timezone.now())


# -- digests, preferences, reading ------------------------------------------------------------------
def digests_send(*, today: dt.date | None = None) -> int:
    """One email per digest reader with the messages held since their last digest. Once a day."""
    today = today or timezone.localdate()
    written = 0
    holders = (
        OutboxMessage.objects.filter(status=OutboxMessage.Status.HELD)
        .values_list("recipient_id", flat=True)
        .distinct()
    )
    for user_id in list(holders):
        with transaction.atomic():
            preference = NotificationPreference.objects.select_for_update().filter(user_id=user_id).first()
            if preference is not None and preference.last_digest_on == today:
                continue
            held = list(
                OutboxMessage.objects.select_for_update()
                .filter(recipient_id=user_id, status=OutboxMessage.Status.HELD)
                .order_by("created_at", "id")
            )
            if not held:
                continue
            user = held[0].recipient
            lines = [
                f"- {message.subject}\n  {message.body.splitlines()[0] if message.body else ''}"
                for message in held
            ]
            digest = Message(
                Kind.DIGEST,
                f"digest:{today.isoformat()}",
                f"Resolve: {len(held)} notification{'s' if len(held) != 1 else ''} for {_fmt(today)}",
                "Since your last digest:\n\n" + "\n".join(lines),
            )
            if message_put(recipient=user, message=digest) is not None:
                written += 1
            OutboxMessage.objects.filter(pk__in=[message.pk for message in held]).update(
                status=OutboxMessage.Status.DIGESTED
            )
            if preference is not None:
                preference.last_digest_on = today
                preference.save(update_fields=["last_digest_on"])
    return written


def preference_get(*, user: User) -> NotificationPreference:
    preference, _ = NotificationPreference.objects.get_or_create(user_id=user.pk)
    return preference


def preference_set_email(*, user: User, email: str) -> NotificationPreference:
    """Choose single emails or a daily digest. Switching back releases what was held."""
    if email not in NotificationPreference.Email.values:
        raise ValueError(f"Unknown email choice {email!r}.")
    with transaction.atomic():
        preference = preference_get(user=user)
        preference.email = email
        preference.save(update_fields=["email"])
        if email == NotificationPreference.Email.IMMEDIATE:
            released = OutboxMessage.objects.filter(
                recipient_id=user.pk, status=OutboxMessage.Status.HELD
            ).update(status=OutboxMessage.Status.PENDING, next_attempt_at=timezone.now())
            if released:
                outbox_deliver_on_commit()
    return preference


def calendar_secret_reset(*, user: User) -> str:
    """A new secret for the calendar feed, returned once: only its digest is kept, and the old address
    stops working at once."""
    secret = secrets.token_urlsafe(32)
    preference = preference_get(user=user)
    preference.calendar_secret = calendar_secret_digest(secret)
    preference.save(update_fields=["calendar_secret"])
    return secret


def notifications_mark_read(*, user: User, ids: Iterable[int] | None = None) -> int:
    unread = Notification.objects.filter(user_id=user.pk, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=list(ids))
    return unread.update(read_at=timezone.now())


def notification_open(*, user: User, notification_id: int) -> Notification | None:
    """One of ``user``'s notifications, marked read as it is opened; None when it is not theirs."""
    notification = (
        Notification.objects.select_related("message").filter(pk=notification_id, user_id=user.pk).first()
    )
    if notification is not None and notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification
