"""The shape of a procedure ("policy") file, validated when it is loaded.

A procedure is one local authority's published challenge and escalation process written as data:
its stages in order, who each stage goes to and copies, the response timescale in working days,
what each stage must record, the bypass and re-entry rules, the cap on the formal stages, the
themes, and the rules for a Cafcass referral. The engine reads nothing else about a procedure.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StringConstraints,
    field_validator,
    model_serializer,
    model_validator,
)

from resolve.calendars.types import Nation
from resolve.people.roles import ROLES

Key = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
Text = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]
Track = Literal["iro", "cpc"]
ResponseKey = Literal["agree", "disagree", "no_remit"]

# The documents a stage may require before a challenge enters it.
DOCUMENT_KINDS: dict[str, str] = {
    "directors_briefing": "Director's briefing",
}

# The IRO Handbook (2010), chapter 6: the formal process should take no more than 20 working days.
NATIONAL_FORMAL_CAP_WORKING_DAYS = 20

DEFAULT_THEMES: list[dict[str, str]] = [
    {"key": "voice_of_child", "label": "Inadequate voice of the child or young person"},
    {"key": "drift_delay_planning", "label": "Drift and delay in progressing the child's planning"},
    {"key": "management_oversight", "label": "Lack of management oversight"},
    {"key": "drift_delay_legal", "label": "Drift and delay in legal planning or escalation"},
    {"key": "placement", "label": "Placement concerns"},
    {"key": "safeguarding", "label": "Safeguarding concerns"},
]


Loc = tuple[str | int, ...]


class ProcedureProblems(ValueError):
    """Problems found by a cross-field check, each with its location inside the model that raised it.

    Pydantic reports a model validator's error at the model's own location; the loader appends each
    problem's ``loc`` to it so that a message names the field (``stages[2].reentry_stage``), not just
    the model.
    """

    def __init__(self, problems: list[tuple[Loc, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(_loc_text(loc) + message for loc, message in problems))


def _loc_text(loc: Loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return f"{text}: " if text else ""


def _role(value: str) -> str:
    if value not in ROLES:
        known = ", ".join(sorted(ROLES))
        raise ValueError(f"unknown role {value!r}; use one of: {known}")
    return value


# A role key from ``resolve.people.roles``; an unknown one is reported at the field that names it.
RoleKey = Annotated[str, AfterValidator(_role)]


def _duplicates(values: list[str]) -> list[tuple[int, str, int]]:
    """(index, value, index of its first use) for every repeated value."""
    first: dict[str, int] = {}
    repeats: list[tuple[int, str, int]] = []
    for index, value in enumerate(values):
        if value in first:
            repeats.append((index, value, first[value]))
        else:
            first[value] = index
    return repeats


def _unique(values: list[str], field: str) -> None:
    for _index, value, _first in _duplicates(values):
        raise ValueError(f"{field} names {value!r} twice")


def _document(value: str) -> str:
    if value not in DOCUMENT_KINDS:
        raise ValueError(f"unknown document {value!r}; use one of: {', '.join(DOCUMENT_KINDS)}")
    return value


class _OmitWhenDefault:
    """Marks a field added after procedures were recorded: the dump leaves it out at its default."""

    def __repr__(self) -> str:
        return "OMIT_WHEN_DEFAULT"


# Put ``Annotated[..., OMIT_WHEN_DEFAULT]`` on every field added to the schema from now on. A recorded
# version's hash is of its dump (``procedures.services.procedure_document``), so a new field left at
# its default must not appear in it: procedures that do not use the field keep their hash, and so
# their evidence, whoever else adds fields alongside.
OMIT_WHEN_DEFAULT = _OmitWhenDefault()


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_serializer(mode="wrap")
    def _dump_without_new_defaults(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        for name, info in type(self).model_fields.items():
            if OMIT_WHEN_DEFAULT in info.metadata and name in data:
                default = info.get_default(call_default_factory=True)
                if data[name] == default or (
                    isinstance(default, BaseModel) and data[name] == default.model_dump(mode="json")
                ):
                    data.pop(name)
        return data


class Meeting(_Strict):
    """A meeting the stage calls for."""

    required: bool = Field(description="Whether the stage cannot be resolved without a recorded meeting.")
    description: Text
    chair_role: RoleKey | None = None
    within_working_days: int | None = Field(default=None, ge=1, le=60)
    actions_recorded_within_hours: int | None = Field(default=None, ge=1, le=168)
    # Requested, scheduled, attended, minuted (issue 9): each left out of the dump at its default.
    key: Annotated[Key, OMIT_WHEN_DEFAULT] = Field(
        default="meeting", description="Names this meeting among the stage's meetings."
    )
    name: Annotated[str, OMIT_WHEN_DEFAULT] = Field(default="", description="A short name people read.")
    attendee_roles: Annotated[list[RoleKey], OMIT_WHEN_DEFAULT] = Field(
        default=[], description="Roles invited by default (those who hold them for the child)."
    )
    minutes_by_role: Annotated[RoleKey | None, OMIT_WHEN_DEFAULT] = Field(
        default=None, description="Who records the minutes and actions; none: the meeting's chair."
    )
    request_case_note: Annotated[str | None, OMIT_WHEN_DEFAULT] = Field(
        default=None, description="Case-note type of the request for the meeting, where the seed names one."
    )
    record_case_note: Annotated[str | None, OMIT_WHEN_DEFAULT] = Field(
        default=None, description="Case-note type of the meeting's record, where the seed names one."
    )

    @property
    def title(self) -> str:
        return self.name or self.description


class ChairDeadline(_Strict):
    """Something the chair must do within a time of the review that triggered the challenge."""

    description: Text = Field(description="What the chair must do, in the procedure's words.")
    days: int = Field(ge=1, le=60, description="How long after the review it is due.")
    working_days: bool = Field(
        default=False, description="Count working days (true) or calendar days, as the seed says."
    )


class Stage(_Strict):
    key: Key
    name: Text
    kind: Literal["informal", "formal"]
    # Required for a local authority's own ladder; a partner-agency stage goes to a contact at the
    # agency instead (``agency_level``), named on the challenge, so it has no role in Resolve.
    to_role: RoleKey | None = Field(
        default=None, description="The role the stage goes to (none on a partner agency's ladder)."
    )
    cc_roles: list[RoleKey] = []
    notify_roles: list[RoleKey] = Field(
        default=[], description="Roles told of the stage without being copied."
    )
    response_working_days: int | None = Field(
        default=None,
        ge=1,
        le=60,
        description="Working days for the response; none where the seed states none.",
    )
    case_note: Text = Field(description="The case-note type recorded on the child's record at this stage.")
    resolved_case_note: str | None = Field(
        default=None,
        description="Case-note type when a challenge is resolved at this stage, if the seed names one.",
    )
    meeting: Meeting | None = None
    documents: list[Annotated[str, AfterValidator(_document)]] = Field(
        default=[], description="Documents required to enter this stage."
    )
    bypass_requires: RoleKey | None = Field(
        default=None, description="Role whose agreement is needed to start at, or jump to, this stage."
    )
    reentry_stage: Key | None = Field(
        default=None, description="Where a re-opened challenge goes when this stage was the last exited."
    )
    guidance: str = ""
    # The deadline fields came after procedures were recorded: left out of the dump at their defaults
    # so that a recorded version's hash, and so its evidence, stays the same.
    reminder_working_days: Annotated[int, OMIT_WHEN_DEFAULT] = Field(
        default=1,
        ge=0,
        le=20,
        description="Working days before the response is due that a reminder goes (0: none).",
    )
    escalates_automatically_when_overdue: Annotated[bool, OMIT_WHEN_DEFAULT] = Field(
        default=False,
        description="Whether the system escalates to the next stage when the response is overdue.",
    )
    chair_deadline: Annotated[ChairDeadline | None, OMIT_WHEN_DEFAULT] = Field(
        default=None,
        description="A deadline of the chair's own at this stage, counted from the review that triggered "
        "the challenge (seed 000: the informal resolution form within 3 days).",
    )
    optional_notify_roles: Annotated[list[RoleKey], OMIT_WHEN_DEFAULT] = Field(
        default=[],
        description=(
            "Roles the chair may choose to tell of the stage (seed 000: 'Consideration given to notifying "
            "Chief Executive'); the choice is recorded either way."
        ),
    )
    further_meetings: Annotated[list[Meeting], OMIT_WHEN_DEFAULT] = Field(
        default=[], description="Meetings the stage may call for besides ``meeting``, each with its own key."
    )
    agency_level: Annotated[str | None, OMIT_WHEN_DEFAULT] = Field(
        default=None,
        description="On a partner agency's ladder: the level at the agency the stage goes to "
        "(practitioner, manager, safeguarding lead, the partnership), whose contact the chair names.",
    )

    @property
    def to_words(self) -> str:
        """Who the stage goes to, as people read it: the role, or the level at the partner agency."""
        if self.to_role is not None:
            return ROLES[self.to_role].label
        return f"the partner agency's {self.agency_level or 'contact'}"

    def meetings(self) -> list[Meeting]:
        """Every meeting the stage may call for: ``meeting`` first, then the further ones."""
        return [*([self.meeting] if self.meeting is not None else []), *self.further_meetings]

    def meeting_for(self, key: str) -> Meeting | None:
        return next((meeting for meeting in self.meetings() if meeting.key == key), None)

    @model_validator(mode="after")
    def _check(self) -> Stage:
        problems: list[tuple[Loc, str]] = []
        if self.to_role is not None and self.agency_level is not None:
            problems.append((("agency_level",), "a stage goes to a role or to a partner agency, not both"))
        for index, role in enumerate(self.cc_roles):
            if role == self.to_role:
                problems.append((("cc_roles", index), f"repeats to_role {role!r}"))
        for field in ("cc_roles", "notify_roles", "documents"):
            for index, value, first in _duplicates(getattr(self, field)):
                problems.append(((field, index), f"names {value!r} twice (first at {field}[{first}])"))
        for index, key, _first in _duplicates([meeting.key for meeting in self.meetings()]):
            where = (
                ("meeting", "key")
                if index == 0
                else ("further_meetings", index - (self.meeting is not None), "key")
            )
            problems.append((where, f"{key!r} is already the key of another meeting of this stage"))
        if problems:
            raise ProcedureProblems(problems)
        return self


class Theme(_Strict):
    key: Key
    label: Text


class CafcassPrecondition(_Strict):
    """Something that must have happened before a referral: a named person of ``role`` agreed or was told."""

    key: Key
    label: Text
    role: RoleKey
    kind: Annotated[Literal["agree", "inform"], OMIT_WHEN_DEFAULT] = Field(
        default="agree",
        description=(
            "agree: the person is asked and must confirm in Resolve before the referral; inform: the "
            "person is told (through the outbox) before the referral is recorded."
        ),
    )


class ChecklistItem(_Strict):
    key: Key
    label: Text
    required: bool = Field(
        default=True,
        description="False where the item applies only to some children (for example 'any' order).",
    )


class Cafcass(_Strict):
    tracks: list[Track] = ["iro"]
    earliest_stage: Key | None = Field(
        default=None, description="A referral may be made only once the challenge has reached this stage."
    )
    urgent_before_stage: Key | None = Field(
        default=None,
        description=(
            "Before this stage is reached, a referral must be marked urgent (the process is curtailed)."
        ),
    )
    requires: list[CafcassPrecondition] = []
    checklist: list[ChecklistItem] = []
    case_note: Text = "Referral to Cafcass"
    guidance: str = ""
    form_completed_by: Annotated[RoleKey | None, OMIT_WHEN_DEFAULT] = Field(
        default=None,
        description=(
            "The role (in the chair's line) that completes the referral form and records the referral; "
            "none: the child's IRO."
        ),
    )

    @field_validator("tracks")
    @classmethod
    def _iro_only(cls, tracks: list[Track]) -> list[Track]:
        if "cpc" in tracks:
            raise ValueError(
                "only the IRO track may refer to Cafcass "
                "(Children Act 1989 s25B(3); CP Chairs have no such power)"
            )
        _unique(list(tracks), "tracks")
        return tracks

    @field_validator("requires", "checklist")
    @classmethod
    def _unique_keys(
        cls, items: list[CafcassPrecondition] | list[ChecklistItem]
    ) -> list[CafcassPrecondition] | list[ChecklistItem]:
        _unique([item.key for item in items], "the list")
        return items


class Resolution(_Strict):
    requires_learning_points: bool = False
    final_comments_role: RoleKey | None = Field(
        default=None, description="Role that adds final comments once a challenge is resolved."
    )
    case_note: Text = "Challenge resolved"


class CaseNoteNames(_Strict):
    """Case-note types for the events that do not belong to one stage's own note."""

    reopened: Text = "Challenge re-opened"
    withdrawn: Text = "Challenge withdrawn"
    action: Text = "Challenge action updated"
    meeting: Text = "Challenge meeting"
    concern: Annotated[str | None, OMIT_WHEN_DEFAULT] = Field(
        default=None,
        description="Case-note type of a concern recorded before any challenge (seed 001 names "
        "one); unset: 'Concern noted by the chair'.",
    )
    deadline_extended: Annotated[str | None, OMIT_WHEN_DEFAULT] = Field(
        default=None,
        description="Case-note type of an agreed extension of a response date; unset: "
        "'Challenge response date extended'.",
    )
    agreement_requested: Annotated[str, OMIT_WHEN_DEFAULT] = "Agreement requested"
    agreement_answered: Annotated[str, OMIT_WHEN_DEFAULT] = "Agreement answered"
    meeting_requested: Annotated[str, OMIT_WHEN_DEFAULT] = "Challenge meeting requested"

    @property
    def concern_type(self) -> str:
        return self.concern or "Concern noted by the chair"

    @property
    def deadline_extended_type(self) -> str:
        return self.deadline_extended or "Challenge response date extended"


