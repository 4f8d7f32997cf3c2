"""Reads of the notifications app: a person's notifications and the due dates that concern them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet
from django.utils import timezone

from resolve.access import chaired_by_q, challenges_visible_to
from resolve.challenges.models import Action, Challenge, StageWait
from resolve.core import limits
from resolve.core.conf import conf
from resolve.notifications.models import (
    DEADLINE_SWEEP,
    AgencyMessage,
    Notification,
    NotificationPreference,
    OutboxMessage,
    SweepLease,
    calendar_secret_digest,
)
from resolve.procedures.selectors import PROCEDURE_DOCUMENT_DEFERRED, procedure_version_model


def notification_list(*, user: AbstractBaseUser) -> QuerySet[Notification]:
    return (
        Notification.objects.filter(user_id=user.pk)
        .select_related("message__challenge__child")
        .order_by("-created_at", "-id")
    )


# The header's badge shows up to this many unread notifications, then "99+".
UNREAD_BADGE_BOUND = 99


def notification_unread_count(*, user: AbstractBaseUser, bound: int) -> int:
    """How many unread notifications ``user`` has, counting no further than ``bound`` + 1 (more than
    the bound): every page's header asks, and a long unread history costs no more than a short one."""
    unread = Notification.objects.filter(user_id=user.pk, read_at__isnull=True)
    return unread.order_by().values("pk")[: bound + 1].count()


def preference_by_calendar_secret(*, secret: str) -> NotificationPreference | None:
    if not secret:
        return None
    return (
        NotificationPreference.objects.select_related("user")
        .filter(calendar_secret=calendar_secret_digest(secret))
        .first()
    )


@dataclass(frozen=True)
class DueDate:
    uid: str
    on: dt.date
    summary: str
    description: str
    link: str
    # The record the date belongs to, for the access log (never shown).
    challenge: Challenge = field(compare=False, repr=False)


def _child(challenge: Challenge) -> str:
    """The child as a calendar may name them: initials and case number, never the full name.

    A calendar is read by other programs and often shared or synced to phones; the case number is
    enough for the person to find the record in Resolve.
    """
    return f"{challenge.child.initials} ({challenge.child.case_number})"


def _person_words(person: AbstractBaseUser) -> str:
    """A person by name (their username when they have none on record)."""
    name = f"{getattr(person, 'first_name', '')} {getattr(person, 'last_name', '')}".strip()
    return name or person.get_username()


def _stage_words(challenge: Challenge) -> str:
    """``, Stage 2: Service Manager`` (the stage the challenge is at), or ``, resolved``."""
    if challenge.stage_key:
        return f", {procedure_version_model(challenge.policy).stage(challenge.stage_key).name}"
    return f", {challenge.get_status_display().lower()}"


