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


@dataclass(frozen=True, slots=True)
class ResponseRecorded:
    TYPE: ClassVar[EventType] = EventType.RESPONSE_RECORDED
    response: str
    response_label: str
    on_time: bool
    comments: str
    due_on: dt.date | None
    further: bool = False  # a further response at a stage already answered


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
    reason: str = ""  # why it was not done, when someone said (older events have none)


@dataclass(frozen=True, slots=True)
class MeetingRecorded:
    TYPE: ClassVar[EventType] = EventType.MEETING_RECORDED
    summary: str


@dataclass(frozen=True, slots=True)
class FinalCommentsAdded:
    TYPE: ClassVar[EventType] = EventType.FINAL_COMMENTS_ADDED
    comments: str


@dataclass(frozen=True, slots=True)
class LearningPointsAdded:
    TYPE: ClassVar[EventType] = EventType.LEARNING_POINTS_ADDED
    learning_points: str


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


def detail_from_json(type_: str, data: Mapping[str, Any]) -> Detail:
    """The typed detail of a stored event; keys it does not know (from older releases) are ignored."""
    cls = DETAILS[EventType(type_)]
    hints = typing.get_type_hints(cls)
    known = {field.name for field in dataclasses.fields(cls)}
    return cls(**{key: _from_json(hints[key], value) for key, value in data.items() if key in known})
