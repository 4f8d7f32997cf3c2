"""Challenges to partner agencies (issue 9, section 8; seed 000 section 2), through the real services:
the agency and its contact, the case notes on the child's record, the email to the contact (who has no
account), the chair recording their reply, deadlines, escalation, re-opening and refusals."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.core import mail

from resolve.audit.verify import verify_all
from resolve.casesystem.models import LegalStatus
from resolve.casesystem.retention import child_dispose
from resolve.challenges import engine, services
from resolve.challenges.engine import AgencyContact
from resolve.challenges.models import Challenge, Event, StageVisit
from resolve.challenges.selectors import challenge_list
from resolve.challenges.tests.kit import calendar, procedure
from resolve.children.models import CaseNote
from resolve.children.services import child_create
from resolve.core.errors import ServiceError
from resolve.notifications.models import AgencyMessage, Kind, OutboxMessage
from resolve.notifications.services import outbox_deliver, outbox_retry_now
from resolve.notifications.sweep import deadlines_sweep
from resolve.testing.challenges import raise_challenge

pytestmark = pytest.mark.django_db

# Seed 000, section 2 ("Outcome Resolution with External Agencies").
SEED_000 = (
    "It is important that IROs are able to evidence challenge made to partner agencies in relation to "
    "their oversight role. ... external challenge should be logged via a case note on the child's record "
    "(to be added) in line with the CSCP multi-agency escalation procedures"
)
KEY = "multi_agency_escalation"
HEALTH_VISITOR = AgencyContact(name="Priya Shah", role="Health visitor", email="priya.shah@nhs.example")
MANAGER = AgencyContact(name="Tom Reed", role="Health visiting team lead", email="tom.reed@nhs.example")
ASKED = "Send the health assessment to the review by 20 November"


@pytest.fixture(autouse=True)
def _frozen() -> Any:
    with time_machine.travel(dt.datetime(2026, 11, 2, 11, 30), tick=False):  # a Monday
        yield


def _raise(authority: Any, child: Any, **kwargs: Any) -> Challenge:
    answers: dict[str, Any] = {
        "procedure_key": KEY,
        "concern": "The health visitor has not attended the last two reviews",
        "impact_on_child": "The review cannot consider her health needs",
        "desired_outcome": ASKED,
        "agency": "North Cumbria Integrated Care",
        "agency_kind": "health",
        "contact": HEALTH_VISITOR,
        "themes": ["attendance"],
    }
    answers.update(kwargs)
    return raise_challenge(authority, child, **answers)


def test_a_challenge_to_a_partner_agency_is_logged_by_a_case_note_and_emailed_to_its_contact(
    authority: Any, child: Any
) -> None:
    """Seed 000: "It is important that IROs are able to evidence challenge made to partner agencies
    ... external challenge should be logged via a case note on the child's record ... in line with the
    CSCP multi-agency escalation procedures"."""
    assert "logged via a case note on the child" in SEED_000
    challenge = _raise(authority, child)
    assert (challenge.agency, challenge.agency_kind) == ("North Cumbria Integrated Care", "health")
    assert challenge.stage_key == "level_1"
    assert challenge.stage_due_on == dt.date(2026, 11, 5)  # 3 working days
    visit = StageVisit.objects.get(challenge=challenge)
    assert (visit.contact_name, visit.contact_role, visit.contact_email) == (
        "Priya Shah",
        "Health visitor",
        "priya.shah@nhs.example",
    )
    assert visit.to_users == []  # nobody in Resolve: the stage goes to the contact
    assert list(Event.objects.filter(challenge=challenge).values_list("type", flat=True)) == [
        "raised",
        "agency_asked",
    ]
    notes = list(CaseNote.objects.filter(child=child, challenge=challenge).order_by("id"))
    assert {note.note_type for note in notes} == {
        "External challenge to partner agency - Level 1 Practitioner"
    }
    sent = notes[1].body
    assert "External challenge to North Cumbria Integrated Care at Level 1: Practitioner" in sent
    assert "Priya Shah, Health visitor (priya.shah@nhs.example)" in sent
    assert f"Asked: {ASKED}" in sent and "Reply asked for by 5 November 2026." in sent

    message = AgencyMessage.objects.get()
    assert message.address == "priya.shah@nhs.example" and message.status == "pending"
    assert message.due_on == dt.date(2026, 11, 5)
    assert "Dear Priya Shah" in message.body
    assert f"What you are asked to do: {ASKED}" in message.body
    assert "by 5 November 2026" in message.body and "iro@" not in message.subject
    # Nobody in Resolve is sent the stage: the chair raised it; their reminders come with the deadlines.
    assert not OutboxMessage.objects.filter(kind=Kind.STAGE_SENT).exists()

    assert outbox_deliver().sent >= 1
    email = next(item for item in mail.outbox if item.to == ["priya.shah@nhs.example"])
    assert "reply to them, not to this address" in email.body
    assert "/notifications/" not in email.body  # they have no account
    # Delivered once: a second run sends nothing again.
    before = len(mail.outbox)
    outbox_deliver()
    assert len(mail.outbox) == before
    assert AgencyMessage.objects.get().status == "sent"


