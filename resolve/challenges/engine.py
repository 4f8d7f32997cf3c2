"""The challenge engine: a pure function of (procedure, state, command, actor, today) → decision.

It owns every rule of the process: stage order, bypass (with a reason, and the procedure's agreement
rule), re-entry at the right stage, the formal cap, who may do what at each stage, Cafcass only on
the IRO track and only when the procedure's preconditions hold, and event dates that are never in the
future nor before the previous event. It touches no database: the services load a state, ask the
engine, and write what it decides.

A refusal says, in a sentence a person can act on, why the command cannot be carried out now.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Generic, Literal, TypeVar, assert_never

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from resolve.access.permissions import Perm
from resolve.calendars.types import WorkingDays
from resolve.challenges.events import (
    AGREEMENT_ANSWERS,
    AGREEMENT_PURPOSES,
    RESPONSES,
    REVIEWS,
    ActionAdded,
    ActionRedated,
    ActionUpdated,
    AgencyAsked,
    AgreementAnswered,
    AgreementRequested,
    CafcassReferred,
    DeadlineExtended,
    Escalated,
    Event,
    EventType,
    FinalCommentsAdded,
    HandedOver,
    LearningPointsAdded,
    MeetingRecorded,
    MeetingRequested,
    Raised,
    Reopened,
    Resolved,
    ResponseRecorded,
    Withdrawn,
)
from resolve.challenges.overdue import stage_overdue
from resolve.people.roles import ROLES, TRACK_LABELS, role_label
from resolve.procedures.schema import DOCUMENT_KINDS, Cafcass, Procedure, Stage

Track = Literal["iro", "cpc"]
Status = Literal["new", "open", "resolved", "withdrawn"]
ResponseKind = Literal["agree", "disagree", "no_remit"]
ActionStatus = Literal["open", "done", "not_done"]

TRACKS = TRACK_LABELS

# What a person may be to a challenge; the services work these out from the management line.
CHAIR = "chair"  # the child's allocated IRO (IRO track) or CP Chair (CP track)
RECIPIENT = "recipient"  # holds the current stage's "To" role in the child's line
CHAIR_MANAGER = "chair_manager"  # the chair's own Team or Service Manager
FINAL_COMMENTER = "final_commenter"  # holds the procedure's final-comments role in the chair's line
CHILD_WORKER = "child_worker"  # the child's social worker or their team manager, who carry out actions
SYSTEM = "system"  # Resolve itself, acting on a deadline the procedure tells it to act on
# Someone handing over a leaver's work (``services.leaver_hand_over``): never a button on a challenge.
HANDING_OVER = "handing_over"
CAFCASS_FORM = "cafcass_form"  # holds the role the procedure names to complete the Cafcass referral form


# -- state ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class AgencyContact:
    """The person at a partner agency a stage goes to (seed 000 section 2): emailed, with no account."""

    name: str
    role: str
    email: str

    def words(self, agency: str) -> str:
        return f"{self.name}, {self.role}, {agency} ({self.email})"


@dataclass(frozen=True, slots=True)
class Visit:
    """One time the challenge sat at a stage."""

    stage: str
    entered_on: dt.date
    due_on: dt.date | None
    left_on: dt.date | None = None
    left_how: str | None = None  # escalated | resolved | withdrawn
    response: str | None = None  # the latest response recorded at this visit
    responded_on: dt.date | None = None
    meetings: int = 0
    procedure_due_on: dt.date | None = None  # the procedure's date, when the chair set an earlier one
    extended_from: dt.date | None = None  # the response date before the first agreed extension
    extra_notify_roles: tuple[str, ...] = ()  # roles the chair chose to tell of this stage (seed 000)
    contact: AgencyContact | None = None  # on a partner agency's ladder: who the stage went to


@dataclass(frozen=True, slots=True)
class ActionState:
    id: int
    due: dt.date
    status: ActionStatus = "open"
    owner: str = ""  # the username of the person who owns it; empty for a named outsider


@dataclass(frozen=True, slots=True)
class AgreementState:
    """A request to a named person to agree to (or be told of) a bypass or a Cafcass referral."""

    number: int
    purpose: str  # cafcass | bypass
    key: str  # the Cafcass precondition's key, or the stage to be bypassed to
    username: str
    kind: str = "agree"  # agree | inform
    status: str = "pending"  # pending | confirmed | declined
    requested_on: dt.date | None = None
    answered_on: dt.date | None = None
    role: str = ""  # the role of the person asked, as it was asked of them


@dataclass(frozen=True, slots=True)
class MeetingState:
    """A meeting requested at a stage, until its minutes are recorded (``held_on``)."""

    number: int
    stage: str
    key: str
    scheduled_for: dt.date
    chair: str
    attendees: tuple[str, ...] = ()
    held_on: dt.date | None = None


@dataclass(frozen=True, slots=True)
class ChallengeState:
    track: Track
    status: Status = "new"
    visits: tuple[Visit, ...] = ()
    formal_started_on: dt.date | None = None
    formal_due_on: dt.date | None = None
    last_event_on: dt.date | None = None
    cafcass_referred_on: dt.date | None = None
    actions: tuple[ActionState, ...] = ()
    documents: frozenset[str] = frozenset()
    final_comments_on: dt.date | None = None
    agreements: tuple[AgreementState, ...] = ()
    meetings: tuple[MeetingState, ...] = ()
    # A challenge to a partner agency: the agency, its kind and what it is asked to do.
    agency: str = ""
    agency_kind: str = ""
    asked: str = ""

    @property
    def current(self) -> Visit | None:
        """The visit in progress, or None when the challenge is not open."""
        if self.status != "open" or not self.visits:
            return None
        return self.visits[-1]

    @property
    def last_exited_stage(self) -> str | None:
        for visit in reversed(self.visits):
            if visit.left_on is not None:
                return visit.stage
        return None

    def highest_order_reached(self, procedure: Procedure) -> int:
        return max((procedure.order(visit.stage) for visit in self.visits), default=0)


def is_overdue(visit: Visit | None, today: dt.date, calendar: WorkingDays) -> bool:
    """A stage is overdue from the first working day after its due date until a response is recorded.

    The same day the overdue alert goes out: a response due on a Friday is not overdue that weekend.
    """
    if visit is None:
        return False
    return stage_overdue(
        due_on=visit.due_on, answered=visit.response is not None, today=today, calendar=calendar
    )


# -- who is acting -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Actor:
    username: str
    relations: frozenset[str] = frozenset()

    def is_(self, *relations: str) -> bool:
        return any(relation in self.relations for relation in relations)


@dataclass(frozen=True, slots=True)
class Person:
    """Someone named in a command (who agreed a bypass, who was told of a Cafcass referral)."""

    username: str
    roles: frozenset[str]


# -- commands ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class NewAction:
    action: str
    owner: str
    due: dt.date


@dataclass(frozen=True, slots=True)
class Raise:
    on: dt.date
    concern: str
    impact_on_child: str
    desired_outcome: str = ""
    stage: str | None = None
    bypass_reason: str = ""
    bypass_agreed_by: Person | None = None
    themes: tuple[str, ...] = ()
    actions: tuple[NewAction, ...] = ()
    documents: frozenset[str] = frozenset()
    respond_by: dt.date | None = None  # an earlier response date the chair sets
    review: str = ""  # the review that triggered the challenge (``REVIEWS``)
    review_on: dt.date | None = None
    from_concern_on: dt.date | None = None  # when the concern it carries was recorded
    notify_optional: bool | None = None  # whether to tell the stage's optional roles (seed 000)
    # A challenge to a partner agency (seed 000 section 2): the agency, its kind, and its contact.
    agency: str = ""
    agency_kind: str = ""
    contact: AgencyContact | None = None


@dataclass(frozen=True, slots=True)
class Respond:
    on: dt.date
    response: str
    comments: str = ""
    further: bool = False  # a further response at a stage already answered, recorded as such


@dataclass(frozen=True, slots=True)
class Escalate:
    on: dt.date
    to_stage: str | None = None
    reason: str = ""
    bypass_agreed_by: Person | None = None
    documents: frozenset[str] = frozenset()
    respond_by: dt.date | None = None
    notify_optional: bool | None = None  # whether to tell the stage's optional roles (seed 000)
    contact: AgencyContact | None = None  # on a partner agency's ladder: the next level's contact


@dataclass(frozen=True, slots=True)
class Resolve:
    on: dt.date
    outcome: str
    learning_points: str = ""


@dataclass(frozen=True, slots=True)
class Reopen:
    on: dt.date
    reason: str
    documents: frozenset[str] = frozenset()
    respond_by: dt.date | None = None
    contact: AgencyContact | None = None  # on a partner agency's ladder: default, the last contact


@dataclass(frozen=True, slots=True)
class ReferToCafcass:
    on: dt.date
    reason: str
    checklist: Mapping[str, bool] = field(default_factory=dict)
    preconditions: Mapping[str, Person] = field(default_factory=dict)
    urgent: bool = False


@dataclass(frozen=True, slots=True)
class MarkAction:
    on: dt.date
    action_id: int
    status: str
    reason: str = ""  # why it was not done
    # "Not done" asks for the reason; only the API's first action route, kept for the scripts written
    # against it, records one without.
    reason_required: bool = True


@dataclass(frozen=True, slots=True)
class RecordMeeting:
    on: dt.date
    summary: str
    number: int | None = None  # the requested meeting these are the minutes of
    held_on: dt.date | None = None  # when it was held (default: ``on``)
    attendees: tuple[str, ...] = ()  # usernames of those there
    outsiders: tuple[str, ...] = ()
    actions: tuple[NewAction, ...] = ()


@dataclass(frozen=True, slots=True)
class Withdraw:
    on: dt.date
    reason: str


@dataclass(frozen=True, slots=True)
class AddFinalComments:
    on: dt.date
    comments: str


@dataclass(frozen=True, slots=True)
class AddLearningPoints:
    on: dt.date
    learning_points: str


@dataclass(frozen=True, slots=True)
class HandOver:
    """Move the leaver's part in a challenge to the successor (usernames). The services say whether the
    current stage went to, was copied to or told the leaver (``stage``) and whether they were its chair
    (``chair``); the engine moves the leaver's open actions, the requests for agreement waiting on their
    answer and the meetings asked for that they were to chair."""

    on: dt.date
    leaver: str
    successor: str
    reason: str
    stage: bool = False
    chair: bool = False


@dataclass(frozen=True, slots=True)
class AddAction:
    """A SMART action agreed at any point: what, by when, by whom (a person in Resolve or an outsider)."""

    on: dt.date
    action: str
    due: dt.date
    owner: str = ""  # a named outsider, when ``owner_user`` is None
    owner_user: Person | None = None
    owner_name: str = ""  # the person's name as people read it, when ``owner_user`` is given


@dataclass(frozen=True, slots=True)
class RedateAction:
    on: dt.date
    action_id: int
    due: dt.date
    reason: str


@dataclass(frozen=True, slots=True)
class ExtendDeadline:
    """An agreed extension of the current stage's response date: who agreed, why, and the new date."""

    on: dt.date
    due: dt.date
    reason: str
    agreed_by: Person | None = None


@dataclass(frozen=True, slots=True)
class RequestAgreement:
    on: dt.date
    purpose: str
    key: str
    person: Person | None
    note: str = ""


