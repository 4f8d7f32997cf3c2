"""Reads of challenges, always through the access chokepoint."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q, QuerySet

from resolve.access import challenges_visible_to
from resolve.calendars.services import working_calendar
from resolve.calendars.types import Nation
from resolve.challenges.models import Challenge, Event
from resolve.children.models import Child


def overdue_q(*, today: dt.date) -> Q:
    """Open challenges whose stage is overdue: unanswered, and a working day has passed since it was due.

    The rule of ``engine.is_overdue`` as a query: due before the last working day on or before today,
    counted in each nation's own working days.
    """
    by_nation = Q()
    for nation in Nation:
        cutoff = working_calendar(nation).last_working_day_on_or_before(today)
        by_nation |= Q(policy__nation=nation.value, stage_due_on__lt=cutoff)
    return Q(status=Challenge.Status.OPEN, stage_responded_on__isnull=True) & by_nation


def challenge_is_overdue(*, challenge: Challenge, today: dt.date) -> bool:
    """Whether this challenge's current stage is overdue (see ``overdue_q``)."""
    if challenge.status != Challenge.Status.OPEN or challenge.stage_due_on is None:
        return False
    if challenge.stage_responded_on is not None:
        return False
    cutoff = working_calendar(Nation(challenge.policy.nation)).last_working_day_on_or_before(today)
    return challenge.stage_due_on < cutoff


def challenge_list(
    *,
    user: User | AnonymousUser,
    today: dt.date,
    status: str | None = None,
    overdue: bool | None = None,
    child: str | None = None,
    stage: str | None = None,
) -> QuerySet[Challenge]:
    """Challenges this person may see, filtered; overdue ones are open, past due, and not yet answered."""
    challenges = challenges_visible_to(user).select_related("child", "policy", "raised_by")
    if status:
        challenges = challenges.filter(status=status)
    if child:
        challenges = challenges.filter(child__case_number=child)
    if stage:
        challenges = challenges.filter(stage_key=stage)
    if overdue is True:
        challenges = challenges.filter(overdue_q(today=today))
    elif overdue is False:
        challenges = challenges.exclude(overdue_q(today=today))
    return challenges.order_by("-raised_on", "-id")


def challenge_detail(*, challenge: Challenge) -> Challenge:
    """The challenge with everything its page or API answer shows, fetched in a fixed number of queries."""
    return (
        Challenge.objects.select_related(
            "child", "policy", "raised_by", "child__social_worker", "child__team"
        )
        .prefetch_related("visits", "actions", "events__by", "responses__by", "meetings__recorded_by")
        .get(pk=challenge.pk)
    )


def child_chronology(*, child: Child, user: User | AnonymousUser) -> QuerySet[Event]:
    """Every event on every challenge of the child that this person may see, oldest first."""
    visible = challenges_visible_to(user).filter(child=child).values("pk")
    return (
        Event.objects.filter(challenge_id__in=visible)
        .select_related("by", "challenge")
        .order_by("on", "created_at", "id")
    )


# -- reads for the web pages ---------------------------------------------------------------------
# Everything below answers one page's question in a fixed number of queries, whatever the rows.

ACTION_KEYS = (
    "respond",
    "escalate",
    "resolve",
    "reopen",
    "refer_to_cafcass",
    "withdraw",
    "record_meeting",
    "mark_action",
    "final_comments",
)


def challenge_available_actions(*, user: User, challenge: Challenge, today: dt.date) -> set[str]:
    """The actions ``user`` may take on ``challenge`` now (keys of ``ACTION_KEYS``), asked of the engine.

    Each command is tried as a dry run with placeholder input. A refusal about the input itself
    (``invalid``: no reason given, a document or an agreement missing) leaves the action open, since
    its form asks for that input; ``forbidden`` (not this person) and ``conflict`` (not now) close it.
    """
    from resolve.calendars.services import working_calendar
    from resolve.calendars.types import Nation
    from resolve.challenges import engine
    from resolve.challenges.services import challenge_actor, challenge_state
    from resolve.policies.selectors import policy_version_model

    policy = policy_version_model(challenge.policy)
    state = challenge_state(challenge=challenge)
    actor = challenge_actor(
        user=user,
        child=challenge.child,
        track=challenge.track,
        policy=policy,
        stage_key=challenge.stage_key or None,
    )
    on = max(today, state.last_event_on) if state.last_event_on else today
    text = "-"
    commands: dict[str, engine.Command] = {
        "respond": engine.Respond(on=on, response="agree"),
        "escalate": engine.Escalate(on=on, reason=text),
        "resolve": engine.Resolve(on=on, outcome=text, learning_points=text),
        "reopen": engine.Reopen(on=on, reason=text),
        "refer_to_cafcass": engine.ReferToCafcass(on=on, reason=text, urgent=True),
        "withdraw": engine.Withdraw(on=on, reason=text),
        "record_meeting": engine.RecordMeeting(on=on, summary=text),
        "final_comments": engine.AddFinalComments(on=on, comments=text),
    }
    if state.actions:
        commands["mark_action"] = engine.MarkAction(on=on, action_id=state.actions[0].id, status="done")
    calendar = working_calendar(Nation(policy.nation))
    allowed = set()
    for key, command in commands.items():
        decision = engine.decide(
            policy=policy, state=state, command=command, actor=actor, today=on, calendar=calendar
        )
        if isinstance(decision, engine.Accepted) or decision.kind == "invalid":
            allowed.add(key)
    return allowed


