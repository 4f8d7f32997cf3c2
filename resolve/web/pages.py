"""What each page shows, built from the selectors: rows, tags and words, never a decision.

The views parse a request, call one service or one function here, and render. Rules (who may do
what, when a stage is due) come from the engine and the selectors; this module only turns their
answers into the rows and words a person reads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, assert_never
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.models import User
from django.core.paginator import Page
from django.http import QueryDict
from django.utils import timezone
from django.utils.text import capfirst

from resolve.access import access_record_list, challenge_get_for_user, child_get_for_user
from resolve.calendars.services import working_calendar
from resolve.calendars.types import Nation, WorkingDays
from resolve.challenges import engine, events, selectors
from resolve.challenges.case_notes import hand_over_words
from resolve.challenges.documents import DIRECTORS_BRIEFING_FIELDS, directors_briefing_rows
from resolve.challenges.engine import EVENT_WORDS, RESPONSES, Transition
from resolve.challenges.events import detail_from_json
from resolve.challenges.models import Action, Challenge, Event
from resolve.challenges.overdue import Timing, past_due, stage_timing
from resolve.children.models import Child
from resolve.children.selectors import child_line, child_role_holders
from resolve.core.errors import ServiceError
from resolve.people.roles import CHAIR_MANAGER_ROLES, CHAIR_ROLE_FOR_TRACK, role_label
from resolve.people.selectors import social_work_teams
from resolve.procedures.schema import Procedure
from resolve.procedures.selectors import procedure_get, procedure_list, procedure_version_model
from resolve.reports.periods import period_parse
from resolve.reports.selectors import filters_parse, report_members
from resolve.reports.tables import figure_words
from resolve.web.forms import ChallengeFilterForm
from resolve.web.templatetags.govuk import govuk_date

PAGE_SIZE = 20
DUE_SOON_WORKING_DAYS = 2

LEFT_WORDS = {"escalated": "Escalated", "resolved": "Resolved", "withdrawn": "Withdrawn"}
ACTION_COLOURS = {Action.Status.OPEN: "blue", Action.Status.DONE: "green", Action.Status.NOT_DONE: "red"}


def stage_label(key: str) -> str:
    """A stage key shared by several procedures, in words: ``stage_2`` is "Stage 2"."""
    return key.replace("_", " ").capitalize()


# -- a challenge in a list -----------------------------------------------------------------------


@dataclass
class Tag:
    text: str
    colour: str = ""


def challenge_tag(challenge: Challenge, today: dt.date) -> Tag:
    """Overdue, due soon, answered, open, resolved or withdrawn: what a person scanning a list needs."""
    if challenge.status == Challenge.Status.RESOLVED:
        return Tag("Resolved", "green")
    if challenge.status == Challenge.Status.WITHDRAWN:
        return Tag("Withdrawn", "grey")
    if challenge.stage_responded_on is not None:
        return Tag("Response received", "turquoise")
    due = challenge.stage_due_on
    if due is None:
        return Tag("Open", "blue")
    if selectors.challenge_is_overdue(challenge=challenge, today=today):
        return Tag("Overdue", "red")
    calendar = working_calendar(Nation(procedure_version_model(challenge.policy).nation))
    if calendar.working_days_between(today, due) <= DUE_SOON_WORKING_DAYS:
        return Tag("Due soon", "yellow")
    return Tag("Open", "blue")


def _offered(user: User, challenge: Challenge) -> set[str]:
    """The transitions the pages offer: those permitted, less a second response at a stage already
    answered (the API can send one as a further response; a page says the response was recorded)."""
    permitted = selectors.challenge_permitted_transitions(user=user, challenge=challenge)
    return permitted - {"respond"} if challenge.stage_responded_on is not None else permitted


PAST_CAP = Tag("Past the formal limit", "red")


def cap_tag(challenge: Challenge, today: dt.date) -> Tag | None:
    """ "Past the formal limit" for an open challenge past its formal cap, shown beside its status."""
    return PAST_CAP if selectors.challenge_past_cap(challenge=challenge, today=today) else None


@dataclass
class ChallengeRow:
    challenge: Challenge
    procedure: str
    stage: str
    tag: Tag
    cap_tag: Tag | None = None


def challenge_rows(challenges: Iterable[Challenge], today: dt.date) -> list[ChallengeRow]:
    rows = []
    for challenge in challenges:
        procedure = procedure_version_model(challenge.policy)
        stage = procedure.stage(challenge.stage_key).name if challenge.stage_key else ""
        rows.append(
            ChallengeRow(
                challenge, procedure.name, stage, challenge_tag(challenge, today), cap_tag(challenge, today)
            )
        )
    return rows


# Pages of a list whose count stops past ``selectors.COUNT_BOUND`` (one home, for the notifications too).
BoundedPaginator = selectors.BoundedPaginator


def paginate(items: Any, page_number: str | None) -> Page:
    return BoundedPaginator(items, PAGE_SIZE).get_page(page_number)


def _filter_choices() -> tuple[list[Any], list[tuple[str, str]]]:
    """The stage filter's options grouped by procedure (``procedure:stage``), and the procedures."""
    versions = list(procedure_list())
    grouped = [
        (
            version.name,
            [(f"{version.key}:{stage.key}", stage.name) for stage in procedure_version_model(version).stages],
        )
        for version in versions
    ]
    return grouped, [(v.key, v.name) for v in versions]


def _agency_kind_choices() -> list[tuple[str, str]]:
    """The kinds of partner agency the loaded partner agency procedures name, each once."""
    kinds: dict[str, str] = {}
    for version in procedure_list():
        for kind in procedure_version_model(version).agency_kinds:
            kinds.setdefault(kind.key, kind.label)
    return list(kinds.items())


@dataclass
class FigureFilter:
    """The list narrowed to the challenges behind one figure of a report (``?figure=`` and the report's
    period and filters), with the way back to the report."""

    figure: str
    words: str  # the figure in words
    period: str
    keep: dict[str, str]  # the report's parameters, kept by the list's own filter form
    report_url: str
    error: str = ""

    @property
    def query(self) -> str:
        """The report's parameters as a query string: the list behind the figure with no filter of its own."""
        return urlencode(self.keep)


@dataclass
class ChallengeListPage:
    form: ChallengeFilterForm
    page: Page
    rows: list[ChallengeRow]
    total: int
    figure: FigureFilter | None = None
    total_words: str = ""


