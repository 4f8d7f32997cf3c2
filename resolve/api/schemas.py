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
    to_role: str | None = Field(description="The role it goes to; null on a partner agency's ladder.")
    cc_roles: list[str]
    notify_roles: list[str]
    response_working_days: int | None
    bypass_requires: str | None
    reentry_stage: str | None
    meeting: dict[str, Any] | None
    optional_notify_roles: list[str] = Field(
        default=[], description="Roles the chair chooses whether to tell of the stage (seed 000)."
    )
    further_meetings: list[dict[str, Any]] = Field(
        default=[], description="Other meetings the stage may call for, each with its own key."
    )
    documents: list[str]
    case_note: str
    guidance: str
    chair_deadline: dict[str, Any] | None = Field(
        default=None,
        description="A deadline of the chair's own, counted from the review that triggered the challenge: "
        '{"description", "days", "working_days"} (seed 000: the informal resolution form within 3 days).',
    )
    agency_level: str | None = Field(
        default=None,
        description="On a partner agency's ladder: the level at the agency it goes to (practitioner, "
        "manager, safeguarding lead, partnership), whose contact the chair names.",
    )


class ChecklistItemOut(Schema):
    key: str
    label: str
    required: bool


class PreconditionOut(Schema):
    key: str
    label: str
    role: str
    kind: Literal["agree", "inform"] = Field(
        default="agree",
        description="agree: the person confirms in Resolve first; inform: Resolve tells them first.",
    )


class CafcassOut(Schema):
    tracks: list[str]
    requires: list[PreconditionOut]
    checklist: list[ChecklistItemOut]
    earliest_stage: str | None
    urgent_before_stage: str | None
    form_completed_by: str | None = Field(
        default=None, description="The role that completes the referral form and records it; null: the IRO."
    )


class PolicyOut(PolicySummary):
    source: str
    tracks: list[str]
    formal_cap_working_days: int | None
    themes: list[ThemeOut]
    stages: list[StageOut]
    cafcass: CafcassOut
    learning_points_required: bool
    final_comments_role: str | None
    extension_max_working_days: int = Field(
        default=20,
        description="The most working days an agreed extension may add to a stage's response date "
        "as the procedure set it (the procedure's, else the national 20).",
    )
    response_labels: dict[str, str] = Field(
        default={}, description="The responses in the procedure's own words (response key -> label)."
    )
    partner_agency: bool = Field(
        default=False,
        description="A challenge to a partner agency (seed 000 section 2): each stage goes to a contact at "
        "the agency, who is emailed and needs no account; the chair records their reply.",
    )
    agency_kinds: list[ThemeOut] = Field(
        default=[], description="The kinds of partner agency a challenge may be made to."
    )


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
    reason: Text = Field(default="", description="Why the allocation changes; written in the case note.")


class AllocationOut(Schema):
    case_number: str
    social_worker: str
    team: str
    iro: str | None
    cp_chair: str | None


class HandOverIn(_In):
    to: Key = Field(min_length=1, description="The username of the person who takes the work over.")
    reason: Text = Field(description="Why the work is handed over; written in the case notes.")


class HandOverOut(Schema):
    leaver: str
    to: str
    children: list[str] = Field(description="The case numbers of the children re-allocated.")
    challenges: list[int] = Field(description="The challenges with a 'handed_over' event.")
    stages: int = Field(description="How many current stages now name the new person.")
    actions: int = Field(description="How many open actions moved to the new person.")
    agreements: int = Field(
        description="How many requests for agreement waiting on the leaver's answer now wait on the "
        "new person (confirmed or declined ones stay as answered)."
    )
    meetings: int = Field(
        description="How many requested meetings the leaver was to chair are asked again with the new "
        "person as chair."
    )


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
    trigger_review: str | None = Field(default=None, description="The review that triggered it, if any.")
    agency: str | None = Field(default=None, description="The partner agency challenged, if any.")
    agency_kind: str | None = Field(default=None, description="Its kind (the procedure's agency_kinds).")


class ChildOut(ChildRef):
    social_worker: str
    team: str
    iro: str | None
    cp_chair: str | None
    challenges: list[ChallengeSummary]


