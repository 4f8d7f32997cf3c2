"""The deadline sweep: act on the deadlines due today (reminders, overdue alerts, escalation prompts,
the formal cap, actions), and escalate automatically where a procedure says so.

It sits above the challenge write path (an automatic escalation is a change like any other) and
below the worker that runs it. Its messages go through the outbox (``resolve.notifications.services``)
in the transaction that marks each deadline fired, so running it twice, or twice at once, sends each
message once.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import DatabaseError, connection, transaction
from django.db.models import Case, CharField, DateField, Exists, F, OuterRef, Q, Value, When
from django.utils import timezone

from resolve.calendars.services import working_calendar
from resolve.calendars.types import Nation
from resolve.challenges.models import Action, Challenge, Concern, Meeting, StageVisit
from resolve.challenges.selectors import concern_chair_due
from resolve.challenges.services import challenge_escalate_overdue
from resolve.children.models import Child
from resolve.children.selectors import ChildLine, child_chair, child_line_from
from resolve.core.conf import conf
from resolve.core.errors import ServiceError
from resolve.notifications.models import DEADLINE_SWEEP, Deadline, Kind, OutboxMessage, SweepLease
from resolve.notifications.selectors import sweep_health_get
from resolve.notifications.services import (
    Message,
    Trigger,
    _child_words,
    _earliest_within,
    _first_working_day_after,
    _fmt,
    meeting_minutes_due,
    messages_put,
    messages_put_many,
    outbox_deliver_on_commit,
)
from resolve.people.models import Post
from resolve.procedures.schema import Procedure
from resolve.procedures.selectors import procedure_model_for, procedure_version_model

logger = logging.getLogger(__name__)


# -- the sweep ---------------------------------------------------------------------------------------
@dataclass
class SweepResult:
    fired: int = 0
    messages: int = 0
    escalated: int = 0
    rescheduled: int = 0
    stale: int = 0
    errors: int = 0
    lease_lost: bool = False
    outcomes: dict[str, int] = field(default_factory=dict)


def _in_model_order(model: type[Any], names: set[str]) -> tuple[str, ...]:
    """``names`` (column attributes) in the order of the model's fields, as ``Model.from_db`` reads them."""
    return tuple(field.attname for field in model._meta.concrete_fields if field.attname in names)


# What a batch reads of each due deadline, in one query: the deadline, what acting on it re-checks of
# its challenge, the procedure version it runs under, and the child it is about (its name for the
# messages, its team and allocated people for the line).
_DEADLINE_COLUMNS = _in_model_order(
    Deadline,
    {"id", "key", "trigger", "challenge_id", "action_id", "meeting_id", "stage_key", "due_on", "fire_on"},
)
_CHALLENGE_COLUMNS = _in_model_order(
    Challenge,
    {
        "child_id",
        "track",
        "policy_id",
        "status",
        "stage_key",
        "stage_due_on",
        "stage_responded_on",
        "formal_due_on",
        "concern",
    },
)
_CHILD_COLUMNS = _in_model_order(
    Child, {"case_number", "first_name", "last_name", "team_id", "social_worker_id", "iro_id", "cp_chair_id"}
)
DUE_COLUMNS = (
    *_DEADLINE_COLUMNS,
    *(f"challenge__{name}" for name in _CHALLENGE_COLUMNS),
    "challenge__policy__sha256",
    *(f"challenge__child__{name}" for name in _CHILD_COLUMNS),
)


def deadline_due_rows(*, today: dt.date, limit: int) -> list[tuple[Any, ...]]:
    """The sweep's selection: up to ``limit`` unfired deadlines due by ``today``, oldest first, as
    plain columns (``DUE_COLUMNS``), walking the partial index ``deadline_unfired_due``.

    On PostgreSQL the rows are locked, skipping those another sweep holds; call it inside the batch's
    transaction.
    """
    rows = deadline_due_queryset(today=today)
    if connection.features.has_select_for_update_skip_locked:
        rows = rows.select_for_update(skip_locked=True, of=("self",))
    return list(rows.values_list(*DUE_COLUMNS)[:limit])


