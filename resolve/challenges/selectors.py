"""Reads of challenges, always through the access chokepoint."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, User
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils.functional import cached_property

from resolve.access import challenges_visible_to, children_visible_to, user_perms
from resolve.calendars.models import NonWorkingDay
from resolve.calendars.services import working_calendar
from resolve.calendars.types import Nation
from resolve.challenges import engine
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
from resolve.challenges.overdue import overdue_q, past_cap_q, past_due, stage_overdue
from resolve.children.models import CaseNote, Child
from resolve.children.selectors import ChildLine, child_line, child_line_from
from resolve.core.errors import ServiceError
from resolve.core.rows import VENDORS, instance_from_db, json_rows, rows_from
from resolve.people.models import Post
from resolve.people.roles import CHAIR_MANAGER_ROLES, CHAIR_ROLE_FOR_TRACK, role_label
from resolve.people.selectors import user_roles, user_roles_remember
from resolve.procedures.schema import Procedure
from resolve.procedures.selectors import PROCEDURE_DOCUMENT_DEFERRED, procedure_list, procedure_version_model


def challenge_is_overdue(*, challenge: Challenge, today: dt.date) -> bool:
    """Whether this challenge's current stage is overdue (``resolve.challenges.overdue``)."""
    return challenge.status == Challenge.Status.OPEN and stage_overdue(
        due_on=challenge.stage_due_on,
        answered=challenge.stage_responded_on is not None,
        today=today,
        calendar=working_calendar(Nation(challenge.policy.nation)),
    )


def challenge_past_cap(*, challenge: Challenge, today: dt.date) -> bool:
    """Whether this open challenge is past its formal cap (``resolve.challenges.overdue``)."""
    return challenge.status == Challenge.Status.OPEN and past_due(
        challenge.formal_due_on, today, working_calendar(Nation(challenge.policy.nation))
    )


def challenge_list(
    *,
    user: User | AnonymousUser,
    today: dt.date,
    status: str | None = None,
    overdue: bool | None = None,
    child: str | None = None,
    stage: str | None = None,
    past_cap: bool | None = None,
    policy: str | None = None,
    agency_kind: str | None = None,
) -> QuerySet[Challenge]:
    """Challenges this person may see, filtered; overdue ones are open, past due, and not yet answered;
    past the cap, open and past the formal process's limit. ``policy``: the procedure's key;
    ``agency_kind``: challenges to partner agencies of that kind ("any": to any partner agency, "none":
    on the authority's own ladder)."""
    challenges = (
        challenges_visible_to(user)
        .select_related("child", "policy", "raised_by")
        .defer(*PROCEDURE_DOCUMENT_DEFERRED)
    )
    if policy:
        challenges = challenges.filter(policy__key=policy)
    if agency_kind == "any":
        challenges = challenges.exclude(agency_kind="")
    elif agency_kind:
        challenges = challenges.filter(agency_kind="" if agency_kind == "none" else agency_kind)
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
    if past_cap is True:
        challenges = challenges.filter(past_cap_q(today=today))
    elif past_cap is False:
        challenges = challenges.exclude(past_cap_q(today=today))
    return challenges.order_by("-raised_on", "-id")


# What a row of the API's lists shows (``challenge_summary``), the list's cursor and its access-log row
# need of a challenge: a page read with these columns alone builds its 50 rows in a fraction of the
# time the whole rows (and their raisers) take.
SUMMARY_COLUMNS = (
    "id",
    "track",
    "status",
    "stage_key",
    "stage_due_on",
    "stage_responded_on",
    "formal_due_on",
    "raised_on",
    "trigger_review",
    "agency",
    "agency_kind",
    "child__id",
    "child__case_number",
    "policy__id",
    "policy__key",
    "policy__nation",
)


def challenge_summaries(challenges: QuerySet[Challenge]) -> QuerySet[Challenge]:
    """``challenges`` (from ``challenge_list``) read for their summaries only: ``SUMMARY_COLUMNS``."""
    return challenges.select_related(None).select_related("child", "policy").only(*SUMMARY_COLUMNS)


# A list counts at most this many rows: past it, the count would cost as much as reading the rows,
# and grow with the table. The pages say "more than 1,000"; the API answers ``count_exact: false``.
COUNT_BOUND = 1_000


def count_bounded(rows: QuerySet[Any]) -> int:
    """How many rows ``rows`` holds, counting no further than COUNT_BOUND + 1 (more than the bound)."""
    # Only the ids: a column the list adds to each row (the children's open challenges) is not
    # worked out for the rows counted.
    return rows.order_by().values("pk")[: COUNT_BOUND + 1].count()