def test_the_chair_records_the_contacts_reply_and_no_one_else_can(authority: Any, child: Any) -> None:
    challenge = _raise(authority, child)
    for username in ("social_worker", "team_manager", "iro_team_manager"):
        with pytest.raises(ServiceError) as refused:
            services.challenge_respond(
                user=authority.staff[username], challenge_id=challenge.pk, response="agree"
            )
        assert refused.value.kind == "forbidden", username
    services.challenge_respond(
        user=authority.staff["iro"],
        challenge_id=challenge.pk,
        response="agree",
        comments="She will send the assessment and attend",
    )
    event = Event.objects.filter(challenge=challenge, type="response_recorded").get()
    assert event.detail["on_behalf_of"] == (
        "Priya Shah, Health visitor, North Cumbria Integrated Care (priya.shah@nhs.example)"
    )
    note = CaseNote.objects.filter(challenge=challenge).latest("id")
    assert "Reply from Priya Shah, Health visitor" in note.body and "recorded by the chair" in note.body


def test_on_the_authoritys_own_ladder_the_chair_still_cannot_respond(authority: Any, child: Any) -> None:
    challenge = raise_challenge(
        authority,
        child,
        procedure_key="outcome_resolution",
        concern="Drift",
        impact_on_child="Delay",
        review="cla_review",
        review_on=dt.date(2026, 11, 2),
    )
    with pytest.raises(ServiceError) as refused:
        services.challenge_respond(user=authority.staff["iro"], challenge_id=challenge.pk, response="agree")
    assert refused.value.kind == "forbidden"


def test_each_level_names_its_contact_and_escalating_emails_the_new_one(authority: Any, child: Any) -> None:
    challenge = _raise(authority, child)
    with pytest.raises(ServiceError) as refused:
        services.challenge_escalate(user=authority.staff["iro"], challenge_id=challenge.pk, reason="No reply")
    assert (refused.value.kind, refused.value.field) == ("invalid", "contact.name")
    bad = AgencyContact(name="Tom Reed", role="Team lead", email="tom.reed-at-nhs")
    with pytest.raises(ServiceError) as refused:
        services.challenge_escalate(
            user=authority.staff["iro"], challenge_id=challenge.pk, reason="No reply", contact=bad
        )
    assert (refused.value.code, refused.value.field) == ("bad_email", "contact.email")
    assert Challenge.objects.get(pk=challenge.pk).stage_key == "level_1"  # refused: nothing changed
    assert AgencyMessage.objects.count() == 1

    services.challenge_escalate(
        user=authority.staff["iro"], challenge_id=challenge.pk, reason="No reply by the date", contact=MANAGER
    )
    challenge.refresh_from_db()
    assert challenge.stage_key == "level_2" and challenge.stage_due_on == dt.date(2026, 11, 9)
    current = StageVisit.objects.filter(challenge=challenge).latest("sequence")
    assert (current.contact_name, current.contact_email) == ("Tom Reed", "tom.reed@nhs.example")
    assert current.cc_users == ["iro_team_manager"]  # the procedure copies the IRO/CP Team Manager
    message = AgencyMessage.objects.get(address="tom.reed@nhs.example")
    assert "Why it is escalated to you: No reply by the date" in message.body
    assert "the agency's manager" in message.body
    types = list(Event.objects.filter(challenge=challenge).values_list("type", flat=True))
    assert types[-2:] == ["escalated", "agency_asked"]