REPORT_PARAMS = (
    "figure",
    "year",
    "quarter",
    "month",
    "from",
    "to",
    "track",
    "procedure",
    "team",
    "chair",
    "theme",
)


def _figure_filter(
    *, user: User, params: QueryDict, today: dt.date
) -> tuple[FigureFilter | None, set[int] | None]:
    """The challenges behind a report's figure, when the list was opened from one; none match a
    figure that cannot be worked out (a bad period, or a role without reports), and it says why."""
    figure = (params.get("figure") or "").strip()[:300]
    if not figure:
        return None, None
    keep = {key: str(params.get(key)) for key in REPORT_PARAMS if params.get(key)}
    report_url = "/reports/?" + urlencode({key: value for key, value in keep.items() if key != "figure"})
    try:
        period = period_parse(params, today=today)
        members, report, names = report_members(
            user=user, period=period, filters=filters_parse(params), figure=figure, today=today
        )
    except ServiceError as error:
        return FigureFilter(figure, figure, "", keep, report_url, error.message), set()
    return FigureFilter(figure, figure_words(figure, report, names), period.label, keep, report_url), members


def challenge_list_page(
    *,
    user: User,
    params: QueryDict,
    today: dt.date,
    worklist: str | None = None,
    default_status: str = "",
    default_sort: str = "raised",
) -> ChallengeListPage:
    stages, procedures = _filter_choices()
    figure, within = _figure_filter(user=user, params=params, today=today)
    form = ChallengeFilterForm(
        params,
        stages=stages,
        procedures=procedures,
        teams=[(str(team.pk), team.name) for team in social_work_teams()],
        chairs=selectors.people_with_roles(roles={"iro", "cp_chair"}),
        default_status=default_status,
        default_sort=default_sort,
        # Opened from a report's figure, a "team" or "chair" in the address is the report's filter
        # (kept for the way back); the figure's challenges are already narrowed by it.
        reserved=set(figure.keep) if figure is not None else set(),
        agency_kinds=_agency_kind_choices(),
    )
    challenges = selectors.challenge_search(
        user=user, today=today, worklist=worklist, within=within, **form.filters()
    )
    page = paginate(challenges, params.get("page"))
    # The list names each child: one access-log row for the page (home's queues and /challenges/).
    access_record_list(user=user, children=[challenge.child for challenge in page.object_list])
    paginator = page.paginator
    return ChallengeListPage(
        form=form,
        page=page,
        rows=challenge_rows(page.object_list, today),
        total=paginator.count,
        total_words=getattr(paginator, "count_words", str(paginator.count)),
        figure=figure,
    )


# -- children ------------------------------------------------------------------------------------


def child_rows(page: Page) -> list[Child]:
    return list(page.object_list)


@dataclass
class ChronologyEntry:
    on: dt.date
    what: str
    stage: str
    detail: str
    by: str
    challenge_id: int


def _people_in(detail: events.Detail) -> set[str]:
    """The usernames an event's detail names, to be shown by name."""
    match detail:
        case events.HandedOver():
            return {detail.leaver, detail.successor}
        case events.DeadlineExtended():
            return {detail.agreed_by}
        case events.AgreementRequested():
            return {detail.person}
        case events.MeetingRequested():
            return {detail.chair}
    return set()


def _event_detail(detail: events.Detail, names: Mapping[str, str]) -> str:
    """The one line a timeline shows beside an event, from its typed detail; people by name."""

    def name(username: str) -> str:
        return names.get(username, username)

    match detail:
        case events.Raised() as detail:
            return detail.concern
        case events.Escalated() as detail:
            return detail.reason
        case events.ResponseRecorded() as detail:
            text = detail.response_label
            if detail.on_behalf_of:
                text = f"{detail.on_behalf_of}: {text}"
            if detail.comments:
                text += f": {detail.comments}"
            if not detail.on_time:
                text += " (late)"
            return text
        case events.Resolved() as detail:
            return detail.outcome
        case events.Reopened() as detail:
            return detail.reason
        case events.Withdrawn() as detail:
            return detail.reason
        case events.CafcassReferred() as detail:
            return ("Urgent. " if detail.urgent else "") + detail.reason
        case events.ActionUpdated() as detail:
            return f"Marked {detail.status.replace('_', ' ')}" + (
                f": {detail.reason}" if detail.reason else ""
            )
        case events.MeetingRecorded() as detail:
            return detail.summary
        case events.FinalCommentsAdded() as detail:
            return detail.comments
        case events.LearningPointsAdded() as detail:
            return detail.learning_points
        case events.HandedOver() as detail:
            return (
                f"From {name(detail.leaver)} to {name(detail.successor)} ({hand_over_words(detail)}): "
                f"{detail.reason}"
            )
        case events.ActionAdded() as detail:
            return f"{detail.action} (by {detail.owner}, by {govuk_date(detail.due)})"
        case events.ActionRedated() as detail:
            return f"Now due {govuk_date(detail.to_due)} (was {govuk_date(detail.from_due)}): {detail.reason}"
        case events.DeadlineExtended() as detail:
            return (
                f"Response now due {govuk_date(detail.to_due)} (was {govuk_date(detail.from_due)}), "
                f"agreed by {name(detail.agreed_by)}: {detail.reason}"
            )
        case events.AgreementRequested() as detail:
            return f"{name(detail.person)}: {detail.note}"
        case events.AgreementAnswered() as detail:
            text = events.AGREEMENT_ANSWERS.get(detail.answer, detail.answer)
            return f"{text}: {detail.comments}" if detail.comments else text
        case events.MeetingRequested() as detail:
            return f"For {govuk_date(detail.scheduled_for)}, chaired by {name(detail.chair)}"
        case events.AgencyAsked() as detail:
            by = govuk_date(detail.due_on) if detail.due_on else "no set date"
            return (
                f"Sent to {detail.contact_name}, {detail.contact_role}, {detail.agency} "
                f"({detail.contact_email}); reply by {by}"
            )
        case unknown:
            assert_never(unknown)


def action_owner_words(action: Action) -> str:
    """Who owns an action, by name: a person in Resolve through their account (``owner_user``, read
    with the action), a named outsider as typed."""
    return _full_name(action.owner_user) if action.owner_user_id is not None else action.owner