@dataclass(frozen=True, slots=True)
class RequestMeeting:
    on: dt.date
    scheduled_for: dt.date
    key: str = "meeting"
    chair: Person | None = None
    attendees: tuple[Person, ...] = ()
    outsiders: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True, slots=True)
class AskAgency:
    """Send a challenge to a partner agency to another contact at its current stage (the first left,
    or did not answer): the same question and the same date."""

    on: dt.date
    contact: AgencyContact | None


@dataclass(frozen=True, slots=True)
class AnswerAgreement:
    on: dt.date
    number: int
    answer: str
    comments: str = ""


Command = (
    Raise
    | Respond
    | Escalate
    | Resolve
    | Reopen
    | ReferToCafcass
    | MarkAction
    | RecordMeeting
    | Withdraw
    | AddFinalComments
    | AddLearningPoints
    | HandOver
    | AddAction
    | RedateAction
    | ExtendDeadline
    | RequestAgreement
    | AnswerAgreement
    | RequestMeeting
    | AskAgency
)


# -- decisions -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Accepted:
    state: ChallengeState
    events: tuple[Event, ...]


RefusalKind = Literal["forbidden", "conflict", "invalid", "not_found"]


@dataclass(frozen=True, slots=True)
class Refused:
    """Why a command cannot be carried out: ``forbidden`` (not this person), ``conflict`` (not now),
    ``invalid`` (the request itself is wrong), ``not_found`` (it names something the challenge lacks)."""

    kind: RefusalKind
    code: str
    message: str
    field: str | None = None


Decision = Accepted | Refused


