"""Request and response shapes of the JSON API (../shared/API.md), which the OpenAPI document shows."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, StrictBool, field_validator

from resolve.core import limits

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_date(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ValueError("use a date in the form YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value} is not a real date") from None


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]


def _storable(value: Any) -> Any:
    """Refuse NUL and unpaired surrogates anywhere in text: no database column can hold them faithfully."""
    problem = limits.bad_character_in(value)
    if problem:
        raise ValueError(problem)
    return value


def _case_number(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    _storable(value)
    normalised = limits.case_number_normalise(value)
    problem = limits.case_number_problem(normalised)
    if problem and normalised:  # a blank one is the service's "required"
        raise ValueError(problem)
    return normalised


def _one_line(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError("keep this on one line")
    return value


# Text from a path or a query string.
SafeStr = Annotated[str, AfterValidator(_storable), Field(max_length=limits.MAX_KEY)]
# Free text, a short key or username, a person's name: each bounded as resolve.core.limits says.
Text = Annotated[str, Field(max_length=limits.MAX_TEXT)]
Key = Annotated[str, Field(max_length=limits.MAX_KEY)]
Name = Annotated[str, Field(min_length=1, max_length=limits.MAX_NAME), AfterValidator(_one_line)]
CaseNumber = Annotated[
    str,
    BeforeValidator(_case_number),
    Field(
        json_schema_extra={"pattern": limits.CASE_NUMBER_PATTERN},
        description=f"Normalised (spaces removed from the ends, upper case), then {limits.CASE_NUMBER_RULE}.",
    ),
]


class _In(Schema):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _text_is_storable(cls, value: Any) -> Any:
        return _storable(value)


class Error(Schema):
    code: str
    message: str
    field: str | None = None


class ErrorOut(Schema):
    error: Error


# -- policies and the calendar -------------------------------------------------------------------
class PolicySummary(Schema):
    key: str
    name: str
    authority: str
    nation: str
    version: int


class ThemeOut(Schema):
    key: str
    label: str


class StageOut(Schema):
    key: str
    name: str
    kind: Literal["informal", "formal"]
    order: int
    to_role: str
    cc_roles: list[str]
    notify_roles: list[str]
    response_working_days: int | None
    bypass_requires: str | None
    reentry_stage: str | None
    meeting: dict[str, Any] | None
    documents: list[str]
    case_note: str
    guidance: str


class ChecklistItemOut(Schema):
    key: str
    label: str
    required: bool


class PreconditionOut(Schema):
    key: str
    label: str
    role: str


class CafcassOut(Schema):
    tracks: list[str]
    requires: list[PreconditionOut]
    checklist: list[ChecklistItemOut]
    earliest_stage: str | None
    urgent_before_stage: str | None


class PolicyOut(PolicySummary):
    source: str
    tracks: list[str]
    formal_cap_working_days: int | None
    themes: list[ThemeOut]
    stages: list[StageOut]
    cafcass: CafcassOut
    learning_points_required: bool
    final_comments_role: str | None


class WorkingDaysOut(Schema):
    start: dt.date
    days: int
    nation: str
    date: dt.date


# -- children ------------------------------------------------------------------------------------
class ChildIn(_In):
    case_number: CaseNumber
    first_name: Name
    last_name: Name
    date_of_birth: IsoDate = Field(description="On or after 1900-01-01, and not in the future.")
    social_worker: Key
    iro: Key | None = None
    cp_chair: Key | None = None


class AllocationIn(_In):
    social_worker: Key
    iro: Key | None = None
    cp_chair: Key | None = None


class AllocationOut(Schema):
    case_number: str
    social_worker: str
    team: str
    iro: str | None
    cp_chair: str | None


class ChildRef(Schema):
    case_number: str
    first_name: str
    last_name: str
    date_of_birth: dt.date


class ChallengeSummary(Schema):
    id: int
    track: str
    policy: str
    status: str
    stage: str | None
    stage_due_on: dt.date | None
    overdue: bool
    past_cap: bool = Field(
        description="Open and past the formal process's limit (formal_due_on), counted in working days."
    )
    raised_on: dt.date


class ChildOut(ChildRef):
    social_worker: str
    team: str
    iro: str | None
    cp_chair: str | None
    challenges: list[ChallengeSummary]


# -- challenges ----------------------------------------------------------------------------------
class ActionIn(_In):
    action: str = Field(min_length=1, max_length=limits.MAX_TEXT)
    owner: str = Field(min_length=1, max_length=limits.MAX_KEY)
    due: IsoDate


class DirectorsBriefingIn(_In):
    author: Text = ""
    legal_status: Text = ""
    parents: Text = ""
    siblings: Text = ""
    extended_family: Text = ""
    family_address: Text = ""
    other_agencies: Text = ""
    date_opened_to_csc: Text = ""
    incident: Text = ""
    background: Text = ""
    interventions: Text = ""
    current_plan: Text = ""


class ChallengeIn(_In):
    child: Key
    track: Literal["iro", "cpc"]
    policy: Key | None = None
    stage: Key | None = None
    bypass_reason: Text = ""
    bypass_agreed_by: Key | None = Field(
        default=None, description="Username of the person whose agreement the policy's bypass rule needs."
    )
    themes: list[Key] = Field(default=[], max_length=limits.MAX_CHOICES)
    concern: Text
    impact_on_child: Text
    desired_outcome: Text = ""
    actions: list[ActionIn] = Field(default=[], max_length=limits.MAX_ACTIONS)
    directors_briefing: DirectorsBriefingIn | None = None
    on: IsoDate | None = None


class _Versioned(_In):
    on: IsoDate | None = None
    version: int | None = Field(default=None, description="When given and stale, the answer is 409.")


class ResponseIn(_Versioned):
    response: Literal["agree", "disagree", "no_remit"]
    comments: Text = ""
    further: bool = Field(
        default=False,
        description="A further response at a stage already answered; without it a second response is 409.",
    )


class LearningPointsIn(_Versioned):
    learning_points: Text


class EscalationIn(_Versioned):
    to_stage: Key | None = None
    reason: Text = ""
    bypass_agreed_by: Key | None = None
    directors_briefing: DirectorsBriefingIn | None = None


class ResolutionIn(_Versioned):
    outcome: Text
    learning_points: Text = ""


class ReasonIn(_Versioned):
    reason: Text


class CafcassReferralIn(_Versioned):
    reason: Text
    checklist: dict[Key, StrictBool] = Field(default={}, max_length=limits.MAX_CHOICES)
    preconditions: dict[Key, Key] = Field(
        default={},
        max_length=limits.MAX_CHOICES,
        description="Precondition key → username of the person who agreed or was told.",
    )
    urgent: StrictBool = False


class ActionStatusIn(_Versioned):
    status: Literal["done", "not_done"]
    reason: Text = ""  # why it was not done (recorded in the event and the case note)


class MeetingIn(_Versioned):
    summary: Text


class FinalCommentsIn(_Versioned):
    comments: Text


class StageNow(Schema):
    key: str
    name: str
    kind: str
    entered_on: dt.date
    due_on: dt.date | None
    to_role: str
    cc_roles: list[str]
    to_users: list[str]
    cc_users: list[str]
    response: str | None
    overdue: bool


class ActionOut(Schema):
    id: int
    action: str
    owner: str
    due: dt.date
    status: str
    status_on: dt.date | None


class EventOut(Schema):
    type: str
    stage: str | None
    on: dt.date
    by: str | None
    detail: dict[str, Any]


class VisitOut(Schema):
    stage: str
    name: str
    entered_on: dt.date
    due_on: dt.date | None
    left_on: dt.date | None
    left_how: str | None
    response: str | None
    responded_on: dt.date | None
    on_time: bool | None
    to_users: list[str]
    cc_users: list[str]
    notify_users: list[str]


class ChallengeOut(Schema):
    id: int
    child: ChildRef
    track: str
    policy: str
    policy_version: int
    status: str
    raised_on: dt.date
    raised_by: str
    cafcass_referred_on: dt.date | None
    stage: StageNow | None
    formal_started_on: dt.date | None
    formal_due_on: dt.date | None
    past_cap: bool = Field(
        description="Open and past the formal process's limit (formal_due_on), counted in working days."
    )
    themes: list[str]
    concern: str
    impact_on_child: str
    desired_outcome: str
    outcome: str
    learning_points: str
    final_comments: str
    actions: list[ActionOut]
    visits: list[VisitOut]
    events: list[EventOut]
    version: int


class ChallengePage(Schema):
    count: int
    page: int
    pages: int
    results: list[ChallengeSummary]


class CaseNoteOut(Schema):
    id: int
    note_type: str
    body: str
    on: dt.date
    by: str | None
    challenge: int | None
    corrects: int | None = Field(description="The note this one corrects, when it is a correction.")
    corrections: list[int] = Field(description="Later notes that correct this one.")


class CorrectionIn(_In):
    body: str = Field(
        min_length=1,
        max_length=limits.MAX_TEXT,
        description="What the original note should have said, or what it missed.",
    )


class ChronologyEntry(EventOut):
    challenge: int


class DocumentFieldOut(Schema):
    key: str
    label: str
    value: str


class DocumentOut(Schema):
    id: int
    kind: str = Field(description="directors_briefing: the Director's briefing (seed 002 Appendix B)")
    title: str
    on: dt.date
    by: str
    fields: list[DocumentFieldOut]