# -- challenges ----------------------------------------------------------------------------------
class ActionIn(_In):
    action: str = Field(min_length=1, max_length=limits.MAX_TEXT)
    owner: str = Field(
        default="",
        max_length=limits.MAX_KEY,
        description="By whom, in words: someone outside Resolve (the username of an active account is "
        "that person). Needed unless owner_user is given.",
    )
    due: IsoDate
    owner_user: Key | None = Field(
        default=None, description="By whom, as a person in Resolve: their username (an active account)."
    )


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


class AgencyIn(_In):
    name: Annotated[str, Field(min_length=1, max_length=limits.MAX_KEY), AfterValidator(_one_line)] = Field(
        description="The partner agency challenged (for example 'North Cumbria Integrated Care')."
    )
    kind: Key = Field(description="Its kind, one of the procedure's agency_kinds (health, police, ...).")


class AgencyContactIn(_In):
    name: Name = Field(description="The contact's name.")
    role: Name = Field(description="Their role at the agency (for example 'Health visitor').")
    email: Annotated[str, Field(min_length=1, max_length=limits.MAX_KEY), AfterValidator(_one_line)] = Field(
        description="Their email address: they are emailed what is asked and by when (no account needed)."
    )


class AgencyContactOut(Schema):
    name: str
    role: str
    email: str


class AgencyOut(Schema):
    name: str
    kind: str
    kind_label: str


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
    respond_by: IsoDate | None = Field(
        default=None,
        description="An earlier response date than the procedure's for the first stage (never a later one).",
    )
    review: Key | None = Field(
        default=None,
        description="The review that triggered the challenge: cla_review, midway_review, cp_conference, "
        "mid_point_review.",
    )
    review_on: IsoDate | None = Field(default=None, description="The date of that review.")
    concern_id: int | None = Field(
        default=None,
        ge=1,
        le=limits.ROW_ID_MOST,
        description="A concern on the child's record that this challenge carries (its text and review "
        "are used when not given).",
    )
    notify_optional: StrictBool | None = Field(
        default=None, description="As on escalations, for the stage the challenge starts at."
    )
    agency: AgencyIn | None = Field(
        default=None,
        description="A challenge to a partner agency (seed 000 section 2; a policy with partner_agency): "
        "the agency. Required with contact and desired_outcome (what the agency is asked to do) under "
        "such a policy, refused under any other.",
    )
    contact: AgencyContactIn | None = Field(
        default=None, description="The contact at the partner agency the first level goes to."
    )


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
    respond_by: IsoDate | None = Field(
        default=None, description="An earlier response date than the procedure's for the stage entered."
    )
    notify_optional: StrictBool | None = Field(
        default=None,
        description="Whether to tell the roles the stage lets you choose to tell (seed 000: the Chief "
        "Executive); required, true or false, when the stage has them, and recorded either way.",
    )
    contact: AgencyContactIn | None = Field(
        default=None,
        description="A challenge to a partner agency: the contact at the level escalated to (required).",
    )


class ResolutionIn(_Versioned):
    outcome: Text
    learning_points: Text = ""


class ReasonIn(_Versioned):
    reason: Text


class ReopenIn(ReasonIn):
    directors_briefing: DirectorsBriefingIn | None = Field(
        default=None,
        description="Needed when the stage the challenge re-enters needs the Director's briefing "
        "(seed 002) and the challenge does not have one yet.",
    )
    respond_by: IsoDate | None = Field(
        default=None, description="An earlier response date than the procedure's for the stage re-entered."
    )
    contact: AgencyContactIn | None = Field(
        default=None,
        description="A challenge to a partner agency: who to send it to now (default: the last contact).",
    )


class AgencyContactChangeIn(_Versioned):
    contact: AgencyContactIn


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
    reason: Text = Field(default="", description="Why the action was not done: needed for not_done.")


class MeetingIn(_Versioned):
    summary: Text
    number: int | None = Field(
        default=None, ge=1, le=10_000, description="The requested meeting these are the minutes of."
    )
    held_on: IsoDate | None = Field(default=None, description="When it was held (default: `on`).")
    attendees: list[Key] = Field(
        default=[], max_length=limits.MAX_CHOICES, description="Usernames of those there (default: invited)."
    )
    outsiders: list[Annotated[str, Field(max_length=limits.MAX_NAME)]] = Field(
        default=[], max_length=limits.MAX_CHOICES, description="Names of those there from outside Resolve."
    )
    actions: list[ActionIn] = Field(
        default=[], max_length=limits.MAX_ACTIONS, description="The actions agreed at the meeting."
    )