class BoundedPaginator(Paginator):
    """Pages of a list whose count stops past ``COUNT_BOUND`` rows, so that a list costs the same with
    a million rows as with a thousand: the page numbers run to the bound (and one past it), and
    ``count_words`` says "more than 1,000" past it. Further on, a list goes by its filters (or, in the
    API, by ``next_cursor``)."""

    @cached_property
    def count(self) -> int:
        rows = self.object_list
        return count_bounded(rows) if isinstance(rows, QuerySet) else len(rows)

    @property
    def exact(self) -> bool:
        return self.count <= COUNT_BOUND

    @property
    def count_words(self) -> str:
        return f"{self.count:,}" if self.exact else f"more than {COUNT_BOUND:,}"


def challenge_cursor(challenge: Challenge) -> str:
    """Where a list in ``challenge_list``'s order (newest raised first) goes on after ``challenge``."""
    return f"{challenge.raised_on.isoformat()}.{challenge.pk}"


def challenges_after(challenges: QuerySet[Challenge], cursor: str) -> QuerySet[Challenge]:
    """The rows of ``challenges`` (newest raised first) after ``cursor``; refuses a malformed one.

    Keyset paging: the database walks its (raised_on, id) index from the cursor, so the next page
    costs the same on page 2 as on page 20,000.
    """
    day, _, number = cursor.partition(".")
    try:
        raised_on, pk = dt.date.fromisoformat(day), int(number)
    except ValueError:
        raise ServiceError(
            "invalid", "invalid", "cursor: use the next_cursor of the page before, as it was given.", "cursor"
        ) from None
    return challenges.filter(Q(raised_on__lt=raised_on) | Q(raised_on=raised_on, pk__lt=pk))


# What the API's answer about one challenge shows beside the row: read with it
# (``challenge_get_for_user(related=DETAIL_RELATED, deferred=DETAIL_DEFERRED, with_rows=...)``), then
# its lists by ``challenge_detail``. The procedure's document is parsed once per process
# (``procedure_version_model``), so it is not read with every challenge.
DETAIL_RELATED = ("child", "policy", "raised_by")
DETAIL_DEFERRED = PROCEDURE_DOCUMENT_DEFERRED


@dataclass(frozen=True)
class ChallengeDetail:
    """A challenge with the lists its API answer shows, each in its order."""

    challenge: Challenge
    visits: list[StageVisit]
    actions: list[Action]
    events: list[Event]
    meetings: list[Meeting]
    agreements: list[Agreement]


# (vendor) -> the annotations' SQL: the same for every challenge.
_DETAIL_ROWS_SQL: dict[str, dict[str, str]] = {}
# Of the people the lists name, only what the answer shows: their username.
_PERSON_FIELDS = ("id", "username")
_DETAIL_ROWS = (
    "rows_visits",
    "rows_actions",
    "rows_events",
    "rows_meetings",
    "rows_agreements",
    "rows_people",
)


def challenge_detail_rows() -> dict[str, RawSQL] | None:
    """Annotations that read a challenge's lists for ``challenge_detail`` in the statement that reads
    the challenge (``challenge_get_for_user``'s ``with_rows``): one statement instead of six. None on a
    database other than SQLite or PostgreSQL (``challenge_detail`` then reads each list itself)."""
    db = connection
    if db.vendor not in VENDORS:
        return None
    texts = _DETAIL_ROWS_SQL.get(db.vendor)
    if texts is None:
        quote = db.ops.quote_name
        ident = f"{quote(Challenge._meta.db_table)}.{quote('id')}"
        mine = f"r.{quote('challenge_id')} = {ident}"
        person = get_user_model()
        # Everyone the events, meetings and requests for agreement name, for their usernames.
        named = " UNION ".join(
            f"SELECT n.{quote(column)} FROM {quote(model._meta.db_table)} n "  # noqa: S608  # nosec B608
            f"WHERE n.{quote('challenge_id')} = {ident}"
            for model, column in (
                (Event, "by_id"),
                (Meeting, "recorded_by_id"),
                (Meeting, "chair_id"),
                (Agreement, "person_id"),
                (Agreement, "requested_by_id"),
            )
        )
        texts = _DETAIL_ROWS_SQL[db.vendor] = {
            "rows_visits": json_rows(db, StageVisit, mine, ["sequence"]),
            "rows_actions": json_rows(db, Action, mine, ["due", "id"]),
            "rows_events": json_rows(db, Event, mine, ["sequence"]),
            "rows_meetings": json_rows(db, Meeting, mine, ["id"]),
            "rows_agreements": json_rows(db, Agreement, mine, ["number"]),
            "rows_people": json_rows(
                db, person, f"r.{quote('id')} IN ({named})", ["id"], fields=_PERSON_FIELDS
            ),
        }
    # The models' own tables and quoted columns; no value of a request is in them.
    return {name: RawSQL(sql, (), output_field=TextField()) for name, sql in texts.items()}  # noqa: S611  # nosec B611: our own tables and columns


