"""Turning records into the API's JSON shapes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from resolve.calendars.services import working_calendar
from resolve.calendars.types import Nation
from resolve.challenges.documents import DIRECTORS_BRIEFING_CHILD_FIELDS, DIRECTORS_BRIEFING_FIELDS
from resolve.challenges.events import RESPONSES, EventType
from resolve.challenges.models import (
    Agreement,
    CafcassReferral,
    Challenge,
    Document,
    Event,
    Meeting,
    StageVisit,
)
from resolve.challenges.overdue import stage_timing
from resolve.challenges.selectors import (
    ChallengeDetail,
    ConcernRow,
    challenge_is_overdue,
    challenge_past_cap,
)
from resolve.children.models import CaseNote, Child
from resolve.procedures.models import PolicyVersion
from resolve.procedures.schema import DOCUMENT_KINDS, Procedure
from resolve.procedures.selectors import procedure_version_model


def policy_summary(version: PolicyVersion) -> dict[str, Any]:
    return {
        "key": version.key,
        "name": version.name,
        "authority": version.authority,
        "nation": version.nation,
        "version": version.version,
    }


def policy_detail(version: PolicyVersion) -> dict[str, Any]:
    procedure = procedure_version_model(version)
    return {
        **policy_summary(version),
        "source": procedure.source,
        "tracks": list(procedure.tracks),
        "formal_cap_working_days": procedure.formal_cap_working_days,
        "themes": [{"key": theme.key, "label": theme.label} for theme in procedure.themes],
        "stages": [
            {
                "key": stage.key,
                "name": stage.name,
                "kind": stage.kind,
                "order": order,
                "to_role": stage.to_role,
                "cc_roles": list(stage.cc_roles),
                "notify_roles": list(stage.notify_roles),
                "response_working_days": stage.response_working_days,
                "bypass_requires": procedure.bypass_rule(stage.key),
                "reentry_stage": procedure.reentry_for(stage.key),
                "meeting": stage.meeting.model_dump() if stage.meeting else None,
                "further_meetings": [meeting.model_dump() for meeting in stage.further_meetings],
                "optional_notify_roles": list(stage.optional_notify_roles),
                "documents": list(stage.documents),
                "case_note": stage.case_note,
                "guidance": stage.guidance,
                "chair_deadline": stage.chair_deadline.model_dump() if stage.chair_deadline else None,
                "agency_level": stage.agency_level,
            }
            for order, stage in enumerate(procedure.stages, start=1)
        ],
        "cafcass": {
            "tracks": list(procedure.cafcass.tracks),
            "requires": [item.model_dump() for item in procedure.cafcass.requires],
            "checklist": [item.model_dump() for item in procedure.cafcass.checklist],
            "earliest_stage": procedure.cafcass.earliest_stage,
            "urgent_before_stage": procedure.cafcass.urgent_before_stage,
            "form_completed_by": procedure.cafcass.form_completed_by,
        },
        "learning_points_required": procedure.resolution.requires_learning_points,
        "final_comments_role": procedure.resolution.final_comments_role,
        "extension_max_working_days": procedure.extension_limit(),
        "response_labels": {key: procedure.response_label(key, label) for key, label in RESPONSES.items()},
        "partner_agency": procedure.partner_agency,
        "agency_kinds": [{"key": kind.key, "label": kind.label} for kind in procedure.agency_kinds],
    }


def child_ref(child: Child) -> dict[str, Any]:
    return {
        "case_number": child.case_number,
        "first_name": child.first_name,
        "last_name": child.last_name,
        "date_of_birth": child.date_of_birth,
    }


def challenge_summary(challenge: Challenge, today: dt.date) -> dict[str, Any]:
    return {
        "id": challenge.pk,
        "track": challenge.track,
        "policy": challenge.policy.key,
        "status": challenge.status,
        "stage": challenge.stage_key or None,
        "stage_due_on": challenge.stage_due_on,
        "overdue": challenge_is_overdue(challenge=challenge, today=today),
        "past_cap": challenge_past_cap(challenge=challenge, today=today),
        "raised_on": challenge.raised_on,
        "trigger_review": challenge.trigger_review or None,
        "agency": challenge.agency or None,
        "agency_kind": challenge.agency_kind or None,
    }


def _contact_out(visit: StageVisit) -> dict[str, str] | None:
    """The contact at a partner agency a stage went to, or None."""
    if not visit.contact_email:
        return None
    return {"name": visit.contact_name, "role": visit.contact_role, "email": visit.contact_email}


def child_detail(child: Child, challenges: list[Challenge], today: dt.date) -> dict[str, Any]:
    return {
        **child_ref(child),
        "social_worker": child.social_worker.get_username(),
        "team": child.team.name,
        "iro": child.iro.get_username() if child.iro else None,
        "cp_chair": child.cp_chair.get_username() if child.cp_chair else None,
        "challenges": [challenge_summary(challenge, today) for challenge in challenges],
    }


def case_note_out(note: CaseNote) -> dict[str, Any]:
    return {
        "id": note.pk,
        "note_type": note.note_type,
        "body": note.body,
        "on": note.on,
        "by": note.author.get_username() if note.author else None,
        "challenge": note.challenge_id,
        "corrects": note.corrects_id,
        "corrections": [correction.pk for correction in note.corrections.all()],
    }


def event_out(event: Event) -> dict[str, Any]:
    return {
        "type": event.type,
        "stage": event.stage_key or None,
        "on": event.on,
        "by": event.by.get_username() if event.by else None,
        "detail": event.detail,
    }


def visit_out(visit: StageVisit, procedure: Procedure, today: dt.date) -> dict[str, Any]:
    return {
        "stage": visit.stage_key,
        "name": procedure.stage(visit.stage_key).name,
        "entered_on": visit.entered_on,
        "due_on": visit.due_on,
        "left_on": visit.left_on,
        "left_how": visit.left_how or None,
        "response": visit.response or None,
        "responded_on": visit.responded_on,
        # Whether the response came in time: None while it may still do so, or when none was due.
        "on_time": stage_timing(
            due_on=visit.due_on,
            responded_on=visit.responded_on,
            left_on=visit.left_on,
            today=today,
            calendar=working_calendar(Nation(procedure.nation)),
        ).on_time,
        "to_users": visit.to_users,
        "cc_users": visit.cc_users,
        "notify_users": visit.notify_users,
        "procedure_due_on": visit.procedure_due_on,
        "extended": visit.extended_from is not None,
        "original_due_on": visit.extended_from,
        "contact": _contact_out(visit),
    }


def challenge_detail(detail: ChallengeDetail, today: dt.date) -> dict[str, Any]:
    challenge = detail.challenge
    procedure = procedure_version_model(challenge.policy)
    visits = detail.visits
    stage_now = None
    if challenge.status == Challenge.Status.OPEN and visits:
        stage = procedure.stage(challenge.stage_key)
        current = visits[-1]
        stage_now = {
            "key": stage.key,
            "name": stage.name,
            "kind": stage.kind,
            "entered_on": challenge.stage_entered_on,
            "due_on": challenge.stage_due_on,
            "to_role": stage.to_role,
            "cc_roles": list(stage.cc_roles),
            "to_users": current.to_users,
            "cc_users": current.cc_users,
            "response": current.response or None,
            "overdue": challenge_is_overdue(challenge=challenge, today=today),
            "procedure_due_on": current.procedure_due_on,
            "extended": current.extended_from is not None,
            "original_due_on": current.extended_from,
            "contact": _contact_out(current),
        }
    return {
        "id": challenge.pk,
        "child": child_ref(challenge.child),
        "track": challenge.track,
        "policy": challenge.policy.key,
        "policy_version": challenge.policy.version,
        "status": challenge.status,
        "raised_on": challenge.raised_on,
        "raised_by": challenge.raised_by.get_username(),
        "cafcass_referred_on": challenge.cafcass_referred_on,
        "stage": stage_now,
        "formal_started_on": challenge.formal_started_on,
        "formal_due_on": challenge.formal_due_on,
        "past_cap": challenge_past_cap(challenge=challenge, today=today),
        "themes": challenge.themes,
        "concern": challenge.concern,
        "impact_on_child": challenge.impact_on_child,
        "desired_outcome": challenge.desired_outcome,
        "outcome": challenge.outcome,
        "learning_points": challenge.learning_points,
        "final_comments": challenge.final_comments,
        "actions": [
            {
                "id": action.pk,
                "action": action.action,
                "owner": action.owner,
                "due": action.due,
                "status": action.status,
                "status_on": action.status_on,
                "owner_user": action.owner if action.owner_user_id is not None else None,
                "status_reason": action.status_reason,
            }
            for action in detail.actions
        ],
        "visits": [visit_out(visit, procedure, today) for visit in visits],
        "events": [event_out(event) for event in detail.events],
        "version": challenge.version,
        "trigger_review": challenge.trigger_review or None,
        "trigger_review_on": challenge.trigger_review_on,
        "chair_due_on": challenge.chair_due_on,
        "chair_on_time": challenge.raised_on <= challenge.chair_due_on if challenge.chair_due_on else None,
        "from_concern": challenge.from_concern_id,
        "agreements": [agreement_out(agreement) for agreement in detail.agreements],
        "meetings": [meeting_out(meeting) for meeting in detail.meetings],
        "agency": {
            "name": challenge.agency,
            "kind": challenge.agency_kind,
            "kind_label": procedure.agency_kind_label(challenge.agency_kind),
        }
        if challenge.agency
        else None,
    }


def meeting_out(meeting: Meeting) -> dict[str, Any]:
    return {
        "number": meeting.number,
        "key": meeting.meeting_key,
        "requested": meeting.requested,
        "stage": meeting.visit.stage_key,
        "scheduled_for": meeting.scheduled_for,
        "held_on": meeting.held_on,
        "chair": meeting.chair.get_username() if meeting.chair else None,
        "attendees": list(meeting.attendees),
        "outsiders": list(meeting.outsiders),
        "summary": meeting.summary,
        "recorded_by": meeting.recorded_by.get_username(),
        "actions_on_time": meeting.actions_on_time,
    }


def agreement_out(agreement: Agreement) -> dict[str, Any]:
    return {
        "number": agreement.number,
        "purpose": agreement.purpose,
        "key": agreement.key,
        "kind": agreement.kind,
        "person": agreement.person.get_username(),
        "role": agreement.role,
        "note": agreement.note,
        "requested_by": agreement.requested_by.get_username(),
        "requested_on": agreement.requested_on,
        "requested_at": agreement.requested_at,
        "status": agreement.status,
        "answered_on": agreement.answered_on,
        "answered_at": agreement.answered_at,
        "comments": agreement.comments,
    }


def document_out(document: Document) -> dict[str, Any]:
    fields = DIRECTORS_BRIEFING_CHILD_FIELDS + DIRECTORS_BRIEFING_FIELDS
    return {
        "id": document.pk,
        "kind": document.kind,
        "title": DOCUMENT_KINDS.get(document.kind, document.kind),
        "on": document.on,
        "by": document.by.get_username(),
        "fields": [
            {"key": field.key, "label": field.label, "value": str(document.content.get(field.key, ""))}
            for field in fields
        ],
    }


def concern_out(row: ConcernRow) -> dict[str, Any]:
    concern = row.concern
    return {
        "id": concern.pk,
        "track": concern.track,
        "policy": concern.policy.key,
        "concern": concern.concern,
        "review": concern.review or None,
        "review_on": concern.review_on,
        "on": concern.on,
        "by": concern.recorded_by.get_username(),
        "chair_due_on": row.chair_due_on,
        "challenge": row.challenge_id,
        "closed_on": row.closure.on if row.closure else None,
        "closed_reason": row.closure.reason if row.closure else None,
        "closed_by": row.closure.closed_by.get_username() if row.closure else None,
    }


def child_record_referral_out(referral: CafcassReferral) -> dict[str, Any]:
    """A referral of a child's case to Cafcass with no challenge as a chronology entry: the shape of a
    challenge's ``cafcass_referred`` event, with no challenge and the referral's id."""
    return {
        "type": EventType.CAFCASS_REFERRED.value,
        "stage": None,
        "on": referral.on,
        "by": referral.by.get_username(),
        "detail": {
            "reason": referral.reason,
            "urgent": referral.urgent,
            "checklist": dict(referral.checklist),
            "preconditions": dict(referral.preconditions),
        },
        "challenge": None,
        "referral": referral.pk,
    }


def cafcass_referral_out(referral: CafcassReferral) -> dict[str, Any]:
    policy = referral.policy if referral.challenge is None else referral.challenge.policy
    return {
        "id": referral.pk,
        "challenge": referral.challenge_id,
        "policy": policy.key if policy is not None else "",
        "on": referral.on,
        "reason": referral.reason,
        "urgent": referral.urgent,
        "checklist": dict(referral.checklist),
        "preconditions": dict(referral.preconditions),
        "by": referral.by.get_username(),
    }
