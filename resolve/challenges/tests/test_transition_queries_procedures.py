"""The statements of the changes the other procedures in policies/ add to the ladder: raising at a
later stage with someone's agreement, requests for agreement and their answers, meetings asked for
and recorded with actions, a partner agency's ladder and a referral to Cafcass with no challenge.

Counted like ``test_transition_queries`` (from BEGIN to COMMIT, real transactions, the procedure and
the working calendar read once per process), each to its exact count on each database. The goal is at
most 12 for any transition; the ones still above it say so below and in docs/performance.md
("Transitions of the other procedures"), so that one going over, or coming down, is seen here first.
"""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractContextManager
from typing import Any

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.db import connection

from resolve.audit.verify import verify_all
from resolve.calendars.services import working_calendar
from resolve.calendars.types import Nation
from resolve.challenges import services
from resolve.challenges.engine import AgencyContact
from resolve.challenges.events import EventType
from resolve.challenges.models import Action, Agreement, Challenge, Event, Meeting
from resolve.children.models import Child
from resolve.core.errors import ServiceError
from resolve.notifications.models import Deadline, Kind, OutboxMessage
from resolve.notifications.services import deadline_specs
from resolve.people.demo import Authority
from resolve.people.models import Post
from resolve.procedures.selectors import procedure_get, procedure_version_model
from resolve.testing.challenges import raise_challenge
from resolve.testing.statements import statements_exactly

pytestmark = pytest.mark.django_db(transaction=True)

COUNTS = {
    # Raising at stage 2 with the IRO/CP Service Manager's agreement, under a procedure with a
    # meeting at that stage: the agreement is a row of its own (its person read with the child's line
    # and everyone raising names; 13 when they were read again), and the schedule reads the meetings
    # again because the change wrote a request.
    "raise with an agreement": {"sqlite": 12, "postgresql": 12},
    # The person asked is read with the change's people, in its one query (11 when they were looked
    # up before the transaction, their user then their posts; 12 when read again inside it too).
    "request agreement": {"sqlite": 9, "postgresql": 9},
    "answer agreement": {"sqlite": 12, "postgresql": 12},
    # The chair and everyone invited are read with the change's people, in its one query however
    # many; the new request joins the meetings read with the challenge for the schedule (13 when
    # they were read before the transaction, the chair again to write the request and the meetings
    # again for the schedule; 20 when each person was looked up on their own).
    "request meeting": {"sqlite": 10, "postgresql": 10},
    # The minutes with an action agreed: the attendees and the action's owner read with the change's
    # people, the request found among the meetings read with the challenge, and the schedule worked
    # out from the rows read and the rows written (17 when each of those was read again; 25 when
    # each person was looked up on their own).
    "record meeting with an action": {"sqlite": 12, "postgresql": 12},
    # An action agreed later (outcome resolution's action plan): its owner read with the change's
    # people, and the schedule worked out from the actions read and the one written (11 when the
    # owner was looked up before the transaction and the actions read again for the schedule; 13
    # when the action wrote the schedule on its own first).
    "add an action": {"sqlite": 9, "postgresql": 9},
    # Past a stage, with who agreed to it, and a response date extended with who agreed it: each
    # person read with the change's people (one statement more each when looked up before).
    "escalate past a stage with who agreed": {"sqlite": 10, "postgresql": 10},
    "extend with who agreed": {"sqlite": 10, "postgresql": 10},
    "raise to a partner agency": {"sqlite": 10, "postgresql": 10},
    "ask another contact at the agency": {"sqlite": 10, "postgresql": 10},
    "escalate to the agency's next level": {"sqlite": 11, "postgresql": 11},
    # A referral with no challenge goes the way of a change: the person's posts, the child's line and
    # the people named in one query; the child locked with its chains' heads and the procedure; the
    # child's requests and last referral; the referral and the case note sealed together; the
    # message; and its delivery queued after COMMIT (25 when each link and head went on its own).
    "refer to Cafcass with no challenge": {"sqlite": 11, "postgresql": 11},
    # The requests for agreement a referral with no challenge asks for, and their answers, go the
    # same way.
    "ask for agreement to a referral with no challenge": {"sqlite": 11, "postgresql": 11},
    "answer a request about a referral with no challenge": {"sqlite": 11, "postgresql": 11},
    # Above the goal as a whole: a hand-over is one step for all of a leaver's work. Of one
    # challenge (its stage sent to the leaver and an action they own) and one child: the leaver's
    # work counted table by table, the child and the challenge read and each look logged (three
    # statements however many: ``access_record_many``), each person looked up, the child's
    # allocation with its case note sealed on its own; then the challenge's change, in a savepoint,
    # as any change runs it (its rows read with the lock, the successor with its people, the checks
    # that the successor can take each part of it up made on those rows, the action re-addressed
    # from the row read): 11 from SAVEPOINT to RELEASE. Each further challenge adds its 11 (it was
    # 28: 5 for its look logged, 6 for the checks read on their own, 17 for its change; 58/52 for
    # one before).
    "hand over one challenge": {"sqlite": 40, "postgresql": 40},
    "hand over two challenges": {"sqlite": 51, "postgresql": 51},
}
D = dt.date