def challenge_detail(*, challenge: Challenge) -> ChallengeDetail:
    """The challenge with everything its API answer shows. Read with ``challenge_detail_rows()``, its
    lists come from the same statement as the row; otherwise each is read here, one query each. The
    row should come with ``DETAIL_RELATED`` (each relation missing is read when first used)."""
    if all(hasattr(challenge, name) for name in _DETAIL_ROWS):
        read: dict[str, str | None] = {name: getattr(challenge, name) for name in _DETAIL_ROWS}
        people = {
            person.pk: person
            for person in rows_from(get_user_model(), read["rows_people"], fields=_PERSON_FIELDS)
        }
        visits = rows_from(StageVisit, read["rows_visits"], challenge)
        by_id = {visit.pk: visit for visit in visits}
        events = rows_from(Event, read["rows_events"], challenge)
        for event in events:
            event.by = people.get(event.by_id)
        meetings = rows_from(Meeting, read["rows_meetings"], challenge)
        for meeting in meetings:
            meeting.visit = by_id[meeting.visit_id]
            meeting.recorded_by = people[meeting.recorded_by_id]
            meeting.chair = people.get(meeting.chair_id)
        agreements = rows_from(Agreement, read["rows_agreements"], challenge)
        for agreement in agreements:
            agreement.person = people[agreement.person_id]
            agreement.requested_by = people[agreement.requested_by_id]
        return ChallengeDetail(
            challenge=challenge,
            visits=visits,
            actions=rows_from(Action, read["rows_actions"], challenge),
            events=events,
            meetings=meetings,
            agreements=agreements,
        )
    return ChallengeDetail(
        challenge=challenge,
        visits=list(StageVisit.objects.filter(challenge=challenge).order_by("sequence")),
        actions=list(Action.objects.filter(challenge=challenge).order_by("due", "id")),
        events=list(Event.objects.filter(challenge=challenge).select_related("by").order_by("sequence")),
        meetings=list(
            Meeting.objects.filter(challenge=challenge)
            .select_related("recorded_by", "visit", "chair")
            .order_by("id")
        ),
        agreements=list(
            Agreement.objects.filter(challenge=challenge)
            .select_related("person", "requested_by")
            .order_by("number")
        ),
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


def challenge_permitted_transitions(*, user: User, challenge: Challenge) -> set[str]:
    """The transitions ``user`` may start on ``challenge`` now (their keys): those whose guard in the
    engine's declaration lets this person through, and that their role's permissions allow."""
    procedure = procedure_version_model(challenge.policy)
    actor = challenge_actor(
        user=user,
        child=challenge.child,
        track=challenge.track,
        procedure=procedure,
        stage_key=challenge.stage_key or None,
    )
    perms = user_perms(user=user)
    state = challenge_state(challenge=challenge)
    owner = any(action.owner == user.get_username() for action in state.actions)
    allowed = engine.permitted(procedure=procedure, state=state, actor=actor)
    return {t.key for t in allowed if t.perm in perms or (t.owner_may and owner)}


WORKLISTS = ("raised", "awaiting", "service")
SORTS = ("due", "overdue", "raised", "child")


def challenge_search(
    *,
    user: User | AnonymousUser,
    today: dt.date,
    status: str | None = None,
    overdue: bool | None = None,
    past_cap: bool | None = None,
    stage: str | None = None,
    procedure: str | None = None,
    child: str | None = None,
    worklist: str | None = None,
    sort: str = "raised",
    within: Collection[int] | None = None,
    query: str = "",
    team: int | None = None,
    chair: str | None = None,
    agency_kind: str | None = None,
) -> QuerySet[Challenge]:
    """``challenge_list`` with the web pages' extra filters and orders.

    ``query``: every word found in the child's name or case number, the chair's name, the team, a
    theme or the procedure (``challenge_search_q``). ``team``: the child's team (its id). ``chair``:
    the username of the challenge's chair (the child's IRO on the IRO track, CP Chair on the CP track).

    ``worklist``: ``raised`` (challenges this person raised), ``awaiting`` (open challenges whose
    current stage was sent to them and has no response yet), ``service`` (everything they may see:
    for an IRO/CP manager, their service). ``sort``: ``due`` (oldest due first), ``overdue``
    (overdue first, then by due date), ``raised`` (newest first), ``child`` (by the child's name).
    ``within``: only these challenges (the ones behind a figure of a report, worked out by
    ``resolve.reports``); the other filters still apply.
    """
    challenges = challenge_list(
        user=user,
        today=today,
        status=status,
        overdue=overdue,
        child=child,
        stage=stage,
        past_cap=past_cap,
        agency_kind=agency_kind,
    )
    if procedure:
        challenges = challenges.filter(policy__key=procedure)
    if within is not None:
        challenges = challenges.filter(pk__in=sorted(within))
    if query:
        challenges = challenges.filter(challenge_search_q(query=query))
    if team is not None:
        challenges = challenges.filter(child__team_id=team)
    if chair:
        challenges = challenges.filter(
            Q(track="iro", child__iro__username=chair) | Q(track="cpc", child__cp_chair__username=chair)
        )
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


SEARCH_WORDS = 8  # a search reads at most this many words; the rest are ignored


def challenge_search_q(*, query: str) -> Q:
    """Every word of ``query`` in the child's name or case number, the chair's name, the child's team,
    a theme (its words in any procedure) or the procedure's name."""
    themes: dict[str, str] = {}
    for version in procedure_list():
        for theme in procedure_version_model(version).themes:
            themes.setdefault(theme.key, theme.label)
    found = Q()
    for word in query.split()[:SEARCH_WORDS]:
        matches = (
            Q(child__first_name__icontains=word)
            | Q(child__last_name__icontains=word)
            | Q(child__case_number__icontains=word)
            | Q(child__team__name__icontains=word)
            | Q(policy__name__icontains=word)
            | Q(track="iro", child__iro__first_name__icontains=word)
            | Q(track="iro", child__iro__last_name__icontains=word)
            | Q(track="cpc", child__cp_chair__first_name__icontains=word)
            | Q(track="cpc", child__cp_chair__last_name__icontains=word)
        )
        for key, label in themes.items():
            if word.casefold() in label.casefold():
                matches |= Q(themes__icontains=f'"{key}"')
        found &= matches
    return found


def child_search(*, user: User | AnonymousUser, query: str = "") -> QuerySet[Child]:
    """Children this person may see, matching every word of ``query`` in a name or the case number."""
    children = children_visible_to(user).select_related("team", "social_worker", "iro", "cp_chair")
    for word in query.split():
        children = children.filter(
            Q(first_name__icontains=word) | Q(last_name__icontains=word) | Q(case_number__icontains=word)
        )
    # Counted for the rows shown only (a subquery per row), not grouped over every child first.
    open_challenges = (
        Challenge.objects.filter(child_id=OuterRef("pk"), status=Challenge.Status.OPEN)
        .order_by()
        .values("child_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return children.annotate(open_challenges=Coalesce(Subquery(open_challenges), 0)).order_by(
        "last_name", "first_name", "id"
    )


def challenge_page(*, challenge: Challenge) -> Challenge:
    """The challenge with all its page shows (people's names too), in a fixed number of queries."""
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
            Prefetch("actions", queryset=Action.objects.select_related("owner_user")),
            Prefetch("responses", queryset=Response.objects.select_related("by", "visit")),
            Prefetch(
                "meetings",
                queryset=Meeting.objects.select_related("recorded_by", "visit", "chair").order_by("id"),
            ),
            Prefetch("document_records", queryset=Document.objects.select_related("by").order_by("on", "id")),
            Prefetch(
                "case_notes",
                queryset=CaseNote.objects.select_related("author", "corrects").order_by("on", "id"),
            ),
        )
        .get(pk=challenge.pk)
    )