class _Batch:
    """What one batch of the sweep reads once and writes together.

    Its deadlines come with their challenges and children in one query (``deadline_due_rows``); each
    challenge's current stage visit, the actions and meetings the deadlines are about, every post with
    its person, and the active accounts the visits and actions name are read in a handful more for
    the whole batch. The messages each deadline causes are collected and written together when the
    batch ends (``messages_put_many``, tolerant of a second sweep writing the same ones), and the
    deadlines are marked fired (or moved on) in one statement each, in the batch's transaction.
    """

    def __init__(self, selected: list[tuple[Any, ...]]) -> None:
        self.procedures: dict[int, Procedure] = {}
        self.rows = self._deadlines(selected)
        rows = self.rows
        self.visits: dict[int, StageVisit | None] = dict.fromkeys({row.challenge_id for row in rows})
        for visit in StageVisit.objects.filter(challenge_id__in=list(self.visits)).order_by(
            "challenge_id", "-sequence"
        ):
            if self.visits[visit.challenge_id] is None:
                self.visits[visit.challenge_id] = visit
        action_ids = {row.action_id for row in rows if row.action_id is not None}
        actions = Action.objects.in_bulk(action_ids) if action_ids else {}
        meeting_ids = {row.meeting_id for row in rows if row.meeting_id is not None}
        meetings = (
            Meeting.objects.filter(pk__in=meeting_ids)
            .select_related("visit", "chair")
            .annotate(minutes_recorded=Exists(Meeting.objects.filter(request_id=OuterRef("pk"))))
            .in_bulk()
            if meeting_ids
            else {}
        )
        # The requested meetings whose minutes are recorded (a row that points at the request).
        self.recorded = {
            pk for pk, meeting in meetings.items() if getattr(meeting, "minutes_recorded", False)
        }
        for row in rows:
            row.action = actions.get(row.action_id) if row.action_id is not None else None
            row.meeting = meetings.get(row.meeting_id) if row.meeting_id is not None else None
        self.posts = tuple(Post.objects.select_related("user").order_by("id"))
        self._allocated([row.challenge.child for row in rows])
        names = {
            name
            for visit in self.visits.values()
            if visit is not None
            for name in (*visit.to_users, *visit.cc_users)
        }
        # An action's owner is a person in Resolve only through its account (``owner_user``, whose
        # username ``owner`` then holds); one named in words owns nothing here.
        names.update(
            row.action.owner.strip()
            for row in rows
            if row.action is not None and row.action.owner_user_id is not None
        )
        names.discard("")
        self.users: dict[str, User] = (
            {
                user.get_username(): user
                for user in get_user_model().objects.filter(username__in=names, is_active=True)
            }
            if names
            else {}
        )
        self.lines: dict[int, ChildLine] = {}
        self.messages: list[tuple[User, Message]] = []
        self.outcomes: dict[int, str] = {}  # fired, with what came of it
        self.moved: dict[int, dt.date] = {}  # not yet: the day to look again
        self.failed: dict[int, str] = {}  # tried again tomorrow, with the error

    def _deadlines(self, selected: list[tuple[Any, ...]]) -> list[Deadline]:
        """Deadline rows from the selection's columns, each with its challenge and child (one object
        per challenge and per child, shared by their deadlines)."""
        challenges: dict[int, Challenge] = {}
        children: dict[int, Child] = {}
        rows: list[Deadline] = []
        width, across = len(_DEADLINE_COLUMNS), len(_CHALLENGE_COLUMNS)
        db = connection.alias
        # ``from_db`` with the columns read: the other fields are left deferred, not defaulted.
        for values in selected:
            row = Deadline.from_db(db, _DEADLINE_COLUMNS, values[:width])
            challenge = challenges.get(row.challenge_id)
            if challenge is None:
                challenge = Challenge.from_db(
                    db, ("id", *_CHALLENGE_COLUMNS), (row.challenge_id, *values[width : width + across])
                )
                sha256 = values[width + across]
                child = children.get(challenge.child_id)
                if child is None:
                    child = children[challenge.child_id] = Child.from_db(
                        db, ("id", *_CHILD_COLUMNS), (challenge.child_id, *values[width + across + 1 :])
                    )
                challenge.child = child
                if challenge.policy_id not in self.procedures:
                    self.procedures[challenge.policy_id] = procedure_model_for(
                        policy_id=challenge.policy_id, sha256=sha256
                    )
                challenges[row.challenge_id] = challenge
            row.challenge = challenge
            rows.append(row)
        return rows

    def _allocated(self, children: list[Child]) -> None:
        """Give each child its social worker, IRO and CP Chair (from the posts read, else one query)."""
        by_id = {post.user_id: post.user for post in self.posts}
        wanted = {
            person_id
            for child in children
            for person_id in (child.social_worker_id, child.iro_id, child.cp_chair_id)
            if person_id is not None
        }
        missing = wanted - set(by_id)
        if missing:
            by_id.update(get_user_model().objects.in_bulk(missing))
        for child in children:
            for name in ("social_worker", "iro", "cp_chair"):
                person_id = getattr(child, f"{name}_id")
                if person_id is not None and person_id in by_id:
                    setattr(child, name, by_id[person_id])

    def procedure(self, challenge: Challenge) -> Procedure:
        return self.procedures[challenge.policy_id]

    def visit(self, challenge: Challenge) -> StageVisit | None:
        """The challenge's current stage visit (read again after the sweep escalated it)."""
        if challenge.pk not in self.visits:
            self.visits[challenge.pk] = challenge.visits.order_by("-sequence").first()
        return self.visits[challenge.pk]

    def changed(self, challenge: Challenge) -> None:
        """The challenge moved on (an automatic escalation): forget its visit."""
        self.visits.pop(challenge.pk, None)

    def named(self, usernames: list[str]) -> list[User]:
        """The active accounts among ``usernames``, sorted by username, each once."""
        found = sorted({name for name in usernames if name})
        missing = [name for name in found if name not in self.users]
        if missing:
            self.users.update(
                (user.get_username(), user)
                for user in get_user_model().objects.filter(username__in=missing, is_active=True)
            )
        return [self.users[name] for name in found if name in self.users]

    def line(self, challenge: Challenge) -> ChildLine:
        if challenge.pk not in self.lines:
            self.lines[challenge.pk] = child_line_from(
                child=challenge.child, track=challenge.track, posts=self.posts
            )
        return self.lines[challenge.pk]

    def chair(self, challenge: Challenge) -> User | None:
        return self.line(challenge).chair

    def managers(self, challenge: Challenge, procedure: Procedure, stage_key: str) -> list[User]:
        """The recipient's manager, as the procedure sees it: whoever the next stage goes to."""
        following = procedure.next_stage(stage_key)
        if following is None or following.to_role is None:
            return []  # the last stage, or a partner agency's next level (outside Resolve)
        return self.line(challenge).holders(following.to_role)

    def owner(self, action: Action, challenge: Challenge) -> User | None:
        """The action's owner when it is a person in Resolve (an active account); otherwise the chair,
        who agreed the action."""
        named = self.named([action.owner.strip()]) if action.owner_user_id is not None else []
        return named[0] if named else self.chair(challenge)