class Procedure(_Strict):
    key: Key
    version: int = Field(ge=1)
    name: Text
    authority: Text
    nation: Nation
    source: Text = Field(description="Where the procedure comes from, so a reader can check it.")
    tracks: list[Track]
    formal_cap_working_days: int = Field(default=NATIONAL_FORMAL_CAP_WORKING_DAYS, ge=1, le=120)
    bypass_requires: RoleKey | None = Field(default=None, description="Default bypass rule for every stage.")
    stages: list[Stage] = Field(min_length=1)
    themes: list[Theme] = [Theme(**theme) for theme in DEFAULT_THEMES]
    cafcass: Cafcass = Cafcass()
    resolution: Resolution = Resolution()
    case_notes: CaseNoteNames = CaseNoteNames()
    extension_max_working_days: Annotated[int | None, OMIT_WHEN_DEFAULT] = Field(
        default=None,
        ge=1,
        le=60,
        description="The most working days an agreed extension may add to a stage's response date "
        "as the procedure set it; unset: the national 20 working days.",
    )
    response_labels: Annotated[dict[Literal["agree", "disagree", "no_remit"], Text], OMIT_WHEN_DEFAULT] = (
        Field(
            default={},
            description="The responses in the procedure's own words, where it words them (seed 000).",
        )
    )

    partner_agency: Annotated[bool, OMIT_WHEN_DEFAULT] = Field(
        default=False,
        description="A challenge to a partner agency (seed 000 section 2): every stage goes to a contact "
        "at the agency named on the challenge (``agency_level``), who is emailed and needs no account; "
        "the chair records their reply.",
    )
    agency_kinds: Annotated[list[Theme], OMIT_WHEN_DEFAULT] = Field(
        default=[],
        description="The kinds of partner agency a challenge may be made to (health, police, education, "
        "another local authority, a provider...); required when ``partner_agency``.",
    )

    def response_label(self, response: str, default: str) -> str:
        """A response as this procedure words it, else ``default`` (Resolve's words)."""
        return self.response_labels.get(response, default)  # type: ignore[call-overload]

    @field_validator("tracks")
    @classmethod
    def _tracks(cls, tracks: list[Track]) -> list[Track]:
        if not tracks:
            raise ValueError("must name at least one of: iro, cpc")
        _unique(list(tracks), "tracks")
        return tracks

    @model_validator(mode="after")
    def _check(self) -> Procedure:
        problems: list[tuple[Loc, str]] = []
        keys = [stage.key for stage in self.stages]
        for index, key, first in _duplicates(keys):
            problems.append((("stages", index, "key"), f"{key!r} is already the key of stages[{first}]"))
        for index, key, first in _duplicates([theme.key for theme in self.themes]):
            problems.append((("themes", index, "key"), f"{key!r} is already the key of themes[{first}]"))
        problems.extend(self._partner_agency_problems())
        seen_formal = False
        for index, stage in enumerate(self.stages):
            if stage.kind == "formal":
                seen_formal = True
            elif seen_formal:
                problems.append((("stages", index, "kind"), "an informal stage cannot follow a formal one"))
            if stage.reentry_stage is not None and stage.reentry_stage not in keys:
                message = f"{stage.reentry_stage!r} is not a stage of this procedure"
                problems.append((("stages", index, "reentry_stage"), message))
        for name in ("earliest_stage", "urgent_before_stage"):
            value = getattr(self.cafcass, name)
            if value is not None and value not in keys:
                problems.append((("cafcass", name), f"{value!r} is not a stage of this procedure"))
        if problems:
            raise ProcedureProblems(problems)
        return self

    def _partner_agency_problems(self) -> list[tuple[Loc, str]]:
        """A partner agency's ladder names a level at the agency on every stage, a local authority's a
        role; only the former lists the kinds of agency."""
        problems: list[tuple[Loc, str]] = []
        for index, stage in enumerate(self.stages):
            if self.partner_agency and stage.agency_level is None:
                problems.append(
                    (("stages", index, "agency_level"), "is required on a partner agency's ladder")
                )
            if self.partner_agency and stage.to_role is not None:
                problems.append(
                    (("stages", index, "to_role"), "a partner agency's stage goes to its contact, not a role")
                )
            if not self.partner_agency and stage.to_role is None:
                problems.append((("stages", index, "to_role"), "is required"))
            if not self.partner_agency and stage.agency_level is not None:
                problems.append(
                    (("stages", index, "agency_level"), "is only for a procedure with partner_agency = true")
                )
        if self.partner_agency and not self.agency_kinds:
            problems.append((("agency_kinds",), "name at least one kind of partner agency"))
        if not self.partner_agency and self.agency_kinds:
            problems.append((("agency_kinds",), "is only for a procedure with partner_agency = true"))
        for index, key, first in _duplicates([kind.key for kind in self.agency_kinds]):
            problems.append(
                (("agency_kinds", index, "key"), f"{key!r} is already the key of agency_kinds[{first}]")
            )
        return problems

    def agency_kind_label(self, key: str) -> str:
        return next((kind.label for kind in self.agency_kinds if kind.key == key), key)

    # -- questions the engine asks -------------------------------------------------------------
    def stage(self, key: str) -> Stage:
        for stage in self.stages:
            if stage.key == key:
                return stage
        raise KeyError(key)

    def has_stage(self, key: str) -> bool:
        return any(stage.key == key for stage in self.stages)

    def asks_agreement(self) -> bool:
        """Whether a challenge under this procedure can hold a request for agreement: a Cafcass
        referral with preconditions, or a stage after the first whose bypass needs someone's agreement.
        A change to a challenge under one that cannot skips reading them."""
        return bool(self.cafcass.requires) or any(
            self.bypass_rule(stage.key) is not None for stage in self.stages[1:]
        )

    def holds_meetings(self) -> bool:
        """Whether any stage calls for a meeting (so a challenge under it can have requested meetings)."""
        return any(stage.meetings() for stage in self.stages)

    def order(self, key: str) -> int:
        """1-based position of a stage on the ladder."""
        for index, stage in enumerate(self.stages, start=1):
            if stage.key == key:
                return index
        raise KeyError(key)

    def next_stage(self, key: str) -> Stage | None:
        index = self.order(key)
        return self.stages[index] if index < len(self.stages) else None

    def bypass_rule(self, key: str) -> str | None:
        """Whose agreement a bypass to this stage needs (the stage's own rule, else the procedure's)."""
        stage = self.stage(key)
        if stage is self.stages[0]:
            return None
        return stage.bypass_requires or self.bypass_requires

    def reentry_for(self, key: str) -> str:
        return self.stage(key).reentry_stage or key

    def theme_keys(self) -> set[str]:
        return {theme.key for theme in self.themes}

    def extension_limit(self) -> int:
        """Working days an agreed extension may add to the procedure's response date."""
        return self.extension_max_working_days or NATIONAL_FORMAL_CAP_WORKING_DAYS