def _full_name(user: Any) -> str:
    if user is None:
        return "Resolve (automatic)"
    return f"{user.first_name} {user.last_name}".strip() or user.get_username()


def chronology(events: Iterable[Event], procedures: Mapping[int, Procedure]) -> list[ChronologyEntry]:
    rows = [(event, detail_from_json(event.type, event.detail)) for event in events]
    names = selectors.people_named(usernames=set().union(*(_people_in(detail) for _event, detail in rows)))
    entries = []
    for event, detail in rows:
        procedure = procedures.get(event.challenge_id)
        stage = ""
        if procedure is not None and event.stage_key and procedure.has_stage(event.stage_key):
            stage = procedure.stage(event.stage_key).name
        entries.append(
            ChronologyEntry(
                on=event.on,
                what=EVENT_WORDS.get(event.type, event.type),
                stage=stage,
                detail=_event_detail(detail, names),
                by=_full_name(event.by),
                challenge_id=event.challenge_id,
            )
        )
    return entries


@dataclass
class ChildPage:
    child: Child
    rows: list[ChallengeRow]
    chronology: list[ChronologyEntry]
    can_raise: bool
    concerns: list[selectors.ConcernRow] = field(default_factory=list)
    cafcass_referrals: list[Any] = field(default_factory=list)
    # Whether the Cafcass referral page (with no challenge) is for this person: the IRO, the role the
    # procedure names to complete the form, the IRO's manager, or someone asked.
    cafcass_link: bool = False


def child_page(*, user: User, case_number: str, today: dt.date) -> ChildPage:
    """Raises ``NotVisible`` for a child this person may not see."""
    child = child_get_for_user(user=user, case_number=case_number)
    challenges = list(
        selectors.challenge_search(user=user, today=today, child=child.case_number, sort="raised")
    )
    procedures = {c.pk: procedure_version_model(c.policy) for c in challenges}
    events = selectors.child_chronology(child=child, user=user)
    return ChildPage(
        child=child,
        rows=challenge_rows(challenges, today),
        chronology=chronology(events, procedures),
        can_raise=bool(raise_tracks(user=user, child=child)),
        concerns=selectors.child_concerns(child=child),
        cafcass_referrals=selectors.child_cafcass_referrals(child=child),
        cafcass_link=bool(child_cafcass_roles(user=user, child=child)),
    )


# -- a Cafcass referral with no challenge (seeds 000 and 004) -------------------------------------
def child_cafcass_procedure() -> tuple[Any, Procedure]:
    """The authority's IRO-track procedure, which decides a referral with no challenge."""
    version = procedure_get(key=settings.RESOLVE_DEFAULT_POLICY)
    return version, procedure_version_model(version)


def child_cafcass_roles(*, user: User, child: Child) -> set[str]:
    """What this person is to a referral of the child's case with no challenge: ``refer`` (the IRO, or the
    role the procedure names to complete the form), ``ask`` (the IRO or their manager), ``asked``."""
    _, procedure = child_cafcass_procedure()
    if "iro" not in procedure.tracks or "iro" not in procedure.cafcass.tracks:
        return set()
    actor = selectors.challenge_actor(
        user=user, child=child, track="iro", procedure=procedure, stage_key=None
    )
    roles = set()
    completer = procedure.cafcass.form_completed_by
    if actor.is_(engine.CAFCASS_FORM if completer else engine.CHAIR):
        roles.add("refer")
    if actor.is_(engine.CHAIR, engine.CHAIR_MANAGER) and procedure.cafcass.requires:
        roles.add("ask")
    if any(a.person_id == user.pk for a in selectors.child_cafcass_agreements(child=child)):
        roles.add("asked")
    return roles


@dataclass
class ChildCafcassPage:
    child: Child
    procedure: Procedure
    roles: set[str]
    referrals: list[Any]
    # Each request: (number, what it is about, the person, asked on, tag, answered on, comments).
    requests: list[tuple[int, str, str, dt.date, Tag, dt.date | None, str]]
    preconditions: list[tuple[str, str, str]]
    preconditions_unmet: list[str]
    subjects: list[tuple[str, str]]
    people: list[tuple[str, str]]
    waiting_for_me: list[tuple[str, str]]
    checklist: list[tuple[str, str]]
    required_checklist: list[str]
    urgent_before: str
    form_completer: str
    # Why no referral can be made here at all (the procedure refers only from a stage of a challenge).
    challenge_first: str


def child_cafcass_page(*, user: User, case_number: str) -> ChildCafcassPage:
    """Raises ``NotVisible`` for a child this person may not see."""
    child = child_get_for_user(user=user, case_number=case_number)
    _, procedure = child_cafcass_procedure()
    cafcass = procedure.cafcass
    agreements = selectors.child_cafcass_agreements(child=child)
    spent = selectors.child_cafcass_state(child=child, agreements=agreements).spent
    fresh = [a for a in agreements if a.number > spent]
    return ChildCafcassPage(
        child=child,
        procedure=procedure,
        roles=child_cafcass_roles(user=user, child=child),
        referrals=selectors.child_cafcass_referrals(child=child),
        requests=[
            (
                a.number,
                agreement_words(procedure, a),
                a.person.get_full_name() or a.person.get_username(),
                a.requested_on,
                TOLD if a.kind == "inform" else AGREEMENT_TAGS[a.status],
                a.answered_on,
                a.comments,
            )
            for a in agreements
        ],
        preconditions=[(p.key, p.label, precondition_status(p.key, p.kind, fresh)) for p in cafcass.requires],
        preconditions_unmet=[
            f"{p.label}: {precondition_status(p.key, p.kind, fresh)}"
            for p in cafcass.requires
            if not precondition_met(p.key, p.kind, fresh)
        ],
        subjects=[(p.key, f"{p.label} ({role_label(p.role)})") for p in cafcass.requires],
        people=selectors.people_with_roles(roles={p.role for p in cafcass.requires})
        if cafcass.requires
        else [],
        waiting_for_me=[
            (
                str(a.number),
                f"Request {a.number}, {govuk_date(a.requested_on)}: {agreement_words(procedure, a)}",
            )
            for a in agreements
            if a.status == "pending" and a.kind == "agree" and a.person_id == user.pk
        ],
        checklist=[
            (item.key, item.label + (" (required)" if item.required else " (if it applies)"))
            for item in cafcass.checklist
        ],
        required_checklist=[item.key for item in cafcass.checklist if item.required],
        urgent_before=procedure.stage(cafcass.urgent_before_stage).name
        if cafcass.urgent_before_stage
        else "",
        form_completer=role_label(cafcass.form_completed_by) if cafcass.form_completed_by else "",
        challenge_first=(
            f"{procedure.name} refers to Cafcass only once a challenge has reached "
            f"{procedure.stage(cafcass.earliest_stage).name}: raise a challenge first."
            if cafcass.earliest_stage
            else ""
        ),
    )