class MeetingRequestIn(_Versioned):
    key: Key = Field(default="meeting", description="Which of the stage's meetings (its policy `key`).")
    scheduled_for: IsoDate = Field(description="The date set, within the procedure's bound.")
    chair: Key | None = Field(
        default=None,
        description="Username of who chairs it and records its minutes (the role the policy names).",
    )
    attendees: list[Key] = Field(default=[], max_length=limits.MAX_CHOICES, description="Usernames invited.")
    outsiders: list[Annotated[str, Field(max_length=limits.MAX_NAME)]] = Field(
        default=[], max_length=limits.MAX_CHOICES, description="Names invited from outside Resolve."
    )
    note: Text = ""


class MeetingOut(Schema):
    number: int = Field(description="0 for a meeting recorded without a request.")
    key: str
    requested: bool = Field(description="True: the request; False: the meeting held, with its minutes.")
    stage: str
    scheduled_for: dt.date | None
    held_on: dt.date | None
    chair: str | None
    attendees: list[str]
    outsiders: list[str]
    summary: str = Field(description="The minutes; on a request, what it is asked for.")
    recorded_by: str
    actions_on_time: bool | None


class FinalCommentsIn(_Versioned):
    comments: Text


class AgreementRequestIn(_Versioned):
    purpose: Literal["cafcass", "bypass"]
    key: Key = Field(description="The Cafcass precondition's key (cafcass), or the stage to go to (bypass).")
    person: Key = Field(description="Username of the person to ask (or tell).")
    note: Text = Field(description="What you are asking or telling them, and why.")


class AgreementAnswerIn(_Versioned):
    answer: Literal["confirmed", "declined"]
    comments: Text = Field(default="", description="Required when declining.")


class StageNow(Schema):
    key: str
    name: str
    kind: str
    entered_on: dt.date
    due_on: dt.date | None
    to_role: str | None = Field(description="The role it goes to; null on a partner agency's ladder.")
    cc_roles: list[str]
    to_users: list[str]
    cc_users: list[str]
    response: str | None
    overdue: bool
    procedure_due_on: dt.date | None = Field(
        default=None, description="The procedure's response date, when the chair set an earlier one."
    )
    extended: bool = Field(
        default=False, description="Whether the response date was moved by an agreed extension."
    )
    original_due_on: dt.date | None = Field(
        default=None, description="The response date before the first agreed extension."
    )
    contact: AgencyContactOut | None = Field(
        default=None, description="A challenge to a partner agency: the contact this stage went to."
    )


class ActionOut(Schema):
    id: int
    action: str
    owner: str
    due: dt.date
    status: str
    status_on: dt.date | None
    owner_user: str | None = Field(
        default=None,
        description="The owner's username when the owner is a person in Resolve; null for "
        "someone outside it (then owner is their name).",
    )
    status_reason: str = Field(default="", description="Why the action was not done.")


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
    procedure_due_on: dt.date | None = None
    extended: bool = Field(
        default=False,
        description="The response date was moved by an agreed extension: a response by it is within an "
        "extension, counted apart from on time.",
    )
    original_due_on: dt.date | None = None
    contact: AgencyContactOut | None = Field(
        default=None, description="A challenge to a partner agency: the contact this stage went to."
    )


class AgreementOut(Schema):
    number: int
    purpose: Literal["cafcass", "bypass"]
    key: str = Field(description="The Cafcass precondition's key, or the stage bypassed to.")
    kind: Literal["agree", "inform"]
    person: str = Field(description="Username of the person asked (or told).")
    role: str
    note: str
    requested_by: str
    requested_on: dt.date
    requested_at: dt.datetime
    status: Literal["pending", "confirmed", "declined"]
    answered_on: dt.date | None
    answered_at: dt.datetime | None
    comments: str


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
    trigger_review: str | None = Field(
        default=None,
        description="The review that triggered the challenge (cla_review, midway_review, cp_conference, "
        "mid_point_review), or null.",
    )
    trigger_review_on: dt.date | None = None
    chair_due_on: dt.date | None = Field(
        default=None,
        description="The chair's own deadline counted from the review, where the procedure sets one.",
    )
    chair_on_time: bool | None = Field(
        default=None, description="Whether the challenge was raised by the chair's deadline."
    )
    from_concern: int | None = Field(default=None, description="The concern this challenge carries.")
    agreements: list[AgreementOut] = Field(
        default=[], description="Requests for agreement (or to be told) of a bypass or a Cafcass referral."
    )
    meetings: list[MeetingOut] = Field(default=[], description="Meetings requested and held, oldest first.")
    agency: AgencyOut | None = Field(
        default=None,
        description="A challenge to a partner agency (seed 000 section 2): the agency; else null.",
    )