def test_the_chair_can_send_the_stage_to_another_contact(authority: Any, child: Any) -> None:
    challenge = _raise(authority, child)
    with pytest.raises(ServiceError) as refused:
        services.challenge_ask_agency(
            user=authority.staff["iro"], challenge_id=challenge.pk, contact=HEALTH_VISITOR
        )
    assert refused.value.code == "same_contact"
    other = AgencyContact(name="Sam Cole", role="Health visitor", email="sam.cole@nhs.example")
    services.challenge_ask_agency(user=authority.staff["iro"], challenge_id=challenge.pk, contact=other)
    visit = StageVisit.objects.get(challenge=challenge)
    assert visit.contact_email == "sam.cole@nhs.example"
    assert visit.due_on == dt.date(2026, 11, 5)  # the same reply date
    note = CaseNote.objects.filter(challenge=challenge).latest("id")
    assert "In place of Priya Shah, Health visitor" in note.body
    assert AgencyMessage.objects.filter(address="sam.cole@nhs.example").count() == 1
    with pytest.raises(ServiceError) as refused:
        services.challenge_ask_agency(
            user=authority.staff["social_worker"], challenge_id=challenge.pk, contact=MANAGER
        )
    assert refused.value.kind == "forbidden"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"agency": ""}, "agency.name"),
        ({"agency_kind": "bakery"}, "agency.kind"),
        ({"contact": None}, "contact.name"),
        ({"contact": AgencyContact(name="Priya", role="", email="p@nhs.example")}, "contact.role"),
        ({"contact": AgencyContact(name="Priya", role="HV", email="not an address")}, "contact.email"),
        ({"contact": AgencyContact(name="P\nS", role="HV", email="p@nhs.example")}, "contact.name"),
        ({"desired_outcome": ""}, "desired_outcome"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_writes_nothing(
    authority: Any, child: Any, change: dict[str, Any], field: str
) -> None:
    with pytest.raises(ServiceError) as refused:
        _raise(authority, child, **change)
    assert refused.value.kind == "invalid" and refused.value.field == field
    assert not Challenge.objects.exists() and not AgencyMessage.objects.exists()


def test_an_agency_on_the_authoritys_own_ladder_is_refused(authority: Any, child: Any) -> None:
    with pytest.raises(ServiceError) as refused:
        _raise(authority, child, procedure_key="outcome_resolution")
    assert (refused.value.code, refused.value.field) == ("not_a_partner_agency_procedure", "agency")


def test_reminders_and_overdue_go_to_the_chair_who_chases_the_contact(authority: Any, child: Any) -> None:
    _raise(authority, child)  # reply due Thursday 5 November
    with time_machine.travel(dt.datetime(2026, 11, 4, 7), tick=False):
        deadlines_sweep()
    reminders = OutboxMessage.objects.filter(kind=Kind.RESPONSE_REMINDER)
    assert [row.recipient.get_username() for row in reminders if row.recipient] == ["iro"]
    with time_machine.travel(dt.datetime(2026, 11, 6, 7), tick=False):
        deadlines_sweep()
    assert challenge_list(user=authority.staff["iro"], today=dt.date(2026, 11, 6), overdue=True).count() == 1
    prompts = OutboxMessage.objects.filter(kind=Kind.ESCALATION_PROMPT)
    assert [row.recipient.get_username() for row in prompts if row.recipient] == ["iro"]
    assert not OutboxMessage.objects.filter(kind=Kind.RESPONSE_OVERDUE).exists()


def test_resolve_reopen_and_withdraw_as_usual_and_no_cafcass_referral(authority: Any, child: Any) -> None:
    challenge = _raise(authority, child)
    with pytest.raises(ServiceError) as refused:
        services.challenge_refer_to_cafcass(
            user=authority.staff["iro"], challenge_id=challenge.pk, reason="Rights", checklist={}
        )
    assert refused.value.code == "cafcass_not_partner_agency"
    services.challenge_resolve(user=authority.staff["iro"], challenge_id=challenge.pk, outcome="She attended")
    services.challenge_reopen(user=authority.staff["iro"], challenge_id=challenge.pk, reason="Absent again")
    visit = StageVisit.objects.filter(challenge=challenge).latest("sequence")
    assert visit.contact_email == "priya.shah@nhs.example"  # the last contact, unless another is named
    assert AgencyMessage.objects.filter(address="priya.shah@nhs.example").count() == 2
    services.challenge_withdraw(user=authority.staff["iro"], challenge_id=challenge.pk, reason="Moved area")
    assert Challenge.objects.get(pk=challenge.pk).status == "withdrawn"


def test_lists_filter_by_procedure_and_agency_kind(authority: Any, child: Any) -> None:
    _raise(authority, child)
    iro = authority.staff["iro"]
    today = dt.date(2026, 11, 2)
    assert challenge_list(user=iro, today=today, policy=KEY).count() == 1
    assert challenge_list(user=iro, today=today, agency_kind="health").count() == 1
    assert challenge_list(user=iro, today=today, agency_kind="police").count() == 0
    assert challenge_list(user=iro, today=today, agency_kind="any").count() == 1
    assert challenge_list(user=iro, today=today, agency_kind="none").count() == 0
    # Only those who may see the child see it.
    assert challenge_list(user=authority.staff["cp_chair"], today=today).count() == 1  # the child's CP Chair
    assert challenge_list(user=authority.staff["social_worker_2"], today=today).count() == 0


# -- the engine, pure ---------------------------------------------------------------------------------
def _state_at_level_1() -> engine.ChallengeState:
    decision = engine.decide(
        procedure=procedure(KEY),
        state=engine.ChallengeState(track="cpc"),
        command=engine.Raise(
            on=dt.date(2026, 11, 2),
            concern="No police information for the conference",
            impact_on_child="The conference cannot weigh the risk",
            desired_outcome="Share the police checks before the conference",
            agency="Cumbria Constabulary",
            agency_kind="police",
            contact=AgencyContact(name="DS Lee", role="Detective sergeant", email="lee@police.example"),
        ),
        actor=engine.Actor("cp_chair", frozenset({engine.CHAIR})),
        today=dt.date(2026, 11, 2),
        calendar=calendar(),
    )
    assert isinstance(decision, engine.Accepted)
    return decision.state


def test_the_respond_guard_lets_the_chair_answer_only_on_the_partner_agency_track() -> None:
    state = _state_at_level_1()
    chair = engine.Actor("cp_chair", frozenset({engine.CHAIR}))
    permitted = {t.key for t in engine.permitted(procedure=procedure(KEY), state=state, actor=chair)}
    assert {"respond", "escalate", "ask_agency", "resolve", "withdraw"} <= permitted
    assert "refer_to_cafcass" not in permitted
    local = procedure("national")
    other = engine.ChallengeState(
        track="cpc", status="open", visits=(engine.Visit("stage_1", dt.date(2026, 11, 2), None),)
    )
    assert "respond" not in {t.key for t in engine.permitted(procedure=local, state=other, actor=chair)}
    assert "ask_agency" not in {t.key for t in engine.permitted(procedure=local, state=other, actor=chair)}


def test_the_reports_count_challenges_to_partner_agencies_by_procedure_and_agency(
    authority: Any, child: Any, api_as: Any
) -> None:
    _raise(authority, child)
    raise_challenge(
        authority,
        child,
        procedure_key="outcome_resolution",
        concern="Drift",
        impact_on_child="Delay",
        review="cla_review",
        review_on=dt.date(2026, 11, 2),
    )
    body = api_as("iro_service_manager").get("/reports", month="2026-11").json()
    figures = body["figures"]
    assert figures["raised"] == 2 and figures["to:agency"] == 1 and figures["agency:health"] == 1
    assert figures[f"procedure:{KEY}"] == 1 and figures["procedure:outcome_resolution"] == 1
    summary = next(table for table in body["tables"] if table["key"] == "summary")
    labels = [row[0] for row in summary["rows"]]
    assert "To a partner agency (multi-agency escalation)" in labels
    assert any(label.startswith("To a partner agency: Health") for label in labels)
    assert "Under Challenge to a partner agency (multi-agency escalation)" in labels


def test_disposal_removes_the_agency_its_contacts_and_the_emails(authority: Any) -> None:
    old = child_create(
        user=authority.staff["admin"],
        case_number="LCS300001",
        first_name="Margaret",
        last_name="Oldfield",
        date_of_birth=dt.date(1945, 6, 1),
        social_worker="social_worker",
        iro="iro",
    )
    LegalStatus.objects.create(child=old, status="looked_after", was_looked_after=True)
    challenge = _raise(authority, old)
    services.challenge_respond(user=authority.staff["iro"], challenge_id=challenge.pk, response="agree")
    services.challenge_resolve(user=authority.staff["iro"], challenge_id=challenge.pk, outcome="She came")
    disposal = child_dispose(user=authority.staff["admin"], case_number="LCS300001")
    assert list(verify_all()) == []
    everything = " ".join(
        [
            *CaseNote.objects.filter(child=old).values_list("body", flat=True),
            *(
                str(detail)
                for detail in Event.objects.filter(challenge=challenge).values_list("detail", flat=True)
            ),
            *AgencyMessage.objects.filter(challenge=challenge).values_list("body", flat=True),
            *AgencyMessage.objects.filter(challenge=challenge).values_list("address", flat=True),
            str(StageVisit.objects.filter(challenge=challenge).values()[0]),
            str(Challenge.objects.filter(pk=challenge.pk).values()[0]),
        ]
    )
    for gone in ("Priya", "priya.shah", "North Cumbria", "Margaret", ASKED):
        assert gone not in everything, gone
    assert disposal.redacted["agency_messages"] == 1 and disposal.redacted["stage_visits"] == 1


def test_an_email_to_a_contact_is_retried_with_back_off_then_given_up(
    authority: Any, child: Any, settings: Any
) -> None:
    settings.RESOLVE_OUTBOX_MAX_ATTEMPTS = 2
    settings.EMAIL_BACKEND = "resolve.notifications.tests.test_delivery.BrokenBackend"
    _raise(authority, child)
    assert outbox_deliver().retried >= 1
    message = AgencyMessage.objects.get()
    assert (message.status, message.attempts) == ("pending", 1)
    assert "SMTPServerDisconnected" in message.last_error
    assert message.next_attempt_at is not None and message.next_attempt_at > message.created_at
    with time_machine.travel(dt.datetime(2026, 11, 2, 18, 0), tick=False):
        outbox_deliver()
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", 2)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    services_retry = outbox_retry_now(ids=[message.pk], model=AgencyMessage)
    assert services_retry == 1
    with time_machine.travel(dt.datetime(2026, 11, 2, 18, 5), tick=False):
        assert outbox_deliver().sent >= 1
    assert AgencyMessage.objects.get().status == "sent"