class _Messages:
    """The messages of one deadline, kept only if acting on it succeeds."""

    def __init__(self) -> None:
        self.items: list[tuple[User, Message]] = []

    def put(self, *, recipients: list[User], message: Message) -> int:
        """As ``messages_put``: each recipient once. Returns how many were added."""
        seen: set[Any] = set()
        for user in recipients:
            if user.pk not in seen:
                seen.add(user.pk)
                self.items.append((user, message))
        return 0  # counted when the batch writes them


def deadline_due_queryset(*, today: dt.date) -> Any:
    """The sweep's selection: unfired deadlines due by ``today``, on the partial index, oldest first."""
    return Deadline.objects.filter(fired_at__isnull=True, fire_on__lte=today).order_by("fire_on", "id")


def deadlines_sweep(
    *,
    today: dt.date | None = None,
    batch_size: int = 500,
    max_batches: int | None = None,
    heartbeat: Callable[[], bool] | None = None,
) -> SweepResult:
    """Act on every deadline due by ``today``. Idempotent and safe from several workers at once.

    Each batch is one transaction: it selects due rows (on PostgreSQL, locking them and skipping rows
    another worker holds), writes their messages (or escalates) and marks them fired. On SQLite the
    write lock taken when the batch starts serialises workers, and the outbox's unique key is the
    last guard against a message written twice.

    ``heartbeat`` is called after each batch (``sweep_run`` renews its lease there); when it answers
    False the lease was lost to another sweep, and this one stops.
    """
    today = today or timezone.localdate()
    result = SweepResult()
    batches = 0
    while max_batches is None or batches < max_batches:
        batches += 1
        with transaction.atomic():
            selected = deadline_due_rows(today=today, limit=batch_size)
            if not selected:
                break
            people = _Batch(selected)
            for row in people.rows:
                _act(row, today, result, people)
            _batch_write(people, today, result)
        if heartbeat is not None and not heartbeat():
            logger.error("The deadline sweep lost its lease to another sweep; stopping")
            result.lease_lost = True
            break
    return result


def _act(row: Deadline, today: dt.date, result: SweepResult, people: _Batch) -> None:
    """Decide what one due deadline does, keeping its messages only if that succeeds.

    Acting writes nothing but an automatic escalation (its own savepoint, through the write path):
    the messages, the deadlines moved on and the outcomes are written for the whole batch. A row
    that fails is tried again tomorrow; one bad row never stops the others.
    """
    messages = _Messages()
    try:
        if _may_write(row, people):
            with transaction.atomic():
                outcome = _fire(row, today, result, people, messages)
        else:
            outcome = _fire(row, today, result, people, messages)
    except Exception as error:
        if isinstance(error, DatabaseError) and not _may_write(row, people):
            raise  # outside a savepoint the batch's transaction cannot go on: the next sweep retries
        logger.exception("Deadline %s failed", row.pk)
        result.errors += 1
        people.moved[row.pk] = today + dt.timedelta(days=1)
        people.failed[row.pk] = f"error: {type(error).__name__}"[:40]
        return
    result.outcomes[outcome] = result.outcomes.get(outcome, 0) + 1
    if outcome == "rescheduled":
        result.rescheduled += 1
        return
    people.messages.extend(messages.items)
    if outcome == "stale":
        result.stale += 1
    result.fired += 1
    people.outcomes[row.pk] = outcome