def _counted(kind: str) -> AbstractContextManager[None]:
    """Exactly COUNTS[kind] statements inside on this database; they are printed when not."""
    return statements_exactly(COUNTS, kind)


@pytest.fixture(autouse=True)
def _warm() -> None:
    """The working calendar and the procedures are read once per process, not per change."""
    working_calendar(Nation.ENGLAND_AND_WALES)
    for key in (
        "national",  # the authority's procedure: a referral with no challenge is decided under it
        "cla_dispute_resolution",
        "multi_agency_escalation",
        "challenge_and_resolution",
        "outcome_resolution",
    ):
        procedure_version_model(procedure_get(key=key))


def _schedule_as_read_afresh(challenge_id: int) -> None:
    """The schedule a change wrote from the rows it read with the lock and the rows it added (a
    meeting, an action) is the one its state gives when every row is read afresh: each deadline due
    is there, and none unfired that is not due."""
    challenge = Challenge.objects.get(pk=challenge_id)
    procedure = procedure_version_model(challenge.policy)
    due = {
        (spec.key, spec.trigger, spec.fire_on, spec.action_id, spec.meeting_id)
        for spec in deadline_specs(
            challenge=challenge,
            procedure=procedure,
            actions=Action.objects.filter(challenge=challenge).values_list("pk", "due", "status"),
            calendar=working_calendar(Nation(procedure.nation)),
        )
    }
    rows = list(Deadline.objects.filter(challenge_id=challenge_id))
    unfired = {
        (row.key, row.trigger, row.fire_on, row.action_id, row.meeting_id)
        for row in rows
        if row.fired_at is None
    }
    assert unfired <= due
    assert {key for key, *_ in due} <= {row.key for row in rows}


def _at_stage_2(authority: Authority, child: Child) -> Challenge:
    return raise_challenge(
        authority,
        child,
        procedure_key="cla_dispute_resolution",
        stage="stage_2",
        bypass_reason="The plan has drifted",
        bypass_agreed_by="iro_service_manager",
        concern="No permanence plan after 8 months",
        impact_on_child="Drift",
        on=D(2026, 6, 1),
    )


@time_machine.travel(dt.datetime(2026, 6, 1, 9, 0), tick=False)
def test_raising_with_an_agreement_then_a_meeting_asked_for_and_recorded(
    authority: Authority, child: Child
) -> None:
    """Seed 001, stage 2: "This meeting should be chaired by CPRU Service Manager. Actions from Meeting
    to be recorded within 24 hours on DRP Stage 2 Form by CPRU Service Manager.\""""
    with _counted("raise with an agreement"):
        challenge = _at_stage_2(authority, child)
    assert Agreement.objects.filter(challenge=challenge, purpose="bypass").count() == 1
    with _counted("request meeting"):
        services.challenge_request_meeting(
            user=authority.staff["iro"],
            challenge_id=challenge.pk,
            scheduled_for=D(2026, 6, 4),
            chair="iro_service_manager",
            attendees=["service_manager", "team_manager", "social_worker"],
        )
    _schedule_as_read_afresh(challenge.pk)
    assert Meeting.objects.get(challenge=challenge, requested=True).deadlines.count() == 2
    with (
        time_machine.travel(dt.datetime(2026, 6, 5, 9, 0), tick=False),
        _counted("record meeting with an action"),
    ):
        services.challenge_record_meeting(
            user=authority.staff["iro_service_manager"],
            challenge_id=challenge.pk,
            number=1,
            held_on=D(2026, 6, 4),
            summary="Permanence planning meeting to be held within 2 weeks.",
            attendees=["service_manager", "team_manager"],
            actions=[
                services.ActionInput("Book the permanence planning meeting", "team_manager", D(2026, 6, 12))
            ],
        )
    assert Meeting.objects.filter(challenge=challenge, requested=False).count() == 1
    assert OutboxMessage.objects.filter(kind=Kind.MEETING_MINUTES).exists()
    # The request held, its deadlines go; the action agreed has its own.
    _schedule_as_read_afresh(challenge.pk)
    assert not Deadline.objects.filter(meeting__requested=True, fired_at__isnull=True).exists()
    assert Deadline.objects.filter(action__challenge=challenge).exists()
    assert list(verify_all()) == []