def child_detail_rows(child: Child) -> list[tuple[str, Any]]:
    return [
        ("Name", child.full_name),
        ("Case number", child.case_number),
        ("Date of birth", govuk_date(child.date_of_birth)),
        ("Social worker", _full_name(child.social_worker)),
        ("Team", child.team.name),
        ("IRO", _full_name(child.iro) if child.iro_id else "None allocated"),
        ("CP Chair", _full_name(child.cp_chair) if child.cp_chair_id else "None allocated"),
    ]


# -- raising a challenge -------------------------------------------------------------------------

TRACK_WORDS = {
    "iro": "As the child's IRO (looked-after child)",
    "cpc": "As the child's CP Chair (child protection or child in need)",
}


def raise_tracks(*, user: User, child: Child) -> list[tuple[str, str]]:
    """The tracks this person chairs for the child: only the allocated chair raises a challenge."""
    tracks = []
    if child.iro_id == user.pk:
        tracks.append(("iro", TRACK_WORDS["iro"]))
    if child.cp_chair_id == user.pk:
        tracks.append(("cpc", TRACK_WORDS["cpc"]))
    return tracks


def raise_procedures(
    tracks: Iterable[str] | None = None, *, partner_agency: bool | None = None
) -> list[tuple[str, str]]:
    """The procedures a challenge can follow: those loaded from the authority's procedure folder
    (``RESOLVE_POLICY_DIR``) that cover one of ``tracks``, by name (the source is on its own page).

    ``partner_agency``: only the partner agency procedures (True), or only the authority's own (False)."""
    wanted = None if tracks is None else set(tracks)
    found = []
    for version in procedure_list():
        procedure = procedure_version_model(version)
        if wanted is not None and not wanted & set(procedure.tracks):
            continue
        if partner_agency is not None and procedure.partner_agency != partner_agency:
            continue
        found.append((version.key, version.name))
    return found


@dataclass
class StagePeople:
    """Who a stage would go to, be copied to and be told of, by name and role."""

    to: list[str]
    copied: list[str]
    told: list[str]


def raise_people(*, child: Child, track: str, procedure: Procedure, stage_key: str) -> StagePeople:
    """The people a challenge raised at ``stage_key`` would go to: the same rule the write path uses
    when it enters the stage (the child's line, ``child_line``, read once), shown before anything is
    recorded."""
    stage = procedure.stage(stage_key)
    line = child_line(child=child, track=track)

    def named(roles: Iterable[str]) -> list[str]:
        people = []
        for role in roles:
            holders = line.holders(role)
            people += [f"{_full_name(user)} ({role_label(role)})" for user in holders] or [
                f"No one holds the post of {role_label(role)}"
            ]
        return people

    return StagePeople(
        to=named([stage.to_role] if stage.to_role else []),
        copied=named(stage.cc_roles),
        told=named(stage.notify_roles),
    )


def action_owner_people(*, child: Child, track: str, procedure: Procedure) -> list[tuple[str, str]]:
    """``(username, "Name, role")``, by name: who may own an action agreed when raising a challenge for
    ``child``: the child's social worker and chair, whoever holds a role any stage of ``procedure`` goes
    to or is copied to for this child (the child's line, read once), and the chairs' managers."""
    line = child_line(child=child, track=track)
    roles: dict[str, None] = dict.fromkeys(("social_worker", CHAIR_ROLE_FOR_TRACK[track]))
    for stage in procedure.stages:
        # A partner agency's stage goes to its contact, not to a role in Resolve (``to_role`` is None).
        roles.update(dict.fromkeys(role for role in (stage.to_role, *stage.cc_roles) if role))
    held: dict[str, tuple[User, list[str]]] = {}
    for role in roles:
        for user in line.holders(role):
            held.setdefault(user.get_username(), (user, []))[1].append(role_label(role))
    people = {
        username: f"{_full_name(user)}, {'; '.join(labels)}" for username, (user, labels) in held.items()
    }
    for username, label in selectors.people_with_roles(roles=set(CHAIR_MANAGER_ROLES)):
        people.setdefault(username, label)
    return sorted(people.items(), key=lambda item: item[1])


def procedure_for(key: str) -> Procedure | None:
    for version in procedure_list():
        if version.key == key:
            return procedure_version_model(version)
    return None


def bypass_people(procedure: Procedure) -> list[tuple[str, str]]:
    roles = {rule for stage in procedure.stages if (rule := procedure.bypass_rule(stage.key))}
    return selectors.people_with_roles(roles=roles) if roles else []


def needs_briefing(stages: Iterable[Any]) -> list[str]:
    return [stage.name for stage in stages if "directors_briefing" in stage.documents]


def briefing_field_names() -> list[str]:
    return [f"briefing_{item.key}" for item in DIRECTORS_BRIEFING_FIELDS]


# -- the challenge page --------------------------------------------------------------------------


@dataclass
class VisitRow:
    stage: str
    entered_on: dt.date
    due_on: dt.date | None
    left_on: dt.date | None
    left_how: str
    to: list[str]
    copied: list[str]
    response: str
    responded_on: dt.date | None
    timing: Tag
    extended_from: dt.date | None = None
    procedure_due_on: dt.date | None = None


TIMING_TAGS: dict[Timing, Tag] = {
    Timing.NO_TIMESCALE: Tag("No timescale", "grey"),
    Timing.ON_TIME: Tag("On time", "green"),
    Timing.LATE: Tag("Late", "red"),
    Timing.MISSED: Tag("No response in time", "red"),
    Timing.NOT_ANSWERED: Tag("No response", "grey"),
    Timing.OVERDUE: Tag("Overdue", "red"),
    Timing.WAITING: Tag("Waiting", "blue"),
}


