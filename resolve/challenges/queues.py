"""Reads for "what is waiting on me?": the queues every home page is built from.

Each queue is a filter on the challenges a person may see (``challenges_visible_to``), so nothing here
widens anyone's view. Three questions, one queue each, plus the chairs' own two:

- **waiting on me**: I must do something. Which somethings count is the list ``WAITING_ON_ME``: one
  ``QueueSource`` each (the stage was sent to me; I own an open agreed action; a meeting I chair is
  due; a request for my agreement waits for my answer). A new kind of work is one more
  ``QueueSource`` with its query.
- **my team's / my part of the line's / my service's**: open challenges where the people I manage
  must answer, overdue first (for a post whose role's scope is a team, a line or a service).
- **copied to me**: open challenges whose current stage copied or told me.
- **needs my decision** (a chair's): a response came in, the stage is overdue, the formal limit has
  passed, or after resolution an agreed action is past its date; **waiting on others**: the rest of
  the chair's open challenges.

Every queue answers one annotated queryset, so a page reads each in one query whatever its length,
and which sources matched a row (``why_<key>``) comes with it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db.models import (
    BooleanField,
    Case,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)

from resolve.access import challenges_visible_to
from resolve.access.permissions import GRANTS, Perm, Scope
from resolve.calendars.services import working_calendar
from resolve.calendars.types import Nation
from resolve.challenges.models import Action, Agreement, Challenge, StageVisit
from resolve.challenges.overdue import overdue_q, past_cap_q
from resolve.people.selectors import user_roles
from resolve.procedures.models import PolicyVersion
from resolve.procedures.selectors import PROCEDURE_DOCUMENT_DEFERRED, procedure_version_model

OPEN = Challenge.Status.OPEN


def _named(field: str, username: str) -> Q:
    # to_users / cc_users are JSON lists of usernames: the quoted name matches on SQLite and PostgreSQL.
    return Q(**{f"{field}__icontains": f'"{username}"'})


def _current_visit(user: User, *fields: str) -> Q:
    """The challenge's current stage names ``user`` in one of ``fields``.

    One set of challenge ids, read once per query (``IN``), rather than a test run again for every
    visible challenge: the database reads the current visits naming the person a single time."""
    named = Q()
    for name in fields:
        named |= _named(name, user.get_username())
    current = StageVisit.objects.filter(named, left_on__isnull=True).values("challenge_id")
    return Q(pk__in=current)


def _past_due_cutoff_q(field: str, today: dt.date, nation_field: str) -> Q:
    """``field`` is past due today in the challenge's own nation's working days (``overdue.past_due``)."""
    by_nation = Q()
    for nation in Nation:
        cutoff = working_calendar(nation).last_working_day_on_or_before(today)
        by_nation |= Q(**{nation_field: nation.value, f"{field}__lt": cutoff})
    return by_nation


# -- waiting on me: one source per kind of work ------------------------------------------------------


@dataclass(frozen=True)
class QueueSource:
    """One reason a challenge waits on a person: its key (``why_<key>`` on each row), the words a row
    shows for it, and the filter that finds those challenges for a person today."""

    key: str
    words: str
    matches: Callable[[User, dt.date], Q]


def _stage_sent_to_me(user: User, today: dt.date) -> Q:
    return Q(_current_visit(user, "to_users"), status=OPEN, stage_responded_on__isnull=True)


def _action_i_own(user: User, today: dt.date) -> Q:
    # An action's owner is a person in Resolve only through its account (``Action.owner_user``).
    owned = Action.objects.filter(
        challenge_id=OuterRef("pk"), owner_user_id=user.pk, status=Action.Status.OPEN
    )
    return Q(Exists(owned), status__in=[OPEN, Challenge.Status.RESOLVED])


def _meeting_i_chair(user: User, today: dt.date) -> Q:
    """Open challenges at a stage whose procedure has a meeting chaired by a role this person holds,
    with no meeting recorded at it yet. Which holder of the role is meant follows their scope: the
    queue reads only challenges they may see (an IRO/CP Service Manager sees their own service's)."""
    roles = user_roles(user=user)
    at_stage = Q(pk__in=[])
    for version in PolicyVersion.objects.all():  # every version: a challenge keeps the one it began under
        for stage in procedure_version_model(version).stages:
            if stage.meeting is not None and stage.meeting.chair_role in roles:
                at_stage |= Q(policy_id=version.pk, stage_key=stage.key)
    no_meeting_yet = Exists(
        StageVisit.objects.filter(challenge_id=OuterRef("pk"), left_on__isnull=True, meetings=0)
    )
    return Q(at_stage, no_meeting_yet, status=OPEN)


def _agreement_asked_of_me(user: User, today: dt.date) -> Q:
    """A request for agreement (to a bypass or a Cafcass referral) made to me and not yet answered; one
    that only told me something waits for nothing (``selectors.agreements_waiting_for``)."""
    asked = Agreement.objects.filter(
        challenge_id=OuterRef("pk"), person_id=user.pk, status=Agreement.Status.PENDING, kind="agree"
    )
    return Q(Exists(asked), status__in=[OPEN, Challenge.Status.RESOLVED])


WAITING_ON_ME: tuple[QueueSource, ...] = (
    QueueSource("recipient", "Sent to you for a response", _stage_sent_to_me),
    QueueSource("action_owner", "An agreed action is yours", _action_i_own),
    QueueSource("meeting_chair", "A meeting you chair is due at this stage", _meeting_i_chair),
    QueueSource("agreement_asked", "Your agreement is asked: confirm or decline", _agreement_asked_of_me),
)


def _with_sources(
    challenges: QuerySet[Challenge], sources: tuple[QueueSource, ...], user: User, today: dt.date
) -> QuerySet[Challenge]:
    """Keep the challenges any source matches, each marked ``why_<key>`` for the sources that did."""
    annotations = {
        f"why_{source.key}": ExpressionWrapper(source.matches(user, today), output_field=BooleanField())
        for source in sources
    }
    matched = Q()
    for source in sources:
        matched |= source.matches(user, today)
    return challenges.annotate(**annotations).filter(matched)


def _overdue_first(challenges: QuerySet[Challenge], today: dt.date) -> QuerySet[Challenge]:
    late = Case(When(overdue_q(today=today), then=Value(0)), default=Value(1))
    return challenges.annotate(late_first=late).order_by(
        "late_first", F("stage_due_on").asc(nulls_last=True), "raised_on", "id"
    )


def _visible(user: User) -> QuerySet[Challenge]:
    return (
        challenges_visible_to(user)
        .select_related("child", "policy", "child__team")
        .defer(*PROCEDURE_DOCUMENT_DEFERRED)
    )


def waiting_on_me(*, user: User, today: dt.date) -> QuerySet[Challenge]:
    """Challenges waiting on ``user`` (any of ``WAITING_ON_ME``), the most overdue first."""
    return _overdue_first(_with_sources(_visible(user), WAITING_ON_ME, user, today), today)


# -- the chair's own challenges ------------------------------------------------------------------------


def _chaired_by(user: User) -> Q:
    # The challenge's own copy of its child's allocation (indexed), not a join to the child.
    return Q(track="iro", iro_id=user.pk) | Q(track="cpc", cp_chair_id=user.pk)


def _response_in(user: User, today: dt.date) -> Q:
    return Q(status=OPEN, stage_responded_on__isnull=False)


def _stage_overdue(user: User, today: dt.date) -> Q:
    return overdue_q(today=today)


def _cap_passed(user: User, today: dt.date) -> Q:
    return past_cap_q(today=today)


def _action_past_due_after_resolution(user: User, today: dt.date) -> Q:
    late = Action.objects.filter(
        _past_due_cutoff_q("due", today, "challenge__policy__nation"),
        challenge_id=OuterRef("pk"),
        status=Action.Status.OPEN,
    )
    return Q(Exists(late), status=Challenge.Status.RESOLVED)


# What a chair must decide: the rows of "Needs your decision", with the words each reason shows.
NEEDS_MY_DECISION: tuple[QueueSource, ...] = (
    QueueSource("response_in", "A response came in: resolve or escalate", _response_in),
    QueueSource("stage_overdue", "The response is overdue", _stage_overdue),
    QueueSource("cap_passed", "Past the formal limit", _cap_passed),
    QueueSource(
        "action_late", "An agreed action is past its date after resolution", _action_past_due_after_resolution
    ),
)


def needs_my_decision(*, user: User, today: dt.date) -> QuerySet[Challenge]:
    """A chair's challenges that wait on their decision, overdue first."""
    chaired = _visible(user).filter(_chaired_by(user))
    return _overdue_first(_with_sources(chaired, NEEDS_MY_DECISION, user, today), today)


def waiting_on_others(*, user: User, today: dt.date) -> QuerySet[Challenge]:
    """A chair's open challenges that need nothing of them now: someone else must answer."""
    decide = Q()
    for source in NEEDS_MY_DECISION:
        decide |= source.matches(user, today)
    chaired = _visible(user).filter(_chaired_by(user), status=OPEN).exclude(decide)
    return _overdue_first(chaired, today)


# -- my team's, my part of the line's, my service's --------------------------------------------------

SCOPE_QUEUE_TITLES = {
    Scope.TEAM: "Your team's challenges",
    Scope.LINE: "Your part of the line",
    Scope.SERVICE: "Your service's challenges",
}


def managed_scope(*, user: User) -> Scope | None:
    """The widest team, line or service this person manages through a post (None when they manage none)."""
    scopes = set()
    for role in user_roles(user=user):
        grant = GRANTS.get(role)
        if grant is not None and Perm.VIEW_RECORDS in grant.perms and grant.scope in SCOPE_QUEUE_TITLES:
            scopes.add(grant.scope)
    for scope in (Scope.SERVICE, Scope.LINE, Scope.TEAM):
        if scope in scopes:
            return scope
    return None


def my_people(*, user: User, today: dt.date) -> QuerySet[Challenge]:
    """Open challenges in the team, line or service ``user`` manages, not already waiting on them,
    overdue first then by due date. Empty for a person who manages none."""
    if managed_scope(user=user) is None:
        return _visible(user).none()
    mine = Q()
    for source in WAITING_ON_ME:
        mine |= source.matches(user, today)
    return _overdue_first(_visible(user).filter(status=OPEN).exclude(mine), today)


# -- copied to me --------------------------------------------------------------------------------------


def copied_to_me(*, user: User, today: dt.date) -> QuerySet[Challenge]:
    """Open challenges whose current stage copied or told ``user`` (and that wait on them for nothing)."""
    mine = Q()
    for source in WAITING_ON_ME:
        mine |= source.matches(user, today)
    copied = (
        _visible(user).filter(_current_visit(user, "cc_users", "notify_users"), status=OPEN).exclude(mine)
    )
    return _overdue_first(copied, today)


# -- whom one challenge waits on -----------------------------------------------------------------------


@dataclass(frozen=True)
class WaitingOn:
    """Whom a challenge waits on, for what, and since when: the usernames of people in Resolve, which
    the page turns into names, and the named outsiders who own an action (as typed)."""

    usernames: tuple[str, ...]
    what: str
    since: dt.date | None
    due_on: dt.date | None = None
    outsiders: tuple[str, ...] = ()


def challenge_answers_waiting(*, challenge: Challenge) -> list[Agreement]:
    """The requests for agreement on the challenge still waiting for the answer of the person asked
    (from ``challenge.agreements`` as its page loaded them), oldest first."""
    if challenge.status not in {OPEN, Challenge.Status.RESOLVED}:
        return []
    return sorted(
        (
            agreement
            for agreement in challenge.agreements.all()
            if agreement.status == Agreement.Status.PENDING and agreement.kind == "agree"
        ),
        key=lambda agreement: agreement.number,
    )


def challenge_waiting_on(*, challenge: Challenge) -> WaitingOn | None:
    """From the challenge as its page loaded it (visits and actions prefetched); None when nothing waits."""
    chair = challenge.child.iro if challenge.track == "iro" else challenge.child.cp_chair
    chair_names = (chair.get_username(),) if chair is not None else ()
    if challenge.status == OPEN:
        visit = next((v for v in challenge.visits.all() if v.left_on is None), None)
        if visit is None:
            return None
        if visit.responded_on is None and visit.contact_email:
            # A partner agency's contact, outside Resolve: the chair records their reply.
            contact = f"{visit.contact_name}, {visit.contact_role}, {challenge.agency}"
            return WaitingOn((), "a reply", visit.entered_on, visit.due_on, (contact,))
        if visit.responded_on is None:
            return WaitingOn(tuple(visit.to_users), "a response", visit.entered_on, visit.due_on)
        return WaitingOn(chair_names, "a decision: resolve or escalate", visit.responded_on)
    if challenge.status == Challenge.Status.RESOLVED:
        open_actions = [a for a in challenge.actions.all() if a.status == Action.Status.OPEN]
        if not open_actions:
            return None
        # ``owner`` holds the username of an owner in Resolve (``owner_user``), else an outsider's name.
        people = tuple(dict.fromkeys(a.owner for a in open_actions if a.owner_user_id is not None))
        outsiders = tuple(dict.fromkeys(a.owner for a in open_actions if a.owner_user_id is None))
        return WaitingOn(
            people,
            "the agreed actions",
            challenge.resolved_on,
            min(a.due for a in open_actions),
            outsiders,
        )
    return None