class ChallengePage(Schema):
    count: int
    page: int
    pages: int
    results: list[ChallengeSummary]
    # Counting stops past 1,000 rows (challenges.selectors.COUNT_BOUND): then count is 1,000 and
    # count_exact is false.
    count_exact: bool = True
    # Pass as ?cursor= for the page after this one (same filters); null on the last page.
    next_cursor: str | None = None


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
    challenge: int | None = Field(
        description="The challenge's id; null only for a referral with no challenge (asked for with "
        "child_records=true)"
    )
    referral: int | None = Field(
        default=None,
        description="For a referral to Cafcass with no challenge: its id in the child's cafcass-referrals",
    )


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


# -- the action plan, agreed timescales and concerns ---------------------------------------------
class ActionAddIn(_Versioned):
    action: str = Field(min_length=1, max_length=limits.MAX_TEXT)
    due: IsoDate
    owner: str = Field(
        default="",
        max_length=limits.MAX_KEY,
        description="By whom, in words, when they are not in Resolve (needed unless owner_user is given).",
    )
    owner_user: Key | None = Field(
        default=None, description="By whom, as a person in Resolve: their username (an active account)."
    )


class ActionRedateIn(_Versioned):
    due: IsoDate
    reason: Text


class ExtensionIn(_Versioned):
    due: IsoDate = Field(description="The new response date, later than the current one.")
    reason: Text
    agreed_by: Key = Field(description="Username of the person who agreed the extension.")


class ConcernIn(_In):
    track: Literal["iro", "cpc"]
    concern: Text
    review: Key | None = Field(
        default=None,
        description="The review it came from: cla_review, midway_review, cp_conference, mid_point_review.",
    )
    review_on: IsoDate | None = None
    policy: Key | None = Field(default=None, description="The procedure whose case-note type is used.")
    on: IsoDate | None = None


class ConcernOut(Schema):
    id: int
    track: str
    policy: str
    concern: str
    review: str | None
    review_on: dt.date | None
    on: dt.date
    by: str
    chair_due_on: dt.date | None = Field(
        description="The chair's deadline for the first stage's form, counted from the review, where the "
        "procedure sets one."
    )
    challenge: int | None = Field(description="The challenge it became, if it did.")
    closed_on: dt.date | None = Field(default=None, description="When it was closed without a challenge.")
    closed_reason: str | None = Field(default=None, description="Why it was closed.")
    closed_by: str | None = Field(default=None, description="Who closed it (the chair).")


class ConcernCloseIn(_In):
    reason: Text = Field(description="Why the concern is closed without a challenge.")
    on: IsoDate | None = None


# -- a Cafcass referral with no challenge ------------------------------------------------------------
class ChildCafcassReferralIn(_In):
    on: IsoDate | None = None
    reason: Text
    checklist: dict[Key, StrictBool] = Field(default={}, max_length=limits.MAX_CHOICES)
    preconditions: dict[Key, Key] = Field(
        default={},
        max_length=limits.MAX_CHOICES,
        description="Precondition key → username of the person who agreed or was told (checked against "
        "the requests made on the child).",
    )
    urgent: StrictBool = False


class ChildAgreementRequestIn(_In):
    on: IsoDate | None = None
    key: Key = Field(description="The Cafcass precondition's key (the procedure's `cafcass.requires`).")
    person: Key = Field(description="Username of the person to ask (or tell).")
    note: Text = Field(description="What you are asking or telling them, and why.")


class ChildAgreementAnswerIn(_In):
    on: IsoDate | None = None
    answer: Literal["confirmed", "declined"]
    comments: Text = Field(default="", description="Required when declining.")


class CafcassReferralOut(Schema):
    id: int
    challenge: int | None = Field(
        description="The challenge referred; null for a referral with no challenge."
    )
    policy: str = Field(description="The procedure that decided the referral.")
    on: dt.date
    reason: str
    urgent: bool
    checklist: dict[str, bool]
    preconditions: dict[str, str] = Field(
        description="Precondition key → username of who agreed or was told."
    )
    by: str
