"""Agreement as a request the named person confirms or declines in Resolve, and Cafcass referrals at
any point and by the right person (issue 9, section 6), through the real services."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from resolve.challenges import services
from resolve.challenges.models import Agreement, CafcassReferral, Challenge, Event
from resolve.children.models import CaseNote
from resolve.core.errors import ServiceError
from resolve.notifications.models import Kind, Notification, OutboxMessage
from resolve.testing.agreements import REFERRAL_CHECKLIST
from resolve.testing.challenges import raise_challenge

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 6, 10)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(dt.datetime(2026, 6, 10, 11, 30), tick=False):
        yield


def _raise(authority, child, procedure_key, **kwargs):
    return raise_challenge(
        authority,
        child,
        procedure_key=procedure_key,
        concern="The care plan is not being implemented",
        impact_on_child="Drift in permanence",
        **kwargs,
    )


def _ask(authority, challenge, key, person, purpose="cafcass"):
    return services.challenge_request_agreement(
        user=authority.staff["iro"],
        challenge_id=challenge.pk,
        purpose=purpose,
        key=key,
        person=person,
        note="The plan has drifted for six months; I am considering a referral.",
    )


def test_the_deputy_director_is_told_before_the_referral_is_recorded(authority, child):
    """Seed 002: "prior to making a referral, the IRO must inform the Deputy Director, Children's
    Social Care that a referral to Cafcass is being considered and explain the reasons for their view"."""
    challenge = _raise(authority, child, "qa_issue_resolution")
    checklist = {"iro_report": True, "court_reference": False}
    with pytest.raises(ServiceError) as refused:
        services.challenge_refer_to_cafcass(
            user=authority.staff["iro"], challenge_id=challenge.pk, reason="Rights", checklist=checklist
        )
    assert (refused.value.code, refused.value.field) == (
        "cafcass_precondition_missing",
        "preconditions.deputy_director_informed",
    )
    assert not CafcassReferral.objects.exists()

    _ask(authority, challenge, "deputy_director_informed", "deputy_director")
    told = OutboxMessage.objects.get(kind=Kind.AGREEMENT_REQUESTED)
    assert told.recipient.username == "deputy_director"
    assert "considering a referral" in told.body and "before it is made" in told.body
    assert Notification.objects.filter(message=told, user__username="deputy_director").exists()
    note = CaseNote.objects.filter(challenge=challenge).latest("id")
    assert note.note_type == "Agreement requested"
    assert "Told before a referral to Cafcass" in note.body

    services.challenge_refer_to_cafcass(
        user=authority.staff["iro"], challenge_id=challenge.pk, reason="Rights", checklist=checklist
    )
    referral = CafcassReferral.objects.get()
    assert referral.preconditions == {"deputy_director_informed": "deputy_director"}
    # The message to the Deputy Director was written before the referral.
    told_event = Event.objects.get(challenge=challenge, type="agreement_requested")
    referred_event = Event.objects.get(challenge=challenge, type="cafcass_referred")
    assert told_event.sequence < referred_event.sequence


def test_the_cpru_service_manager_confirms_and_completes_the_referral_form(authority, child):
    """Seed 001: "In the event that the issues remain unresolved in the view of IRO and CPRU Service
    Manager, the IRO can make a formal referral to CAFCASS. the CPRU Service Manager will complete the
    Form CLA Resolution Stage 4 - Referral to CAFCASS"."""
    challenge = _raise(
        authority,
        child,
        "cla_dispute_resolution",
        stage="stage_3",
        bypass_reason="The plan has drifted for a year",
        bypass_agreed_by="iro_service_manager",
    )
    # Raising at stage 3 asked the CPRU Service Manager to confirm the bypass.
    bypass = Agreement.objects.get(challenge=challenge)
    assert (bypass.purpose, bypass.key, bypass.person.username, bypass.status) == (
        "bypass",
        "stage_3",
        "iro_service_manager",
        "pending",
    )
    _ask(authority, challenge, "service_director_meeting_requested", "service_director")
    _ask(authority, challenge, "cpru_service_manager_agrees", "iro_service_manager")
    manager = authority.staff["iro_service_manager"]
    checklist = {"previous_forms_released": True}
    with pytest.raises(ServiceError) as waiting:
        services.challenge_refer_to_cafcass(
            user=manager, challenge_id=challenge.pk, reason="Unresolved", checklist=checklist
        )
    assert waiting.value.code == "cafcass_precondition_missing"
    assert waiting.value.field == "preconditions.cpru_service_manager_agrees"

    number = Agreement.objects.get(key="cpru_service_manager_agrees").number
    with pytest.raises(ServiceError) as not_theirs:
        services.challenge_answer_agreement(
            user=authority.staff["iro"], challenge_id=challenge.pk, number=number, answer="confirmed"
        )
    assert not_theirs.value.kind == "forbidden"
    services.challenge_answer_agreement(
        user=manager, challenge_id=challenge.pk, number=number, answer="confirmed", comments="Agreed"
    )
    answered = Agreement.objects.get(number=number, challenge=challenge)
    assert answered.status == "confirmed" and answered.answered_on == TODAY
    assert answered.answered_at is not None  # timed, not only dated
    told = OutboxMessage.objects.filter(kind=Kind.AGREEMENT_ANSWERED)
    assert {message.recipient.username for message in told} == {"iro"}

    # The IRO does not complete the form here: the CPRU Service Manager does.
    with pytest.raises(ServiceError) as iro_refused:
        services.challenge_refer_to_cafcass(
            user=authority.staff["iro"], challenge_id=challenge.pk, reason="Unresolved", checklist=checklist
        )
    assert iro_refused.value.kind == "forbidden"
    services.challenge_refer_to_cafcass(
        user=manager, challenge_id=challenge.pk, reason="Unresolved", checklist=checklist
    )
    referral = CafcassReferral.objects.get()
    assert referral.by == manager
    assert referral.preconditions == {
        "cpru_service_manager_agrees": "iro_service_manager",
        "service_director_meeting_requested": "service_director",
    }
    assert CaseNote.objects.filter(note_type="CLA Resolution Stage 4 - Referral to CAFCASS").exists()