def people_named(*, usernames: set[str]) -> dict[str, str]:
    """Full names by username, for the people a page names (one query)."""
    rows = (
        get_user_model()
        .objects.filter(username__in=usernames)
        .values_list("username", "first_name", "last_name")
    )
    return {username: f"{first} {last}".strip() or username for username, first, last in rows}


def people_with_roles(*, roles: set[str]) -> list[tuple[str, str]]:
    """``(username, "Name, role")`` for every active holder of one of ``roles``: who may agree or be told."""
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
    if not working_days:
        return DueDate(due_on=None, working_days=None)
    due = working_calendar(Nation(nation)).add_working_days(start, working_days)
    rows = NonWorkingDay.objects.filter(nation=nation, date__gt=start, date__lte=due).order_by("date")
    skipped = tuple((row.date, row.name) for row in rows if row.date.weekday() < 5)
    return DueDate(due_on=due, working_days=working_days, skipped=skipped)


# -- the state and the people the engine needs ---------------------------------------------------
def challenge_state(
    *,
    challenge: Challenge,
    visits: Sequence[StageVisit] | None = None,
    actions: Sequence[Action] | None = None,
    procedure: Procedure | None = None,
    agreements: Sequence[engine.AgreementState] | None = None,
    meetings: Sequence[Meeting] | None = None,
) -> engine.ChallengeState:
    """The engine's view of ``challenge``; ``visits`` and ``actions``: its rows, when already read.

    ``procedure``: the challenge's procedure, when the caller has it: requests for agreement and
    meetings are read only where it can have them (``Procedure.asks_agreement``, ``holds_meetings``).
    ``agreements`` and ``meetings``: its requests for agreement and its meeting rows (each with its
    visit and chair), when already read with the challenge.
    """
    rows = challenge.visits.all() if visits is None else visits
    action_rows = challenge.actions.all() if actions is None else actions
    state_visits = tuple(
        engine.Visit(
            stage=visit.stage_key,
            entered_on=visit.entered_on,
            due_on=visit.due_on,
            left_on=visit.left_on,
            left_how=visit.left_how or None,
            response=visit.response or None,
            responded_on=visit.responded_on,
            meetings=visit.meetings,
            procedure_due_on=visit.procedure_due_on,
            extended_from=visit.extended_from,
            contact=engine.AgencyContact(
                name=visit.contact_name, role=visit.contact_role, email=visit.contact_email
            )
            if visit.contact_email
            else None,
        )
        for visit in rows
    )
    # An action's owner is a person only through its account; ``owner`` then holds their username.
    action_states = tuple(
        engine.ActionState(
            id=action.pk,
            due=action.due,
            status=action.status,  # type: ignore[arg-type]
            owner=action.owner if action.owner_user_id is not None else "",
        )
        for action in action_rows
    )
    return engine.ChallengeState(
        track=challenge.track,  # type: ignore[arg-type]
        status=challenge.status,  # type: ignore[arg-type]
        visits=state_visits,
        formal_started_on=challenge.formal_started_on,
        formal_due_on=challenge.formal_due_on,
        last_event_on=challenge.last_event_on,
        cafcass_referred_on=challenge.cafcass_referred_on,
        actions=action_states,
        documents=frozenset(challenge.documents),
        final_comments_on=challenge.final_comments_on,
        agreements=()
        if procedure is not None and not procedure.asks_agreement()
        else tuple(agreements)
        if agreements is not None
        else tuple(
            engine.AgreementState(
                number=agreement.number,
                purpose=agreement.purpose,
                key=agreement.key,
                username=agreement.person.get_username(),
                kind=agreement.kind,
                status=agreement.status,
                requested_on=agreement.requested_on,
                answered_on=agreement.answered_on,
                role=agreement.role,
            )
            for agreement in challenge.agreements.select_related("person").order_by("number")
        ),
        meetings=()
        if procedure is not None and not procedure.holds_meetings()
        else _meeting_states(challenge, meetings),
        agency=challenge.agency,
        agency_kind=challenge.agency_kind,
        asked=challenge.desired_outcome if challenge.agency else "",
    )