def _timing(visit: Any, today: dt.date, calendar: WorkingDays) -> Tag:
    timing = stage_timing(
        due_on=visit.due_on,
        responded_on=visit.responded_on,
        left_on=visit.left_on,
        today=today,
        calendar=calendar,
    )
    # A response by a date moved by an agreed extension is within the extension, not on time.
    if timing is Timing.ON_TIME and getattr(visit, "extended_from", None) is not None:
        return Tag("Within extension", "purple")
    if timing is Timing.NOT_ANSWERED:
        # Not "No response": nobody was late, the stage moved on before its response was due.
        how = LEFT_WORDS.get(visit.left_how, "Left")
        return Tag(f"{how} before its due date", "grey")
    return TIMING_TAGS[timing]


@dataclass
class ChallengePage:
    challenge: Challenge
    procedure: Procedure
    tag: Tag
    cap_tag: Tag | None
    stage: str
    visits: list[VisitRow]
    actions: list[tuple[Any, Tag, str]]  # the action, its status, its owner's name
    available: set[str]
    themes: list[str]
    names: dict[str, str]
    summary_rows: list[tuple[str, Any]] = field(default_factory=list)
    outcome_rows: list[tuple[str, Any]] = field(default_factory=list)
    cafcass_rows: list[tuple[str, Any]] = field(default_factory=list)
    briefings: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)
    agreements: list[AgreementRow] = field(default_factory=list)
    # Each response with its words as the procedure words them (seed 000's "Don't agree & ...").
    responses: list[tuple[Any, str]] = field(default_factory=list)
    # Each meeting, with the people in Resolve invited or there, by name, and the outsiders as written.
    meetings: list[tuple[Any, list[str]]] = field(default_factory=list)

    @property
    def steps(self) -> list[Transition[Any]]:
        """What "What you can do now" offers, the one that waits on this person first (a button; the
        rest are links, so the block stays short on a phone): their answer to a request for agreement,
        then their response, then the others in the order they are declared. Changes to one agreed
        action are made beside it, under "Actions"."""
        offered = [
            transition
            for key, transition in TRANSITIONS.items()
            if key in self.available and key not in PER_ACTION
        ]
        return sorted(
            offered, key=lambda t: FIRST_STEPS.index(t.key) if t.key in FIRST_STEPS else len(FIRST_STEPS)
        )

    @property
    def updates_actions(self) -> bool:
        return bool(self.available & PER_ACTION) and bool(self.actions)


def challenge_page(*, user: User, challenge_id: int, today: dt.date) -> ChallengePage:
    """Raises ``NotVisible`` for a challenge this person may not see."""
    challenge = selectors.challenge_page(
        challenge=challenge_get_for_user(user=user, challenge_id=challenge_id)
    )
    procedure = procedure_version_model(challenge.policy)
    visits = list(challenge.visits.all())
    usernames = {name for visit in visits for name in (*visit.to_users, *visit.cc_users)}
    meetings = list(challenge.meetings.all())
    usernames |= {name for meeting in meetings for name in meeting.attendees}
    referral = getattr(challenge, "cafcass_referral", None)
    if referral is not None:
        usernames |= set(referral.preconditions.values())
    names = selectors.people_named(usernames=usernames)

    def named(usernames: Iterable[str]) -> list[str]:
        return [names.get(u, u) for u in usernames]

    calendar = working_calendar(Nation(procedure.nation))
    rows = [
        VisitRow(
            stage=procedure.stage(v.stage_key).name
            if procedure.has_stage(v.stage_key)
            else stage_label(v.stage_key),
            entered_on=v.entered_on,
            due_on=v.due_on,
            left_on=v.left_on,
            left_how=LEFT_WORDS.get(v.left_how, v.left_how),
            # A partner agency's stage went to its contact there (no account): name them.
            to=[f"{v.contact_name}, {v.contact_role}, {challenge.agency} ({v.contact_email})"]
            if v.contact_email
            else named(v.to_users),
            copied=named(v.cc_users),
            response=procedure.response_label(v.response, RESPONSES.get(v.response, ""))
            if v.response
            else "",
            responded_on=v.responded_on,
            timing=_timing(v, today, calendar),
            extended_from=v.extended_from,
            procedure_due_on=v.procedure_due_on,
        )
        for v in visits
    ]
    theme_words = {theme.key: theme.label for theme in procedure.themes}
    past_cap = cap_tag(challenge, today)
    child = challenge.child
    summary = [
        ("Child", f"{child.full_name} ({child.case_number})"),
        ("Date of birth", govuk_date(child.date_of_birth)),
        ("Social worker", f"{_full_name(child.social_worker)}, {child.team.name}"),
        ("Raised by", _full_name(challenge.raised_by)),
        ("Date of notification", govuk_date(challenge.raised_on)),
        ("Procedure", procedure.name),
        *_agency_rows(challenge, procedure),
        ("What are we worried about?", challenge.concern),
        ("Outcome and impact for the child", challenge.impact_on_child),
        (
            "What the agency is asked to do" if challenge.agency else "Outcome asked for",
            challenge.desired_outcome,
        ),
        ("Themes", [theme_words.get(key, key) for key in challenge.themes]),
        (
            "Formal process due to end by",
            govuk_date(challenge.formal_due_on)
            + (" (past the formal limit)" if past_cap is not None else ""),
        ),
        *_trigger_rows(challenge, procedure),
    ]
    outcome = [
        ("Outcome", challenge.outcome),
        ("Resolved on", govuk_date(challenge.resolved_on)),
        ("Key learning points", challenge.learning_points),
        ("Final comments", challenge.final_comments),
        ("Final comments added on", govuk_date(challenge.final_comments_on)),
    ]
    cafcass_rows: list[tuple[str, Any]] = []
    if referral is not None:
        checklist = {item.key: item.label for item in procedure.cafcass.checklist}
        preconditions = {item.key: item.label for item in procedure.cafcass.requires}
        cafcass_rows = [
            ("Referred on", govuk_date(referral.on)),
            ("Urgent", "Yes" if referral.urgent else "No"),
            ("Reason", referral.reason),
            (
                "Agreed or told",
                [f"{preconditions.get(k, k)}: {names.get(u, u)}" for k, u in referral.preconditions.items()],
            ),
            (
                "Documents",
                [
                    f"{checklist.get(k, k)}: {'included' if v else 'missing'}"
                    for k, v in referral.checklist.items()
                ],
            ),
        ]
    # Seed 002 Appendix B: "the Director's briefing note must also be completed"; here it can be read.
    briefings = [
        (
            f"Completed {govuk_date(document.on)} by {_full_name(document.by)}",
            directors_briefing_rows(document.content),
        )
        for document in challenge.document_records.all()
        if document.kind == "directors_briefing"
    ]
    return ChallengePage(
        challenge=challenge,
        procedure=procedure,
        briefings=briefings,
        tag=challenge_tag(challenge, today),
        cap_tag=past_cap,
        stage=procedure.stage(challenge.stage_key).name if challenge.stage_key else "",
        visits=rows,
        actions=[
            (
                action,
                Tag(action.get_status_display(), ACTION_COLOURS[Action.Status(action.status)]),
                action_owner_words(action),
            )
            for action in challenge.actions.all()
        ],
        available=_offered(user, challenge),
        themes=[theme_words.get(key, key) for key in challenge.themes],
        names=names,
        summary_rows=summary,
        outcome_rows=outcome,
        cafcass_rows=cafcass_rows,
        responses=[(r, procedure.response_label(r.response, r.label)) for r in challenge.responses.all()],
        meetings=[(meeting, [*named(meeting.attendees), *meeting.outsiders]) for meeting in meetings],
        agreements=agreement_rows(
            procedure, challenge.agreements.select_related("person", "requested_by").order_by("number")
        ),
    )


