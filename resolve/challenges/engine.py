"""The challenge engine: a pure function of (policy, state, command, actor, today) → decision.

It owns every rule of the process: stage order, bypass (with a reason, and the policy's agreement
rule), re-entry at the right stage, the formal cap, who may do what at each stage, Cafcass only on
the IRO track and only when the policy's preconditions hold, and event dates that are never in the
future nor before the previous event. It touches no database: the services load a state, ask the
engine, and write what it decides.

A refusal says, in a sentence a person can act on, why the command cannot be carried out now.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from resolve.calendars.types import WorkingDays
from resolve.people.roles import ROLES, role_label
from resolve.policies.schema import DOCUMENT_KINDS, Policy, Stage

Track = Literal["iro", "cpc"]
Status = Literal["new", "open", "resolved", "withdrawn"]
ResponseKind = Literal["agree", "disagree", "no_remit"]
ActionStatus = Literal["open", "done", "not_done"]

RESPONSES: dict[str, str] = {
    "agree": "Agree and able to implement",
    "disagree": "Do not agree and will not implement",
    "no_remit": "Do not have the remit to implement",
}
# What each event is called where people read it (timelines, chronologies, case notes).
EVENT_WORDS: dict[str, str] = {
    "raised": "Challenge raised",
    "escalated": "Escalated",
    "response_recorded": "Response recorded",
    "resolved": "Resolved",
    "reopened": "Re-opened",
    "withdrawn": "Withdrawn",
    "cafcass_referred": "Referred to Cafcass",
    "action_updated": "Action updated",
    "meeting_recorded": "Meeting recorded",
    "final_comments_added": "Final comments added",
}
TRACKS: dict[str, str] = {"iro": "Independent Reviewing Officer", "cpc": "Child Protection Conference Chair"}

# What a person may be to a challenge; the services work these out from the management line.
CHAIR = "chair"  # the child's allocated IRO (IRO track) or CP Chair (CP track)
RECIPIENT = "recipient"  # holds the current stage's "To" role in the child's line
CHAIR_MANAGER = "chair_manager"  # the chair's own Team or Service Manager
FINAL_COMMENTER = "final_commenter"  # holds the policy's final-comments role in the chair's line
CHILD_WORKER = "child_worker"  # the child's social worker or their team manager, who carry out actions
SYSTEM = "system"  # Resolve itself, acting on a deadline the policy tells it to act on


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

    def highest_order_reached(self, policy: Policy) -> int:
        return max((policy.order(visit.stage) for visit in self.visits), default=0)


def is_overdue(visit: Visit | None, today: dt.date, calendar: WorkingDays) -> bool:
    """A stage is overdue from the first working day after its due date until a response is recorded.

    The same day the overdue alert goes out: a response due on a Friday is not overdue that weekend.
    """
    if visit is None or visit.due_on is None or visit.response is not None:
        return False
    return calendar.last_working_day_on_or_before(today) > visit.due_on


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
)


# -- decisions -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Event:
    type: str
    stage: str | None
    on: dt.date
    detail: dict[str, Any] = field(default_factory=dict)


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
    policy: Policy,
    state: ChallengeState,
    command: Command,
    actor: Actor,
    today: dt.date,
    calendar: WorkingDays,
) -> Decision:
    """Carry out ``command`` on ``state`` under ``policy``, or say why not. Never raises for bad input."""
    try:
        _check_date(state, command.on, today)
        handler = _HANDLERS[type(command)]
        return handler(policy, state, command, actor, calendar)
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
    policy: Policy, state: ChallengeState, stage: Stage, on: dt.date, calendar: WorkingDays
) -> tuple[dt.date | None, dt.date | None]:
    """The formal process starts when a challenge first enters a formal stage; the cap runs from then."""
    if state.formal_started_on is not None or stage.kind != "formal":
        return state.formal_started_on, state.formal_due_on
    return on, _add_working_days(calendar, on, policy.formal_cap_working_days)


def _check_bypass(
    policy: Policy, target: Stage, reason: str, agreed_by: Person | None, field_prefix: str
) -> None:
    if not reason.strip():
        raise _refuse(
            "invalid",
            "bypass_reason_required",
            f"Give the reason for going straight to {target.name}.",
            field_prefix + "reason",
        )
    needed = policy.bypass_rule(target.key)
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


def _stage_or_refuse(policy: Policy, key: str, field_name: str) -> Stage:
    if not policy.has_stage(key):
        keys = ", ".join(stage.key for stage in policy.stages)
        raise _refuse(
            "invalid",
            "unknown_stage",
            f"{key!r} is not a stage of this procedure; use one of: {keys}.",
            field_name,
        )
    return policy.stage(key)


def _check_automatic_escalation(
    policy: Policy, current: Visit, command: Escalate, calendar: WorkingDays
) -> None:
    """The system escalates only a stage its policy marks automatic, only once overdue, one rung up."""
    stage = policy.stage(current.stage)
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


# -- the commands --------------------------------------------------------------------------------
def _raise(
    policy: Policy, state: ChallengeState, command: Raise, actor: Actor, calendar: WorkingDays
) -> Decision:
    if state.status != "new":
        raise _refuse("conflict", "already_raised", "This challenge has already been raised.")
    if state.track not in policy.tracks:
        tracks = " or ".join(TRACKS[track] for track in policy.tracks)
        raise _refuse(
            "invalid", "track_not_in_policy", f"{policy.name} is for the {tracks} track only.", "track"
        )
    _require(actor, (CHAIR,), "raise a challenge for this child", _chair_words(state.track))
    concern = _require_text(command.concern, "concern", "what the concern is")
    _require_text(command.impact_on_child, "impact_on_child", "the impact on the child")
    first = policy.stages[0]
    target = _stage_or_refuse(policy, command.stage, "stage") if command.stage else first
    if target.key != first.key:
        _check_bypass(policy, target, command.bypass_reason, command.bypass_agreed_by, "bypass_")
    unknown = [theme for theme in command.themes if theme not in policy.theme_keys()]
    if unknown:
        keys = ", ".join(theme.key for theme in policy.themes)
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
    formal_started_on, formal_due_on = _formal_clock(policy, state, target, command.on, calendar)
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
    detail: dict[str, Any] = {"concern": concern, "themes": list(command.themes), "due_on": visit.due_on}
    if target.key != first.key:
        detail["bypassed"] = [stage.key for stage in policy.stages[: policy.order(target.key) - 1]]
        detail["bypass_reason"] = command.bypass_reason.strip()
        if command.bypass_agreed_by:
            detail["bypass_agreed_by"] = command.bypass_agreed_by.username
    return Accepted(new_state, (Event("raised", target.key, command.on, detail),))


def _respond(
    policy: Policy, state: ChallengeState, command: Respond, actor: Actor, calendar: WorkingDays
) -> Decision:
    current = _require_open(state, "respond to")
    stage = policy.stage(current.stage)
    _require(actor, (RECIPIENT,), "respond at this stage", f"the {role_label(stage.to_role)} it is sent to")
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
    detail = {
        "response": command.response,
        "response_label": RESPONSES[command.response],
        "comments": command.comments.strip(),
        "due_on": current.due_on,
        "on_time": not late,
    }
    return Accepted(new_state, (Event("response_recorded", stage.key, command.on, detail),))


def _escalate(
    policy: Policy, state: ChallengeState, command: Escalate, actor: Actor, calendar: WorkingDays
) -> Decision:
    current = _require_open(state, "escalate")
    if actor.is_(SYSTEM):
        _check_automatic_escalation(policy, current, command, calendar)
    else:
        _require(
            actor,
            (CHAIR, CHAIR_MANAGER),
            "escalate this challenge",
            f"{_chair_words(state.track)} or their manager",
        )
    following = policy.next_stage(current.stage)
    if command.to_stage:
        target = _stage_or_refuse(policy, command.to_stage, "to_stage")
        if policy.order(target.key) <= policy.order(current.stage):
            raise _refuse(
                "invalid",
                "not_a_later_stage",
                f"Escalation goes up the ladder: choose a stage after {policy.stage(current.stage).name}.",
                "to_stage",
            )
    elif following is None:
        raise _refuse(
            "conflict",
            "last_stage",
            f"{policy.stage(current.stage).name} is the last stage: resolve the challenge"
            + (" or refer to Cafcass." if state.track in policy.cafcass.tracks else "."),
        )
    else:
        target = following
    skipped = [
        stage.key for stage in policy.stages[policy.order(current.stage) : policy.order(target.key) - 1]
    ]
    if skipped:
        _check_bypass(policy, target, command.reason, command.bypass_agreed_by, "")
    documents = state.documents | command.documents
    _check_documents(target, documents)
    left = replace(current, left_on=command.on, left_how="escalated")
    visit = _enter(target, command.on, calendar)
    formal_started_on, formal_due_on = _formal_clock(policy, state, target, command.on, calendar)
    new_state = replace(
        state,
        visits=(*state.visits[:-1], left, visit),
        formal_started_on=formal_started_on,
        formal_due_on=formal_due_on,
        last_event_on=command.on,
        documents=documents,
    )
    detail: dict[str, Any] = {
        "from_stage": current.stage,
        "to_stage": target.key,
        "reason": command.reason.strip(),
        "due_on": visit.due_on,
        "previous_response": current.response,
    }
    if skipped:
        detail["bypassed"] = skipped
        if command.bypass_agreed_by:
            detail["bypass_agreed_by"] = command.bypass_agreed_by.username
    if actor.is_(SYSTEM):
        detail["automatic"] = True
    return Accepted(new_state, (Event("escalated", target.key, command.on, detail),))


def _resolve(
    policy: Policy, state: ChallengeState, command: Resolve, actor: Actor, calendar: WorkingDays
) -> Decision:
    current = _require_open(state, "resolve")
    _require(
        actor,
        (CHAIR, CHAIR_MANAGER),
        "resolve this challenge",
        f"{_chair_words(state.track)} or their manager",
    )
    stage = policy.stage(current.stage)
    outcome = _require_text(command.outcome, "outcome", "the outcome for the child")
    if policy.resolution.requires_learning_points:
        _require_text(command.learning_points, "learning_points", "the key learning points")
    if stage.meeting is not None and stage.meeting.required and current.meetings == 0:
        raise _refuse(
            "conflict",
            "meeting_required",
            f"{stage.name} is resolved at a meeting: record the meeting ({stage.meeting.description}) first.",
        )
    left = replace(current, left_on=command.on, left_how="resolved")
    new_state = replace(state, status="resolved", visits=(*state.visits[:-1], left), last_event_on=command.on)
    detail = {"outcome": outcome, "learning_points": command.learning_points.strip()}
    return Accepted(new_state, (Event("resolved", stage.key, command.on, detail),))


def _reopen(
    policy: Policy, state: ChallengeState, command: Reopen, actor: Actor, calendar: WorkingDays
) -> Decision:
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
    reason = _require_text(command.reason, "reason", "why the challenge is being re-opened")
    last = state.last_exited_stage
    assert last is not None  # a resolved challenge has left a stage
    target = policy.stage(policy.reentry_for(last))
    visit = _enter(target, command.on, calendar)
    # A new resolution will need its own outcome and final comments; the events keep the old ones.
    new_state = replace(
        state, status="open", visits=(*state.visits, visit), last_event_on=command.on, final_comments_on=None
    )
    detail = {
        "reason": reason,
        "last_exited_stage": last,
        "reentry_stage": target.key,
        "due_on": visit.due_on,
    }
    return Accepted(new_state, (Event("reopened", target.key, command.on, detail),))


def _refer(
    policy: Policy, state: ChallengeState, command: ReferToCafcass, actor: Actor, calendar: WorkingDays
) -> Decision:
    rules = policy.cafcass
    if state.track not in rules.tracks:
        raise _refuse(
            "conflict",
            "cafcass_iro_only",
            "Only an IRO can refer a looked-after child's case to Cafcass (Children Act 1989 s25B(3)); "
            "CP Chairs have no such power.",
        )
    current = _require_open(state, "refer to Cafcass")
    _require(actor, (CHAIR,), "refer this challenge to Cafcass", _chair_words(state.track))
    if state.cafcass_referred_on is not None:
        raise _refuse(
            "conflict",
            "already_referred",
            f"This challenge was referred to Cafcass on {_fmt(state.cafcass_referred_on)}.",
        )
    reason = _require_text(command.reason, "reason", "why the case is being referred to Cafcass")
    reached = state.highest_order_reached(policy)
    if rules.earliest_stage is not None and reached < policy.order(rules.earliest_stage):
        raise _refuse(
            "conflict",
            "cafcass_too_early",
            f"{policy.name} refers to Cafcass only once the challenge has reached "
            f"{policy.stage(rules.earliest_stage).name}.",
        )
    if (
        rules.urgent_before_stage is not None
        and reached < policy.order(rules.urgent_before_stage)
        and not command.urgent
    ):
        raise _refuse(
            "invalid",
            "cafcass_urgency_required",
            f"Before {policy.stage(rules.urgent_before_stage).name} a referral curtails the process: "
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
    detail = {
        "reason": reason,
        "urgent": command.urgent,
        "checklist": dict(command.checklist),
        "preconditions": {key: person.username for key, person in command.preconditions.items()},
    }
    return Accepted(new_state, (Event("cafcass_referred", current.stage, command.on, detail),))


def _mark_action(
    policy: Policy, state: ChallengeState, command: MarkAction, actor: Actor, calendar: WorkingDays
) -> Decision:
    if state.status in {"new", "withdrawn"}:
        raise _refuse("conflict", "not_open", f"Actions cannot be updated on a {state.status} challenge.")
    for index, action in enumerate(state.actions):
        if action.id == command.action_id:
            if not (
                actor.is_(CHAIR, RECIPIENT, CHAIR_MANAGER, CHILD_WORKER) or actor.username == action.owner
            ):
                raise _refuse(
                    "forbidden",
                    "not_allowed",
                    "Only the action's owner, the chair, the stage's recipient or the child's social work "
                    "team can update this action.",
                )
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
            stage = state.visits[-1].stage
            detail = {
                "action_id": action.id,
                "status": command.status,
                "due": action.due,
                "late": command.on > action.due,
            }
            return Accepted(new_state, (Event("action_updated", stage, command.on, detail),))
    raise _refuse("not_found", "unknown_action", "There is no such action on this challenge.", "action_id")


def _record_meeting(
    policy: Policy, state: ChallengeState, command: RecordMeeting, actor: Actor, calendar: WorkingDays
) -> Decision:
    current = _require_open(state, "record a meeting on")
    _require(
        actor,
        (CHAIR, RECIPIENT, CHAIR_MANAGER),
        "record a meeting",
        "the chair, their manager or the recipient",
    )
    summary = _require_text(command.summary, "summary", "a summary of the meeting")
    visit = replace(current, meetings=current.meetings + 1)
    new_state = replace(state, visits=(*state.visits[:-1], visit), last_event_on=command.on)
    return Accepted(new_state, (Event("meeting_recorded", current.stage, command.on, {"summary": summary}),))


def _withdraw(
    policy: Policy, state: ChallengeState, command: Withdraw, actor: Actor, calendar: WorkingDays
) -> Decision:
    current = _require_open(state, "withdraw")
    _require(
        actor,
        (CHAIR, CHAIR_MANAGER),
        "withdraw this challenge",
        f"{_chair_words(state.track)} or their manager",
    )
    reason = _require_text(command.reason, "reason", "why the challenge is being withdrawn")
    left = replace(current, left_on=command.on, left_how="withdrawn")
    new_state = replace(
        state, status="withdrawn", visits=(*state.visits[:-1], left), last_event_on=command.on
    )
    return Accepted(new_state, (Event("withdrawn", current.stage, command.on, {"reason": reason}),))


def _final_comments(
    policy: Policy, state: ChallengeState, command: AddFinalComments, actor: Actor, calendar: WorkingDays
) -> Decision:
    role = policy.resolution.final_comments_role
    if role is None:
        raise _refuse("conflict", "no_final_comments", f"{policy.name} has no final comments step.")
    if state.status != "resolved":
        raise _refuse("conflict", "not_resolved", "Final comments are added once the challenge is resolved.")
    if state.final_comments_on is not None:
        raise _refuse("conflict", "final_comments_exist", "Final comments have already been added.")
    _require(actor, (FINAL_COMMENTER,), "add the final comments", f"the {ROLES[role].label}")
    comments = _require_text(command.comments, "comments", "the final comments")
    new_state = replace(state, final_comments_on=command.on, last_event_on=command.on)
    stage = state.visits[-1].stage
    return Accepted(new_state, (Event("final_comments_added", stage, command.on, {"comments": comments}),))


_HANDLERS: dict[type, Any] = {
    Raise: _raise,
    Respond: _respond,
    Escalate: _escalate,
    Resolve: _resolve,
    Reopen: _reopen,
    ReferToCafcass: _refer,
    MarkAction: _mark_action,
    RecordMeeting: _record_meeting,
    Withdraw: _withdraw,
    AddFinalComments: _final_comments,
}