class _Refusal(Exception):
    def __init__(self, kind: RefusalKind, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.refused = Refused(kind=kind, code=code, message=message, field=field)


def _refuse(kind: RefusalKind, code: str, message: str, field: str | None = None) -> _Refusal:
    return _Refusal(kind, code, message, field)


def decide(
    *,
    procedure: Procedure,
    state: ChallengeState,
    command: Command,
    actor: Actor,
    today: dt.date,
    calendar: WorkingDays,
) -> Decision:
    """Carry out ``command`` on ``state`` under ``procedure``, or say why not. Never raises for bad input."""
    try:
        _check_date(state, command.on, today)
        transition = TRANSITION_FOR[type(command)]
        transition.guard(procedure, state, actor)
        return transition.handler(procedure, state, command, actor, calendar)
    except _Refusal as refusal:
        return refusal.refused


# -- rules shared by several commands ------------------------------------------------------------
def _fmt(day: dt.date) -> str:
    return f"{day.day} {day:%B %Y}"


def _check_date(state: ChallengeState, on: dt.date, today: dt.date) -> None:
    if on > today:
        raise _refuse(
            "invalid", "date_in_future", f"The date cannot be in the future (today is {_fmt(today)}).", "on"
        )
    if state.last_event_on is not None and on < state.last_event_on:
        raise _refuse(
            "invalid",
            "date_before_previous_event",
            f"The date cannot be earlier than the challenge's previous event on {_fmt(state.last_event_on)}.",
            "on",
        )


def _require_text(value: str, field_name: str, what: str) -> str:
    text = value.strip()
    if not text:
        raise _refuse("invalid", "required", f"Enter {what}.", field_name)
    return text


def _require_open(state: ChallengeState, doing: str) -> Visit:
    current = state.current
    if current is None:
        raise _refuse(
            "conflict", "not_open", f"You can only {doing} an open challenge; this one is {state.status}."
        )
    return current


def _require(actor: Actor, relations: tuple[str, ...], doing: str, who: str) -> None:
    if not actor.is_(*relations):
        raise _refuse("forbidden", "not_allowed", f"Only {who} can {doing}.")


def _chair_words(track: str) -> str:
    return "the child's allocated IRO" if track == "iro" else "the child's allocated CP Chair"


def _add_working_days(calendar: WorkingDays, on: dt.date, days: int) -> dt.date:
    try:
        return calendar.add_working_days(on, days)
    except ValueError as exc:  # the calendar knows a fixed range of years
        raise _refuse("invalid", "date_out_of_range", str(exc), "on") from None


def _enter(stage: Stage, on: dt.date, calendar: WorkingDays) -> Visit:
    due = (
        _add_working_days(calendar, on, stage.response_working_days) if stage.response_working_days else None
    )
    return Visit(stage=stage.key, entered_on=on, due_on=due)


def _enter_by(stage: Stage, on: dt.date, calendar: WorkingDays, respond_by: dt.date | None) -> Visit:
    """Enter ``stage``, with the earlier response date the chair set, if any (seed 002: "Record the
    date resolution is sought by"); never later than the procedure's date without an agreed extension."""
    visit = _enter(stage, on, calendar)
    if respond_by is None:
        return visit
    if respond_by < on:
        raise _refuse(
            "invalid",
            "respond_by_before_entered",
            "The response date cannot be before the day the stage is entered.",
            "respond_by",
        )
    try:
        calendar.is_working_day(respond_by)
    except ValueError as exc:
        raise _refuse("invalid", "date_out_of_range", str(exc), "respond_by") from None
    if visit.due_on is not None and respond_by > visit.due_on:
        raise _refuse(
            "invalid",
            "respond_by_after_procedure",
            f"{stage.name} must be answered by {_fmt(visit.due_on)} under the procedure: choose that date "
            "or an earlier one (a later date needs an agreed extension).",
            "respond_by",
        )
    if respond_by == visit.due_on:
        return visit
    return replace(visit, due_on=respond_by, procedure_due_on=visit.due_on)


def _check_review(command: Raise) -> None:
    if command.review and command.review not in REVIEWS:
        keys = ", ".join(REVIEWS)
        raise _refuse("invalid", "unknown_review", f"Choose the review: one of {keys}.", "review")
    if command.review and command.review_on is None:
        raise _refuse("invalid", "required", "Enter the date of the review.", "review_on")
    if command.review_on is not None and not command.review:
        raise _refuse("invalid", "required", "Choose the review that the date belongs to.", "review")
    if command.review_on is not None and command.review_on > command.on:
        raise _refuse(
            "invalid",
            "review_after_raised",
            "The review cannot be later than the day the challenge is raised.",
            "review_on",
        )


def _chair_due(stage: Stage, review_on: dt.date | None, calendar: WorkingDays) -> dt.date | None:
    """The chair's own deadline at ``stage``, counted from the review (seed 000: "IRO completes informal
    resolution form within 3 days")."""
    rule = stage.chair_deadline
    if rule is None or review_on is None:
        return None
    if rule.working_days:
        return _add_working_days(calendar, review_on, rule.days)
    return review_on + dt.timedelta(days=rule.days)


def _formal_clock(
    procedure: Procedure, state: ChallengeState, stage: Stage, on: dt.date, calendar: WorkingDays
) -> tuple[dt.date | None, dt.date | None]:
    """The formal process starts when a challenge first enters a formal stage; the cap runs from then."""
    if state.formal_started_on is not None or stage.kind != "formal":
        return state.formal_started_on, state.formal_due_on
    return on, _add_working_days(calendar, on, procedure.formal_cap_working_days)


def _check_bypass(
    procedure: Procedure,
    target: Stage,
    reason: str,
    agreed_by: Person | None,
    field_prefix: str,
    state: ChallengeState | None = None,
) -> str:
    """Check a bypass to ``target``; returns who agreed to it ("" when the procedure needs no one).

    Raising names the person, who is then asked to confirm in Resolve (there is no challenge to ask
    on before it is raised). Escalating past a stage (``state`` given) needs that person to have
    confirmed a request for agreement on this challenge first (seeds 001 and 003).
    """
    if not reason.strip():
        raise _refuse(
            "invalid",
            "bypass_reason_required",
            f"Give the reason for going straight to {target.name}.",
            field_prefix + "reason",
        )
    needed = procedure.bypass_rule(target.key)
    if needed is None:
        return ""
    if state is not None:
        confirmed = _agreement(state, "bypass", target.key, {"confirmed"})
        if confirmed is not None:
            return confirmed.username
        raise _refuse(
            "conflict",
            "bypass_agreement_not_confirmed",
            f"Going straight to {target.name} needs the agreement of the {role_label(needed)}: "
            "ask them for it, and escalate once they have confirmed it in Resolve.",
            "bypass_agreed_by",
        )
    if agreed_by is None:
        raise _refuse(
            "invalid",
            "bypass_agreement_required",
            f"Going straight to {target.name} needs the agreement of the {role_label(needed)}: "
            "say who agreed.",
            "bypass_agreed_by",
        )
    if needed not in agreed_by.roles:
        raise _refuse(
            "invalid",
            "bypass_agreement_wrong_role",
            f"{agreed_by.username} is not a {role_label(needed)}; name the {role_label(needed)} who agreed.",
            "bypass_agreed_by",
        )
    return agreed_by.username


def _agreement(state: ChallengeState, purpose: str, key: str, statuses: set[str]) -> AgreementState | None:
    """The latest request for ``purpose``/``key`` whose status is one of ``statuses``, if any."""
    return _latest(state.agreements, purpose, key, statuses)


def _latest(
    agreements: tuple[AgreementState, ...], purpose: str, key: str, statuses: set[str]
) -> AgreementState | None:
    for agreement in reversed(agreements):
        if agreement.purpose == purpose and agreement.key == key and agreement.status in statuses:
            return agreement
    return None


def _optional_notify(target: Stage, choice: bool | None) -> tuple[tuple[str, ...], bool | None]:
    """Seed 000: "Consideration given to notifying Chief Executive": the chair says yes or no, and the
    answer is recorded either way. Returns the roles considered and the choice."""
    roles = tuple(target.optional_notify_roles)
    if not roles:
        return (), None
    if choice is None:
        who = " and ".join(f"the {role_label(role)}" for role in roles)
        raise _refuse(
            "invalid",
            "optional_notify_required",
            f"Say whether {who} should be told of {target.name}.",
            "notify_optional",
        )
    return roles, choice


def _check_documents(target: Stage, have: frozenset[str]) -> None:
    for document in target.documents:
        if document not in have:
            raise _refuse(
                "invalid",
                "document_required",
                f"{target.name} needs the {DOCUMENT_KINDS[document]} completed first.",
                document,
            )


def _stage_or_refuse(procedure: Procedure, key: str, field_name: str) -> Stage:
    if not procedure.has_stage(key):
        keys = ", ".join(stage.key for stage in procedure.stages)
        raise _refuse(
            "invalid",
            "unknown_stage",
            f"{key!r} is not a stage of this procedure; use one of: {keys}.",
            field_name,
        )
    return procedure.stage(key)


def _check_automatic_escalation(
    procedure: Procedure, current: Visit, command: Escalate, calendar: WorkingDays
) -> None:
    """The system escalates only a stage its procedure marks automatic, only once overdue, one rung up."""
    stage = procedure.stage(current.stage)
    if not stage.escalates_automatically_when_overdue:
        raise _refuse(
            "forbidden", "not_automatic", f"{stage.name} is not escalated automatically by this procedure."
        )
    if not is_overdue(current, command.on, calendar):
        raise _refuse(
            "conflict", "not_overdue", f"{stage.name} escalates automatically only once its response is late."
        )
    if command.to_stage:
        raise _refuse(
            "invalid",
            "automatic_to_next_only",
            "Automatic escalation goes to the next stage only.",
            "to_stage",
        )
    if not command.reason.strip():
        raise _refuse("invalid", "required", "Give the reason for the automatic escalation.", "reason")


# -- challenges to partner agencies (seed 000 section 2) ------------------------------------------
def _check_contact(contact: AgencyContact | None, field_prefix: str) -> AgencyContact:
    """The contact at the partner agency a stage goes to: a name, their role and an email address."""
    if contact is None:
        raise _refuse(
            "invalid",
            "required",
            "Name the contact at the partner agency: their name, role and email address.",
            field_prefix + ".name",
        )
    name = _require_text(contact.name, field_prefix + ".name", "the contact's name")
    role = _require_text(contact.role, field_prefix + ".role", "the contact's role at the agency")
    email = _require_text(contact.email, field_prefix + ".email", "the contact's email address")
    try:
        validate_email(email)
    except ValidationError:
        raise _refuse(
            "invalid",
            "bad_email",
            "Enter the contact's email address in the correct format, like name@example.org.",
            field_prefix + ".email",
        ) from None
    return AgencyContact(name=name, role=role, email=email)


def _raise_agency(procedure: Procedure, command: Raise) -> tuple[str, str, AgencyContact, str] | None:
    """The agency, its kind, its contact and what it is asked, for a challenge to a partner agency;
    None for a challenge on the authority's own ladder (which names no agency)."""
    if not procedure.partner_agency:
        if command.agency.strip() or command.agency_kind or command.contact is not None:
            raise _refuse(
                "invalid",
                "not_a_partner_agency_procedure",
                f"{procedure.name} is the authority's own ladder: a challenge to a partner agency is "
                "raised under a partner agency procedure.",
                "agency",
            )
        return None
    agency = _require_text(command.agency, "agency.name", "the name of the partner agency")
    kinds = [kind.key for kind in procedure.agency_kinds]
    if command.agency_kind not in kinds:
        raise _refuse(
            "invalid",
            "unknown_agency_kind",
            f"Choose the kind of agency: one of {', '.join(kinds)}.",
            "agency.kind",
        )
    contact = _check_contact(command.contact, "contact")
    asked = _require_text(command.desired_outcome, "desired_outcome", "what the agency is asked to do")
    return agency, command.agency_kind, contact, asked


def _agency_asked(
    procedure: Procedure,
    state: ChallengeState,
    visit: Visit,
    contact: AgencyContact,
    on: dt.date,
    replaces: str = "",
) -> Event:
    """The event that sends the stage to its contact at the partner agency (they are emailed)."""
    return Event(
        visit.stage,
        on,
        AgencyAsked(
            agency=state.agency,
            agency_kind=state.agency_kind,
            level=procedure.stage(visit.stage).agency_level or "",
            contact_name=contact.name,
            contact_role=contact.role,
            contact_email=contact.email,
            asked=state.asked,
            due_on=visit.due_on,
            replaces=replaces,
        ),
    )


def _last_contact(state: ChallengeState) -> AgencyContact | None:
    return next((visit.contact for visit in reversed(state.visits) if visit.contact is not None), None)


# -- the transitions: who may, when, and what each records -----------------------------------------
# Each command has a guard (who may do it and whether it can be done now, from the state alone: the
# question "what can this person do now?" asks only the guards) and a handler (the input's checks and
# what it records). ``decide`` runs the guard, then the handler. The declarations below tie each to
# its permission, its event, its words and who is told.


# raise
def _raise_guard(procedure: Procedure, state: ChallengeState, actor: Actor) -> None:
    if state.status != "new":
        raise _refuse("conflict", "already_raised", "This challenge has already been raised.")
    if state.track not in procedure.tracks:
        tracks = " or ".join(TRACKS[track] for track in procedure.tracks)
        raise _refuse(
            "invalid", "track_not_in_policy", f"{procedure.name} is for the {tracks} track only.", "track"
        )
    _require(actor, (CHAIR,), "raise a challenge for this child", _chair_words(state.track))


def _raise(
    procedure: Procedure, state: ChallengeState, command: Raise, actor: Actor, calendar: WorkingDays
) -> Accepted:
    concern = _require_text(command.concern, "concern", "what the concern is")
    _require_text(command.impact_on_child, "impact_on_child", "the impact on the child")
    partner = _raise_agency(procedure, command)
    first = procedure.stages[0]
    target = _stage_or_refuse(procedure, command.stage, "stage") if command.stage else first
    agreed_by = ""
    if target.key != first.key:
        agreed_by = _check_bypass(
            procedure, target, command.bypass_reason, command.bypass_agreed_by, "bypass_"
        )
    unknown = [theme for theme in command.themes if theme not in procedure.theme_keys()]
    if unknown:
        keys = ", ".join(theme.key for theme in procedure.themes)
        raise _refuse(
            "invalid", "unknown_theme", f"Unknown theme {unknown[0]!r}; use one of: {keys}.", "themes"
        )
    if len(set(command.themes)) != len(command.themes):
        raise _refuse("invalid", "duplicate_theme", "A theme is ticked twice.", "themes")
    for index, action in enumerate(command.actions):
        _require_text(action.action, f"actions[{index}].action", "what the action is")
        _require_text(action.owner, f"actions[{index}].owner", "who will do the action")
        if action.due < command.on:
            raise _refuse(
                "invalid",
                "action_due_before_raised",
                "An action cannot be due before the challenge is raised.",
                f"actions[{index}].due",
            )
        try:
            calendar.is_working_day(action.due)
        except ValueError as exc:  # reminders count working days, which the calendar knows for set years
            raise _refuse("invalid", "date_out_of_range", str(exc), f"actions[{index}].due") from None
    _check_documents(target, command.documents)
    _check_review(command)
    optional_roles, notified = _optional_notify(target, command.notify_optional)
    visit = _enter_by(target, command.on, calendar, command.respond_by)
    if notified:
        visit = replace(visit, extra_notify_roles=optional_roles)
    formal_started_on, formal_due_on = _formal_clock(procedure, state, target, command.on, calendar)
    new_state = replace(
        state,
        status="open",
        visits=(visit,),
        formal_started_on=formal_started_on,
        formal_due_on=formal_due_on,
        last_event_on=command.on,
        documents=state.documents | command.documents,
        actions=tuple(
            ActionState(id=index, due=action.due, owner=action.owner.strip())
            for index, action in enumerate(command.actions, 1)
        ),
    )
    if partner is not None:
        agency, agency_kind, contact, what = partner
        visit = replace(visit, contact=contact)
        new_state = replace(new_state, visits=(visit,), agency=agency, agency_kind=agency_kind, asked=what)
    bypassed = target.key != first.key
    detail = Raised(
        concern=concern,
        impact_on_child=command.impact_on_child.strip(),
        desired_outcome=command.desired_outcome.strip(),
        themes=tuple(command.themes),
        due_on=visit.due_on,
        bypassed=tuple(stage.key for stage in procedure.stages[: procedure.order(target.key) - 1])
        if bypassed
        else (),
        bypass_reason=command.bypass_reason.strip() if bypassed else "",
        bypass_agreed_by=command.bypass_agreed_by.username if bypassed and command.bypass_agreed_by else "",
        procedure_due_on=visit.procedure_due_on,
        review=command.review,
        review_on=command.review_on,
        chair_due_on=_chair_due(target, command.review_on, calendar),
        from_concern_on=command.from_concern_on,
        optional_notify_roles=optional_roles,
        optional_notified=notified,
    )
    events = [Event(target.key, command.on, detail)]
    if partner is not None:
        events.append(_agency_asked(procedure, new_state, visit, partner[2], command.on))
    if agreed_by:
        # The person named as agreeing is asked to confirm it in Resolve (seeds 001 and 003).
        asked = AgreementState(
            number=1,
            purpose="bypass",
            key=target.key,
            username=agreed_by,
            requested_on=command.on,
        )
        new_state = replace(new_state, agreements=(asked,))
        events.append(
            Event(
                target.key,
                command.on,
                AgreementRequested(
                    number=1,
                    purpose="bypass",
                    key=target.key,
                    person=agreed_by,
                    role=procedure.bypass_rule(target.key) or "",
                    kind="agree",
                    note=command.bypass_reason.strip(),
                ),
            )
        )
    return Accepted(new_state, tuple(events))


# respond
def _respond_guard(procedure: Procedure, state: ChallengeState, actor: Actor) -> None:
    current = _require_open(state, "respond to")
    stage = procedure.stage(current.stage)
    if procedure.partner_agency:
        # Seed 000 section 2: the contact at the partner agency has no account; the chair records
        # their reply on their behalf (and only on this track).
        _require(actor, (CHAIR,), "record the partner agency's reply", _chair_words(state.track))
        return
    _require(actor, (RECIPIENT,), "respond at this stage", f"the {stage.to_words} it is sent to")


def _respond(
    procedure: Procedure, state: ChallengeState, command: Respond, actor: Actor, calendar: WorkingDays
) -> Accepted:
    current = _require_open(state, "respond to")
    if current.response is not None and not command.further:
        raise _refuse(
            "conflict",
            "already_responded",
            f"A response was already recorded at this stage on {_fmt(current.responded_on or command.on)}; "
            "send it as a further response to add another.",
        )
    if command.response not in RESPONSES:
        raise _refuse(
            "invalid",
            "unknown_response",
            "Choose a response: agree, do not agree, or no remit to implement.",
            "response",
        )
    late = current.due_on is not None and command.on > current.due_on
    visit = replace(current, response=command.response, responded_on=command.on)
    new_state = replace(state, visits=(*state.visits[:-1], visit), last_event_on=command.on)
    detail = ResponseRecorded(
        response=command.response,
        response_label=procedure.response_label(command.response, RESPONSES[command.response]),
        on_time=not late,
        comments=command.comments.strip(),
        due_on=current.due_on,
        further=current.response is not None,
        extended=current.extended_from is not None,
        on_behalf_of=current.contact.words(state.agency) if current.contact is not None else "",
    )
    return Accepted(new_state, (Event(current.stage, command.on, detail),))


# escalate
def _escalate_guard(procedure: Procedure, state: ChallengeState, actor: Actor) -> None:
    current = _require_open(state, "escalate")
    if actor.is_(SYSTEM):
        stage = procedure.stage(current.stage)
        if not stage.escalates_automatically_when_overdue:
            raise _refuse(
                "forbidden",
                "not_automatic",
                f"{stage.name} is not escalated automatically by this procedure.",
            )
    else:
        _require(
            actor,
            (CHAIR, CHAIR_MANAGER),
            "escalate this challenge",
            f"{_chair_words(state.track)} or their manager",
        )
    if procedure.order(current.stage) == len(procedure.stages):
        raise _refuse(
            "conflict",
            "last_stage",
            f"{procedure.stage(current.stage).name} is the last stage: resolve the challenge"
            + (" or refer to Cafcass." if state.track in procedure.cafcass.tracks else "."),
        )


def _escalate(
    procedure: Procedure, state: ChallengeState, command: Escalate, actor: Actor, calendar: WorkingDays
) -> Accepted:
    current = _require_open(state, "escalate")
    if actor.is_(SYSTEM):
        _check_automatic_escalation(procedure, current, command, calendar)
    following = procedure.next_stage(current.stage)
    if command.to_stage:
        target = _stage_or_refuse(procedure, command.to_stage, "to_stage")
        if procedure.order(target.key) <= procedure.order(current.stage):
            raise _refuse(
                "invalid",
                "not_a_later_stage",
                f"Escalation goes up the ladder: choose a stage after {procedure.stage(current.stage).name}.",
                "to_stage",
            )
    else:
        assert following is not None  # the guard refuses escalation from the last stage
        target = following
    skipped = tuple(
        stage.key
        for stage in procedure.stages[procedure.order(current.stage) : procedure.order(target.key) - 1]
    )
    agreed_by = ""
    if skipped:
        agreed_by = _check_bypass(procedure, target, command.reason, command.bypass_agreed_by, "", state)
    documents = state.documents | command.documents
    _check_documents(target, documents)
    choice = False if actor.is_(SYSTEM) and command.notify_optional is None else command.notify_optional
    optional_roles, notified = _optional_notify(target, choice)
    # Each level of a partner agency's ladder names its own contact (the manager, the safeguarding lead).
    contact = _check_contact(command.contact, "contact") if procedure.partner_agency else None
    left = replace(current, left_on=command.on, left_how="escalated")
    visit = _enter_by(target, command.on, calendar, command.respond_by)
    if notified:
        visit = replace(visit, extra_notify_roles=optional_roles)
    if contact is not None:
        visit = replace(visit, contact=contact)
    formal_started_on, formal_due_on = _formal_clock(procedure, state, target, command.on, calendar)
    new_state = replace(
        state,
        visits=(*state.visits[:-1], left, visit),
        formal_started_on=formal_started_on,
        formal_due_on=formal_due_on,
        last_event_on=command.on,
        documents=documents,
    )
    detail = Escalated(
        from_stage=current.stage,
        to_stage=target.key,
        reason=command.reason.strip(),
        due_on=visit.due_on,
        previous_response=current.response,
        bypassed=skipped,
        bypass_agreed_by=agreed_by,
        automatic=actor.is_(SYSTEM),
        procedure_due_on=visit.procedure_due_on,
        optional_notify_roles=optional_roles,
        optional_notified=notified,
    )
    escalated = Event(target.key, command.on, detail)
    if contact is not None:
        return Accepted(
            new_state, (escalated, _agency_asked(procedure, new_state, visit, contact, command.on))
        )
    return Accepted(new_state, (escalated,))


# resolve
def _resolve_guard(procedure: Procedure, state: ChallengeState, actor: Actor) -> None:
    current = _require_open(state, "resolve")
    _require(
        actor,
        (CHAIR, CHAIR_MANAGER),
        "resolve this challenge",
        f"{_chair_words(state.track)} or their manager",
    )
    stage = procedure.stage(current.stage)
    if stage.meeting is not None and stage.meeting.required and current.meetings == 0:
        raise _refuse(
            "conflict",
            "meeting_required",
            f"{stage.name} is resolved at a meeting: record the meeting ({stage.meeting.description}) first.",
        )


def _resolve(
    procedure: Procedure, state: ChallengeState, command: Resolve, actor: Actor, calendar: WorkingDays
) -> Accepted:
    current = _require_open(state, "resolve")
    outcome = _require_text(command.outcome, "outcome", "the outcome for the child")
    if procedure.resolution.requires_learning_points:
        _require_text(command.learning_points, "learning_points", "the key learning points")
    left = replace(current, left_on=command.on, left_how="resolved")
    new_state = replace(state, status="resolved", visits=(*state.visits[:-1], left), last_event_on=command.on)
    detail = Resolved(outcome=outcome, learning_points=command.learning_points.strip())
    return Accepted(new_state, (Event(current.stage, command.on, detail),))


# re-open
def _reopen_guard(procedure: Procedure, state: ChallengeState, actor: Actor) -> None:
    if state.status != "resolved":
        raise _refuse(
            "conflict",
            "not_resolved",
            f"Only a resolved challenge can be re-opened; this one is {state.status}.",
        )
    _require(
        actor,
        (CHAIR, CHAIR_MANAGER),
        "re-open this challenge",
        f"{_chair_words(state.track)} or their manager",
    )


def _reopen(
    procedure: Procedure, state: ChallengeState, command: Reopen, actor: Actor, calendar: WorkingDays
) -> Accepted:
    reason = _require_text(command.reason, "reason", "why the challenge is being re-opened")
    last = state.last_exited_stage
    assert last is not None  # a resolved challenge has left a stage
    target = procedure.stage(procedure.reentry_for(last))
    # Re-entering a stage is entering it: a stage that needs a document (seed 002's Director's
    # briefing) needs it now unless the challenge already has it.
    documents = state.documents | command.documents
    _check_documents(target, documents)
    contact: AgencyContact | None = None
    if procedure.partner_agency:
        contact = (
            _check_contact(command.contact, "contact")
            if command.contact is not None
            else _last_contact(state)
        )
    visit = _enter_by(target, command.on, calendar, command.respond_by)
    if contact is not None:
        visit = replace(visit, contact=contact)
    # The cap runs from when the challenge first enters a formal stage, however it gets there.
    formal_started_on, formal_due_on = _formal_clock(procedure, state, target, command.on, calendar)
    # A new resolution will need its own outcome and final comments; the events keep the old ones.
    new_state = replace(
        state,
        status="open",
        visits=(*state.visits, visit),
        formal_started_on=formal_started_on,
        formal_due_on=formal_due_on,
        last_event_on=command.on,
        final_comments_on=None,
        documents=documents,
    )
    detail = Reopened(
        reason=reason,
        last_exited_stage=last,
        reentry_stage=target.key,
        due_on=visit.due_on,
        procedure_due_on=visit.procedure_due_on,
    )
    reopened = Event(target.key, command.on, detail)
    if contact is not None:
        return Accepted(
            new_state, (reopened, _agency_asked(procedure, new_state, visit, contact, command.on))
        )
    return Accepted(new_state, (reopened,))


# refer to Cafcass
def _refer_guard(procedure: Procedure, state: ChallengeState, actor: Actor) -> None:
    rules = procedure.cafcass
    if procedure.partner_agency:
        raise _refuse(
            "conflict",
            "cafcass_not_partner_agency",
            "A challenge to a partner agency is not referred to Cafcass: a referral concerns the local "
            "authority's care plan, and is made on the authority's own ladder.",
        )
    if state.track not in rules.tracks:
        raise _refuse(
            "conflict",
            "cafcass_iro_only",
            "Only an IRO can refer a looked-after child's case to Cafcass (Children Act 1989 s25B(3)); "
            "CP Chairs have no such power.",
        )
    # Seed 004: "Should the IRO/CP Chair be dissatisfied by the outcome a referral to CAFCASS can be
    # made"; seed 000: "Alongside or out with the Outcome Resolution": open or resolved alike.
    if state.status not in {"open", "resolved"}:
        raise _refuse(
            "conflict",
            "not_open",
            f"You can only refer an open or resolved challenge to Cafcass; this one is {state.status}.",
        )
    completer = rules.form_completed_by
    if completer is not None:
        # Seed 001: "the CPRU Service Manager will complete the Form CLA Resolution Stage 4".
        _require(actor, (CAFCASS_FORM,), "complete the Cafcass referral form", f"the {role_label(completer)}")
    else:
        _require(actor, (CHAIR,), "refer this challenge to Cafcass", _chair_words(state.track))
    if state.cafcass_referred_on is not None:
        raise _refuse(
            "conflict",
            "already_referred",
            f"This challenge was referred to Cafcass on {_fmt(state.cafcass_referred_on)}.",
        )
    reached = state.highest_order_reached(procedure)
    if rules.earliest_stage is not None and reached < procedure.order(rules.earliest_stage):
        raise _refuse(
            "conflict",
            "cafcass_too_early",
            f"{procedure.name} refers to Cafcass only once the challenge has reached "
            f"{procedure.stage(rules.earliest_stage).name}.",
        )


def _refer(
    procedure: Procedure, state: ChallengeState, command: ReferToCafcass, actor: Actor, calendar: WorkingDays
) -> Accepted:
    rules = procedure.cafcass
    stage_key = state.visits[-1].stage
    reason = _require_text(command.reason, "reason", "why the case is being referred to Cafcass")
    reached = state.highest_order_reached(procedure)
    if (
        rules.urgent_before_stage is not None
        and reached < procedure.order(rules.urgent_before_stage)
        and not command.urgent
    ):
        raise _refuse(
            "invalid",
            "cafcass_urgency_required",
            f"Before {procedure.stage(rules.urgent_before_stage).name} a referral curtails the process: "
            "mark it urgent and explain in the reason why the child's timetable cannot wait.",
            "urgent",
        )
    met = _referral_met(rules, state.agreements, command)
    new_state = replace(state, cafcass_referred_on=command.on, last_event_on=command.on)
    detail = CafcassReferred(
        reason=reason,
        urgent=command.urgent,
        checklist=dict(command.checklist),
        preconditions=met,
    )
    return Accepted(new_state, (Event(stage_key, command.on, detail),))


def _referral_met(
    rules: Cafcass, agreements: tuple[AgreementState, ...], command: ReferToCafcass
) -> dict[str, str]:
    """The procedure's preconditions met among ``agreements`` (precondition key -> who agreed or was
    told), once the checklist is answered as it requires; a challenge's referral and a child's alike."""
    required = {precondition.key for precondition in rules.requires}
    for key in command.preconditions:
        if key not in required:
            keys = ", ".join(sorted(required)) or "none"
            raise _refuse(
                "invalid",
                "unknown_precondition",
                f"{key!r} is not a precondition here; use: {keys}.",
                "preconditions",
            )
    met: dict[str, str] = {}
    for precondition in rules.requires:
        field_name = f"preconditions.{precondition.key}"
        # agree: the person confirmed in Resolve; inform: the message to them was sent before now.
        wanted = {"confirmed"} if precondition.kind == "agree" else {"pending", "confirmed", "declined"}
        agreement = _latest(agreements, "cafcass", precondition.key, wanted)
        if agreement is None:
            doing = "confirm their agreement" if precondition.kind == "agree" else "be told"
            raise _refuse(
                "conflict",
                "cafcass_precondition_missing",
                f"{precondition.label}: ask the {role_label(precondition.role)} in Resolve, who must "
                f"{doing} before the referral is recorded.",
                field_name,
            )
        named = command.preconditions.get(precondition.key)
        if named is not None and named.username != agreement.username:
            raise _refuse(
                "invalid",
                "cafcass_precondition_other_person",
                f"{named.username} was not the one asked; {agreement.username} was.",
                field_name,
            )
        met[precondition.key] = agreement.username
    known = {item.key for item in rules.checklist}
    for key in command.checklist:
        if key not in known:
            keys = ", ".join(sorted(known)) or "none"
            raise _refuse(
                "invalid",
                "unknown_checklist_item",
                f"{key!r} is not on the checklist; use: {keys}.",
                "checklist",
            )
    for item in rules.checklist:
        if item.key not in command.checklist:
            raise _refuse(
                "invalid",
                "checklist_incomplete",
                f"Say whether this is included: {item.label}",
                f"checklist.{item.key}",
            )
        if item.required and not command.checklist[item.key]:
            raise _refuse(
                "invalid",
                "checklist_item_required",
                f"The referral must include: {item.label}",
                f"checklist.{item.key}",
            )
    return met


# mark an action
_ACTION_PEOPLE = (CHAIR, RECIPIENT, CHAIR_MANAGER, CHILD_WORKER)
_NO_SUCH_ACTION = "There is no such action on this challenge."
_ACTION_WHO = (
    "Only the action's owner, the chair, the stage's recipient or the child's social work "
    "team can update this action."
)


def _mark_action_guard(procedure: Procedure, state: ChallengeState, actor: Actor) -> None:
    if state.status in {"new", "withdrawn"}:
        raise _refuse("conflict", "not_open", f"Actions cannot be updated on a {state.status} challenge.")
    if not state.actions:
        raise _refuse("not_found", "unknown_action", _NO_SUCH_ACTION, "action_id")
    if not actor.is_(*_ACTION_PEOPLE) and not any(_owns(actor, action) for action in state.actions):
        raise _refuse("forbidden", "not_allowed", _ACTION_WHO)


def _mark_action(
    procedure: Procedure, state: ChallengeState, command: MarkAction, actor: Actor, calendar: WorkingDays
) -> Accepted:
    for index, action in enumerate(state.actions):
        if action.id == command.action_id:
            if not (actor.is_(*_ACTION_PEOPLE) or _owns(actor, action)):
                raise _refuse("forbidden", "not_allowed", _ACTION_WHO)
            if command.status not in {"done", "not_done"}:
                raise _refuse(
                    "invalid",
                    "unknown_action_status",
                    "Choose whether the action was done or not done.",
                    "status",
                )
            reason = command.reason.strip()
            if command.status == "not_done" and not reason and command.reason_required:
                raise _refuse("invalid", "required", "Say why the action was not done.", "reason")
            updated = replace(action, status="done" if command.status == "done" else "not_done")
            actions = (*state.actions[:index], updated, *state.actions[index + 1 :])
            new_state = replace(state, actions=actions, last_event_on=command.on)
            detail = ActionUpdated(
                action_id=action.id,
                status=command.status,
                due=action.due,
                late=command.on > action.due,
                reason=reason if command.status == "not_done" else "",
            )
            return Accepted(new_state, (Event(state.visits[-1].stage, command.on, detail),))
    raise _refuse("not_found", "unknown_action", _NO_SUCH_ACTION, "action_id")


def _owns(actor: Actor, action: ActionState) -> bool:
    """Whether ``actor`` is the person in Resolve who owns ``action`` (a named outsider owns none)."""
    return bool(action.owner) and actor.username == action.owner


# record a meeting
def _record_meeting_guard(procedure: Procedure, state: ChallengeState, actor: Actor) -> None:
    _require_open(state, "record a meeting on")
    _require(
        actor,
        (CHAIR, RECIPIENT, CHAIR_MANAGER),
        "record a meeting",
        "the chair, their manager or the recipient",
    )


def _record_meeting(
    procedure: Procedure, state: ChallengeState, command: RecordMeeting, actor: Actor, calendar: WorkingDays
) -> Accepted:
    current = _require_open(state, "record a meeting on")
    summary = _require_text(command.summary, "summary", "a summary of the meeting")
    visit = replace(current, meetings=current.meetings + 1)
    new_state = replace(state, visits=(*state.visits[:-1], visit), last_event_on=command.on)
    if command.number is None:
        _check_meeting_actions(command, command.held_on or command.on, calendar)
        first_id = max((a.id for a in state.actions), default=0) + 1
        added = tuple(
            ActionState(id=first_id + offset, due=action.due, owner=action.owner.strip())
            for offset, action in enumerate(command.actions)
        )
        new_state = replace(new_state, actions=(*state.actions, *added))
        detail = MeetingRecorded(summary=summary, actions=len(command.actions))
        return Accepted(new_state, (Event(current.stage, command.on, detail),))
    return _record_requested_meeting(procedure, new_state, current, command, summary, actor, calendar)


def _check_meeting_actions(command: RecordMeeting, held_on: dt.date, calendar: WorkingDays) -> None:
    for position, action in enumerate(command.actions):
        _require_text(action.action, f"actions[{position}].action", "what the action is")
        _require_text(action.owner, f"actions[{position}].owner", "who will do the action")
        if action.due < held_on:
            raise _refuse(
                "invalid",
                "action_due_before_meeting",
                "An action cannot be due before the meeting.",
                f"actions[{position}].due",
            )
        try:
            calendar.is_working_day(action.due)
        except ValueError as exc:
            raise _refuse("invalid", "date_out_of_range", str(exc), f"actions[{position}].due") from None


def _record_requested_meeting(
    procedure: Procedure,
    state: ChallengeState,
    current: Visit,
    command: RecordMeeting,
    summary: str,
    actor: Actor,
    calendar: WorkingDays,
) -> Accepted:
    """The minutes and actions of a requested meeting, by the person named to record them (seed 001:
    "Actions from Meeting to be recorded within 24 hours on DRP Stage 2 Form by CPRU Service Manager")."""
    found = [(index, m) for index, m in enumerate(state.meetings) if m.number == command.number]
    if not found:
        raise _refuse("not_found", "unknown_meeting", "There is no such requested meeting.", "number")
    index, meeting = found[0]
    if meeting.held_on is not None:
        raise _refuse("conflict", "meeting_recorded", "The minutes of this meeting are already recorded.")
    if meeting.stage != current.stage:
        raise _refuse("conflict", "meeting_of_another_stage", "This meeting was requested at another stage.")
    if actor.username != meeting.chair:
        raise _refuse(
            "forbidden", "not_the_meeting_chair", f"Only {meeting.chair}, who records this meeting, can."
        )
    held_on = command.held_on or command.on
    if held_on > command.on:
        raise _refuse(
            "invalid", "held_after_recorded", "A meeting cannot be recorded before it is held.", "held_on"
        )
    _check_meeting_actions(command, held_on, calendar)
    stage_meeting = procedure.stage(meeting.stage).meeting_for(meeting.key)
    hours = stage_meeting.actions_recorded_within_hours if stage_meeting is not None else None
    due_by = _add_working_days(calendar, held_on, -(-hours // 24)) if hours else None
    first_id = max((a.id for a in state.actions), default=0) + 1
    added = tuple(
        ActionState(id=first_id + offset, due=action.due, owner=action.owner.strip())
        for offset, action in enumerate(command.actions)
    )
    meetings = (*state.meetings[:index], replace(meeting, held_on=held_on), *state.meetings[index + 1 :])
    new_state = replace(state, meetings=meetings, actions=(*state.actions, *added))
    detail = MeetingRecorded(
        summary=summary,
        number=meeting.number,
        key=meeting.key,
        held_on=held_on,
        attendees=tuple(command.attendees) or meeting.attendees,
        outsiders=tuple(command.outsiders),
        actions=len(command.actions),
        actions_due_by=due_by,
        actions_on_time=(command.on <= due_by) if due_by is not None else None,
    )
    return Accepted(new_state, (Event(current.stage, command.on, detail),))


# ask for a meeting at the current stage
def _request_meeting_guard(procedure: Procedure, state: ChallengeState, actor: Actor) -> None:
    current = _require_open(state, "ask for a meeting on")
    if not procedure.stage(current.stage).meetings():
        raise _refuse(
            "conflict", "no_meeting", f"{procedure.stage(current.stage).name} calls for no meeting."
        )
    _require(
        actor,
        (CHAIR, CHAIR_MANAGER, RECIPIENT),
        "ask for a meeting",
        "the chair, their manager or the stage's recipient",
    )


def _request_meeting(
    procedure: Procedure, state: ChallengeState, command: RequestMeeting, actor: Actor, calendar: WorkingDays
) -> Accepted:
    current = _require_open(state, "ask for a meeting on")
    stage = procedure.stage(current.stage)
    meeting = stage.meeting_for(command.key)
    if meeting is None:
        keys = ", ".join(m.key for m in stage.meetings())
        raise _refuse(
            "invalid",
            "unknown_meeting",
            f"{command.key!r} is not a meeting of this stage; use: {keys}.",
            "key",
        )
    if any(m.stage == current.stage and m.key == meeting.key and m.held_on is None for m in state.meetings):
        raise _refuse(
            "conflict", "meeting_already_requested", "This meeting is already requested and not yet held."
        )
    if command.scheduled_for < command.on:
        raise _refuse(
            "invalid", "meeting_in_the_past", "Set a date on or after today's request.", "scheduled_for"
        )
    latest = (
        _add_working_days(calendar, current.entered_on, meeting.within_working_days)
        if meeting.within_working_days
        else None
    )
    if latest is not None and command.scheduled_for > latest:
        raise _refuse(
            "invalid",
            "meeting_too_late",
            f"{procedure.name} sets this meeting within {meeting.within_working_days} working days: "
            f"set a date by {_fmt(latest)}.",
            "scheduled_for",
        )
    try:
        calendar.is_working_day(command.scheduled_for)
    except ValueError as exc:
        raise _refuse("invalid", "date_out_of_range", str(exc), "scheduled_for") from None
    # Who chairs it (and records its minutes): the role the procedure names, else the one who asks.
    role = meeting.chair_role or meeting.minutes_by_role
    chair = command.chair
    if role is not None:
        if chair is None:
            raise _refuse("invalid", "required", f"Choose the {role_label(role)} who chairs it.", "chair")
        if role not in chair.roles:
            raise _refuse(
                "invalid",
                "wrong_role",
                f"{chair.username} is not a {role_label(role)}; the procedure names the {role_label(role)}.",
                "chair",
            )
    chair_name = chair.username if chair is not None else actor.username
    outsiders = tuple(name.strip() for name in command.outsiders if name.strip())
    attendees = tuple(dict.fromkeys(p.username for p in command.attendees if p.username != chair_name))
    number = len(state.meetings) + 1
    requested = MeetingState(
        number=number,
        stage=current.stage,
        key=meeting.key,
        scheduled_for=command.scheduled_for,
        chair=chair_name,
        attendees=attendees,
    )
    new_state = replace(state, meetings=(*state.meetings, requested), last_event_on=command.on)
    detail = MeetingRequested(
        number=number,
        key=meeting.key,
        scheduled_for=command.scheduled_for,
        chair=chair_name,
        attendees=attendees,
        outsiders=outsiders,
        note=command.note.strip(),
        latest_on=latest,
    )
    return Accepted(new_state, (Event(current.stage, command.on, detail),))


# withdraw
def _withdraw_guard(procedure: Procedure, state: ChallengeState, actor: Actor) -> None:
    _require_open(state, "withdraw")
    _require(
        actor,
        (CHAIR, CHAIR_MANAGER),
        "withdraw this challenge",
        f"{_chair_words(state.track)} or their manager",
    )


def _withdraw(
    procedure: Procedure, state: ChallengeState, command: Withdraw, actor: Actor, calendar: WorkingDays
) -> Accepted:
    current = _require_open(state, "withdraw")
    reason = _require_text(command.reason, "reason", "why the challenge is being withdrawn")
    left = replace(current, left_on=command.on, left_how="withdrawn")
    new_state = replace(
        state, status="withdrawn", visits=(*state.visits[:-1], left), last_event_on=command.on
    )
    return Accepted(new_state, (Event(current.stage, command.on, Withdrawn(reason=reason)),))


# final comments
def _final_comments_guard(procedure: Procedure, state: ChallengeState, actor: Actor) -> None:
    role = procedure.resolution.final_comments_role
    if role is None:
        raise _refuse("conflict", "no_final_comments", f"{procedure.name} has no final comments step.")
    if state.status != "resolved":
        raise _refuse("conflict", "not_resolved", "Final comments are added once the challenge is resolved.")
    if state.final_comments_on is not None:
        raise _refuse("conflict", "final_comments_exist", "Final comments have already been added.")
    _require(actor, (FINAL_COMMENTER,), "add the final comments", f"the {ROLES[role].label}")


def _final_comments(
    procedure: Procedure,
    state: ChallengeState,
    command: AddFinalComments,
    actor: Actor,
    calendar: WorkingDays,
) -> Accepted:
    comments = _require_text(command.comments, "comments", "the final comments")
    new_state = replace(state, final_comments_on=command.on, last_event_on=command.on)
    detail = FinalCommentsAdded(comments=comments)
    return Accepted(new_state, (Event(state.visits[-1].stage, command.on, detail),))


# key learning points
def _learning_points_guard(procedure: Procedure, state: ChallengeState, actor: Actor) -> None:
    # Seed 002 5.1: "the IRO/CPC and the social work team complete the ... 'Key learning points'".
    if state.status not in {"open", "resolved"}:
        raise _refuse(
            "conflict", "not_open", f"Learning points cannot be added to a {state.status} challenge."
        )
    _require(
        actor,
        (CHAIR, RECIPIENT, CHILD_WORKER),
        "add key learning points",
        "the chair, the stage's recipient or the child's social work team",
    )


def _learning_points(
    procedure: Procedure,
    state: ChallengeState,
    command: AddLearningPoints,
    actor: Actor,
    calendar: WorkingDays,
) -> Accepted:
    text = _require_text(command.learning_points, "learning_points", "the key learning points")
    new_state = replace(state, last_event_on=command.on)
    detail = LearningPointsAdded(learning_points=text)
    return Accepted(new_state, (Event(state.visits[-1].stage, command.on, detail),))


# hand over a leaver's work
def _hand_over_guard(procedure: Procedure, state: ChallengeState, actor: Actor) -> None:
    if state.status not in {"open", "resolved"}:
        raise _refuse("conflict", "not_open", f"Work on a {state.status} challenge is not handed over.")
    _require(
        actor, (HANDING_OVER,), "hand over work on this challenge", "someone handing over a leaver's work"
    )


def _hand_over(
    procedure: Procedure, state: ChallengeState, command: HandOver, actor: Actor, calendar: WorkingDays
) -> Accepted:
    reason = _require_text(command.reason, "reason", "why the work is handed over")
    if not command.successor or command.successor == command.leaver:
        raise _refuse(
            "invalid", "same_person", "Choose someone other than the leaver to hand the work to.", "successor"
        )
    moved = tuple(
        action.id for action in state.actions if action.owner == command.leaver and action.status == "open"
    )
    # Requests for agreement still waiting on the leaver's answer; a request that only told them
    # ("inform") was done when it was sent, and one answered is evidence: both stay theirs.
    asked = tuple(
        agreement.number
        for agreement in state.agreements
        if agreement.username == command.leaver
        and agreement.status == "pending"
        and agreement.kind == "agree"
    )
    # Meetings asked for and not yet held that the leaver was to chair (and record).
    chaired = tuple(
        meeting.number
        for meeting in state.meetings
        if meeting.chair == command.leaver and meeting.held_on is None
    )
    stage = command.stage and state.status == "open"
    chair = command.chair and state.status == "open"
    if not (moved or asked or chaired or stage or chair):
        raise _refuse(
            "conflict", "nothing_to_hand_over", f"Nothing on this challenge waits on {command.leaver}."
        )
    actions = tuple(
        replace(action, owner=command.successor) if action.id in moved else action for action in state.actions
    )
    agreements = tuple(
        replace(agreement, username=command.successor) if agreement.number in asked else agreement
        for agreement in state.agreements
    )
    meetings = tuple(
        replace(meeting, chair=command.successor) if meeting.number in chaired else meeting
        for meeting in state.meetings
    )
    new_state = replace(
        state, actions=actions, agreements=agreements, meetings=meetings, last_event_on=command.on
    )
    detail = HandedOver(
        leaver=command.leaver,
        successor=command.successor,
        reason=reason,
        stage=stage,
        chair=chair,
        actions=moved,
        agreements=asked,
        meetings=chaired,
    )
    stage_key = state.visits[-1].stage if state.visits else None
    return Accepted(new_state, (Event(stage_key, command.on, detail),))


# the action plan: add and re-date actions at any stage, and while a resolved challenge is monitored
# Seed 003: "should develop an action plan within 5 working days" (stage 1), "The action plan will be
# jointly developed in this meeting" (stage 2), "An Action plan will be devised" (stage 4).
_PLAN_PEOPLE = (CHAIR, RECIPIENT, CHAIR_MANAGER)
_PLAN_WHO = "the chair, the stage's recipient or the chair's manager (who chairs the meetings)"


def _plan_guard(procedure: Procedure, state: ChallengeState, actor: Actor) -> None:
    if state.status not in {"open", "resolved"}:
        raise _refuse(
            "conflict",
            "not_open",
            f"Actions are agreed while a challenge is open or monitored after resolution; this one is "
            f"{state.status}.",
        )
    _require(actor, _PLAN_PEOPLE, "agree or change actions", _PLAN_WHO)


def _check_action_due(due: dt.date, on: dt.date, calendar: WorkingDays, field_name: str) -> None:
    if due < on:
        raise _refuse(
            "invalid",
            "action_due_in_past",
            "An action cannot be due before the day it is agreed.",
            field_name,
        )
    try:
        calendar.is_working_day(due)
    except ValueError as exc:  # reminders count working days, which the calendar knows for set years
        raise _refuse("invalid", "date_out_of_range", str(exc), field_name) from None


def _add_action(
    procedure: Procedure, state: ChallengeState, command: AddAction, actor: Actor, calendar: WorkingDays
) -> Accepted:
    text = _require_text(command.action, "action", "what the action is")
    if command.owner_user is None:
        owner = _require_text(command.owner, "owner", "who will do the action")
    else:
        owner = command.owner_name.strip() or command.owner_user.username
    _check_action_due(command.due, command.on, calendar, "due")
    new_state = replace(state, last_event_on=command.on)
    detail = ActionAdded(
        action=text,
        owner=owner,
        due=command.due,
        owner_user=command.owner_user.username if command.owner_user else "",
    )
    return Accepted(new_state, (Event(state.visits[-1].stage, command.on, detail),))


def _redate_action(
    procedure: Procedure, state: ChallengeState, command: RedateAction, actor: Actor, calendar: WorkingDays
) -> Accepted:
    for index, action in enumerate(state.actions):
        if action.id != command.action_id:
            continue
        if action.status != "open":
            raise _refuse(
                "conflict", "action_closed", "This action is closed: only an open action can be re-dated."
            )
        reason = _require_text(command.reason, "reason", "why the date is changing")
        if command.due == action.due:
            raise _refuse("invalid", "same_date", f"The action is already due on {_fmt(action.due)}.", "due")
        _check_action_due(command.due, command.on, calendar, "due")
        updated = replace(action, due=command.due)
        actions = (*state.actions[:index], updated, *state.actions[index + 1 :])
        new_state = replace(state, actions=actions, last_event_on=command.on)
        detail = ActionRedated(action_id=action.id, from_due=action.due, to_due=command.due, reason=reason)
        return Accepted(new_state, (Event(state.visits[-1].stage, command.on, detail),))
    raise _refuse("not_found", "unknown_action", _NO_SUCH_ACTION, "action_id")


# an agreed extension of the current stage's response date
def _extend_guard(procedure: Procedure, state: ChallengeState, actor: Actor) -> None:
    current = _require_open(state, "extend the response date of")
    _require(
        actor,
        (CHAIR, CHAIR_MANAGER),
        "record an agreed extension",
        f"{_chair_words(state.track)} or their manager",
    )
    if current.due_on is None:
        raise _refuse(
            "conflict",
            "no_response_date",
            f"{procedure.stage(current.stage).name} has no response date to extend.",
        )
    if current.response is not None:
        raise _refuse(
            "conflict", "already_responded", "A response has been recorded at this stage: nothing to extend."
        )


def _extend(
    procedure: Procedure, state: ChallengeState, command: ExtendDeadline, actor: Actor, calendar: WorkingDays
) -> Accepted:
    current = _require_open(state, "extend the response date of")
    assert current.due_on is not None  # the guard refuses a stage without one
    reason = _require_text(command.reason, "reason", "why the extension was agreed")
    if command.agreed_by is None:
        raise _refuse("invalid", "required", "Say who agreed the extension.", "agreed_by")
    if command.due <= current.due_on:
        raise _refuse(
            "invalid",
            "not_later",
            f"The response is due on {_fmt(current.due_on)}: an extension sets a later date.",
            "due",
        )
    # The procedure's date: the one the chair brought forward, else the one before any extension.
    procedure_due = current.procedure_due_on or current.extended_from or current.due_on
    most = _add_working_days(calendar, procedure_due, procedure.extension_limit())
    if command.due > most:
        raise _refuse(
            "invalid",
            "extension_too_long",
            f"{procedure.name} allows an extension of at most {procedure.extension_limit()} working days "
            f"after {_fmt(procedure_due)}: choose {_fmt(most)} or earlier.",
            "due",
        )
    original = current.extended_from or current.due_on
    visit = replace(current, due_on=command.due, extended_from=original)
    new_state = replace(state, visits=(*state.visits[:-1], visit), last_event_on=command.on)
    detail = DeadlineExtended(
        from_due=current.due_on,
        to_due=command.due,
        reason=reason,
        agreed_by=command.agreed_by.username,
        original_due=original,
    )
    return Accepted(new_state, (Event(current.stage, command.on, detail),))


def _cafcass_precondition(rules: Cafcass, track: str, key: str) -> tuple[str, str]:
    """The role asked and the kind of request (agree, inform) for a Cafcass precondition."""
    if track not in rules.tracks:
        raise _refuse(
            "conflict",
            "cafcass_iro_only",
            "Only an IRO can refer a looked-after child's case to Cafcass (Children Act 1989 s25B(3)).",
        )
    by_key = {precondition.key: precondition for precondition in rules.requires}
    if key not in by_key:
        keys = ", ".join(by_key) or "none"
        raise _refuse(
            "invalid",
            "unknown_precondition",
            f"{key!r} is not a precondition of a Cafcass referral here; use: {keys}.",
            "key",
        )
    return by_key[key].role, by_key[key].kind


def _asked(
    agreements: tuple[AgreementState, ...], command: RequestAgreement, role: str, kind: str
) -> tuple[AgreementState, AgreementRequested]:
    """A new request to the person the command names, who must hold ``role``; one waiting at a time."""
    person = command.person
    if person is None:
        raise _refuse("invalid", "required", f"Choose the {role_label(role)} to ask.", "person")
    if role not in person.roles:
        raise _refuse(
            "invalid",
            "wrong_role",
            f"{person.username} is not a {role_label(role)}; choose the {role_label(role)} to ask.",
            "person",
        )
    note = _require_text(
        command.note,
        "note",
        "what you are asking and why" if kind == "agree" else "what you are telling them and why",
    )
    if _latest(agreements, command.purpose, command.key, {"pending"}) is not None:
        raise _refuse(
            "conflict",
            "already_asked",
            "This has already been asked and is waiting for an answer.",
        )
    number = len(agreements) + 1
    asked = AgreementState(
        number=number,
        purpose=command.purpose,
        key=command.key,
        username=person.username,
        kind=kind,
        requested_on=command.on,
    )
    detail = AgreementRequested(
        number=number,
        purpose=command.purpose,
        key=command.key,
        person=person.username,
        role=role,
        kind=kind,
        note=note,
    )
    return asked, detail


# ask a named person to agree to (or be told of) a bypass or a Cafcass referral
def _request_agreement_guard(procedure: Procedure, state: ChallengeState, actor: Actor) -> None:
    if state.status not in {"open", "resolved"}:
        raise _refuse("conflict", "not_open", f"Agreement cannot be asked on a {state.status} challenge.")
    _require(
        actor,
        (CHAIR, CHAIR_MANAGER),
        "ask for agreement",
        f"{_chair_words(state.track)} or their manager",
    )


def _request_agreement(
    procedure: Procedure,
    state: ChallengeState,
    command: RequestAgreement,
    actor: Actor,
    calendar: WorkingDays,
) -> Accepted:
    if command.purpose not in AGREEMENT_PURPOSES:
        raise _refuse(
            "invalid", "unknown_purpose", "Choose what the agreement is for: cafcass or bypass.", "purpose"
        )
    if command.purpose == "cafcass":
        role, kind = _cafcass_precondition(procedure.cafcass, state.track, command.key)
    else:
        current = _require_open(state, "ask agreement to a bypass on")
        target = _stage_or_refuse(procedure, command.key, "key")
        if procedure.order(target.key) <= procedure.order(current.stage) + 1:
            raise _refuse(
                "invalid",
                "not_a_bypass",
                "Agreement is asked for going past a stage: choose a stage after the next one.",
                "key",
            )
        needed = procedure.bypass_rule(target.key)
        if needed is None:
            raise _refuse(
                "invalid",
                "no_agreement_needed",
                f"{procedure.name} needs no one's agreement to go straight to {target.name}.",
                "key",
            )
        role, kind = needed, "agree"
    asked, detail = _asked(state.agreements, command, role, kind)
    new_state = replace(state, agreements=(*state.agreements, asked), last_event_on=command.on)
    return Accepted(new_state, (Event(state.visits[-1].stage, command.on, detail),))


def _answered(
    agreements: tuple[AgreementState, ...], command: AnswerAgreement, actor: Actor
) -> tuple[tuple[AgreementState, ...], AgreementAnswered]:
    """The request ``command`` answers, answered by the person it was made to."""
    for index, agreement in enumerate(agreements):
        if agreement.number != command.number:
            continue
        if agreement.username != actor.username:
            raise _refuse("forbidden", "not_asked", "This request was made to someone else.")
        if agreement.status != "pending":
            raise _refuse(
                "conflict",
                "already_answered",
                f"This request was already {agreement.status} "
                f"on {_fmt(agreement.answered_on or command.on)}.",
            )
        if command.answer not in AGREEMENT_ANSWERS:
            raise _refuse("invalid", "unknown_answer", "Choose whether you confirm or decline.", "answer")
        if command.answer == "declined":
            _require_text(command.comments, "comments", "why you decline")
        answered = replace(agreement, status=command.answer, answered_on=command.on)
        now = (*agreements[:index], answered, *agreements[index + 1 :])
        detail = AgreementAnswered(
            number=agreement.number,
            purpose=agreement.purpose,
            key=agreement.key,
            answer=command.answer,
            comments=command.comments.strip(),
        )
        return now, detail
    raise _refuse("not_found", "unknown_request", "There is no such request here.", "number")


# confirm or decline a request made to you
def _answer_agreement_guard(procedure: Procedure, state: ChallengeState, actor: Actor) -> None:
    if state.status not in {"open", "resolved"}:
        raise _refuse("conflict", "not_open", f"Nothing can be answered on a {state.status} challenge.")
    if not any(a.status == "pending" and a.username == actor.username for a in state.agreements):
        raise _refuse("forbidden", "not_asked", "Nothing on this challenge is waiting for your answer.")


def _answer_agreement(
    procedure: Procedure,
    state: ChallengeState,
    command: AnswerAgreement,
    actor: Actor,
    calendar: WorkingDays,
) -> Accepted:
    agreements, detail = _answered(state.agreements, command, actor)
    new_state = replace(state, agreements=agreements, last_event_on=command.on)
    return Accepted(new_state, (Event(state.visits[-1].stage, command.on, detail),))


# -- a Cafcass referral with no challenge (seeds 000 and 004) -------------------------------------
@dataclass(frozen=True, slots=True)
class ChildReferralState:
    """What a child's Cafcass referral with no challenge is decided from: the requests for agreement
    made on the child (numbered on the child), the latest date recorded among them and the referrals,
    and ``spent``: the requests numbered up to it came before the child's last such referral, and count
    for no other."""

    agreements: tuple[AgreementState, ...] = ()
    last_on: dt.date | None = None
    spent: int = 0


@dataclass(frozen=True, slots=True)
class ChildAccepted:
    agreements: tuple[AgreementState, ...]
    detail: CafcassReferred | AgreementRequested | AgreementAnswered


ChildCommand = ReferToCafcass | RequestAgreement | AnswerAgreement
ChildDecision = ChildAccepted | Refused

CAFCASS_IRO_ONLY = (
    "Only an IRO can refer a looked-after child's case to Cafcass (Children Act 1989 s25B(3)); "
    "CP Chairs have no such power."
)


def decide_for_child(
    *,
    procedure: Procedure,
    track: str,
    state: ChildReferralState,
    command: ChildCommand,
    actor: Actor,
    today: dt.date,
) -> ChildDecision:
    """A Cafcass referral with no challenge, and the agreements it needs, under the child's procedure.

    Seed 000: "Alongside or out with the Outcome Resolution the IRO can consider whether to make a
    referral to Cafcass"; seed 004: "Should the IRO/CP Chair be dissatisfied by the outcome a
    referral to CAFCASS can be made". The procedure decides the preconditions, who records the
    referral and the checklist exactly as for a challenge's referral. With no ladder tried, a
    procedure that refers only from a stage (``earliest_stage``) asks for a challenge first, and one
    that asks for urgency before a stage (``urgent_before_stage``) asks for it here. Never raises for
    bad input.
    """
    try:
        if command.on > today:
            raise _refuse(
                "invalid",
                "date_in_future",
                f"The date cannot be in the future (today is {_fmt(today)}).",
                "on",
            )
        if state.last_on is not None and command.on < state.last_on:
            raise _refuse(
                "invalid",
                "date_before_previous_event",
                "The date cannot be earlier than the last request or referral recorded for this child, "
                f"on {_fmt(state.last_on)}.",
                "on",
            )
        rules = procedure.cafcass
        if track not in rules.tracks or track not in procedure.tracks:
            raise _refuse("forbidden", "cafcass_iro_only", CAFCASS_IRO_ONLY)
        match command:
            case ReferToCafcass():
                return ChildAccepted(state.agreements, _child_refer(procedure, state, command, actor))
            case RequestAgreement():
                _require(
                    actor,
                    (CHAIR, CHAIR_MANAGER),
                    "ask for agreement to a referral to Cafcass",
                    "the child's allocated IRO or their manager",
                )
                if command.purpose != "cafcass":
                    raise _refuse(
                        "invalid",
                        "unknown_purpose",
                        "With no challenge, agreement is asked only for a referral to Cafcass.",
                        "purpose",
                    )
                role, kind = _cafcass_precondition(rules, track, command.key)
                asked, requested = _asked(state.agreements, command, role, kind)
                return ChildAccepted((*state.agreements, asked), requested)
            case AnswerAgreement():
                agreements, answered = _answered(state.agreements, command, actor)
                return ChildAccepted(agreements, answered)
        assert_never(command)
    except _Refusal as refusal:
        return refusal.refused


def _child_refer(
    procedure: Procedure, state: ChildReferralState, command: ReferToCafcass, actor: Actor
) -> CafcassReferred:
    rules = procedure.cafcass
    completer = rules.form_completed_by
    if completer is not None:
        _require(actor, (CAFCASS_FORM,), "complete the Cafcass referral form", f"the {role_label(completer)}")
    else:
        _require(actor, (CHAIR,), "refer the child's case to Cafcass", "the child's allocated IRO")
    if rules.earliest_stage is not None:
        raise _refuse(
            "conflict",
            "cafcass_challenge_first",
            f"{procedure.name} refers to Cafcass only once a challenge has reached "
            f"{procedure.stage(rules.earliest_stage).name}: raise the challenge first.",
        )
    reason = _require_text(command.reason, "reason", "why the case is being referred to Cafcass")
    if rules.urgent_before_stage is not None and not command.urgent:
        # Seed 000: "the matter will be of sufficient urgency that the dispute resolution process needs
        # to be curtailed based on the timetable for the child".
        raise _refuse(
            "invalid",
            "cafcass_urgency_required",
            f"Without a challenge a referral curtails {procedure.name} before "
            f"{procedure.stage(rules.urgent_before_stage).name}: mark it urgent and explain in the reason "
            "why the child's timetable cannot wait.",
            "urgent",
        )
    fresh = tuple(agreement for agreement in state.agreements if agreement.number > state.spent)
    met = _referral_met(rules, fresh, command)
    return CafcassReferred(
        reason=reason, urgent=command.urgent, checklist=dict(command.checklist), preconditions=met
    )


# send to another contact at the partner agency
def _ask_agency_guard(procedure: Procedure, state: ChallengeState, actor: Actor) -> None:
    if not procedure.partner_agency:
        raise _refuse(
            "conflict", "not_a_partner_agency_challenge", "This challenge is not to a partner agency."
        )
    _require_open(state, "send on")
    _require(
        actor,
        (CHAIR, CHAIR_MANAGER),
        "send this challenge to another contact",
        f"{_chair_words(state.track)} or their manager",
    )


def _ask_agency(
    procedure: Procedure, state: ChallengeState, command: AskAgency, actor: Actor, calendar: WorkingDays
) -> Accepted:
    current = _require_open(state, "send on")
    contact = _check_contact(command.contact, "contact")
    if current.contact == contact:
        raise _refuse(
            "conflict",
            "same_contact",
            f"{procedure.stage(current.stage).name} already went to {contact.name}: name the new contact.",
            "contact.email",
        )
    replaces = current.contact.words(state.agency) if current.contact is not None else ""
    visit = replace(current, contact=contact)
    new_state = replace(state, visits=(*state.visits[:-1], visit), last_event_on=command.on)
    return Accepted(new_state, (_agency_asked(procedure, new_state, visit, contact, command.on, replaces),))


# -- the declarations ----------------------------------------------------------------------------
class Audience(StrEnum):
    """Who a notification of a change goes to, worked out by the notifications app at write time."""

    STAGE_TO = "stage_to"  # the people the stage just entered went to
    STAGE_CC = "stage_cc"  # ... and was copied to
    STAGE_NOTIFIED = "stage_notified"  # ... and the procedure says are told of it
    STAGE_TO_AND_CC = "stage_to_and_cc"  # the "To" and copies of the stage the challenge is at
    CHAIR = "chair"  # the child's allocated chair for the track, while in post
    CHAIR_WHEN_AUTOMATIC = "chair_when_automatic"  # the chair, when Resolve itself made the change
    CAFCASS_TOLD = "cafcass_told"  # IRO Service Manager, Head of Safeguarding, and who agreed or was told
    SUCCESSOR = "successor"  # the person a leaver's work was handed over to
    PERSON_ASKED = "person_asked"  # the person a request for agreement (or to be told) was made to
    ASKER_AND_CHAIR = "asker_and_chair"  # who made that request, and the chair
    MEETING_PEOPLE = "meeting_people"  # a meeting's chair and attendees in Resolve, and the challenge's chair
    # The contact at a partner agency, by email address: nobody in Resolve (the outbox writes to the
    # address, ``notifications.services.agency_messages_put``).
    AGENCY_CONTACT = "agency_contact"


@dataclass(frozen=True, slots=True)
class Tell:
    """One notification a transition sends: its kind (``resolve.notifications.models.Kind``) and audience."""

    kind: str
    audience: Audience


C = TypeVar("C", bound="Command")
Guard = Callable[[Procedure, ChallengeState, Actor], None]


@dataclass(frozen=True, slots=True)
class Transition(Generic[C]):
    """Everything about one kind of change to a challenge, declared once.

    ``key`` is its word in URLs, forms and ``permitted``; ``title``, ``button`` and ``done`` its page's
    heading, button and confirmation; ``perm`` the role
    permission the write chokepoint checks before the engine decides; ``guard`` who may do it and
    when (from the state alone); ``handler`` what input it takes, how it is checked and what it
    records; ``event`` and ``words`` what it is called where people read it; ``tells`` who is told.
    The case note it writes is named by the procedure (``resolve.challenges.case_notes``).
    """

    key: str
    title: str
    button: str
    done: str
    command: type[C]
    perm: Perm
    guard: Guard
    handler: Callable[[Procedure, ChallengeState, C, Actor, WorkingDays], Accepted]
    event: EventType
    words: str
    tells: tuple[Tell, ...] = ()
    owner_may: bool = False  # an agreed action's owner may do it whatever their role


_STAGE_ENTERED = (
    Tell("stage_sent", Audience.STAGE_TO),
    Tell("stage_copied", Audience.STAGE_CC),
    Tell("stage_notified", Audience.STAGE_NOTIFIED),
)
_CLOSED = (Tell("challenge_closed", Audience.STAGE_TO_AND_CC),)

TRANSITIONS: tuple[Transition[Any], ...] = (
    Transition(
        key="raise",
        title="Raise a challenge",
        button="Raise the challenge",
        done="The challenge has been raised",
        command=Raise,
        perm=Perm.RAISE_CHALLENGE,
        guard=_raise_guard,
        handler=_raise,
        event=EventType.RAISED,
        words="Challenge raised",
        tells=_STAGE_ENTERED,
    ),
    Transition(
        key="respond",
        title="Record your response",
        button="Record response",
        done="Your response has been recorded",
        command=Respond,
        perm=Perm.RESPOND,
        guard=_respond_guard,
        handler=_respond,
        event=EventType.RESPONSE_RECORDED,
        words="Response recorded",
        tells=(Tell("response_recorded", Audience.CHAIR),),
    ),
    Transition(
        key="escalate",
        title="Escalate the challenge",
        button="Escalate",
        done="The challenge has been escalated",
        command=Escalate,
        perm=Perm.ESCALATE,
        guard=_escalate_guard,
        handler=_escalate,
        event=EventType.ESCALATED,
        words="Escalated",
        tells=(*_STAGE_ENTERED, Tell("auto_escalated", Audience.CHAIR_WHEN_AUTOMATIC)),
    ),
    Transition(
        key="resolve",
        title="Resolve the challenge",
        button="Resolve",
        done="The challenge has been resolved",
        command=Resolve,
        perm=Perm.RESOLVE,
        guard=_resolve_guard,
        handler=_resolve,
        event=EventType.RESOLVED,
        words="Resolved",
        tells=_CLOSED,
    ),
    Transition(
        key="reopen",
        title="Re-open the challenge",
        button="Re-open",
        done="The challenge has been re-opened",
        command=Reopen,
        perm=Perm.REOPEN,
        guard=_reopen_guard,
        handler=_reopen,
        event=EventType.REOPENED,
        words="Re-opened",
        tells=_STAGE_ENTERED,
    ),
    Transition(
        key="refer_to_cafcass",
        title="Refer to Cafcass",
        button="Refer to Cafcass",
        done="The referral to Cafcass has been recorded",
        command=ReferToCafcass,
        perm=Perm.REFER_TO_CAFCASS,
        guard=_refer_guard,
        handler=_refer,
        event=EventType.CAFCASS_REFERRED,
        words="Referred to Cafcass",
        tells=(Tell("cafcass_referred", Audience.CAFCASS_TOLD),),
    ),
    Transition(
        key="withdraw",
        title="Withdraw the challenge",
        button="Withdraw",
        done="The challenge has been withdrawn",
        command=Withdraw,
        perm=Perm.WITHDRAW,
        guard=_withdraw_guard,
        handler=_withdraw,
        event=EventType.WITHDRAWN,
        words="Withdrawn",
        tells=_CLOSED,
    ),
    Transition(
        key="record_meeting",
        title="Record a meeting",
        button="Record meeting",
        done="The meeting has been recorded",
        command=RecordMeeting,
        perm=Perm.RECORD_MEETING,
        guard=_record_meeting_guard,
        handler=_record_meeting,
        event=EventType.MEETING_RECORDED,
        words="Meeting recorded",
        # Seed 001: "Minutes of Meeting to be completed and circulated to all attendees."
        tells=(Tell("meeting_minutes", Audience.MEETING_PEOPLE),),
    ),
    Transition(
        key="mark_action",
        title="Update an action",
        button="Save",
        done="The action has been updated",
        command=MarkAction,
        perm=Perm.UPDATE_ACTION,
        guard=_mark_action_guard,
        handler=_mark_action,
        event=EventType.ACTION_UPDATED,
        words="Action updated",
        tells=(),
        owner_may=True,
    ),
    Transition(
        key="final_comments",
        title="Add final comments",
        button="Add final comments",
        done="Your final comments have been added",
        command=AddFinalComments,
        perm=Perm.ADD_FINAL_COMMENTS,
        guard=_final_comments_guard,
        handler=_final_comments,
        event=EventType.FINAL_COMMENTS_ADDED,
        words="Final comments added",
        tells=(),
    ),
    Transition(
        key="learning_points",
        title="Add key learning points",
        button="Add learning points",
        done="The learning points have been added",
        command=AddLearningPoints,
        perm=Perm.ADD_LEARNING_POINTS,
        guard=_learning_points_guard,
        handler=_learning_points,
        event=EventType.LEARNING_POINTS_ADDED,
        words="Key learning points added",
        tells=(),
    ),
    Transition(
        key="hand_over",
        title="Hand over a leaver's work",
        button="Hand over",
        done="The work has been handed over",
        command=HandOver,
        perm=Perm.HAND_OVER_WORK,
        guard=_hand_over_guard,
        handler=_hand_over,
        event=EventType.HANDED_OVER,
        words="Work handed over",
        tells=(Tell("work_handed_over", Audience.SUCCESSOR),),
    ),
    Transition(
        key="add_action",
        title="Add an action",
        button="Add the action",
        done="The action has been added",
        command=AddAction,
        perm=Perm.PLAN_ACTIONS,
        guard=_plan_guard,
        handler=_add_action,
        event=EventType.ACTION_ADDED,
        words="Action agreed",
        tells=(),
    ),
    Transition(
        key="redate_action",
        title="Change an action's date",
        button="Change the date",
        done="The action's date has been changed",
        command=RedateAction,
        perm=Perm.PLAN_ACTIONS,
        guard=_plan_guard,
        handler=_redate_action,
        event=EventType.ACTION_REDATED,
        words="Action re-dated",
        tells=(),
    ),
    Transition(
        key="extend_deadline",
        title="Record an agreed extension",
        button="Record the extension",
        done="The extension has been recorded",
        command=ExtendDeadline,
        perm=Perm.EXTEND_DEADLINE,
        guard=_extend_guard,
        handler=_extend,
        event=EventType.DEADLINE_EXTENDED,
        words="Response date extended",
        tells=(Tell("deadline_extended", Audience.STAGE_TO_AND_CC),),
    ),
    Transition(
        key="request_agreement",
        title="Ask for agreement",
        button="Send the request",
        done="Your request has been sent",
        command=RequestAgreement,
        perm=Perm.ASK_AGREEMENT,
        guard=_request_agreement_guard,
        handler=_request_agreement,
        event=EventType.AGREEMENT_REQUESTED,
        words="Agreement asked",
        tells=(Tell("agreement_requested", Audience.PERSON_ASKED),),
    ),
    Transition(
        key="answer_agreement",
        title="Confirm or decline",
        button="Send your answer",
        done="Your answer has been recorded",
        command=AnswerAgreement,
        perm=Perm.ANSWER_REQUEST,
        guard=_answer_agreement_guard,
        handler=_answer_agreement,
        event=EventType.AGREEMENT_ANSWERED,
        words="Agreement answered",
        tells=(Tell("agreement_answered", Audience.ASKER_AND_CHAIR),),
    ),
    Transition(
        key="request_meeting",
        title="Ask for a meeting",
        button="Send the request",
        done="The meeting has been requested",
        command=RequestMeeting,
        perm=Perm.RECORD_MEETING,
        guard=_request_meeting_guard,
        handler=_request_meeting,
        event=EventType.MEETING_REQUESTED,
        words="Meeting requested",
        tells=(Tell("meeting_requested", Audience.MEETING_PEOPLE),),
    ),
    Transition(
        key="ask_agency",
        title="Send to another contact at the agency",
        button="Send to the new contact",
        done="The challenge has been sent to the new contact",
        command=AskAgency,
        perm=Perm.ESCALATE,
        guard=_ask_agency_guard,
        handler=_ask_agency,
        event=EventType.AGENCY_ASKED,
        words="Sent to the partner agency",
        # Raising, escalating and re-opening a challenge to a partner agency send it to the stage's
        # contact with this event too, so the contact is told the same way each time.
        tells=(Tell("agency_asked", Audience.AGENCY_CONTACT),),
    ),
)

TRANSITION_FOR: dict[type, Transition[Any]] = {transition.command: transition for transition in TRANSITIONS}
TRANSITION_BY_KEY: dict[str, Transition[Any]] = {transition.key: transition for transition in TRANSITIONS}
TRANSITION_BY_EVENT: dict[EventType, Transition[Any]] = {
    transition.event: transition for transition in TRANSITIONS
}
# What each event is called where people read it (timelines, chronologies, case notes).
EVENT_WORDS: dict[str, str] = {transition.event: transition.words for transition in TRANSITIONS}


def permitted(*, procedure: Procedure, state: ChallengeState, actor: Actor) -> tuple[Transition[Any], ...]:
    """The transitions ``actor`` may start on ``state`` now: those whose guard lets them through.

    The input each asks for (a reason, a response, an agreement) is checked when it is made.
    """
    allowed = []
    for transition in TRANSITIONS:
        try:
            transition.guard(procedure, state, actor)
        except _Refusal:
            continue
        allowed.append(transition)
    return tuple(allowed)