@time_machine.travel(dt.datetime(2026, 6, 1, 9, 0), tick=False)
def test_escalating_past_a_stage_and_extending_each_with_who_agreed(
    authority: Authority, child: Child
) -> None:
    challenge = raise_challenge(
        authority,
        child,
        procedure_key="national",
        concern="No statutory visit for eight weeks",
        impact_on_child="The child has not been seen",
    )
    with _counted("extend with who agreed"):
        services.challenge_deadline_extend(
            user=authority.staff["iro"],
            challenge_id=challenge.pk,
            due=D(2026, 6, 10),
            reason="The social worker is on leave this week",
            agreed_by="team_manager",
        )
    with _counted("escalate past a stage with who agreed"):
        services.challenge_escalate(
            user=authority.staff["iro"],
            challenge_id=challenge.pk,
            to_stage="stage_2",
            reason="The child is at risk: the team manager's stage would lose a week",
            bypass_agreed_by="iro_service_manager",
        )
    challenge.refresh_from_db()
    assert challenge.stage_key == "stage_2"
    _schedule_as_read_afresh(challenge.pk)
    assert list(verify_all()) == []


@time_machine.travel(dt.datetime(2026, 6, 1, 9, 0), tick=False)
def test_an_action_added_to_the_plan(authority: Authority, child: Child) -> None:
    challenge = raise_challenge(
        authority,
        child,
        procedure_key="outcome_resolution",
        concern="The care plan is not being implemented",
        impact_on_child="Drift in permanence",
    )
    with _counted("add an action"):
        services.challenge_action_add(
            user=authority.staff["iro"],
            challenge_id=challenge.pk,
            action="Book the permanence planning meeting",
            due=D(2026, 6, 10),
            owner_user="social_worker",
        )
    action = Action.objects.get(challenge=challenge)
    assert set(Deadline.objects.filter(action=action).values_list("trigger", flat=True))
    _schedule_as_read_afresh(challenge.pk)
    assert list(verify_all()) == []


@time_machine.travel(dt.datetime(2026, 6, 1, 9, 0), tick=False)
def test_a_request_for_agreement_and_its_answer(authority: Authority, child: Child) -> None:
    challenge = _at_stage_2(authority, child)
    with _counted("request agreement"):
        services.challenge_request_agreement(
            user=authority.staff["iro"],
            challenge_id=challenge.pk,
            purpose="cafcass",
            key="cpru_service_manager_agrees",
            person="iro_service_manager",
            note="The plan has drifted for six months; I am considering a referral.",
        )
    number = Agreement.objects.get(key="cpru_service_manager_agrees").number
    with _counted("answer agreement"):
        services.challenge_answer_agreement(
            user=authority.staff["iro_service_manager"],
            challenge_id=challenge.pk,
            number=number,
            answer="confirmed",
        )
    assert Agreement.objects.get(key="cpru_service_manager_agrees").status == "confirmed"
    assert list(verify_all()) == []


@time_machine.travel(dt.datetime(2026, 11, 2, 11, 30), tick=False)
def test_a_challenge_to_a_partner_agency(authority: Authority, child: Child) -> None:
    """Seed 000, section 2: "external challenge should be logged via a case note on the child's
    record (to be added) in line with the CSCP multi-agency escalation procedures"."""
    answers: dict[str, Any] = {
        "user": authority.staff["iro"],
        "child": child,
        "track": "iro",
        "procedure_key": "multi_agency_escalation",
        "concern": "The health visitor has not attended the last two reviews",
        "impact_on_child": "The review cannot consider her health needs",
        "desired_outcome": "Send the health assessment to the review by 20 November",
        "agency": "North Cumbria Integrated Care",
        "agency_kind": "health",
        "contact": AgencyContact(name="Priya Shah", role="Health visitor", email="priya.shah@nhs.example"),
        "themes": ["attendance"],
    }
    with _counted("raise to a partner agency"):
        challenge = services.challenge_raise(**answers)
    with _counted("ask another contact at the agency"):
        services.challenge_ask_agency(
            user=authority.staff["iro"],
            challenge_id=challenge.pk,
            contact=AgencyContact(name="Sam Cole", role="Health visitor", email="sam.cole@nhs.example"),
        )
    with _counted("escalate to the agency's next level"):
        services.challenge_escalate(
            user=authority.staff["iro"],
            challenge_id=challenge.pk,
            reason="No reply",
            contact=AgencyContact(
                name="Tom Reed", role="Health visiting team lead", email="tom.reed@nhs.example"
            ),
        )
    assert list(verify_all()) == []