WORKLISTS = ("raised", "awaiting", "service")
SORTS = ("due", "overdue", "raised", "child")


def challenge_search(
    *,
    user: User | AnonymousUser,
    today: dt.date,
    status: str | None = None,
    overdue: bool | None = None,
    stage: str | None = None,
    policy: str | None = None,
    child: str | None = None,
    worklist: str | None = None,
    sort: str = "raised",
) -> QuerySet[Challenge]:
    """``challenge_list`` with the web pages' extra filters and orders.

    ``worklist``: ``raised`` (challenges this person raised), ``awaiting`` (open challenges whose
    current stage was sent to them and has no response yet), ``service`` (everything they may see:
    for an IRO/CP manager, their service). ``sort``: ``due`` (oldest due first), ``overdue``
    (overdue first, then by due date), ``raised`` (newest first), ``child`` (by the child's name).
    """
    from django.db.models import Case, Exists, F, OuterRef, Value, When

    from resolve.challenges.models import StageVisit

    challenges = challenge_list(
        user=user, today=today, status=status, overdue=overdue, child=child, stage=stage
    )
    if policy:
        challenges = challenges.filter(policy__key=policy)
    if worklist == "raised":
        challenges = challenges.filter(raised_by_id=user.pk)
    elif worklist == "awaiting":
        # to_users is a JSON list of usernames; matching the quoted name works on SQLite and PostgreSQL.
        sent_to_me = StageVisit.objects.filter(
            challenge_id=OuterRef("pk"), left_on__isnull=True, to_users__icontains=f'"{user.get_username()}"'
        )
        challenges = challenges.filter(
            Exists(sent_to_me), status=Challenge.Status.OPEN, stage_responded_on__isnull=True
        )
    due = F("stage_due_on").asc(nulls_last=True)
    if sort == "due":
        return challenges.order_by(due, "raised_on", "id")
    if sort == "overdue":
        late = Case(When(overdue_q(today=today), then=Value(0)), default=Value(1))
        return challenges.order_by(late, due, "raised_on", "id")
    if sort == "child":
        return challenges.order_by("child__last_name", "child__first_name", "-raised_on", "id")
    return challenges.order_by("-raised_on", "-id")


def child_search(*, user: User | AnonymousUser, query: str = "") -> QuerySet[Child]:
    """Children this person may see, matching every word of ``query`` in a name or the case number."""
    from django.db.models import Count

    from resolve.access import children_visible_to

    children = children_visible_to(user).select_related("team", "social_worker", "iro", "cp_chair")
    for word in query.split():
        children = children.filter(
            Q(first_name__icontains=word) | Q(last_name__icontains=word) | Q(case_number__icontains=word)
        )
    open_challenges = Count("challenges", filter=Q(challenges__status=Challenge.Status.OPEN))
    return children.annotate(open_challenges=open_challenges).order_by("last_name", "first_name", "id")


def challenge_page(*, challenge: Challenge) -> Challenge:
    """The challenge with all its page shows (people's names too), in a fixed number of queries."""
    from django.db.models import Prefetch

    from resolve.challenges.models import Meeting, Response
    from resolve.children.models import CaseNote

    return (
        Challenge.objects.select_related(
            "child",
            "child__team",
            "child__social_worker",
            "child__iro",
            "child__cp_chair",
            "policy",
            "raised_by",
            "cafcass_referral",
            "cafcass_referral__by",
        )
        .prefetch_related(
            "visits",
            "actions",
            Prefetch("responses", queryset=Response.objects.select_related("by", "visit")),
            Prefetch("meetings", queryset=Meeting.objects.select_related("recorded_by", "visit")),
            Prefetch(
                "case_notes",
                queryset=CaseNote.objects.select_related("author", "corrects").order_by("on", "id"),
            ),
        )
        .get(pk=challenge.pk)
    )


def people_named(*, usernames: set[str]) -> dict[str, str]:
    """Full names by username, for the people a page names (one query)."""
    from django.contrib.auth import get_user_model

    rows = (
        get_user_model()
        .objects.filter(username__in=usernames)
        .values_list("username", "first_name", "last_name")
    )
    return {username: f"{first} {last}".strip() or username for username, first, last in rows}


