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
    AGREEMENT_ANSWERS,
    AGREEMENT_PURPOSES,
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
        case Raised() | Escalated() | ResponseRecorded() | AgencyAsked():
            # A challenge to a partner agency is "logged via a case note on the child's record" (seed
            # 000 section 2): the level's note, each time it is sent to a contact.
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
        case MeetingRecorded() as detail:
            meeting = stage.meeting_for(detail.key) if stage is not None and detail.key else None
            return (meeting.record_case_note if meeting else None) or procedure.case_notes.meeting
        case FinalCommentsAdded():
            return f"{procedure.resolution.case_note}: final comments"
        case LearningPointsAdded():
            return procedure.resolution.case_note
        case HandedOver():
            return HANDED_OVER_NOTE
        case ActionAdded() | ActionRedated():
            return procedure.case_notes.action
        case DeadlineExtended():
            return procedure.case_notes.deadline_extended_type
        case AgreementRequested():
            return procedure.case_notes.agreement_requested
        case AgreementAnswered():
            return procedure.case_notes.agreement_answered
        case MeetingRequested() as detail:
            meeting = stage.meeting_for(detail.key) if stage is not None else None
            return (meeting.request_case_note if meeting else None) or procedure.case_notes.meeting_requested
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
            if detail.review:
                lines.append(f"Triggered by the {REVIEWS[detail.review]} of {fmt_date(detail.review_on)}.")
            if detail.from_concern_on:
                lines.append(f"Carries the concern recorded on {fmt_date(detail.from_concern_on)}.")
            if detail.procedure_due_on:
                lines.append(
                    f"The chair set an earlier response date than the procedure's "
                    f"({fmt_date(detail.procedure_due_on)})."
                )
            lines.extend(_optional_notify_line(detail.optional_notify_roles, detail.optional_notified))
        case Escalated() as detail:
            lines.append(f"Escalated from {procedure.stage(detail.from_stage).name} to {stage_name}.")
            if detail.reason:
                lines.append(f"Reason: {detail.reason}")
            lines.extend(_optional_notify_line(detail.optional_notify_roles, detail.optional_notified))
        case ResponseRecorded() as detail:
            further = "Further response" if detail.further else "Response"
            lines.append(f"{further} at {stage_name}: {detail.response_label}.")
            if detail.on_behalf_of:
                lines.append(f"Reply from {detail.on_behalf_of}, recorded by the chair.")
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
                lines.append(f"Reason: {detail.reason}")
        case MeetingRecorded() as detail:
            if detail.number:
                lines.append(f"Meeting {detail.number} at {stage_name}, held {fmt_date(detail.held_on)}.")
                there = [*detail.attendees, *detail.outsiders]
                if there:
                    lines.append(f"Attendees: {', '.join(there)}.")
                lines.append(f"Minutes: {detail.summary}")
                if detail.actions:
                    lines.append(f"Actions agreed: {detail.actions}.")
                if detail.actions_due_by is not None:
                    lines.append(
                        f"Recorded within the procedure's time (by {fmt_date(detail.actions_due_by)})."
                        if detail.actions_on_time
                        else f"Recorded late: due by {fmt_date(detail.actions_due_by)}."
                    )
            else:
                lines.append(f"Meeting at {stage_name}: {detail.summary}")
        case FinalCommentsAdded() as detail:
            lines.append(f"Final comments: {detail.comments}")
        case LearningPointsAdded() as detail:
            lines.append(f"Key learning points: {detail.learning_points}")
        case HandedOver() as detail:
            lines.append(
                f"Handed over from {detail.leaver} to {detail.successor}: {hand_over_words(detail)}."
            )
            lines.append(f"Reason: {detail.reason}")
        case ActionAdded() as detail:
            lines.append(f"Action agreed: {detail.action}")
            lines.append(f"By whom: {detail.owner}. By when: {fmt_date(detail.due)}.")
        case ActionRedated() as detail:
            lines.append(
                f"Action re-dated from {fmt_date(detail.from_due)} to {fmt_date(detail.to_due)}. "
                f"Reason: {detail.reason}"
            )
        case DeadlineExtended() as detail:
            lines.append(
                f"Response date at {stage_name} extended from {fmt_date(detail.from_due)} to "
                f"{fmt_date(detail.to_due)}, agreed by {detail.agreed_by}. Reason: {detail.reason}"
            )
        case AgreementRequested() as detail:
            what = _agreement_what(procedure, detail.purpose, detail.key)
            asked = "Asked to agree to" if detail.kind == "agree" else "Told before"
            lines.append(f"{asked} {what}: {detail.person} ({detail.role.replace('_', ' ')}).")
            lines.append(f"Request {detail.number}: {detail.note}")
        case AgreementAnswered() as detail:
            what = _agreement_what(procedure, detail.purpose, detail.key)
            lines.append(f"Request {detail.number} ({what}): {AGREEMENT_ANSWERS[detail.answer].lower()}.")
            if detail.comments:
                lines.append(f"Comments: {detail.comments}")
        case MeetingRequested() as detail:
            meeting = procedure.stage(event.stage).meeting_for(detail.key) if event.stage else None
            lines.append(
                f"Meeting requested at {stage_name}: {meeting.title if meeting else detail.key}, "
                f"on {fmt_date(detail.scheduled_for)}, chaired by {detail.chair}."
            )
            invited = [*detail.attendees, *detail.outsiders]
            if invited:
                lines.append(f"Invited: {', '.join(invited)}.")
            if detail.note:
                lines.append(detail.note)
        case AgencyAsked() as detail:
            lines.append(
                f"External challenge to {detail.agency} at {stage_name}: sent to {detail.contact_name}, "
                f"{detail.contact_role} ({detail.contact_email}), the agency's {detail.level}."
            )
            if detail.replaces:
                lines.append(f"In place of {detail.replaces}.")
            lines.append(f"Asked: {detail.asked}")
            lines.append(
                f"Reply asked for by {fmt_date(detail.due_on)}."
                if detail.due_on
                else "The procedure sets no timescale for the reply."
            )
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