def _may_write(row: Deadline, people: _Batch) -> bool:
    """Whether acting on ``row`` may write (an automatic escalation), and so runs in a savepoint."""
    if row.trigger != Trigger.RESPONSE_OVERDUE:
        return False
    procedure = people.procedure(row.challenge)
    return (
        not procedure.has_stage(row.stage_key)
        or procedure.stage(row.stage_key).escalates_automatically_when_overdue
    )


def _batch_write(people: _Batch, today: dt.date, result: SweepResult) -> None:
    """The batch's messages in one go (two statements, however many), its deadlines marked fired
    with their outcomes in one statement, and those moved to a later day in one more."""
    written = messages_put_many(messages=people.messages, racing=True)
    result.messages += written
    if written:
        outbox_deliver_on_commit()
    if people.outcomes:
        by_outcome: dict[str, list[int]] = {}
        for pk, outcome in people.outcomes.items():
            by_outcome.setdefault(outcome, []).append(pk)
        # ``fired_at IS NULL``: a row another sweep marked first keeps its own outcome.
        Deadline.objects.filter(pk__in=list(people.outcomes), fired_at__isnull=True).update(
            fired_at=timezone.now(),
            outcome=Case(
                *(When(pk__in=ids, then=Value(outcome)) for outcome, ids in by_outcome.items()),
                output_field=CharField(),
            ),
        )
    if people.moved:
        # A failed row records its error; a row not yet due keeps what it had.
        errors = (
            {
                "outcome": Case(
                    *(When(pk=pk, then=Value(why)) for pk, why in people.failed.items()),
                    default=F("outcome"),
                    output_field=CharField(),
                )
            }
            if people.failed
            else {}
        )
        days: dict[dt.date, list[int]] = {}
        for pk, day in people.moved.items():
            days.setdefault(day, []).append(pk)
        Deadline.objects.filter(pk__in=list(people.moved)).update(
            fire_on=Case(
                *(When(pk__in=ids, then=Value(day)) for day, ids in days.items()), output_field=DateField()
            ),
            **errors,
        )


# -- a concern's chair deadline ---------------------------------------------------------------------
# A chair's deadline is at most 60 days (working days, at most) after the review: concerns whose
# review is older than this cannot be waiting for a reminder or an alert.
CONCERN_WINDOW_DAYS = 120


@dataclass(frozen=True)
class ConcernDeadline:
    """A concern whose chair's form (seed 000: "IRO completes informal resolution form within 3 days")
    is due soon or overdue today: the message to send, and its key."""

    concern: Concern
    kind: str
    key: str
    due_on: dt.date


def concern_deadlines_due(*, today: dt.date) -> list[ConcernDeadline]:
    """The concerns whose chair's deadline needs a message today: the working day before it (a reminder)
    and from the first working day after it (an alert), while no challenge carries the concern and it is
    not closed.

    Its own selection, apart from the ``Deadline`` rows: a concern is not a challenge. The messages'
    keys (``concern<id>:chair_reminder:<due>``, ``concern<id>:chair_overdue:<due>``) make each one
    once per chair, however often the sweep runs; concerns whose alert was already written are left out.
    """
    rows = (
        Concern.objects.filter(
            challenge__isnull=True,
            closure__isnull=True,
            review_on__isnull=False,
            review_on__gte=today - dt.timedelta(days=CONCERN_WINDOW_DAYS),
            review_on__lte=today,
        )
        .select_related("policy", "child", "child__iro", "child__cp_chair")
        .order_by("review_on", "id")
    )
    found: list[ConcernDeadline] = []
    for concern in rows:
        try:
            procedure = procedure_version_model(concern.policy)
            due = concern_chair_due(procedure=procedure, review_on=concern.review_on)
            if due is None:
                continue
            calendar = working_calendar(Nation(procedure.nation))
            overdue_from = _first_working_day_after(calendar, due)
            remind_from = _earliest_within(calendar, due, 1)
        except Exception:  # one bad concern must not stop the others; it is looked at again next time
            logger.exception("Concern %s: its deadline could not be worked out", concern.pk)
            continue
        if today >= overdue_from:
            found.append(
                ConcernDeadline(
                    concern, Kind.CONCERN_FORM_OVERDUE, f"concern{concern.pk}:chair_overdue:{due}", due
                )
            )
        elif today >= remind_from:
            found.append(
                ConcernDeadline(
                    concern, Kind.CONCERN_FORM_REMINDER, f"concern{concern.pk}:chair_reminder:{due}", due
                )
            )
    keys = {f"{item.kind}|{item.key}" for item in found}
    done = set(
        OutboxMessage.objects.filter(dedupe_key__in=keys, kind=Kind.CONCERN_FORM_OVERDUE).values_list(
            "dedupe_key", flat=True
        )
    )
    return [item for item in found if f"{item.kind}|{item.key}" not in done]


