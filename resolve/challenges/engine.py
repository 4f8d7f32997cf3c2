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
from typing import Any, Generic, Literal, TypeVar

from resolve.access.permissions import Perm
from resolve.calendars.types import WorkingDays
from resolve.challenges.events import (
    RESPONSES,
    ActionUpdated,
    CafcassReferred,
    Escalated,
    Event,
    EventType,
    FinalCommentsAdded,
    LearningPointsAdded,
    MeetingRecorded,
    Raised,
    Reopened,
    Resolved,
    ResponseRecorded,
    Withdrawn,
)
from resolve.challenges.overdue import stage_overdue
from resolve.people.roles import ROLES, TRACK_LABELS, role_label
from resolve.procedures.schema import DOCUMENT_KINDS, Procedure, Stage

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


# -- state ---------------------------------------------------------------------------------------
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


@dataclass(frozen=True, slots=True)
class ActionState:
    id: int
    due: dt.date
    status: ActionStatus = "open"
    owner: str = ""  # free text, or the username of the person who owns it


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


@dataclass(frozen=True, slots=True)
class Resolve:
    on: dt.date
    outcome: str
    learning_points: str = ""


@dataclass(frozen=True, slots=True)
class Reopen:
    on: dt.date
    reason: str


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
    reason: str = ""


@dataclass(frozen=True, slots=True)
class RecordMeeting:
    on: dt.date
    summary: str


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


def _formal_clock(
    procedure: Procedure, state: ChallengeState, stage: Stage, on: dt.date, calendar: WorkingDays
) -> tuple[dt.date | None, dt.date | None]:
    """The formal process starts when a challenge first enters a formal stage; the cap runs from then."""
    if state.formal_started_on is not None or stage.kind != "formal":
        return state.formal_started_on, state.formal_due_on
    return on, _add_working_days(calendar, on, procedure.formal_cap_working_days)


def _check_bypass(
    procedure: Procedure, target: Stage, reason: str, agreed_by: Person | None, field_prefix: str
) -> None:
    if not reason.strip():
        raise _refuse(
            "invalid",
            "bypass_reason_required",
            f"Give the reason for going straight to {target.name}.",
            field_prefix + "reason",
        )
    needed = procedure.bypass_rule(target.key)
    if needed is None:
        return
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
    first = procedure.stages[0]
    target = _stage_or_refuse(procedure, command.stage, "stage") if command.stage else first
    if target.key != first.key:
        _check_bypass(procedure, target, command.bypass_reason, command.bypass_agreed_by, "bypass_")
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
    visit = _enter(target, command.on, calendar)
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
    )
    return Accepted(new_state, (Event(target.key, command.on, detail),))


# respond
def _respond_guard(procedure: Procedure, state: ChallengeState, actor: Actor) -> None:
    current = _require_open(state, "respond to")
    stage = procedure.stage(current.stage)
    _require(actor, (RECIPIENT,), "respond at this stage", f"the {role_label(stage.to_role)} it is sent to")


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
        response_label=RESPONSES[command.response],
        on_time=not late,
        comments=command.comments.strip(),
        due_on=current.due_on,
        further=current.response is not None,
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
    if skipped:
        _check_bypass(procedure, target, command.reason, command.bypass_agreed_by, "")
    documents = state.documents | command.documents
    _check_documents(target, documents)
    left = replace(current, left_on=command.on, left_how="escalated")
    visit = _enter(target, command.on, calendar)
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
        bypass_agreed_by=command.bypass_agreed_by.username if skipped and command.bypass_agreed_by else "",
        automatic=actor.is_(SYSTEM),
    )
    return Accepted(new_state, (Event(target.key, command.on, detail),))


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
    visit = _enter(target, command.on, calendar)
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
    )
    detail = Reopened(reason=reason, last_exited_stage=last, reentry_stage=target.key, due_on=visit.due_on)
    return Accepted(new_state, (Event(target.key, command.on, detail),))


# refer to Cafcass
def _refer_guard(procedure: Procedure, state: ChallengeState, actor: Actor) -> None:
    rules = procedure.cafcass
    if state.track not in rules.tracks:
        raise _refuse(
            "conflict",
            "cafcass_iro_only",
            "Only an IRO can refer a looked-after child's case to Cafcass (Children Act 1989 s25B(3)); "
            "CP Chairs have no such power.",
        )
    _require_open(state, "refer to Cafcass")
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
    current = _require_open(state, "refer to Cafcass")
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
    for precondition in rules.requires:
        person = command.preconditions.get(precondition.key)
        if person is None:
            raise _refuse(
                "invalid",
                "cafcass_precondition_missing",
                f"{precondition.label}: say which {role_label(precondition.role)} agreed or was told.",
                f"preconditions.{precondition.key}",
            )
        if precondition.role not in person.roles:
            raise _refuse(
                "invalid",
                "cafcass_precondition_wrong_role",
                f"{person.username} is not a {role_label(precondition.role)}; {precondition.label.lower()}.",
                f"preconditions.{precondition.key}",
            )
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
    new_state = replace(state, cafcass_referred_on=command.on, last_event_on=command.on)
    detail = CafcassReferred(
        reason=reason,
        urgent=command.urgent,
        checklist=dict(command.checklist),
        preconditions={key: person.username for key, person in command.preconditions.items()},
    )
    return Accepted(new_state, (Event(current.stage, command.on, detail),))


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
    if not actor.is_(*_ACTION_PEOPLE) and all(actor.username != action.owner for action in state.actions):
        raise _refuse("forbidden", "not_allowed", _ACTION_WHO)


def _mark_action(
    procedure: Procedure, state: ChallengeState, command: MarkAction, actor: Actor, calendar: WorkingDays
) -> Accepted:
    for index, action in enumerate(state.actions):
        if action.id == command.action_id:
            if not (actor.is_(*_ACTION_PEOPLE) or actor.username == action.owner):
                raise _refuse("forbidden", "not_allowed", _ACTION_WHO)
            if command.status not in {"done", "not_done"}:
                raise _refuse(
                    "invalid",
                    "unknown_action_status",
                    "Choose whether the action was done or not done.",
                    "status",
                )
            updated = replace(action, status="done" if command.status == "done" else "not_done")
            actions = (*state.actions[:index], updated, *state.actions[index + 1 :])
            new_state = replace(state, actions=actions, last_event_on=command.on)
            detail = ActionUpdated(
                action_id=action.id,
                status=command.status,
                due=action.due,
                late=command.on > action.due,
                reason=command.reason.strip(),
            )
            return Accepted(new_state, (Event(state.visits[-1].stage, command.on, detail),))
    raise _refuse("not_found", "unknown_action", _NO_SUCH_ACTION, "action_id")


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
    return Accepted(new_state, (Event(current.stage, command.on, MeetingRecorded(summary=summary)),))


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
        tells=(),
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