def _optional_notify_line(roles: Sequence[str], notified: bool | None) -> list[str]:
    """Seed 000's "Consideration given to notifying Chief Executive", recorded either way."""
    if not roles:
        return []
    who = " and ".join(role.replace("_", " ").capitalize() for role in roles)
    return [f"{who}: notified." if notified else f"{who}: considered, and not notified."]


def _agreement_what(procedure: Procedure, purpose: str, key: str) -> str:
    """What a request for agreement is about, in words: the referral's precondition, or the stage."""
    if purpose == "bypass" and procedure.has_stage(key):
        return f"going straight to {procedure.stage(key).name}"
    labels = {item.key: item.label for item in procedure.cafcass.requires}
    if purpose == "cafcass" and key in labels:
        return f"a referral to Cafcass ({labels[key]})"
    return AGREEMENT_PURPOSES.get(purpose, purpose)


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
            | HandedOver()
            | ActionAdded()
            | ActionRedated()
            | DeadlineExtended()
            | AgreementRequested()
            | AgreementAnswered()
            | MeetingRequested()
            | AgencyAsked()
        ):
            return False
        case _:
            assert_never(event.detail)


# The case-note type of a hand-over: not a step of the procedure, so the same in every procedure.
HANDED_OVER_NOTE = "Work handed over"


def hand_over_words(detail: HandedOver) -> str:
    """What moved, in words: "the stage, the chair, 2 actions and 1 request for agreement waiting on an
    answer (number 3)"."""
    parts = []
    if detail.stage:
        parts.append("the stage")
    if detail.chair:
        parts.append("the chair")
    if detail.actions:
        parts.append(f"{len(detail.actions)} action{'s' if len(detail.actions) != 1 else ''}")
    if detail.agreements:
        asked = len(detail.agreements)
        numbers = ", ".join(str(number) for number in detail.agreements)
        parts.append(
            f"{asked} request{'s' if asked != 1 else ''} for agreement waiting on an answer "
            f"(number{'s' if asked != 1 else ''} {numbers})"
        )
    if detail.meetings:
        count = len(detail.meetings)
        parts.append(f"the chair of {count} requested meeting{'s' if count != 1 else ''}")
    return ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1] if parts else "nothing"
