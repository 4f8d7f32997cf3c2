"""The case note each event writes on the child's record: its type, as the procedure names it, and its
words. Pure: the write path passes the people a stage went to, already named.

Every ``match`` here ends in ``assert_never``: a new event type is a mypy error until it is given its
case note.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import assert_never

from resolve.challenges.events import (
    ActionUpdated,
    CafcassReferred,
    Escalated,
    Event,
    FinalCommentsAdded,
    LearningPointsAdded,
    MeetingRecorded,
    Raised,
    Reopened,
    Resolved,
    ResponseRecorded,
    Withdrawn,
)
from resolve.procedures.schema import Procedure


def fmt_date(day: dt.date | None) -> str:
    """A date as people write it in a case note: "3 June 2024"."""
    return f"{day.day} {day:%B %Y}" if day else "no set date"


@dataclass(frozen=True, slots=True)
class StagePeople:
    """Who a stage just entered went to, was copied to and told of it, by name; and when it is due."""

    to: Sequence[str]
    copied: Sequence[str]
    told: Sequence[str]
    due_on: dt.date | None


def case_note_type(procedure: Procedure, event: Event) -> str:
    """The case-note type the procedure names for this event."""
    stage = procedure.stage(event.stage) if event.stage else None
    match event.detail:
        case Raised() | Escalated() | ResponseRecorded():
            assert stage is not None
            return stage.case_note
        case Resolved():
            assert stage is not None
            return stage.resolved_case_note or procedure.resolution.case_note
        case Reopened():
            return procedure.case_notes.reopened
        case Withdrawn():
            return procedure.case_notes.withdrawn
        case CafcassReferred():
            return procedure.cafcass.case_note
        case ActionUpdated():
            return procedure.case_notes.action
        case MeetingRecorded():
            return procedure.case_notes.meeting
        case FinalCommentsAdded():
            return f"{procedure.resolution.case_note}: final comments"
        case LearningPointsAdded():
            return procedure.resolution.case_note
        case _:
            assert_never(event.detail)


def case_note_body(procedure: Procedure, event: Event, people: StagePeople | None) -> str:
    """What the case note says; ``people`` is given when the event entered a stage."""
    stage_name = procedure.stage(event.stage).name if event.stage else ""
    lines: list[str] = []
    match event.detail:
        case Raised() as detail:
            lines.append(f"Challenge raised at {stage_name}.")
            lines.append(f"Concern: {detail.concern}")
            # Seeds 002 and 004: the concern, the impact on the child, the preferred solution, the timescale.
            if detail.impact_on_child:
                lines.append(f"Impact on the child: {detail.impact_on_child}")
            if detail.desired_outcome:
                lines.append(f"Preferred solution: {detail.desired_outcome}")
            if detail.bypassed:
                lines.append(f"Earlier stages bypassed. Reason: {detail.bypass_reason}")
        case Escalated() as detail:
            lines.append(f"Escalated from {procedure.stage(detail.from_stage).name} to {stage_name}.")
            if detail.reason:
                lines.append(f"Reason: {detail.reason}")
        case ResponseRecorded() as detail:
            further = "Further response" if detail.further else "Response"
            lines.append(f"{further} at {stage_name}: {detail.response_label}.")
            if detail.comments:
                lines.append(f"Comments: {detail.comments}")
            lines.append(
                "Received on time." if detail.on_time else f"Received late (due {fmt_date(detail.due_on)})."
            )
        case Resolved() as detail:
            lines.append(f"Resolved at {stage_name}. Outcome: {detail.outcome}")
            if detail.learning_points:
                lines.append(f"Key learning points: {detail.learning_points}")
        case Reopened() as detail:
            lines.append(
                f"Re-opened at {stage_name}: agreed actions were not delivered. Reason: {detail.reason}"
            )
        case Withdrawn() as detail:
            lines.append(f"Withdrawn at {stage_name}. Reason: {detail.reason}")
        case CafcassReferred() as detail:
            lines.append(
                f"Referred to Cafcass{' as urgent' if detail.urgent else ''}. Reason: {detail.reason}"
            )
        case ActionUpdated() as detail:
            lines.append(f"Action marked {detail.status.replace('_', ' ')} (due {fmt_date(detail.due)}).")
            if detail.reason:
                lines.append(f"Why: {detail.reason}")
        case MeetingRecorded() as detail:
            lines.append(f"Meeting at {stage_name}: {detail.summary}")
        case FinalCommentsAdded() as detail:
            lines.append(f"Final comments: {detail.comments}")
        case LearningPointsAdded() as detail:
            lines.append(f"Key learning points: {detail.learning_points}")
        case _:
            assert_never(event.detail)
    if people is not None:
        if people.to:
            lines.append(f"To: {', '.join(people.to)}.")
        if people.copied:
            lines.append(f"Copied to: {', '.join(people.copied)}.")
        if people.told:
            lines.append(f"Told: {', '.join(people.told)}.")
        lines.append(
            f"Response due by {fmt_date(people.due_on)}."
            if people.due_on
            else "The procedure sets no response timescale."
        )
    return "\n".join(lines)


def enters_stage(event: Event) -> bool:
    """Whether the event put the challenge at a stage (so the stage's people are named and told)."""
    match event.detail:
        case Raised() | Escalated() | Reopened():
            return True
        case (
            ResponseRecorded()
            | Resolved()
            | Withdrawn()
            | CafcassReferred()
            | ActionUpdated()
            | MeetingRecorded()
            | FinalCommentsAdded()
            | LearningPointsAdded()
        ):
            return False
        case _:
            assert_never(event.detail)