def concern_deadlines_sweep(*, today: dt.date | None = None) -> int:
    """Remind the chair of a concern's deadline the working day before it, and alert them once it has
    passed, once each. Returns how many messages were written."""
    today = today or timezone.localdate()
    with transaction.atomic():
        messages: list[tuple[User, Message]] = []
        for item in concern_deadlines_due(today=today):
            concern = item.concern
            chair = child_chair(child=concern.child, track=concern.track)
            if chair is None:
                continue
            rule = procedure_version_model(concern.policy).stages[0].chair_deadline
            doing = rule.description if rule is not None else "Your form"
            child = f"{concern.child.full_name} ({concern.child.case_number})"
            if item.kind == Kind.CONCERN_FORM_OVERDUE:
                subject = f"Overdue since {_fmt(item.due_on)}: {doing} for {child}"
                opening = (
                    f"{doing} was due by {_fmt(item.due_on)}, after the review of {_fmt(concern.review_on)}."
                )
            else:
                subject = f"Due {_fmt(item.due_on)}: {doing} for {child}"
                opening = (
                    f"{doing} is due by {_fmt(item.due_on)}, after the review of {_fmt(concern.review_on)}."
                )
            body = (
                f"{opening}\n\nConcern noted on {_fmt(concern.on)}: {concern.concern}\n\n"
                "Raise the challenge from the concern on the child's page; "
                "the reminders stop once it is raised."
            )
            link = f"/children/{concern.child.case_number}/"
            messages.append(
                (chair, Message(item.kind, item.key, subject, body, due_on=item.due_on, link=link))
            )
        written = messages_put_many(messages=messages, racing=True)
        if written:
            outbox_deliver_on_commit()
    return written


# -- one sweep at a time: the lease ------------------------------------------------------------------
def lease_acquire(*, name: str, holder: str, seconds: int, now: dt.datetime | None = None) -> bool:
    """Take the lease ``name`` for ``holder`` if it is free, expired or already theirs.

    One conditional UPDATE: of two sweeps racing for an expired lease, only one matches.
    """
    now = now or timezone.now()
    SweepLease.objects.get_or_create(name=name)
    return bool(
        SweepLease.objects.filter(
            Q(holder="") | Q(holder=holder) | Q(expires_at__isnull=True) | Q(expires_at__lt=now), name=name
        ).update(
            holder=holder,
            expires_at=now + dt.timedelta(seconds=seconds),
            heartbeat_at=now,
            last_started_at=now,
        )
    )


def lease_renew(*, name: str, holder: str, seconds: int, now: dt.datetime | None = None) -> bool:
    """Extend ``holder``'s lease (the heartbeat). False when another holder has taken it over."""
    now = now or timezone.now()
    return bool(
        SweepLease.objects.filter(name=name, holder=holder).update(
            expires_at=now + dt.timedelta(seconds=seconds), heartbeat_at=now
        )
    )


def lease_release(*, name: str, holder: str, completed: bool, now: dt.datetime | None = None) -> bool:
    """Free ``holder``'s lease; ``completed`` records that the run finished its work."""
    now = now or timezone.now()
    done: dict[str, Any] = {"last_completed_at": now} if completed else {}
    return bool(
        SweepLease.objects.filter(name=name, holder=holder).update(holder="", expires_at=None, **done)
    )


def _holder() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


def sweep_run(
    *, today: dt.date | None = None, batch_size: int | None = None, holder: str | None = None
) -> SweepResult | None:
    """Run the deadline sweep under its lease: None when another live sweep holds it.

    The lease is renewed after each batch and freed at the end, recording the completion that
    /healthz and ``sweep_health`` report. Run this, not ``deadlines_sweep``, from workers and cron.
    """
    holder = holder or _holder()
    seconds = conf.sweep_lease_seconds
    if not lease_acquire(name=DEADLINE_SWEEP, holder=holder, seconds=seconds):
        logger.info("Another sweep holds the lease; not sweeping")
        return None
    completed = False
    try:
        result = deadlines_sweep(
            today=today,
            batch_size=batch_size or conf.sweep_batch_size,
            heartbeat=lambda: lease_renew(name=DEADLINE_SWEEP, holder=holder, seconds=seconds),
        )
        if not result.lease_lost:
            try:
                result.messages += concern_deadlines_sweep(today=today)
            except Exception:  # the challenges' deadlines were swept; the concerns are tried next time
                logger.exception("The concerns' deadlines could not be swept")
                result.errors += 1
        completed = not result.lease_lost
        return result
    finally:
        lease_release(name=DEADLINE_SWEEP, holder=holder, completed=completed)