def _meeting_states(
    challenge: Challenge, meetings: Sequence[Meeting] | None = None
) -> tuple[engine.MeetingState, ...]:
    """The requested meetings, each held once its minutes are recorded (a row that points at it).

    ``meetings``: the challenge's meeting rows in number order, when already read with it."""
    rows = (
        list(
            Meeting.objects.filter(challenge=challenge, number__gt=0)
            .select_related("visit", "chair")
            .order_by("number", "id")
        )
        if meetings is None
        else [row for row in meetings if row.number > 0]
    )
    # A request whose chair was handed over (a leaver's) is asked again as a later row of the same
    # number: the latest request of each number stands, held once minutes point at any of them.
    latest = {row.number: row for row in rows if row.requested}
    held = {row.number: row.held_on for row in rows if not row.requested and row.request_id is not None}
    return tuple(
        engine.MeetingState(
            number=row.number,
            stage=row.visit.stage_key,
            key=row.meeting_key,
            scheduled_for=row.scheduled_for or row.created_at.date(),
            chair=row.chair.get_username() if row.chair else "",
            attendees=tuple(row.attendees),
            held_on=held.get(row.number),
        )
        for row in latest.values()
    )


@dataclass(frozen=True)
class ChangePeople:
    """Who a change to a challenge may involve, read in one query before it locks the challenge: the
    person's own posts (their scope and roles) and every post the challenge's child's line may need
    (the authority-wide posts, the child's team, the teams of the child's IRO and CP Chair), with
    the child's team and chairs as they were when read. ``named``: the people the change names by
    username (who agreed, who owns an action), by username, each with all of their posts' roles."""

    own: tuple[tuple[str, int | None], ...]
    posts: tuple[Post, ...]
    read_for: tuple[int | None, int | None, int | None] | None  # (team, IRO, CP Chair); None: no row
    named: Mapping[str, User] = dataclass_field(default_factory=dict)

    def line(self, challenge: Challenge) -> ChildLine | None:
        """The child's line from these posts; None when the child's team or chairs changed since."""
        return self.child_line(challenge.child, challenge.track)

    def child_line(self, child: Child, track: str) -> ChildLine | None:
        """``child``'s line on ``track`` from these posts; None when its team or chairs changed since."""
        if self.read_for != (child.team_id, child.iro_id, child.cp_chair_id):
            return None
        return child_line_from(child=child, track=track, posts=self.posts)


