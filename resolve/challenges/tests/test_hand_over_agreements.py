"""A leaver's requests for agreement still waiting on their answer go to their successor with the rest
of their work; requests already answered stay as they were answered.

Issue 13: "an administrator or manager reassigns a leaver's children, stages, actions and pending
agreements to another person in one step, with a reason, written as events and case notes, so nothing
waits on an empty chair."
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
import time_machine
from django.contrib.auth import get_user_model

from resolve.access.tests.world import TODAY, World, world_build
from resolve.audit.verify import verify_all
from resolve.challenges import engine, events, services
from resolve.challenges.case_notes import HANDED_OVER_NOTE
from resolve.challenges.events import EventType
from resolve.challenges.models import Agreement, Challenge, Event, StageVisit
from resolve.challenges.selectors import agreements_waiting_for
from resolve.challenges.tests.kit import Run, raise_
from resolve.children.models import CaseNote
from resolve.core.errors import ServiceError
from resolve.notifications.models import Notification
from resolve.people.models import Post, Team

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(authority: Any) -> Any:
    with time_machine.travel(dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC), tick=False):
        world = world_build(authority)
        for username, role in (("ism_cover", "iro_service_manager"), ("iro_3", "iro")):
            person = get_user_model().objects.create_user(username=username, first_name=username.title())
            Post.objects.create(user=person, role=role, team=authority.teams["chairs"])
        yield world


def _challenge_with_three_requests(world: World) -> Challenge:
    """Seed 001: "In the event that the issues remain unresolved in the view of IRO and CPRU Service
    Manager, the IRO can make a formal referral to CAFCASS." Raised at stage 3 with the CPRU Service
    Manager named for the bypass (request 1, still waiting on them); then asked for their agreement to
    a Cafcass referral twice: declined (request 2), then confirmed (request 3)."""
    iro, manager = world.user("iro"), world.user("iro_service_manager")
    challenge = services.challenge_raise(
        user=iro,
        child=world.a,
        track="iro",
        procedure_key="cla_dispute_resolution",
        stage="stage_3",
        bypass_reason="The plan has drifted for a year",
        bypass_agreed_by="iro_service_manager",
        concern="The care plan is not being implemented",
        impact_on_child="Drift in permanence",
        on=TODAY,
    )
    for answer, comments in (("declined", "Not yet: try the meeting first"), ("confirmed", "Agreed")):
        services.challenge_request_agreement(
            user=iro,
            challenge_id=challenge.pk,
            purpose="cafcass",
            key="cpru_service_manager_agrees",
            person="iro_service_manager",
            note="The plan has drifted for a year; I am considering a referral.",
        )
        number = Agreement.objects.filter(challenge=challenge).latest("number").number
        services.challenge_answer_agreement(
            user=manager, challenge_id=challenge.pk, number=number, answer=answer, comments=comments
        )
    return challenge


def _agreements(challenge: Challenge) -> list[tuple[int, str, str]]:
    return list(
        Agreement.objects.filter(challenge=challenge)
        .order_by("number")
        .values_list("number", "person__username", "status")
    )


def _snapshot() -> tuple[Any, ...]:
    return (
        list(Agreement.objects.order_by("pk").values_list("pk", "person_id", "status", "answered_on")),
        list(StageVisit.objects.order_by("pk").values_list("pk", "to_users", "cc_users", "notify_users")),
        Event.objects.count(),
        CaseNote.objects.count(),
        Notification.objects.count(),
        list(Challenge.objects.order_by("pk").values_list("pk", "version")),
    )


def test_a_request_waiting_on_the_leaver_goes_to_the_successor_and_answered_ones_stay(world: World) -> None:
    challenge = _challenge_with_three_requests(world)
    assert _agreements(challenge) == [
        (1, "iro_service_manager", "pending"),
        (2, "iro_service_manager", "declined"),
        (3, "iro_service_manager", "confirmed"),
    ]
    done = services.leaver_hand_over(
        user=world.user("admin"),
        leaver="iro_service_manager",
        successor="ism_cover",
        reason="Priya has retired",
    )
    assert (done.challenges, done.agreements) == ([challenge.pk], 1)
    # Only the request still waiting on an answer moved; the declined and confirmed ones are evidence.
    assert _agreements(challenge) == [
        (1, "ism_cover", "pending"),
        (2, "iro_service_manager", "declined"),
        (3, "iro_service_manager", "confirmed"),
    ]
    answered = Agreement.objects.get(challenge=challenge, number=3)
    assert answered.answered_on == TODAY and answered.comments == "Agreed"
    # Recorded as evidence: the event (with the requests' numbers) and the case note, by who did it.
    event = Event.objects.get(challenge=challenge, type=EventType.HANDED_OVER)
    assert event.by == world.user("admin")
    assert event.detail["agreements"] == [1] and event.detail["successor"] == "ism_cover"
    note = CaseNote.objects.get(challenge=challenge, note_type=HANDED_OVER_NOTE)
    assert (
        "Handed over from iro_service_manager to ism_cover: the stage and 1 request for agreement "
        "waiting on an answer (number 1)." in note.body
    )
    assert "Reason: Priya has retired" in note.body
    # The successor is told, and the request now waits on their answer, not the leaver's.
    (told,) = Notification.objects.filter(user__username="ism_cover", message__kind="work_handed_over")
    assert told.message.challenge == challenge
    assert "1 request for agreement waiting on an answer" in told.message.body
    # By name in the message (the case note keeps the accounts, as evidence).
    assert told.message.body.startswith("Sam Mensah's part in the challenge about Amelia Jones (LCS-A)")
    cover = get_user_model().objects.get(username="ism_cover")
    assert [row.number for row in agreements_waiting_for(user=cover)] == [1]
    assert list(agreements_waiting_for(user=world.user("iro_service_manager"))) == []
    # The leaver can no longer answer it; the successor can, and the bypass then counts as agreed.
    with pytest.raises(ServiceError) as refused:
        services.challenge_answer_agreement(
            user=world.user("iro_service_manager"), challenge_id=challenge.pk, number=1, answer="confirmed"
        )
    assert refused.value.kind == "forbidden"
    services.challenge_answer_agreement(
        user=cover, challenge_id=challenge.pk, number=1, answer="confirmed", comments="Agreed in cover"
    )
    assert _agreements(challenge)[0] == (1, "ism_cover", "confirmed")
    assert list(verify_all()) == []


def test_a_request_waiting_on_the_leaver_alone_is_work_to_hand_over(world: World) -> None:
    """Nothing else on the challenge waits on them (its stage went to others): the request alone is
    their work on it, and is handed over."""
    elsewhere = get_user_model().objects.create_user(username="ism_elsewhere")
    Post.objects.create(
        user=elsewhere, role="iro_service_manager", team=Team.objects.get(name="Another IRO service")
    )
    challenge = services.challenge_raise(
        user=world.user("iro"),
        child=world.a,
        track="iro",
        procedure_key="cla_dispute_resolution",
        stage="stage_3",
        bypass_reason="The plan has drifted for a year",
        bypass_agreed_by="ism_elsewhere",
        concern="The care plan is not being implemented",
        impact_on_child="Drift in permanence",
        on=TODAY,
    )
    visit = StageVisit.objects.get(challenge=challenge)
    assert "ism_elsewhere" not in (*visit.to_users, *visit.cc_users, *visit.notify_users)
    done = services.leaver_hand_over(
        user=world.user("admin"), leaver="ism_elsewhere", successor="ism_cover", reason="Left"
    )
    assert (done.challenges, done.stages, done.actions, done.agreements) == ([challenge.pk], 0, 0, 1)
    assert _agreements(challenge) == [(1, "ism_cover", "pending")]
    event = Event.objects.get(challenge=challenge, type=EventType.HANDED_OVER)
    assert "stage" not in event.detail and event.detail["agreements"] == [1]


def test_a_successor_without_the_role_asked_of_is_refused_and_nothing_changes(world: World) -> None:
    challenge = _challenge_with_three_requests(world)
    before = _snapshot()
    with pytest.raises(ServiceError) as refused:
        services.leaver_hand_over(
            user=world.user("admin"), leaver="iro_service_manager", successor="iro_3", reason="Left"
        )
    assert (refused.value.code, refused.value.field) == ("successor_cannot_agree", "successor")
    assert f"Request 1 on challenge {challenge.pk} for LCS-A" in refused.value.message
    assert "Sam Mensah's answer as IRO/CP Service Manager, and Iro_3 does not hold that post" in (
        refused.value.message
    )
    assert _snapshot() == before


def test_a_withdrawn_challenges_request_is_not_handed_over(world: World) -> None:
    challenge = _challenge_with_three_requests(world)
    services.challenge_withdraw(user=world.user("iro"), challenge_id=challenge.pk, reason="Child moved")
    before = _snapshot()
    with pytest.raises(ServiceError) as refused:
        services.leaver_hand_over(
            user=world.user("admin"), leaver="iro_service_manager", successor="ism_cover", reason="Left"
        )
    assert refused.value.code == "nothing_to_hand_over"
    assert _snapshot() == before


# -- the engine's part: pure, no database --------------------------------------------------------


def test_the_engine_moves_only_requests_waiting_on_the_leavers_answer() -> None:
    run = Run("national", today=dt.date(2027, 6, 30))
    run.do(raise_(dt.date(2027, 6, 1)))
    asked = [
        engine.AgreementState(1, "cafcass", "a", "leaver", status="pending"),
        engine.AgreementState(2, "cafcass", "b", "leaver", status="confirmed"),
        engine.AgreementState(3, "cafcass", "c", "leaver", status="declined"),
        engine.AgreementState(4, "cafcass", "d", "leaver", kind="inform", status="pending"),
        engine.AgreementState(5, "cafcass", "e", "someone_else", status="pending"),
    ]
    run.state = dataclasses.replace(run.state, agreements=tuple(asked))
    handing = engine.Actor("admin", frozenset({engine.HANDING_OVER}))
    hand_over = engine.HandOver(on=dt.date(2027, 6, 2), leaver="leaver", successor="cover", reason="Left")
    run.do(hand_over, handing)
    assert [(a.number, a.username, a.status) for a in run.state.agreements] == [
        (1, "cover", "pending"),
        (2, "leaver", "confirmed"),
        (3, "leaver", "declined"),
        (4, "leaver", "pending"),  # they were told when it was sent; that stays theirs
        (5, "someone_else", "pending"),
    ]
    assert run.events[-1].detail == events.HandedOver(
        leaver="leaver", successor="cover", reason="Left", agreements=(1,)
    )
    # Once moved, nothing waits on the leaver here.
    assert run.refused(hand_over, handing).code == "nothing_to_hand_over"