# The people told when deadlines are not being checked: they answer for the IRO service.
SWEEP_ALERT_ROLE = "iro_service_manager"


def sweep_stale_alert(*, now: dt.datetime | None = None) -> int:
    """Tell the IRO/CP Service Managers when no sweep has completed in ``RESOLVE_SWEEP_STALE_MINUTES``.

    Once per stale period, however many workers or monitors call it (a conditional UPDATE of the
    lease row's ``alerted_at`` decides who writes). Returns the number of messages written.
    """
    now = now or timezone.now()
    SweepLease.objects.get_or_create(name=DEADLINE_SWEEP)
    health = sweep_health_get(now=now)
    if not health.stale:
        return 0
    cutoff = now - dt.timedelta(minutes=health.stale_after_minutes)
    with transaction.atomic():
        won = SweepLease.objects.filter(
            Q(alerted_at__isnull=True) | Q(alerted_at__lt=cutoff), name=DEADLINE_SWEEP
        ).update(alerted_at=now)
        if not won:
            return 0
        managers = [
            post.user
            for post in Post.objects.filter(role=SWEEP_ALERT_ROLE, user__is_active=True)
            .select_related("user")
            .order_by("user_id")
        ]
        if not managers:
            logger.error("No deadline sweep has completed, and there is no IRO/CP Service Manager to tell")
            return 0
        last = (
            f"The last one completed at {timezone.localtime(health.last_completed_at):%d %B %Y %H:%M}."
            if health.last_completed_at is not None
            else "None has completed yet."
        )
        written = messages_put(
            recipients=managers,
            message=Message(
                Kind.SWEEP_STALE,
                f"sweep-stale:{now:%Y-%m-%dT%H:%M}",
                "Resolve is not checking deadlines",
                f"No check of deadlines has completed in the last {health.stale_after_minutes} minutes. "
                f"{last}\n\nUntil it runs, no reminder, overdue alert or automatic escalation is sent. "
                "Please ask whoever runs Resolve to look at its worker (`manage.py sweep_health`).",
            ),
        )
        if written:
            outbox_deliver_on_commit()
    return written


def _reschedule(row: Deadline, fire_on: dt.date, people: _Batch) -> str:
    """Not yet: the deadline moves to ``fire_on`` (written with the batch)."""
    people.moved[row.pk] = fire_on
    return "rescheduled"


def _fire(row: Deadline, today: dt.date, result: SweepResult, people: _Batch, messages: _Messages) -> str:
    """Act on one due deadline, re-checking it against the challenge as it is now."""
    challenge = row.challenge
    procedure = people.procedure(challenge)
    calendar = working_calendar(Nation(procedure.nation))
    trigger = row.trigger
    if trigger in {Trigger.RESPONSE_REMINDER, Trigger.RESPONSE_OVERDUE}:
        if (
            challenge.status != Challenge.Status.OPEN
            or challenge.stage_key != row.stage_key
            or challenge.stage_due_on != row.due_on
            or challenge.stage_responded_on is not None
        ):
            return "stale"
        stage = procedure.stage(row.stage_key)
        if trigger == Trigger.RESPONSE_REMINDER:
            if today > row.due_on:
                return "missed"
            fire_on = _earliest_within(calendar, row.due_on, stage.reminder_working_days)
            if today < fire_on:
                return _reschedule(row, fire_on, people)
            return _send_response_reminder(row, challenge, procedure, people, messages)
        fire_on = _first_working_day_after(calendar, row.due_on)
        if today < fire_on:
            return _reschedule(row, fire_on, people)
        return _send_response_overdue(
            row,
            challenge,
            procedure,
            stage.escalates_automatically_when_overdue,
            today,
            result,
            people,
            messages,
        )
    if trigger in {Trigger.CAP_WARNING, Trigger.CAP_PASSED}:
        if challenge.status != Challenge.Status.OPEN or challenge.formal_due_on != row.due_on:
            return "stale"
        if trigger == Trigger.CAP_WARNING:
            if today > row.due_on:
                return "missed"
            fire_on = _earliest_within(calendar, row.due_on, conf.cap_warning_working_days)
            if today < fire_on:
                return _reschedule(row, fire_on, people)
        else:
            fire_on = _first_working_day_after(calendar, row.due_on)
            if today < fire_on:
                return _reschedule(row, fire_on, people)
        return _send_cap(row, challenge, procedure, people, messages)
    if trigger in {Trigger.MEETING_REMINDER, Trigger.MEETING_OVERDUE}:
        return _fire_meeting(row, challenge, procedure, calendar, today, people, messages)
    action = row.action
    if action is None or action.status != Action.Status.OPEN or action.due != row.due_on:
        return "stale"
    if trigger == Trigger.ACTION_REMINDER:
        if challenge.status not in {Challenge.Status.OPEN, Challenge.Status.RESOLVED}:
            return "stale"
        if today > row.due_on:
            return "missed"
        fire_on = _earliest_within(calendar, row.due_on, conf.action_reminder_working_days)
        if today < fire_on:
            return _reschedule(row, fire_on, people)
    else:
        fire_on = _first_working_day_after(calendar, row.due_on)
        if today < fire_on:
            return _reschedule(row, fire_on, people)
        if trigger == Trigger.REOPEN_PROMPT and challenge.status != Challenge.Status.RESOLVED:
            return "stale"
        if trigger == Trigger.ACTION_OVERDUE and challenge.status not in {
            Challenge.Status.OPEN,
            Challenge.Status.RESOLVED,
        }:
            return "stale"
    return _send_action(row, challenge, action, people, messages)