def _agency_rows(challenge: Challenge, procedure: Procedure) -> list[tuple[str, Any]]:
    """A challenge to a partner agency (seed 000 section 2): the agency, and who has it now."""
    if not challenge.agency:
        return []
    rows: list[tuple[str, Any]] = [
        ("Challenge to", [challenge.agency, procedure.agency_kind_label(challenge.agency_kind)])
    ]
    visits = list(challenge.visits.all())  # prefetched, in order
    current = visits[-1] if visits else None
    if challenge.stage_key and current is not None and current.contact_email:
        rows.append(
            (
                "Contact at the agency",
                [f"{current.contact_name}, {current.contact_role}", current.contact_email],
            )
        )
    return rows


def _trigger_rows(challenge: Challenge, procedure: Procedure) -> list[tuple[str, Any]]:
    """The review that triggered the challenge, the chair's own deadline from it, the concern it carries."""
    rows: list[tuple[str, Any]] = [
        (
            "Triggered by",
            f"{events.REVIEWS.get(challenge.trigger_review, challenge.trigger_review)}, "
            f"{govuk_date(challenge.trigger_review_on)}"
            if challenge.trigger_review
            else "Not from a review",
        )
    ]
    if challenge.chair_due_on is not None:
        rule = procedure.stages[0].chair_deadline
        late = challenge.raised_on > challenge.chair_due_on
        rows.append(
            (
                rule.description if rule is not None else "Chair's deadline",
                f"Due by {govuk_date(challenge.chair_due_on)}; "
                + (f"done late, on {govuk_date(challenge.raised_on)}" if late else "done on time"),
            )
        )
    if challenge.from_concern_id is not None:
        rows.append(("Carries the concern", "Recorded earlier on the child's record"))
    return rows


# -- one action on a challenge -------------------------------------------------------------------


# The changes a page offers, in the words their declarations give (title, button, confirmation).
TRANSITIONS: dict[str, Transition[Any]] = {
    transition.key: transition for transition in engine.TRANSITIONS if transition.key != "raise"
}


@dataclass
class TransitionContext:
    challenge: Challenge
    procedure: Procedure
    available: set[str]
    later_stages: list[tuple[str, str]] = field(default_factory=list)
    people: list[tuple[str, str]] = field(default_factory=list)
    briefing_for: list[str] = field(default_factory=list)
    # Each Cafcass precondition: its label and where its request stands (asked, confirmed...).
    preconditions: list[tuple[str, str, str]] = field(default_factory=list)
    # The preconditions not met yet, in words: the referral form lists them with its other errors.
    preconditions_unmet: list[str] = field(default_factory=list)
    checklist: list[tuple[str, str]] = field(default_factory=list)
    # What agreement may be asked for (cafcass:<key> or bypass:<stage>), who may be asked, and the
    # requests waiting for this person's answer.
    agreement_subjects: list[tuple[str, str]] = field(default_factory=list)
    agreement_people: list[tuple[str, str]] = field(default_factory=list)
    waiting_for_me: list[tuple[str, str]] = field(default_factory=list)
    form_completer: str = ""
    # Seed 000: "Consideration given to notifying Chief Executive", asked on escalating to that stage.
    optional_notify: str = ""
    # Meetings: the stage's (key, title), who may chair, who may be invited, and the requested
    # meetings whose minutes this person records.
    meeting_choices: list[tuple[str, str]] = field(default_factory=list)
    meeting_chairs: list[tuple[str, str]] = field(default_factory=list)
    meeting_people: list[tuple[str, str]] = field(default_factory=list)
    my_meetings: list[tuple[str, str]] = field(default_factory=list)
    meeting_invited: list[str] = field(default_factory=list)  # ticked at first: the meeting's roles
    urgent_before: str = ""
    stage_name: str = ""
    # The stage a resolved challenge would re-enter, when it needs a Director's briefing it lacks.
    reopen_briefing_for: str = ""
    # People who may own an action or agree an extension: the child's line as the challenge met it.
    line_people: list[tuple[str, str]] = field(default_factory=list)
    required_checklist: list[str] = field(default_factory=list)
    urgent_required: bool = False
    respond_rows: list[tuple[str, Any]] = field(default_factory=list)