def people_with_roles(*, roles: set[str]) -> list[tuple[str, str]]:
    """``(username, "Name, role")`` for every active holder of one of ``roles``: who may agree or be told."""
    from resolve.people.models import Post
    from resolve.people.roles import role_label

    posts = (
        Post.objects.filter(role__in=roles, user__is_active=True)
        .select_related("user")
        .order_by("user__last_name", "user__first_name", "role")
    )
    seen: dict[str, str] = {}
    for post in posts:
        name = f"{post.user.first_name} {post.user.last_name}".strip() or post.user.username
        label = f"{name}, {role_label(post.role)}"
        seen[post.user.username] = (
            f"{seen[post.user.username]}; {role_label(post.role)}" if post.user.username in seen else label
        )
    return list(seen.items())


@dataclass(frozen=True)
class DueDate:
    """When a response is due, counted in working days, and the non-working weekdays skipped on the way."""

    due_on: dt.date | None
    working_days: int | None
    skipped: tuple[tuple[dt.date, str], ...] = ()


def due_date_explain(*, nation: str, start: dt.date, working_days: int | None) -> DueDate:
    """The due date ``working_days`` after ``start`` and the bank holidays or closure days it skips."""
    from resolve.calendars.models import NonWorkingDay
    from resolve.calendars.services import working_calendar
    from resolve.calendars.types import Nation

    if not working_days:
        return DueDate(due_on=None, working_days=None)
    due = working_calendar(Nation(nation)).add_working_days(start, working_days)
    rows = NonWorkingDay.objects.filter(nation=nation, date__gt=start, date__lte=due).order_by("date")
    skipped = tuple((row.date, row.name) for row in rows if row.date.weekday() < 5)
    return DueDate(due_on=due, working_days=working_days, skipped=skipped)


@dataclass(frozen=True)
class RaisePreview:
    stage_name: str
    to_role: str
    due: DueDate
    bypassed: tuple[str, ...] = ()


def challenge_raise_preview(
    *,
    user: User,
    child: Child,
    track: str,
    policy_key: str,
    concern: str,
    impact_on_child: str,
    stage: str | None = None,
    bypass_reason: str = "",
    bypass_agreed_by: str | None = None,
    themes: tuple[str, ...] = (),
    actions: tuple[tuple[str, str, dt.date], ...] = (),
    directors_briefing: dict[str, str] | None = None,
    on: dt.date,
    today: dt.date,
) -> RaisePreview:
    """What ``challenge_raise`` would do with these answers, without writing anything.

    Asks the engine the same question the service will, so a check-your-answers page can show the
    due date and catch what the engine would refuse; raises ``ServiceError`` like the service.
    """
    from resolve.calendars.services import working_calendar
    from resolve.calendars.types import Nation
    from resolve.challenges import engine
    from resolve.challenges.documents import directors_briefing_clean
    from resolve.challenges.services import ServiceError, _person, challenge_actor
    from resolve.people.roles import role_label
    from resolve.policies.models import PolicyVersion
    from resolve.policies.selectors import policy_get, policy_version_model

    try:
        policy = policy_version_model(policy_get(key=policy_key))
    except PolicyVersion.DoesNotExist:
        raise ServiceError(
            "invalid", "unknown_policy", f"There is no procedure called {policy_key!r}.", "policy"
        ) from None
    documents: frozenset[str] = frozenset()
    if directors_briefing is not None:
        directors_briefing_clean(data=directors_briefing, child=child)
        documents = frozenset({"directors_briefing"})
    command = engine.Raise(
        on=on,
        concern=concern,
        impact_on_child=impact_on_child,
        stage=stage,
        bypass_reason=bypass_reason,
        bypass_agreed_by=_person(bypass_agreed_by, "bypass_agreed_by"),
        themes=tuple(themes),
        actions=tuple(engine.NewAction(action=a, owner=o, due=d) for a, o, d in actions),
        documents=documents,
    )
    actor = challenge_actor(user=user, child=child, track=track, policy=policy, stage_key=None)
    calendar = working_calendar(Nation(policy.nation))
    decision = engine.decide(
        policy=policy,
        state=engine.ChallengeState(track=track),  # type: ignore[arg-type]
        command=command,
        actor=actor,
        today=today,
        calendar=calendar,
    )
    if isinstance(decision, engine.Refused):
        raise ServiceError(decision.kind, decision.code, decision.message, decision.field)
    target = policy.stage(decision.state.visits[0].stage)
    bypassed = tuple(s.name for s in policy.stages[: policy.order(target.key) - 1])
    return RaisePreview(
        stage_name=target.name,
        to_role=role_label(target.to_role),
        due=due_date_explain(nation=policy.nation, start=on, working_days=target.response_working_days),
        bypassed=bypassed,
    )