def challenge_change_people(
    *, challenge_id: int, user: User | None, named: Sequence[str] = ()
) -> ChangePeople:
    """``ChangePeople`` for a change to challenge ``challenge_id`` by ``user`` (None: Resolve itself),
    and each person the change names by username (``named``: who chairs a meeting, who is invited,
    who agreed, who owns an action), whatever their posts, so that the change reads nobody again.

    The line's posts are a superset of ``child_line``'s (``ChildLine.holders`` looks only at the teams
    that concern the child), so one query serves the scope, the actor, the recipients and the
    messages. Written as SQL: built through the ORM, its subqueries cost more CPU than the statement
    it saves.
    """
    quote = connection.ops.quote_name
    challenge_table, child_table = quote(Challenge._meta.db_table), quote(Child._meta.db_table)
    return _people_read(
        allocation=(
            f"FROM {challenge_table} x INNER JOIN {child_table} k ON k.{quote('id')} = x.{quote('child_id')} "
            f"WHERE x.{quote('id')} = %s"
        ),
        record_id=challenge_id,
        user=user,
        named=sorted(set(named)),
    )


def child_raise_people(*, child_id: int, user: User, named: Sequence[str] = ()) -> ChangePeople:
    """``ChangePeople`` for raising a challenge for child ``child_id``, in one query: the person's own
    posts, the child's line, and each person the challenge names by username (``named``: who agreed
    to a later stage, who owns an action), whatever their posts, so that raising reads nobody again."""
    quote = connection.ops.quote_name
    child_table = quote(Child._meta.db_table)
    return _people_read(
        allocation=f"FROM {child_table} k WHERE k.{quote('id')} = %s",
        record_id=child_id,
        user=user,
        named=sorted({name for name in named if name}),
    )


def _people_read(*, allocation: str, record_id: int, user: User | None, named: Sequence[str]) -> ChangePeople:
    """The one query of ``challenge_change_people`` and ``child_raise_people``: ``allocation`` finds
    the child's row (``k``) from the record's id."""
    db = connection
    quote = db.ops.quote_name
    post_fields = list(Post._meta.concrete_fields)
    user_model = get_user_model()
    user_fields = list(user_model._meta.concrete_fields)
    post_table, user_table = quote(Post._meta.db_table), quote(user_model._meta.db_table)
    roles = list(CHAIR_ROLE_FOR_TRACK.values())
    user_columns = [f"u.{quote(str(field.column))}" for field in user_fields]
    columns = ", ".join(
        [
            *(f"p.{quote(str(field.column))}" for field in post_fields),
            *user_columns,
            "c.team_id",
            "c.iro_id",
            "c.cp_chair_id",
        ]
    )
    names = ", ".join(["%s"] * len(named))
    # The model's own tables and quoted columns; every value is a parameter.
    sql = (
        f"SELECT {columns} FROM {post_table} p "  # noqa: S608  # nosec B608
        f"INNER JOIN {user_table} u ON u.{quote('id')} = p.{quote('user_id')} "
        f"CROSS JOIN (SELECT k.{quote('team_id')} AS team_id, k.{quote('iro_id')} AS iro_id, "
        f"k.{quote('cp_chair_id')} AS cp_chair_id {allocation}) c "
        f"WHERE p.{quote('team_id')} IS NULL OR p.{quote('team_id')} = c.team_id "
        f"OR p.{quote('user_id')} = %s "
        f"OR p.{quote('team_id')} IN (SELECT q.{quote('team_id')} FROM {post_table} q "
        f"WHERE q.{quote('user_id')} IN (c.iro_id, c.cp_chair_id) AND q.{quote('role')} IN (%s, %s) "
        f"AND q.{quote('team_id')} IS NOT NULL) "
    )
    params: list[Any] = [record_id, user.pk if user is not None else None, *roles]
    if named:
        # The people named, with every post they hold, and (below) those who hold none.
        sql += (
            f"OR u.{quote('username')} IN ({names}) "  # noqa: S608  # nosec B608
            f"UNION ALL SELECT {', '.join(['NULL'] * len(post_fields))}, {', '.join(user_columns)}, "
            f"NULL, NULL, NULL FROM {user_table} u WHERE u.{quote('username')} IN ({names}) "
        )
        params += [*named, *named]
    sql += "ORDER BY 1"
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    users: dict[Any, User] = {}
    posts: list[Post] = []
    width = len(post_fields)
    post_names = [field.attname for field in post_fields]
    user_names = [field.attname for field in user_fields]
    post_converters, user_converters = _converters(db, post_fields), _converters(db, user_fields)
    read_for = None
    for row in rows:
        person_id = row[width]
        person = users.get(person_id)
        if person is None:
            person_values = _converted(db, user_converters, row[width : width + len(user_fields)])
            person = users[person_id] = instance_from_db(user_model, db.alias, user_names, person_values)
        if row[0] is None:  # a person named, whatever their posts
            continue
        read_for = (row[-3], row[-2], row[-1])
        post = instance_from_db(Post, db.alias, post_names, _converted(db, post_converters, row[:width]))
        post.user = person
        posts.append(post)
    found = {person.get_username(): person for person in users.values()}
    for name in named:
        person = found.get(name)
        if person is not None:
            # All of their posts were read: their roles, as ``user_roles`` would answer them.
            user_roles_remember(user=person, roles=[post.role for post in posts if post.user_id == person.pk])
    return ChangePeople(
        own=tuple(
            (post.role, post.team_id) for post in posts if user is not None and post.user_id == user.pk
        ),
        posts=tuple(posts),
        read_for=read_for,
        named={name: found[name] for name in named if name in found},
    )