def transition_context(*, user: User, challenge_id: int, today: dt.date) -> TransitionContext:
    """What a transition's form needs; raises ``NotVisible`` for a challenge this person may not see."""
    challenge = selectors.challenge_page(
        challenge=challenge_get_for_user(user=user, challenge_id=challenge_id)
    )
    procedure = procedure_version_model(challenge.policy)
    later = procedure.stages[procedure.order(challenge.stage_key) :] if challenge.stage_key else []
    cafcass = procedure.cafcass
    agreements = list(challenge.agreements.select_related("person").order_by("number"))
    subjects, roles = agreement_subjects(procedure, challenge)
    mine = [
        (str(a.number), f"Request {a.number}, {govuk_date(a.requested_on)}: {agreement_words(procedure, a)}")
        for a in agreements
        if a.status == "pending" and a.person_id == user.pk
    ]
    return TransitionContext(
        challenge=challenge,
        procedure=procedure,
        available=_offered(user, challenge),
        later_stages=[(stage.key, stage.name) for stage in later],
        people=bypass_people(procedure),
        briefing_for=needs_briefing(later),
        preconditions=[
            (p.key, p.label, precondition_status(p.key, p.kind, agreements)) for p in cafcass.requires
        ],
        preconditions_unmet=[
            f"{p.label}: {precondition_status(p.key, p.kind, agreements)}"
            for p in cafcass.requires
            if not precondition_met(p.key, p.kind, agreements)
        ],
        agreement_subjects=subjects,
        agreement_people=selectors.people_with_roles(roles=roles) if roles else [],
        waiting_for_me=mine,
        form_completer=role_label(cafcass.form_completed_by) if cafcass.form_completed_by else "",
        optional_notify=" ".join(
            f"If you escalate to {stage.name}: should "
            + " and ".join(f"the {role_label(role)}" for role in stage.optional_notify_roles)
            + " be told?"
            for stage in later
            if stage.optional_notify_roles
        ),
        **meeting_context(user=user, challenge=challenge, procedure=procedure),
        checklist=[
            (item.key, item.label + (" (required)" if item.required else " (if it applies)"))
            for item in cafcass.checklist
        ],
        urgent_before=procedure.stage(cafcass.urgent_before_stage).name
        if cafcass.urgent_before_stage
        else "",
        stage_name=procedure.stage(challenge.stage_key).name if challenge.stage_key else "",
        reopen_briefing_for=_reopen_briefing_for(challenge, procedure),
        line_people=_line_people(challenge),
        required_checklist=[item.key for item in cafcass.checklist if item.required],
        urgent_required=cafcass.urgent_before_stage is not None
        and selectors.challenge_state(challenge=challenge).highest_order_reached(procedure)
        < procedure.order(cafcass.urgent_before_stage),
        respond_rows=_respond_rows(challenge, procedure, today),
    )


# The changes made to one agreed action from beside it on the challenge page, not from the buttons.
PER_ACTION = frozenset({"mark_action", "redate_action"})
# What waits on the person themselves leads "What you can do now": their answer, then their response.
FIRST_STEPS = ("answer_agreement", "respond")


def _line_people(challenge: Challenge) -> list[tuple[str, str]]:
    """``(username, "Name, role")``: the child's social worker and chair, the people every stage went to
    or was copied to, and the chairs' managers; those who may own an action or agree an extension."""
    child = challenge.child
    usernames = {name for visit in challenge.visits.all() for name in (*visit.to_users, *visit.cc_users)}
    for person in (child.social_worker, child.iro if challenge.track == "iro" else child.cp_chair):
        if person is not None:
            usernames.add(person.get_username())
    managers = dict(selectors.people_with_roles(roles=set(CHAIR_MANAGER_ROLES)))
    names = selectors.people_named(usernames=usernames - set(managers))
    people = sorted(names.items(), key=lambda item: item[1])
    return people + sorted(managers.items(), key=lambda item: item[1])


def _reopen_briefing_for(challenge: Challenge, procedure: Procedure) -> str:
    if challenge.status != Challenge.Status.RESOLVED or "directors_briefing" in challenge.documents:
        return ""
    last = selectors.challenge_state(challenge=challenge).last_exited_stage
    if last is None:
        return ""
    names = needs_briefing([procedure.stage(procedure.reentry_for(last))])
    return names[0] if names else ""


# -- requests for agreement (seeds 001, 002, 003) --------------------------------------------------
AGREEMENT_TAGS: dict[str, Tag] = {
    "pending": Tag("Waiting for an answer", "blue"),
    "confirmed": Tag("Confirmed", "green"),
    "declined": Tag("Declined", "red"),
}
TOLD = Tag("Told", "grey")


def agreement_words(procedure: Procedure, agreement: Any) -> str:
    """What a request is about, in words."""
    if agreement.purpose == "bypass":
        name = procedure.stage(agreement.key).name if procedure.has_stage(agreement.key) else agreement.key
        return f"going straight to {name}"
    labels = {item.key: item.label for item in procedure.cafcass.requires}
    return f"Cafcass referral: {labels.get(agreement.key, agreement.key)}"


def agreement_subjects(procedure: Procedure, challenge: Challenge) -> tuple[list[tuple[str, str]], set[str]]:
    """What the chair may ask agreement for now, as ``purpose:key`` choices, and the roles to ask."""
    subjects: list[tuple[str, str]] = []
    roles: set[str] = set()
    if challenge.track in procedure.cafcass.tracks and challenge.cafcass_referred_on is None:
        for item in procedure.cafcass.requires:
            told = "tell" if item.kind == "inform" else "agree"
            subjects.append((f"cafcass:{item.key}", f"Cafcass referral ({told}): {item.label}"))
            roles.add(item.role)
    if challenge.stage_key:
        for stage in procedure.stages[procedure.order(challenge.stage_key) + 1 :]:
            rule = procedure.bypass_rule(stage.key)
            if rule:
                subjects.append((f"bypass:{stage.key}", f"Going straight to {stage.name}"))
                roles.add(rule)
    return subjects, roles


def _latest_request(key: str, agreements: list[Any]) -> Any | None:
    """The latest request about a Cafcass precondition, if any was made."""
    asked = [a for a in agreements if a.purpose == "cafcass" and a.key == key]
    return asked[-1] if asked else None


def precondition_met(key: str, kind: str, agreements: list[Any]) -> bool:
    """Whether the latest request about a Cafcass precondition lets the referral go ahead: confirmed,
    or (for "inform before") sent."""
    last = _latest_request(key, agreements)
    return last is not None and (kind == "inform" or last.status == "confirmed")


def precondition_status(key: str, kind: str, agreements: list[Any]) -> str:
    """Where a Cafcass precondition stands, from the latest request about it."""
    last = _latest_request(key, agreements)
    if last is None:
        return (
            "Not asked yet: ask for agreement first" if kind == "agree" else "Not told yet: tell them first"
        )
    name = last.person.get_full_name() or last.person.get_username()
    if kind == "inform":
        return f"Told {name} on {govuk_date(last.requested_on)}"
    if last.status == "confirmed":
        return f"Confirmed by {name} on {govuk_date(last.answered_on)}"
    if last.status == "declined":
        return f"Declined by {name} on {govuk_date(last.answered_on)}: ask again or do not refer"
    return f"Asked {name} on {govuk_date(last.requested_on)}: waiting for their answer"


