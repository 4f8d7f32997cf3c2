"""Who is told, and named as the seeds name it (issue 9, section 7)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from resolve.challenges import services
from resolve.challenges.models import Event
from resolve.children.models import CaseNote
from resolve.core.errors import ServiceError
from resolve.notifications.models import Kind, OutboxMessage
from resolve.testing.challenges import raise_challenge

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(dt.datetime(2026, 6, 10, 10, 0), tick=False):
        yield


def _raise(authority, child, procedure_key, **kwargs):
    return raise_challenge(
        authority,
        child,
        procedure_key=procedure_key,
        concern="No pathway plan",
        impact_on_child="Unplanned leaving care",
        **kwargs,
    )


def _at_stage_4(authority, child):
    challenge = _raise(authority, child, "outcome_resolution")
    for _ in range(3):
        services.challenge_escalate(
            user=authority.staff["iro"], challenge_id=challenge.pk, reason="No response"
        )
    return challenge


@pytest.mark.parametrize("tell", [True, False])
def test_seed_000_stage_5_chief_executive_is_an_optional_notification_recorded_either_way(
    authority, child, tell
):
    """Seed 000: "Escalate to Director of Children's Services. Consideration given to notifying Chief
    Executive.\""""
    challenge = _at_stage_4(authority, child)
    with pytest.raises(ServiceError) as unanswered:
        services.challenge_escalate(
            user=authority.staff["iro"], challenge_id=challenge.pk, reason="Unresolved"
        )
    assert (unanswered.value.code, unanswered.value.field) == ("optional_notify_required", "notify_optional")
    assert "Chief Executive" in unanswered.value.message
    services.challenge_escalate(
        user=authority.staff["iro"], challenge_id=challenge.pk, reason="Unresolved", notify_optional=tell
    )
    visit = challenge.visits.order_by("-sequence").first()
    assert visit is not None and visit.stage_key == "stage_5"
    assert ("chief_executive" in visit.notify_users) is tell
    told = OutboxMessage.objects.filter(kind=Kind.STAGE_NOTIFIED, recipient__username="chief_executive")
    assert told.exists() is tell
    event = Event.objects.filter(challenge=challenge, type="escalated").latest("sequence")
    assert event.detail["optional_notify_roles"] == ["chief_executive"]
    assert event.detail["optional_notified"] is tell
    note = CaseNote.objects.filter(challenge=challenge).latest("id")
    assert ("Chief executive: notified." in note.body) is tell
    assert ("Chief executive: considered, and not notified." in note.body) is not tell


def test_other_stages_ask_nothing_of_the_kind(authority, child):
    challenge = _raise(authority, child, "outcome_resolution")
    services.challenge_escalate(user=authority.staff["iro"], challenge_id=challenge.pk, reason="No response")
    event = Event.objects.filter(challenge=challenge, type="escalated").get()
    assert "optional_notified" not in event.detail


def test_seed_000_responses_in_its_own_words(authority, child):
    """Seed 000: "Agree & able to implement · Don't agree & will not implement · Do not have remit to
    implement"."""
    challenge = _raise(authority, child, "outcome_resolution")
    services.challenge_respond(
        user=authority.staff["team_manager"], challenge_id=challenge.pk, response="disagree"
    )
    event = Event.objects.get(challenge=challenge, type="response_recorded")
    assert event.detail["response_label"] == "Don't agree & will not implement"
    note = CaseNote.objects.filter(challenge=challenge).latest("id")
    assert "Response at Stage 1: Informal Outcome Resolution" in note.body
    assert "Don't agree & will not implement." in note.body
    message = OutboxMessage.objects.get(kind=Kind.RESPONSE_RECORDED)
    assert "Don't agree & will not implement" in message.body


def test_other_procedures_keep_resolves_words(authority, child):
    challenge = _raise(authority, child, "national")
    services.challenge_respond(
        user=authority.staff["social_worker"], challenge_id=challenge.pk, response="disagree"
    )
    event = Event.objects.get(challenge=challenge, type="response_recorded")
    assert event.detail["response_label"] == "Do not agree and will not implement"


def test_seed_003_stage_2_copies_the_iro_cp_service_manager(authority, child):
    """Seed 003: "The Service Manager in consultation with the IRO/CPC will then forward the form to the
    responsible Service Manager (copying in the HoS, IRO/CPC, SW and TM)"."""
    challenge = _raise(authority, child, "challenge_and_resolution")
    services.challenge_escalate(user=authority.staff["iro"], challenge_id=challenge.pk, reason="No plan")
    services.challenge_escalate(user=authority.staff["iro"], challenge_id=challenge.pk, reason="Not agreed")
    visit = challenge.visits.order_by("-sequence").first()
    assert visit is not None and visit.stage_key == "stage_2"
    assert "iro_service_manager" in visit.cc_users
    assert OutboxMessage.objects.filter(
        kind=Kind.STAGE_COPIED, recipient__username="iro_service_manager", challenge=challenge
    ).exists()
