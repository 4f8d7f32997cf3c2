"""What the procedure page shows of a procedure, as rows the GOV.UK components render.

Kept out of the view so the view only parses, selects and renders, and so the wording can be
tested without a request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from resolve.calendars.types import Nation
from resolve.people.roles import role_label
from resolve.procedures.schema import DOCUMENT_KINDS, NATIONAL_FORMAL_CAP_WORKING_DAYS, Procedure, Stage

Row = tuple[str, str | list[str]]

TRACK_LABELS = {
    "iro": "Independent Reviewing Officers (children in care)",
    "cpc": "Child Protection Conference Chairs",
}
NATION_LABELS = {
    Nation.ENGLAND_AND_WALES: "England and Wales",
    Nation.SCOTLAND: "Scotland",
    Nation.NORTHERN_IRELAND: "Northern Ireland",
}


def nation_label(nation: Nation | str) -> str:
    try:
        return NATION_LABELS[Nation(nation)]
    except ValueError:
        return str(nation)


def days_text(days: int | None) -> str:
    if days is None:
        return "No timescale set"
    return f"{days} working day" if days == 1 else f"{days} working days"


@dataclass(frozen=True)
class StageSummary:
    title: str
    kind: str
    rows: list[Row]


def _roles(keys: list[str], label: Callable[[str], str]) -> str:
    return ", ".join(label(key) for key in keys) if keys else "No one"


def stage_rows(procedure: Procedure, stage: Stage, label: Callable[[str], str] = role_label) -> list[Row]:
    rows: list[Row] = [
        ("Type", "Informal" if stage.kind == "informal" else "Formal"),
        ("To", label(stage.to_role) if stage.to_role else stage.to_words),
        ("Copied to", _roles(stage.cc_roles, label)),
    ]
    if stage.notify_roles:
        rows.append(("Also told", _roles(stage.notify_roles, label)))
    rows.append(("Response due within", days_text(stage.response_working_days)))
    if stage.meeting:
        meeting = [("Required: " if stage.meeting.required else "If needed: ") + stage.meeting.description]
        if stage.meeting.chair_role:
            meeting.append(f"Chaired by the {label(stage.meeting.chair_role)}")
        if stage.meeting.within_working_days:
            meeting.append(f"Held within {days_text(stage.meeting.within_working_days)}")
        if stage.meeting.actions_recorded_within_hours:
            meeting.append(f"Actions recorded within {stage.meeting.actions_recorded_within_hours} hours")
        rows.append(("Meeting", meeting))
    else:
        rows.append(("Meeting", "None required"))
    if stage.documents:
        rows.append(("Documents needed", [DOCUMENT_KINDS.get(doc, doc) for doc in stage.documents]))
    bypass = procedure.bypass_rule(stage.key)
    if stage is procedure.stages[0]:
        rows.append(("Starting at this stage", "Where every challenge starts"))
    elif bypass:
        rows.append(
            (
                "Starting at this stage",
                f"The IRO or CP Chair may go straight here with the agreement of the {label(bypass)}",
            )
        )
    else:
        rows.append(
            (
                "Starting at this stage",
                "The IRO or CP Chair may go straight here when the child's situation needs it",
            )
        )
    reentry = procedure.stage(procedure.reentry_for(stage.key))
    rows.append(
        (
            "If agreed actions are not delivered",
            f"Re-opens at: {reentry.name}",
        )
    )
    rows.append(("Case note", stage.case_note))
    if stage.guidance:
        rows.append(("Guidance", stage.guidance))
    return rows


def stage_summaries(procedure: Procedure, label: Callable[[str], str] = role_label) -> list[StageSummary]:
    return [
        StageSummary(
            title=stage.name,
            kind=stage.kind,
            rows=stage_rows(procedure, stage, label),
        )
        for stage in procedure.stages
    ]


STAGE_TABLE_HEAD = ("Stage", "Response due within", "To", "Copied to")


def stage_table_rows(procedure: Procedure, label: Callable[[str], str] = role_label) -> list[list[str]]:
    """Stage, response time, to and copied to: the ladder at a glance."""
    return [
        [
            stage.name,
            days_text(stage.response_working_days),
            label(stage.to_role) if stage.to_role else stage.to_words,
            _roles(stage.cc_roles, label),
        ]
        for stage in procedure.stages
    ]


def formal_limit_text(procedure: Procedure, formal: list[Stage], span: str) -> str:
    """The formal cap in words, saying when it is the IRO Handbook's national limit; and a warning when
    the formal stages' own timescales add up to more than it."""
    cap = procedure.formal_cap_working_days
    text = f"At most {days_text(cap)} ({span})"
    if cap == NATIONAL_FORMAL_CAP_WORKING_DAYS:
        text += ": the national limit of the IRO Handbook"
    ladder = sum(stage.response_working_days or 0 for stage in formal)
    if ladder > cap:
        text += (
            f". Its formal stages' own timescales add up to {days_text(ladder)}, more than the limit: "
            "a challenge that uses every stage's full timescale goes past it"
        )
    return text + "."


def overview_rows(procedure: Procedure, label: Callable[[str], str] = role_label) -> list[Row]:
    formal = [stage for stage in procedure.stages if stage.kind == "formal"]
    rows: list[Row] = [
        ("Local authority", procedure.authority),
        ("Bank holidays of", nation_label(procedure.nation)),
        ("Used by", [TRACK_LABELS.get(track, track) for track in procedure.tracks]),
        ("Version", str(procedure.version)),
        ("Source", procedure.source),
    ]
    if formal:
        first, last = formal[0].name, formal[-1].name
        span = first if first == last else f"{first} to {last}"
        rows.append(("Formal stages in total", formal_limit_text(procedure, formal, span)))
    if procedure.bypass_requires:
        rows.append(
            (
                "Going straight to a later stage",
                f"Needs the agreement of the {label(procedure.bypass_requires)}",
            )
        )
    else:
        rows.append(("Going straight to a later stage", "Allowed when the child's situation needs it"))
    return rows


def cafcass_rows(procedure: Procedure, label: Callable[[str], str] = role_label) -> list[Row]:
    cafcass = procedure.cafcass
    rows: list[Row] = [("Who may refer", "Independent Reviewing Officers, for looked-after children only")]
    if cafcass.earliest_stage:
        stage = procedure.stage(cafcass.earliest_stage)
        rows.append(("When", f"Once the challenge has reached {stage.name}"))
    else:
        rows.append(("When", "At any point, alongside the internal process"))
    if cafcass.urgent_before_stage:
        stage = procedure.stage(cafcass.urgent_before_stage)
        rows.append(("Urgent referrals", f"Before {stage.name}, only when urgent"))
    if cafcass.requires:
        rows.append(("Before referring", [f"{item.label} ({label(item.role)})" for item in cafcass.requires]))
    rows.append(("Case note", cafcass.case_note))
    if cafcass.guidance:
        rows.append(("Guidance", cafcass.guidance))
    return rows


def resolution_rows(procedure: Procedure, label: Callable[[str], str] = role_label) -> list[Row]:
    resolution = procedure.resolution
    rows: list[Row] = [
        ("Key learning points", "Required" if resolution.requires_learning_points else "Optional"),
    ]
    if resolution.final_comments_role:
        rows.append(("Final comments", f"By the {label(resolution.final_comments_role)}"))
    rows.append(("Case note", resolution.case_note))
    return rows