def _converters(db: Any, fields: Sequence[Any]) -> list[tuple[Any, tuple[Any, ...]]]:
    """Each field's column and the converters the ORM runs on its values (the backend's, the field's)."""
    found = []
    for field in fields:
        column = field.get_col(field.model._meta.db_table)
        found.append((column, (*db.ops.get_db_converters(column), *field.get_db_converters(db))))
    return found


def _converted(
    db: Any, converters: Sequence[tuple[Any, tuple[Any, ...]]], values: Sequence[Any]
) -> list[Any]:
    """``values`` as the ORM would give them, through ``_converters``' answer for their fields."""
    converted = []
    for (column, steps), value in zip(converters, values, strict=True):
        for converter in steps:
            value = converter(value, column, db)
        converted.append(value)
    return converted


def challenge_actor(
    *,
    user: User,
    child: Child,
    track: str,
    procedure: Procedure,
    stage_key: str | None,
    line: ChildLine | None = None,
) -> engine.Actor:
    """What ``user`` is to a challenge on ``child``'s ``track``: chair, recipient, chair's manager...

    ``line``: the child's line already read for this change (``child_line``); read here otherwise.
    """
    line = line if line is not None else child_line(child=child, track=track)

    def holds(role: str) -> bool:
        return any(holder.pk == user.pk for holder in line.holders(role))

    relations: set[str] = set()
    chair = line.chair
    if chair is not None and chair.pk == user.pk:
        relations.add(engine.CHAIR)
    to_role = procedure.stage(stage_key).to_role if stage_key else None
    if to_role and holds(to_role):
        relations.add(engine.RECIPIENT)
    if any(holds(role) for role in CHAIR_MANAGER_ROLES):
        relations.add(engine.CHAIR_MANAGER)
    final_role = procedure.resolution.final_comments_role
    if final_role and holds(final_role):
        relations.add(engine.FINAL_COMMENTER)
    if child.social_worker_id == user.pk or holds("team_manager"):
        relations.add(engine.CHILD_WORKER)
    completer = procedure.cafcass.form_completed_by
    if completer and holds(completer):
        relations.add(engine.CAFCASS_FORM)
    return engine.Actor(username=user.get_username(), relations=frozenset(relations))


def person_for_command(
    *, username: str | None, field: str, named: Mapping[str, User] | None = None
) -> engine.Person | None:
    """The person a command names (who agreed, who was told), with their roles; refuses an unknown one.

    ``named``: the people read for the change by username (``ChangePeople.named``), when it read
    them: then nobody is read again."""
    if username is None or username == "":
        return None
    if named is not None:
        found = named.get(username)
        user = found if found is not None and found.is_active else None
    else:
        user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise ServiceError("invalid", "unknown_user", f"There is no active user called {username!r}.", field)
    return engine.Person(username=username, roles=frozenset(user_roles(user=user)))