def test_a_decline_says_why_and_does_not_count_as_agreement(authority, child):
    """Seed 003: "Such a step would require the oversight and approval of the Service Manager and HoS
    for Safeguarding"."""
    challenge = _raise(authority, child, "challenge_and_resolution")
    _ask(authority, challenge, "hos_safeguarding_approval", "head_of_safeguarding")
    head = authority.staff["head_of_safeguarding"]
    with pytest.raises(ServiceError) as no_reason:
        services.challenge_answer_agreement(user=head, challenge_id=challenge.pk, number=1, answer="declined")
    assert (no_reason.value.code, no_reason.value.field) == ("required", "comments")
    services.challenge_answer_agreement(
        user=head, challenge_id=challenge.pk, number=1, answer="declined", comments="Escalate first"
    )
    note = CaseNote.objects.filter(challenge=challenge).latest("id")
    assert note.note_type == "Agreement answered" and "Escalate first" in note.body
    _ask(authority, challenge, "service_manager_approval", "iro_service_manager")
    services.challenge_answer_agreement(
        user=authority.staff["iro_service_manager"], challenge_id=challenge.pk, number=2, answer="confirmed"
    )
    with pytest.raises(ServiceError) as refused:
        services.challenge_refer_to_cafcass(
            user=authority.staff["iro"],
            challenge_id=challenge.pk,
            reason="Acute",
            urgent=True,
            checklist=dict(REFERRAL_CHECKLIST),
        )
    assert refused.value.field == "preconditions.hos_safeguarding_approval"


@pytest.mark.parametrize("procedure_key", ["informal_challenge_dispute_resolution", "outcome_resolution"])
def test_a_referral_once_the_challenge_is_resolved(authority, child, procedure_key):
    """Seed 004: "Should the IRO/CP Chair be dissatisfied by the outcome a referral to CAFCASS can be
    made"; seed 000: "Alongside or out with the Outcome Resolution the IRO can consider whether to make
    a referral to Cafcass"."""
    challenge = _raise(authority, child, procedure_key)
    services.challenge_resolve(user=authority.staff["iro"], challenge_id=challenge.pk, outcome="Plan agreed")
    services.challenge_refer_to_cafcass(
        user=authority.staff["iro"],
        challenge_id=challenge.pk,
        reason="Dissatisfied by the outcome",
        urgent=True,
        checklist={},
    )
    challenge = Challenge.objects.get(pk=challenge.pk)
    assert challenge.status == "resolved" and challenge.cafcass_referred_on == TODAY
    assert CaseNote.objects.filter(challenge=challenge, note_type="Referral to Cafcass").exists()


def test_a_cp_chair_still_cannot_refer_or_ask_about_cafcass(authority, child):
    challenge = services.challenge_raise(
        user=authority.staff["cp_chair"],
        child=child,
        track="cpc",
        procedure_key="qa_issue_resolution",
        concern="Core group not meeting",
        impact_on_child="Plan not reviewed",
    )
    with pytest.raises(ServiceError) as refused:
        services.challenge_request_agreement(
            user=authority.staff["cp_chair"],
            challenge_id=challenge.pk,
            purpose="cafcass",
            key="deputy_director_informed",
            person="deputy_director",
            note="x",
        )
    assert refused.value.code == "cafcass_iro_only"
    assert not Agreement.objects.exists()