def _fire_meeting(
    row: Deadline,
    challenge: Challenge,
    procedure: Procedure,
    calendar: Any,
    today: dt.date,
    people: _Batch,
    messages: _Messages,
) -> str:
    """A requested meeting: remind its chair and invitees the working day before; once its minutes and
    actions are late, tell its chair and the challenge's chair."""
    meeting = row.meeting
    if meeting is None or challenge.status != Challenge.Status.OPEN or meeting.pk in people.recorded:
        return "stale"
    if meeting.scheduled_for is None:
        return "stale"
    if row.trigger == Trigger.MEETING_REMINDER:
        if meeting.scheduled_for != row.due_on:
            return "stale"
        if today > row.due_on:
            return "missed"
        fire_on = _earliest_within(calendar, row.due_on, 1)
        if today < fire_on:
            return _reschedule(row, fire_on, people)
        invited = people.named([meeting.chair.get_username() if meeting.chair else "", *meeting.attendees])
        subject = f"Meeting on {_fmt(row.due_on)}: {_child_words(challenge)}"
        body = f"The meeting about the challenge for {_child_words(challenge)} is on {_fmt(row.due_on)}."
        messages.put(
            recipients=invited,
            message=Message(Kind.MEETING_REMINDER, row.key, subject, body, challenge, due_on=row.due_on),
        )
        return "sent"
    if meeting_minutes_due(procedure, meeting, calendar) != row.due_on:
        return "stale"
    fire_on = _first_working_day_after(calendar, row.due_on)
    if today < fire_on:
        return _reschedule(row, fire_on, people)
    chair = people.chair(challenge)
    messages.put(
        recipients=[*([meeting.chair] if meeting.chair else []), *([chair] if chair else [])],
        message=Message(
            Kind.MEETING_OVERDUE,
            row.key,
            f"Meeting minutes overdue: {_child_words(challenge)}",
            f"The minutes and actions of the meeting of {_fmt(meeting.scheduled_for)} about "
            f"{_child_words(challenge)} were due by {_fmt(row.due_on)} and are not recorded.",
            challenge,
            due_on=row.due_on,
        ),
    )
    return "sent"


def _send_response_reminder(
    row: Deadline, challenge: Challenge, procedure: Procedure, people: _Batch, messages: _Messages
) -> str:
    visit = people.visit(challenge)
    if visit is None:
        return "stale"
    stage = procedure.stage(row.stage_key)
    body = (
        f"The response to the challenge about {_child_words(challenge)} at {stage.name} is due by "
        f"{_fmt(row.due_on)}.\n\nConcern: {challenge.concern}"
    )
    subject = f"Response due {_fmt(row.due_on)}: {_child_words(challenge)}"
    chair = people.chair(challenge)
    messages.put(
        # A partner agency's contact has no account: the reminder goes to the chair, who chases them.
        recipients=[chair]
        if procedure.partner_agency and chair is not None
        else people.named(visit.to_users),
        message=Message(Kind.RESPONSE_REMINDER, row.key, subject, body, challenge, due_on=row.due_on),
    )
    messages.put(
        recipients=people.named(visit.cc_users),
        message=Message(
            Kind.RESPONSE_REMINDER, row.key, f"Copy: {subject}", body, challenge, due_on=row.due_on
        ),
    )
    return "sent"