# -- concerns before a challenge -----------------------------------------------------------------
def concern_chair_due(*, procedure: Procedure, review_on: dt.date | None) -> dt.date | None:
    """The chair's deadline for the first stage's form, counted from the review the concern came from
    (seed 000: "IRO completes informal resolution form within 3 days"), where the procedure sets one."""
    rule = procedure.stages[0].chair_deadline
    if rule is None or review_on is None:
        return None
    if rule.working_days:
        return working_calendar(Nation(procedure.nation)).add_working_days(review_on, rule.days)
    return review_on + dt.timedelta(days=rule.days)


@dataclass(frozen=True)
class ConcernRow:
    concern: Concern
    procedure: Procedure
    chair_due_on: dt.date | None
    challenge_id: int | None
    closure: ConcernClosure | None = None


def child_concerns(*, child: Child) -> list[ConcernRow]:
    """The concerns on a child's record, newest first, each with the chair's deadline and the challenge
    it became. ``child`` must have been loaded through the access chokepoint."""
    rows = (
        Concern.objects.filter(child=child)
        .select_related("policy", "recorded_by", "closure", "closure__closed_by")
        .annotate(challenge_pk=F("challenge__pk"))
        .order_by("-on", "-id")
    )
    found = []
    for concern in rows:
        procedure = procedure_version_model(concern.policy)
        found.append(
            ConcernRow(
                concern=concern,
                procedure=procedure,
                chair_due_on=concern_chair_due(procedure=procedure, review_on=concern.review_on),
                challenge_id=concern.challenge_pk,
                closure=getattr(concern, "closure", None),
            )
        )
    return found


# -- a Cafcass referral with no challenge ----------------------------------------------------------
def child_cafcass_agreements(*, child: Child) -> list[Agreement]:
    """The requests for agreement made on the child for a referral with no challenge, in order.
    ``child`` must have been loaded through the access chokepoint."""
    return list(
        Agreement.objects.filter(child=child, challenge__isnull=True)
        .select_related("person", "requested_by")
        .order_by("number")
    )


def child_cafcass_referrals(*, child: Child) -> list[CafcassReferral]:
    """Every referral to Cafcass of the child's case, oldest first: those with no challenge and those of
    its challenges (``challenge`` set). ``child`` must have been loaded through the access chokepoint."""
    return list(
        CafcassReferral.objects.filter(Q(child=child) | Q(challenge__child=child))
        .select_related("by", "policy", "challenge__policy")
        .order_by("on", "id")
    )


def child_cafcass_state(
    *, child: Child, agreements: Sequence[Agreement] | None = None
) -> engine.ChildReferralState:
    """What the engine decides a referral with no challenge from (``engine.decide_for_child``)."""
    rows = list(agreements) if agreements is not None else child_cafcass_agreements(child=child)
    last = (
        CafcassReferral.objects.filter(child=child, challenge__isnull=True)
        .order_by("-created_at", "-id")
        .first()
    )
    spent = (last.agreements_upto or 0) if last is not None else 0
    dates = [row.requested_on for row in rows] + [row.answered_on for row in rows if row.answered_on]
    if last is not None:
        dates.append(last.on)
    return engine.ChildReferralState(
        agreements=tuple(
            engine.AgreementState(
                number=row.number,
                purpose=row.purpose,
                key=row.key,
                username=row.person.get_username(),
                kind=row.kind,
                status=row.status,
                requested_on=row.requested_on,
                answered_on=row.answered_on,
            )
            for row in rows
        ),
        last_on=max(dates, default=None),
        spent=spent,
    )


def agreements_waiting_for(*, user: User) -> QuerySet[Agreement]:
    """Requests made to ``user`` still waiting for their answer, on challenges they may see (and, for a
    Cafcass referral with no challenge, on children they may see), oldest first."""
    visible = challenges_visible_to(user).values("pk")
    children = children_visible_to(user).values("pk")
    return (
        Agreement.objects.filter(person_id=user.pk, status=Agreement.Status.PENDING, kind="agree")
        .filter(Q(challenge_id__in=visible) | Q(challenge__isnull=True, child_id__in=children))
        .select_related("challenge__child", "challenge__policy", "child")
        .order_by("requested_on", "id")[:50]
    )


def children_to_raise_for(*, user: User | AnonymousUser, query: str = "") -> QuerySet[Child]:
    """The children this person chairs (as IRO or CP Chair), the only ones they may raise a challenge
    for, matching every word of ``query`` in a name or the case number."""
    if not user.is_authenticated:
        return children_visible_to(user).none()
    chaired = Q(iro_id=user.pk) | Q(cp_chair_id=user.pk)
    return child_search(user=user, query=query).filter(chaired)