def due_dates_for_user(*, user: AbstractBaseUser, most: int = limits.MAX_CALENDAR_DATES) -> list[DueDate]:
    """The ``most`` earliest open due dates that concern ``user``: responses they owe or are copied on,
    challenges they chair (response dates and the formal cap), and actions they own (or, when an
    action's owner is not a user, that they chair).

    Only challenges ``user`` may see count (``challenges_visible_to``), whatever a stage or an action
    names. Each date carries its challenge so the caller can log what it shows (``access_record_list``).

    Each kind of date is read earliest first and no further than ``most`` (the earliest ``most`` of
    all are among them), so a chair of every challenge in a large authority costs what one of a few
    hundred does: the feed is bounded, and so is the reading of it.
    """
    visible = challenges_visible_to(user)
    iro_track, cp_track = chaired_by_q(user.pk)
    chaired = iro_track | cp_track
    open_challenges = (
        visible.filter(status=Challenge.Status.OPEN)
        .select_related("child", "policy")
        .defer(*PROCEDURE_DOCUMENT_DEFERRED)
    )
    # The current stages that send to them or copy them in: their own stage rows (``StageWait``, kept
    # with the visits, on the person's index), not every visible open challenge's visit.
    named = StageWait.objects.filter(
        username=user.get_username(), how__in=[StageWait.How.TO, StageWait.How.CC]
    ).values("challenge_id")
    unanswered = open_challenges.filter(stage_responded_on__isnull=True, stage_due_on__isnull=False)
    # By uid (a response date both named and chaired is one date), each with its place: the date, then
    # the kind, then the record's id, the order each kind is read in, so that the bound cuts the whole
    # where each kind's reading stopped.
    dates: dict[str, tuple[tuple[dt.date, int, int], DueDate]] = {}
    for where in (Q(pk__in=named), chaired):
        for challenge in unanswered.filter(where).order_by("stage_due_on", "pk")[:most]:
            procedure = procedure_version_model(challenge.policy)
            stage_name = procedure.stage(challenge.stage_key).name if challenge.stage_key else ""
            assert challenge.stage_due_on is not None  # read only with one (``unanswered``)
            due = DueDate(
                f"challenge-{challenge.pk}-{challenge.stage_key}-{challenge.stage_due_on}@resolve",
                challenge.stage_due_on,
                f"Response due: {stage_name}, {_child(challenge)}",
                f"The response to the challenge about {_child(challenge)} at {stage_name} is due.",
                f"/challenges/{challenge.pk}/",
                challenge,
            )
            dates[due.uid] = ((due.on, 0, challenge.pk), due)
    # The formal limit, for the chair, unless the stage also sends to them or copies them in.
    capped = open_challenges.filter(chaired, formal_due_on__isnull=False).exclude(pk__in=named)
    for challenge in capped.order_by("formal_due_on", "pk")[:most]:
        assert challenge.formal_due_on is not None  # read only with one
        due = DueDate(
            f"challenge-{challenge.pk}-cap-{challenge.formal_due_on}@resolve",
            challenge.formal_due_on,
            f"Formal process limit: {_child(challenge)}",
            f"The formal process for {_child(challenge)} should end by this day.",
            f"/challenges/{challenge.pk}/",
            challenge,
        )
        dates[due.uid] = ((due.on, 1, challenge.pk), due)
    actions = Action.objects.filter(
        challenge__in=visible.filter(status__in=[Challenge.Status.OPEN, Challenge.Status.RESOLVED]).values(
            "pk"
        ),
        status=Action.Status.OPEN,
    ).select_related(
        "challenge",
        "challenge__policy",
        "challenge__child",
        "owner_user",
    )
    iro_track, cp_track = chaired_by_q(user.pk, via="challenge__")
    theirs = actions.filter(Q(owner_user_id=user.pk) | iro_track | cp_track).order_by("due", "pk")
    for action in theirs[:most]:
        challenge = action.challenge
        # People by name: an owner who is a person in Resolve is named from their account (read with the
        # action); a named outsider stays as typed.
        owner = _person_words(action.owner_user) if action.owner_user is not None else action.owner
        stage = _stage_words(challenge)
        due = DueDate(
            f"action-{action.pk}-{action.due}@resolve",
            action.due,
            f"Action due: {_child(challenge)}{stage}: {action.action[:50]}",
            f"Action for {_child(challenge)}{stage}, owned by {owner}: {action.action}",
            f"/challenges/{challenge.pk}/",
            challenge,
        )
        dates[due.uid] = ((due.on, 2, action.pk), due)
    return [due for _, due in sorted(dates.values(), key=lambda placed: placed[0])][:most]


# -- the sweep's health ------------------------------------------------------------------------------
@dataclass(frozen=True)
class SweepHealth:
    """Whether deadlines are being checked: what /healthz and ``manage.py sweep_health`` report."""

    stale: bool
    last_completed_at: dt.datetime | None
    stale_after_minutes: int
    sweeping: bool

    @property
    def status(self) -> str:
        return "stale" if self.stale else "ok"


def sweep_lease_live(*, now: dt.datetime | None = None) -> bool:
    """Is a sweep running now, by a holder that renewed its lease in time?"""
    now = now or timezone.now()
    return SweepLease.objects.filter(name=DEADLINE_SWEEP, expires_at__gt=now).exclude(holder="").exists()


def sweep_health_get(*, now: dt.datetime | None = None) -> SweepHealth:
    """Stale when no sweep has completed in ``RESOLVE_SWEEP_STALE_MINUTES``.

    Counted from the last completed sweep, or from when the worker first looked (so a new install is
    not stale at once); with no lease row at all no worker has ever run, which is stale.
    """
    now = now or timezone.now()
    minutes = conf.sweep_stale_minutes
    lease = SweepLease.objects.filter(name=DEADLINE_SWEEP).first()
    since = (lease.last_completed_at or lease.created_at) if lease is not None else None
    return SweepHealth(
        stale=since is None or since < now - dt.timedelta(minutes=minutes),
        last_completed_at=lease.last_completed_at if lease is not None else None,
        stale_after_minutes=minutes,
        sweeping=lease is not None
        and bool(lease.holder)
        and lease.expires_at is not None
        and lease.expires_at > now,
    )


def outbox_waiting(*, now: dt.datetime | None = None) -> bool:
    """Is any message due to be sent now? (The worker's clock asks every few seconds, on the index
    ``outbox_status_next``, and queues a delivery when one is: a change to a challenge writes its
    messages to the outbox and queues nothing itself.)"""
    now = now or timezone.now()
    return any(
        model.objects.filter(
            Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
            status=OutboxMessage.Status.PENDING,
        ).exists()
        for model in (OutboxMessage, AgencyMessage)
    )