def _send_response_overdue(
    row: Deadline,
    challenge: Challenge,
    procedure: Procedure,
    automatic: bool,
    today: dt.date,
    result: SweepResult,
    people: _Batch,
    messages: _Messages,
) -> str:
    visit = people.visit(challenge)
    if visit is None:
        return "stale"
    stage = procedure.stage(row.stage_key)
    chair = people.chair(challenge)
    subject = f"Response overdue: {_child_words(challenge)}"
    body = (
        f"No response was recorded to the challenge about {_child_words(challenge)} at {stage.name}; "
        f"it was due by {_fmt(row.due_on)}."
    )
    # One notice per event: the chair hears of it once, as the prompt to escalate below (or, when the
    # procedure escalates by itself, as the escalation), never as "overdue" and "consider escalating".
    recipients = [
        user
        for user in (*people.named(visit.to_users), *people.managers(challenge, procedure, stage.key))
        if chair is None or user.pk != chair.pk
    ]
    messages.put(
        recipients=recipients,
        message=Message(Kind.RESPONSE_OVERDUE, row.key, subject, body, challenge, due_on=row.due_on),
    )
    if automatic and procedure.next_stage(stage.key) is not None:
        reason = (
            f"No response by {_fmt(row.due_on)}: {stage.name} escalates automatically "
            "when its response is overdue."
        )
        try:
            challenge_escalate_overdue(challenge_id=challenge.pk, reason=reason, on=today)
        except ServiceError as error:
            logger.warning("Automatic escalation of challenge %s refused: %s", challenge.pk, error)
        else:
            people.changed(challenge)
            result.escalated += 1
            return "escalated"
    if chair is not None:
        messages.put(
            recipients=[chair],
            message=Message(
                Kind.ESCALATION_PROMPT,
                row.key,
                f"Consider escalating: {_child_words(challenge)}",
                f"{body}\n\nYou can escalate the challenge to the next stage, or record why not.",
                challenge,
                due_on=row.due_on,
            ),
        )
    return "sent"


def _send_cap(
    row: Deadline, challenge: Challenge, procedure: Procedure, people: _Batch, messages: _Messages
) -> str:
    visit = people.visit(challenge)
    chair = people.chair(challenge)
    cap = procedure.formal_cap_working_days
    if row.trigger == Trigger.CAP_WARNING:
        kind, subject = Kind.CAP_WARNING, f"Formal process ends {_fmt(row.due_on)}: {_child_words(challenge)}"
        body = (
            f"The formal process for the challenge about {_child_words(challenge)} should end by "
            f"{_fmt(row.due_on)} ({cap} working days)."
        )
        recipients = [*([chair] if chair else []), *(people.named(visit.to_users) if visit else [])]
    else:
        kind, subject = Kind.CAP_PASSED, f"Formal process past its limit: {_child_words(challenge)}"
        body = (
            f"The formal process for the challenge about {_child_words(challenge)} has passed its limit of "
            f"{cap} working days ({_fmt(row.due_on)})."
        )
        recipients = [
            *([chair] if chair else []),
            *(people.named(visit.to_users) if visit else []),
            *people.line(challenge).holders("iro_team_manager"),
        ]
    messages.put(
        recipients=recipients, message=Message(kind, row.key, subject, body, challenge, due_on=row.due_on)
    )
    return "sent"


def _send_action(
    row: Deadline, challenge: Challenge, action: Action, people: _Batch, messages: _Messages
) -> str:
    what = f"“{action.action}” ({_child_words(challenge)})"
    if row.trigger == Trigger.REOPEN_PROMPT:
        chair = people.chair(challenge)
        if chair is None:
            return "no_recipient"
        messages.put(
            recipients=[chair],
            message=Message(
                Kind.REOPEN_PROMPT,
                row.key,
                f"Action not delivered after resolution: {_child_words(challenge)}",
                f"The action {what} was due by {_fmt(row.due_on)} and is still open, but the challenge "
                "was resolved. Consider re-opening the challenge.",
                challenge,
                action,
                row.due_on,
            ),
        )
        return "sent"
    owner = people.owner(action, challenge)
    if owner is None:
        return "no_recipient"
    if row.trigger == Trigger.ACTION_REMINDER:
        kind, subject, body = (
            Kind.ACTION_REMINDER,
            f"Action due {_fmt(row.due_on)}: {_child_words(challenge)}",
            f"The action {what} is due by {_fmt(row.due_on)}.",
        )
    else:
        kind, subject, body = (
            Kind.ACTION_OVERDUE,
            f"Action overdue: {_child_words(challenge)}",
            f"The action {what} was due by {_fmt(row.due_on)} and is not marked done.",
        )
    if owner.get_username() != action.owner.strip():
        body += f"\n\nThe action's owner is recorded as “{action.owner}”: please pass this on."
    messages.put(
        recipients=[owner], message=Message(kind, row.key, subject, body, challenge, action, row.due_on)
    )
    return "sent"
