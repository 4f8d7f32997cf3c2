"""What a change to a challenge records: one event type per transition, each with a typed detail.

The engine decides an event; the write path stores it (``Event.detail`` as JSON, through
``detail_to_json``) and everything that reads events back (case notes, notifications, pages, the
API) gets the same typed detail from ``detail_from_json``. Adding an event type means adding its
member here, its detail class and its line in ``DETAILS``; every ``match`` over details ends in
``assert_never``, so mypy names each place that must then say something about it.

The JSON keys are the detail's field names, and a field left at its empty default is not stored, so
the API's ``detail`` objects keep the shape they were published with.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

# The answers a stage's recipient may give, as the seeds word them.
RESPONSES: dict[str, str] = {
    "agree": "Agree and able to implement",
    "disagree": "Do not agree and will not implement",
    "no_remit": "Do not have the remit to implement",
}

# The reviews a concern or a challenge may come out of, as the seeds name them (001: "Review or
# MidWay Review"; 000: "Trigger out of the child's review"; 002: the CP Chair's "mid-point review").
REVIEWS: dict[str, str] = {
    "cla_review": "Looked-after child review",
    "midway_review": "Midway review",
    "cp_conference": "Child protection conference",
    "mid_point_review": "Mid-point review",
}


class EventType(StrEnum):
    RAISED = "raised"
    ESCALATED = "escalated"
    RESPONSE_RECORDED = "response_recorded"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    WITHDRAWN = "withdrawn"
    CAFCASS_REFERRED = "cafcass_referred"
    ACTION_UPDATED = "action_updated"
    MEETING_RECORDED = "meeting_recorded"
    FINAL_COMMENTS_ADDED = "final_comments_added"
    LEARNING_POINTS_ADDED = "learning_points_added"
    HANDED_OVER = "handed_over"
    ACTION_ADDED = "action_added"
    ACTION_REDATED = "action_redated"
    DEADLINE_EXTENDED = "deadline_extended"
    AGREEMENT_REQUESTED = "agreement_requested"
    AGREEMENT_ANSWERED = "agreement_answered"
    MEETING_REQUESTED = "meeting_requested"
    AGENCY_ASKED = "agency_asked"


@dataclass(frozen=True, slots=True)
class Raised:
    TYPE: ClassVar[EventType] = EventType.RAISED
    concern: str
    themes: tuple[str, ...]
    due_on: dt.date | None
    bypassed: tuple[str, ...] = ()
    bypass_reason: str = ""
    bypass_agreed_by: str = ""
    impact_on_child: str = ""
    desired_outcome: str = ""
    procedure_due_on: dt.date | None = None  # the procedure's date, when the chair set an earlier one
    review: str = ""  # the review that triggered the challenge (``REVIEWS``)
    review_on: dt.date | None = None
    chair_due_on: dt.date | None = None  # the chair's own deadline from the review, where one is set
    from_concern_on: dt.date | None = None  # when the concern it carries was recorded
    optional_notify_roles: tuple[str, ...] = ()  # roles the chair chose whether to tell (seed 000)
    optional_notified: bool | None = None


@dataclass(frozen=True, slots=True)
class Escalated:
    TYPE: ClassVar[EventType] = EventType.ESCALATED
    from_stage: str
    to_stage: str
    reason: str
    due_on: dt.date | None
    previous_response: str | None
    bypassed: tuple[str, ...] = ()
    bypass_agreed_by: str = ""
    automatic: bool = False
    procedure_due_on: dt.date | None = None
    optional_notify_roles: tuple[str, ...] = ()  # roles the chair chose whether to tell (seed 000)
    optional_notified: bool | None = None


@dataclass(frozen=True, slots=True)
class ResponseRecorded:
    TYPE: ClassVar[EventType] = EventType.RESPONSE_RECORDED
    response: str
    response_label: str
    on_time: bool
    comments: str
    due_on: dt.date | None
    further: bool = False  # a further response at a stage already answered
    extended: bool = False  # the due date was moved by an agreed extension
    # A partner agency's reply, recorded by the chair: the contact it came from ("Name, role, agency").
    on_behalf_of: str = ""


@dataclass(frozen=True, slots=True)
class Resolved:
    TYPE: ClassVar[EventType] = EventType.RESOLVED
    outcome: str
    learning_points: str


@dataclass(frozen=True, slots=True)
class Reopened:
    TYPE: ClassVar[EventType] = EventType.REOPENED
    reason: str
    last_exited_stage: str
    reentry_stage: str
    due_on: dt.date | None
    procedure_due_on: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Withdrawn:
    TYPE: ClassVar[EventType] = EventType.WITHDRAWN
    reason: str


@dataclass(frozen=True, slots=True)
class CafcassReferred:
    TYPE: ClassVar[EventType] = EventType.CAFCASS_REFERRED
    reason: str
    urgent: bool
    checklist: Mapping[str, bool]
    preconditions: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class ActionUpdated:
    TYPE: ClassVar[EventType] = EventType.ACTION_UPDATED
    action_id: int
    status: str
    due: dt.date
    late: bool
    reason: str = ""  # why an action was not done


@dataclass(frozen=True, slots=True)
class MeetingRecorded:
    TYPE: ClassVar[EventType] = EventType.MEETING_RECORDED
    summary: str
    # A requested meeting's record: which, when held, who came, the actions agreed and whether they
    # were recorded within the procedure's hours (left out of the JSON at their defaults).
    number: int = 0
    key: str = ""
    held_on: dt.date | None = None
    attendees: tuple[str, ...] = ()
    outsiders: tuple[str, ...] = ()
    actions: int = 0
    actions_due_by: dt.date | None = None
    actions_on_time: bool | None = None


@dataclass(frozen=True, slots=True)
class FinalCommentsAdded:
    TYPE: ClassVar[EventType] = EventType.FINAL_COMMENTS_ADDED
    comments: str


@dataclass(frozen=True, slots=True)
class LearningPointsAdded:
    TYPE: ClassVar[EventType] = EventType.LEARNING_POINTS_ADDED
    learning_points: str


@dataclass(frozen=True, slots=True)
class HandedOver:
    """A leaver's part in the challenge moved to another person: the stage they were sent, copied or
    told of (``stage``), the chair (``chair``, with the child's allocation), their open actions (ids) and
    the requests for agreement waiting on their answer (``agreements``: the requests' numbers) and the
    requested meetings not yet held that they were to chair (``meetings``: their numbers)."""

    TYPE: ClassVar[EventType] = EventType.HANDED_OVER
    leaver: str
    successor: str
    reason: str
    stage: bool = False
    chair: bool = False
    actions: tuple[int, ...] = ()
    agreements: tuple[int, ...] = ()
    meetings: tuple[int, ...] = ()  # the requested meetings' numbers they were to chair


@dataclass(frozen=True, slots=True)
class ActionAdded:
    TYPE: ClassVar[EventType] = EventType.ACTION_ADDED
    action: str
    owner: str  # the person's name, or the named outsider
    due: dt.date
    owner_user: str = ""  # the owner's username, when the owner is a person in Resolve


@dataclass(frozen=True, slots=True)
class ActionRedated:
    TYPE: ClassVar[EventType] = EventType.ACTION_REDATED
    action_id: int
    from_due: dt.date
    to_due: dt.date
    reason: str


@dataclass(frozen=True, slots=True)
class DeadlineExtended:
    TYPE: ClassVar[EventType] = EventType.DEADLINE_EXTENDED
    from_due: dt.date
    to_due: dt.date
    reason: str
    agreed_by: str
    original_due: dt.date  # the response date before any extension


# What an agreement request is for, and the answers its person may give.
AGREEMENT_PURPOSES: dict[str, str] = {
    "cafcass": "a referral to Cafcass",
    "bypass": "going straight to a later stage",
}
AGREEMENT_ANSWERS: dict[str, str] = {
    "confirmed": "Confirmed",
    "declined": "Declined",
}


@dataclass(frozen=True, slots=True)
class AgreementRequested:
    """A named person asked to agree to (``kind`` agree) or told of (``kind`` inform) a step."""

    TYPE: ClassVar[EventType] = EventType.AGREEMENT_REQUESTED
    number: int
    purpose: str  # cafcass | bypass
    key: str  # the Cafcass precondition's key, or the stage to be bypassed to
    person: str
    role: str
    kind: str  # agree | inform
    note: str


@dataclass(frozen=True, slots=True)
class AgreementAnswered:
    TYPE: ClassVar[EventType] = EventType.AGREEMENT_ANSWERED
    number: int
    purpose: str
    key: str
    answer: str  # confirmed | declined
    comments: str = ""


@dataclass(frozen=True, slots=True)
class MeetingRequested:
    """A meeting asked for at a stage: its date (within the procedure's bound), chair and invitees."""

    TYPE: ClassVar[EventType] = EventType.MEETING_REQUESTED
    number: int
    key: str
    scheduled_for: dt.date
    chair: str
    attendees: tuple[str, ...]
    outsiders: tuple[str, ...]
    note: str
    latest_on: dt.date | None = None  # the latest date the procedure allows for it


@dataclass(frozen=True, slots=True)
class AgencyAsked:
    """A challenge to a partner agency sent to its contact at a stage (seed 000 section 2): who, at
    which agency, what is asked and by when. The contact is emailed; they need no account."""

    TYPE: ClassVar[EventType] = EventType.AGENCY_ASKED
    agency: str
    agency_kind: str
    level: str  # the level at the agency the stage goes to (``Stage.agency_level``)
    contact_name: str
    contact_role: str
    contact_email: str
    asked: str  # what the agency is asked to do
    due_on: dt.date | None
    replaces: str = ""  # the contact this one replaces at the same stage, when the chair changed it


Detail = (
    Raised
    | Escalated
    | ResponseRecorded
    | Resolved
    | Reopened
    | Withdrawn
    | CafcassReferred
    | ActionUpdated
    | MeetingRecorded
    | FinalCommentsAdded
    | LearningPointsAdded
    | HandedOver
    | ActionAdded
    | ActionRedated
    | DeadlineExtended
    | AgreementRequested
    | AgreementAnswered
    | MeetingRequested
    | AgencyAsked
)

DETAILS: dict[EventType, type[Detail]] = {
    EventType.RAISED: Raised,
    EventType.ESCALATED: Escalated,
    EventType.RESPONSE_RECORDED: ResponseRecorded,
    EventType.RESOLVED: Resolved,
    EventType.REOPENED: Reopened,
    EventType.WITHDRAWN: Withdrawn,
    EventType.CAFCASS_REFERRED: CafcassReferred,
    EventType.ACTION_UPDATED: ActionUpdated,
    EventType.MEETING_RECORDED: MeetingRecorded,
    EventType.FINAL_COMMENTS_ADDED: FinalCommentsAdded,
    EventType.LEARNING_POINTS_ADDED: LearningPointsAdded,
    EventType.HANDED_OVER: HandedOver,
    EventType.ACTION_ADDED: ActionAdded,
    EventType.ACTION_REDATED: ActionRedated,
    EventType.DEADLINE_EXTENDED: DeadlineExtended,
    EventType.AGREEMENT_REQUESTED: AgreementRequested,
    EventType.AGREEMENT_ANSWERED: AgreementAnswered,
    EventType.MEETING_REQUESTED: MeetingRequested,
    EventType.AGENCY_ASKED: AgencyAsked,
}


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened to a challenge, at a stage, on a day; its type is its detail's."""

    stage: str | None
    on: dt.date
    detail: Detail

    @property
    def type(self) -> EventType:
        return self.detail.TYPE


# -- storing and reading back --------------------------------------------------------------------
def _empty(field: dataclasses.Field[Any], value: Any) -> bool:
    if field.default is not dataclasses.MISSING:
        return bool(value == field.default)
    if field.default_factory is not dataclasses.MISSING:
        return bool(value == field.default_factory())
    return False


def _to_json(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_to_json(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): _to_json(item) for key, item in value.items()}
    return value


def detail_to_json(detail: Detail) -> dict[str, Any]:
    """The detail as stored in ``Event.detail``: required fields always, optional ones when set."""
    return {
        field.name: _to_json(getattr(detail, field.name))
        for field in dataclasses.fields(detail)
        if not _empty(field, getattr(detail, field.name))
    }


def _from_json(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return _from_json(options[0], value) if len(options) == 1 else value
    if hint is dt.date:
        return dt.date.fromisoformat(value) if isinstance(value, str) else value
    if origin is tuple:
        return tuple(value)
    if origin is Mapping:
        return dict(value)
    return value


@functools.cache
def _detail_fields(type_: str) -> tuple[type[Detail], dict[str, Any]]:
    """A detail class and the type of each of its fields, worked out once per event type: resolving
    the hints evaluates every annotation, which cost more than building the detail itself."""
    cls = DETAILS[EventType(type_)]
    hints = typing.get_type_hints(cls)
    return cls, {field.name: hints[field.name] for field in dataclasses.fields(cls)}


def detail_from_json(type_: str, data: Mapping[str, Any]) -> Detail:
    """The typed detail of a stored event; keys it does not know (from older releases) are ignored."""
    cls, hints = _detail_fields(type_)
    return cls(**{key: _from_json(hints[key], value) for key, value in data.items() if key in hints})