@dataclass
class AgreementRow:
    number: int
    about: str
    person: str
    requested: str
    tag: Tag
    answered: str
    note: str
    comments: str


def agreement_rows(procedure: Procedure, agreements: Iterable[Any]) -> list[AgreementRow]:
    """The requests for agreement on a challenge, for its page."""
    rows = []
    for a in agreements:
        answered = ""
        if a.answered_at is not None:
            answered = f"{govuk_date(a.answered_on)} (recorded at {timezone.localtime(a.answered_at):%H:%M})"
        rows.append(
            AgreementRow(
                number=a.number,
                about=capfirst(agreement_words(procedure, a)),
                person=f"{_full_name(a.person)}, {role_label(a.role)}",
                requested=f"{govuk_date(a.requested_on)} by {_full_name(a.requested_by)}",
                tag=Tag("Told", "grey")
                if a.kind == "inform" and a.status == "pending"
                else AGREEMENT_TAGS[a.status],
                answered=answered,
                note=a.note,
                comments=a.comments,
            )
        )
    return rows


# -- meetings (issue 9, section 3) ------------------------------------------------------------------
def meeting_context(*, user: User, challenge: Challenge, procedure: Procedure) -> dict[str, Any]:
    """What the meeting forms offer: the stage's meetings, who may chair them, who may be invited (the
    people in the child's line for the stage's and the meetings' roles), and the requested meetings
    whose minutes ``user`` records."""
    if not challenge.stage_key:
        return {}
    stage = procedure.stage(challenge.stage_key)
    meetings = stage.meetings()
    chair_roles = {role for m in meetings for role in (m.chair_role, m.minutes_by_role) if role}
    roles = {
        *([stage.to_role] if stage.to_role else []),
        *stage.cc_roles,
        *(role for m in meetings for role in m.attendee_roles),
    }
    roles.discard(CHAIR_ROLE_FOR_TRACK[challenge.track])
    people: dict[str, str] = {}
    for role in sorted(roles | chair_roles):
        for holder in child_role_holders(child=challenge.child, track=challenge.track, role=role):
            name = _full_name(holder)
            people.setdefault(holder.get_username(), f"{name}, {role_label(role)}")
    chairs = [
        (username, label)
        for username, label in people.items()
        if any(role_label(role) in label for role in chair_roles)
    ]
    requested = [m for m in challenge.meetings.all() if m.requested]
    # Held (its minutes point at it), or asked again with another chair (a leaver's, handed over).
    held = {m.request_id for m in challenge.meetings.all() if m.request_id is not None}
    mine = [
        (
            str(m.number),
            f"Meeting {m.number}, set for {govuk_date(m.scheduled_for)}: "
            f"{(stage.meeting_for(m.meeting_key) or meetings[0]).title if meetings else m.meeting_key}",
        )
        for m in requested
        if m.pk not in held and m.chair_id == user.pk and m.visit.stage_key == challenge.stage_key
    ]
    invited_roles = set(meetings[0].attendee_roles) if meetings else set()
    invited = [
        holder.get_username()
        for role in sorted(invited_roles)
        for holder in child_role_holders(child=challenge.child, track=challenge.track, role=role)
    ]
    return {
        "meeting_invited": list(dict.fromkeys(invited)),
        "meeting_choices": [(m.key, m.title) for m in meetings],
        "meeting_chairs": chairs,
        "meeting_people": list(people.items()),
        "my_meetings": mine,
    }


def _respond_rows(challenge: Challenge, procedure: Procedure, today: dt.date) -> list[tuple[str, Any]]:
    """What the respond page shows of what is asked: the concern, the impact, the actions, the date."""
    themes = {theme.key: theme.label for theme in procedure.themes}
    actions = list(challenge.actions.all())
    due = ""
    if challenge.stage_due_on is not None:
        calendar = working_calendar(Nation(procedure.nation))
        due = f"{govuk_date(challenge.stage_due_on)}"
        if challenge.stage_responded_on is None:
            due += f" ({due_words_short(challenge.stage_due_on, today, calendar)})"
    return [
        ("What are we worried about?", challenge.concern),
        ("Outcome and impact for the child", challenge.impact_on_child),
        ("Outcome asked for", challenge.desired_outcome),
        ("Themes", [themes.get(key, key) for key in challenge.themes]),
        (
            "Actions asked for",
            [f"{a.action}: by {action_owner_words(a)}, by {govuk_date(a.due)}" for a in actions],
        ),
        ("Response due", due or "No timescale"),
    ]


def due_words_short(due_on: dt.date, today: dt.date, calendar: WorkingDays) -> str:
    """``in 3 working days``, ``due today``, ``4 working days overdue``."""
    if past_due(due_on, today, calendar):
        late = calendar.working_days_between(due_on, today)
        return f"{late} working day{'s' if late != 1 else ''} overdue"
    if due_on <= today:
        return "due today" if due_on == today else "overdue from the next working day"
    ahead = calendar.working_days_between(today, due_on)
    return f"in {ahead} working day{'s' if ahead != 1 else ''}"


def not_available_words(challenge: Challenge, action: str, today: dt.date) -> str:
    """Why a change someone opened is not theirs to make now: the 403 page's sentence (the record
    itself is open to them; a record they may not see answers 404 instead)."""
    title = TRANSITIONS[action].title if action in TRANSITIONS else "This"
    if action == "respond" and challenge.stage_responded_on is not None:
        return (
            f"A response was already recorded at this stage on {govuk_date(challenge.stage_responded_on)}. "
            "The challenge page shows it."
        )
    if action == "refer_to_cafcass" and challenge.cafcass_referred_on is not None:
        return f"This challenge was referred to Cafcass on {govuk_date(challenge.cafcass_referred_on)}."
    if challenge.status != Challenge.Status.OPEN:
        return f"{title} is not possible now: the challenge is {challenge.get_status_display().lower()}."
    stage = procedure_version_model(challenge.policy).stage(challenge.stage_key).name
    return f"{title} is not yours to do now: the challenge is at {stage}."