def test_a_referral_to_cafcass_with_no_challenge(authority: Authority, child: Child) -> None:
    with _counted("refer to Cafcass with no challenge"):
        services.child_refer_to_cafcass(
            user=authority.staff["iro"],
            child_id=child.pk,
            reason="Margaret's placement is unsafe.",
            checklist={},
        )
    assert OutboxMessage.objects.filter(kind=Kind.CAFCASS_REFERRED).exists()
    assert list(verify_all()) == []


def test_a_request_for_agreement_to_a_referral_with_no_challenge_and_its_answer(
    authority: Authority, child: Child, settings: Any
) -> None:
    """Seed 003: "Such a step would require the oversight and approval of the Service Manager and HoS
    for Safeguarding." """
    settings.RESOLVE_DEFAULT_POLICY = "challenge_and_resolution"
    with _counted("ask for agreement to a referral with no challenge"):
        asked = services.child_request_cafcass_agreement(
            user=authority.staff["iro"],
            child_id=child.pk,
            key="service_manager_approval",
            person="iro_service_manager",
            note="Please approve the referral.",
        )
    with _counted("answer a request about a referral with no challenge"):
        services.child_answer_cafcass_agreement(
            user=authority.staff["iro_service_manager"],
            child_id=child.pk,
            number=asked.number,
            answer="confirmed",
        )
    assert Agreement.objects.get(pk=asked.pk).status == "confirmed"
    assert OutboxMessage.objects.filter(kind=Kind.AGREEMENT_ANSWERED).exists()
    assert list(verify_all()) == []


@pytest.mark.parametrize("kind", ["hand over one challenge", "hand over two challenges"])
def test_a_leavers_hand_over(authority: Authority, child: Child, kind: str) -> None:
    """Each challenge handed over costs what any change costs; the rest is the hand-over's own."""
    successor = get_user_model().objects.create_user(username="social_worker_3", first_name="Sam")
    Post.objects.create(user=successor, role="social_worker", team=authority.teams["social_work"])
    with time_machine.travel(dt.datetime(2026, 12, 1, 10, 0), tick=False):
        challenges = [
            raise_challenge(
                authority,
                child,
                procedure_key="national",
                concern=concern,
                impact_on_child="The child has not been seen",
                actions=[
                    services.ActionInput(action="Visit the child", owner="social_worker", due=D(2026, 12, 1))
                ],
            )
            for concern in ["No statutory visit for eight weeks", "No health assessment this year"][
                : 1 if kind == "hand over one challenge" else 2
            ]
        ]
        with _counted(kind):
            services.leaver_hand_over(
                user=authority.staff["admin"],
                leaver="social_worker",
                successor="social_worker_3",
                reason="Sophie has left the authority",
            )
    for challenge in challenges:
        assert Event.objects.filter(challenge=challenge, type=EventType.HANDED_OVER).count() == 1
        assert Action.objects.get(challenge=challenge).owner_user == successor
        _schedule_as_read_afresh(challenge.pk)
    assert list(verify_all()) == []
    # A further challenge: its change from its savepoint to its release, as any change runs it.
    counts = {kind: COUNTS[kind][connection.vendor] for kind in COUNTS}
    assert counts["hand over two challenges"] - counts["hand over one challenge"] <= 12


@time_machine.travel(dt.datetime(2026, 6, 1, 9, 0), tick=False)
def test_the_people_a_meeting_names_are_read_together_and_an_unknown_one_is_refused_by_its_field(
    authority: Authority, child: Child
) -> None:
    challenge = _at_stage_2(authority, child)
    for attendees, chair, field in (
        (["team_manager", "nobody_here"], "iro_service_manager", "attendees"),
        (["team_manager"], "nobody_here", "chair"),
    ):
        with pytest.raises(ServiceError) as unknown:
            services.challenge_request_meeting(
                user=authority.staff["iro"],
                challenge_id=challenge.pk,
                scheduled_for=D(2026, 6, 4),
                chair=chair,
                attendees=attendees,
            )
        assert (unknown.value.code, unknown.value.field) == ("unknown_user", field)
    # The chair's roles come from the same query: one who does not hold the role is refused.
    with pytest.raises(ServiceError) as wrong_chair:
        services.challenge_request_meeting(
            user=authority.staff["iro"],
            challenge_id=challenge.pk,
            scheduled_for=D(2026, 6, 4),
            chair="team_manager",
        )
    assert (wrong_chair.value.code, wrong_chair.value.field) == ("wrong_role", "chair")
    assert not Meeting.objects.filter(challenge=challenge).exists()
    # One person invited costs what three did (``test_raising_with_an_agreement_then_...``).
    with _counted("request meeting"):
        services.challenge_request_meeting(
            user=authority.staff["iro"],
            challenge_id=challenge.pk,
            scheduled_for=D(2026, 6, 4),
            chair="iro_service_manager",
            attendees=["team_manager"],
        )
    assert Meeting.objects.filter(challenge=challenge).count() == 1
