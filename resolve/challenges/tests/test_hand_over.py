"""When someone leaves, their children, stages and actions are handed to another person in one step.

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
from django.db.models import Q

from resolve.access.tests.world import TODAY, World, world_build
from resolve.audit.verify import verify_all
from resolve.challenges import engine, events, services
from resolve.challenges.case_notes import HANDED_OVER_NOTE
from resolve.challenges.events import EventType
from resolve.challenges.models import Action, Challenge, Event, StageVisit
from resolve.challenges.tests.kit import CHAIR, CHAIR_MANAGER, Run, raise_
from resolve.children.models import CaseNote, Child
from resolve.children.services import ALLOCATION_NOTE
from resolve.core.errors import ServiceError
from resolve.notifications.models import Notification
from resolve.people.models import Post

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(authority: Any) -> Any:
    with time_machine.travel(dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC), tick=False):
        world = world_build(authority)
        for username, role, team in (
            ("social_worker_3", "social_worker", "social_work"),
            ("iro_3", "iro", "chairs"),
        ):
            person = get_user_model().objects.create_user(username=username, first_name=username.title())
            Post.objects.create(user=person, role=role, team=authority.teams[team])
        yield world


def _raise(world: World, child: Child, owner: str = "social_worker") -> Challenge:
    chair = world.user("iro") if child == world.a else get_user_model().objects.get(username="iro_2")
    return services.challenge_raise(
        user=chair,
        child=child,
        track="iro",
        procedure_key="national",
        concern="No statutory visit for eight weeks",
        impact_on_child="The child has not been seen",
        actions=[
            services.ActionInput(action="Visit the child", owner=owner, due=TODAY),
            services.ActionInput(action="Tell the school", owner="Head teacher", due=TODAY),
        ],
        on=TODAY,
    )


def _snapshot() -> tuple[Any, ...]:
    """Every row a hand-over could write or change."""
    return (
        list(
            Child.objects.order_by("pk").values_list(
                "pk", "social_worker_id", "team_id", "iro_id", "cp_chair_id"
            )
        ),
        list(StageVisit.objects.order_by("pk").values_list("pk", "to_users", "cc_users", "notify_users")),
        list(Action.objects.order_by("pk").values_list("pk", "owner")),
        Event.objects.count(),
        CaseNote.objects.count(),
        list(Challenge.objects.order_by("pk").values_list("pk", "version")),
    )


def _waiting_on(username: str) -> list[str]:
    """What still names ``username`` as someone who must act."""
    user = get_user_model().objects.get(username=username)
    children = Child.objects.filter(Q(social_worker=user) | Q(iro=user) | Q(cp_chair=user))
    left = [f"child {pk}" for pk in children.values_list("pk", flat=True)]
    for visit in StageVisit.objects.filter(challenge__status="open", left_on__isnull=True):
        if username in (*visit.to_users, *visit.cc_users, *visit.notify_users):
            left.append(f"stage of challenge {visit.challenge_id}")
    left += [
        f"action {pk}"
        for pk in Action.objects.filter(owner=username, status="open").values_list("pk", flat=True)
    ]
    return left


def test_an_administrator_hands_a_social_workers_work_to_another_in_one_step(world: World) -> None:
    challenge = _raise(world, world.a)
    assert _waiting_on("social_worker")  # the child, the stage sent to them, their action
    done = services.leaver_hand_over(
        user=world.user("admin"),
        leaver="social_worker",
        successor="social_worker_3",
        reason="Sophie has left the authority",
    )
    assert _waiting_on("social_worker") == []
    assert (done.children, done.challenges, done.stages, done.actions) == (["LCS-A"], [challenge.pk], 1, 1)
    world.a.refresh_from_db()
    assert world.a.social_worker.username == "social_worker_3"
    visit = StageVisit.objects.get(challenge=challenge)
    assert visit.to_users == ["social_worker_3"]
    owners = dict(Action.objects.filter(challenge=challenge).values_list("action", "owner"))
    assert owners == {"Visit the child": "social_worker_3", "Tell the school": "Head teacher"}
    # Written as an event and a case note on the challenge, and an allocation case note on the child.
    event = Event.objects.filter(challenge=challenge).order_by("-sequence").first()
    assert event is not None and event.type == EventType.HANDED_OVER and event.by == world.user("admin")
    assert event.detail["leaver"] == "social_worker" and event.detail["stage"] is True
    note = CaseNote.objects.get(challenge=challenge, note_type=HANDED_OVER_NOTE)
    assert "Handed over from social_worker to social_worker_3: the stage and 1 action." in note.body
    assert "Reason: Sophie has left the authority" in note.body
    allocation = CaseNote.objects.get(child=world.a, note_type=ALLOCATION_NOTE)
    assert "Sophie has left the authority" in allocation.body
    # The successor is told, in the app (and by email as they chose).
    (told,) = Notification.objects.filter(user__username="social_worker_3")
    assert told.message.kind == "work_handed_over" and told.message.challenge == challenge
    assert "Amelia Jones (LCS-A)" in told.message.subject and "the stage and 1 action" in told.message.body
    # The successor can now answer the stage the leaver was sent.
    services.challenge_respond(
        user=get_user_model().objects.get(username="social_worker_3"),
        challenge_id=challenge.pk,
        response="agree",
        comments="Visit booked",
    )
    assert list(verify_all()) == []


def test_a_chairs_children_and_challenges_go_to_the_new_chair(world: World) -> None:
    challenge = _raise(world, world.a)
    services.leaver_hand_over(
        user=world.user("iro_service_manager"), leaver="iro", successor="iro_3", reason="Isla retired"
    )
    assert _waiting_on("iro") == []
    world.a.refresh_from_db()
    assert world.a.iro is not None and world.a.iro.username == "iro_3"
    event = Event.objects.filter(challenge=challenge, type=EventType.HANDED_OVER).get()
    assert event.detail["chair"] is True and "stage" not in event.detail  # the stage went to the SW
    # The new chair may act as chair now.
    services.challenge_record_meeting(
        user=get_user_model().objects.get(username="iro_3"), challenge_id=challenge.pk, summary="Met the SW"
    )


@pytest.mark.parametrize("username", ["social_worker", "iro", "director", "social_worker_2"])
def test_those_who_may_not_hand_over_are_refused_and_nothing_changes(world: World, username: str) -> None:
    _raise(world, world.a)
    before = _snapshot()
    with pytest.raises(ServiceError) as refused:
        services.leaver_hand_over(
            user=world.user(username), leaver="social_worker", successor="social_worker_3", reason="Left"
        )
    assert refused.value.kind == "forbidden"
    assert _snapshot() == before


def test_a_manager_may_not_hand_over_work_outside_their_scope(world: World) -> None:
    """The second team's manager does not see child A: refused as a whole, naming no child."""
    _raise(world, world.a)
    before = _snapshot()
    with pytest.raises(ServiceError) as refused:
        services.leaver_hand_over(
            user=world.user("team_manager_2"),
            leaver="social_worker",
            successor="social_worker_3",
            reason="Left",
        )
    assert refused.value.code == "outside_scope" and "LCS-A" not in refused.value.message
    assert _snapshot() == before


def test_a_successor_who_cannot_take_the_work_is_refused_and_nothing_changes(world: World) -> None:
    _raise(world, world.a)
    _raise(world, world.b, owner="social_worker_2")
    before = _snapshot()
    # A team manager is not a social worker: the child cannot be allocated to them.
    with pytest.raises(ServiceError) as refused:
        services.leaver_hand_over(
            user=world.user("admin"), leaver="social_worker", successor="team_manager", reason="Cover"
        )
    assert refused.value.field == "successor" and "LCS-A" in refused.value.message
    # Nobody hands work to the leaver, to nobody, to themselves, or without a reason.
    for leaver, successor, reason, field in (
        ("social_worker", "social_worker", "Left", "successor"),
        ("social_worker", "nobody", "Left", "successor"),
        ("nobody", "social_worker_3", "Left", "leaver"),
        ("social_worker", "social_worker_3", "  ", "reason"),
        ("chief_executive", "social_worker_3", "Left", "leaver"),  # nothing waits on them
    ):
        with pytest.raises(ServiceError) as refused:
            services.leaver_hand_over(
                user=world.user("admin"), leaver=leaver, successor=successor, reason=reason
            )
        assert refused.value.field == field, (leaver, successor, refused.value)
    assert _snapshot() == before


def test_a_stage_sent_to_the_leaver_needs_a_successor_who_can_answer_it(world: World) -> None:
    """A team manager's stage goes to someone who is the team manager for the child."""
    challenge = _raise(world, world.a)
    services.challenge_escalate(
        user=world.user("iro"), challenge_id=challenge.pk, reason="No reply", on=TODAY
    )
    assert StageVisit.objects.filter(challenge=challenge).last().to_users == ["team_manager"]  # type: ignore[union-attr]
    cover = get_user_model().objects.create_user(username="tm_cover")
    Post.objects.create(user=cover, role="team_manager", team=world.authority.teams["second"])
    before = _snapshot()
    with pytest.raises(ServiceError) as refused:
        services.leaver_hand_over(
            user=world.user("admin"), leaver="team_manager", successor="tm_cover", reason="Left"
        )
    assert refused.value.code == "successor_cannot_answer"
    assert _snapshot() == before
    Post.objects.create(user=cover, role="team_manager", team=world.authority.teams["social_work"])
    services.leaver_hand_over(
        user=world.user("admin"), leaver="team_manager", successor="tm_cover", reason="Left"
    )
    assert _waiting_on("team_manager") == []
    services.challenge_respond(user=cover, challenge_id=challenge.pk, response="agree", comments="Will visit")


# -- the engine's part: pure, no database --------------------------------------------------------


def test_the_engine_moves_only_the_leavers_open_actions_and_only_when_handing_over() -> None:
    run = Run("national", today=dt.date(2027, 6, 30))
    run.do(
        raise_(
            dt.date(2027, 6, 1),
            actions=(
                engine.NewAction("Visit", "social_worker", dt.date(2027, 6, 10)),
                engine.NewAction("Tell the school", "Head teacher", dt.date(2027, 6, 10)),
            ),
        )
    )
    # The state's actions carry ids once written; give them ids as the services' state does.
    run.state = dataclasses.replace(
        run.state,
        actions=tuple(
            dataclasses.replace(action, id=index) for index, action in enumerate(run.state.actions, 1)
        ),
    )
    hand_over = engine.HandOver(
        on=dt.date(2027, 6, 2), leaver="social_worker", successor="social_worker_3", reason="Left", stage=True
    )
    # Never a button: the chair, their manager, anyone not handing over is refused.
    for actor in (CHAIR, CHAIR_MANAGER):
        assert run.refused(hand_over, actor).code == "not_allowed"
        assert "hand_over" not in {
            t.key for t in engine.permitted(procedure=run.procedure, state=run.state, actor=actor)
        }
    handing = engine.Actor("admin", frozenset({engine.HANDING_OVER}))
    run.do(hand_over, handing)
    assert [action.owner for action in run.state.actions] == ["social_worker_3", "Head teacher"]
    (event,) = run.events[-1:]
    assert event.detail == events.HandedOver(
        leaver="social_worker", successor="social_worker_3", reason="Left", stage=True, actions=(1,)
    )
    # Again, with no stage of theirs: nothing waits on the leaver now.
    assert run.refused(dataclasses.replace(hand_over, stage=False), handing).code == "nothing_to_hand_over"
    # A reason and a different person are required.
    assert run.refused(dataclasses.replace(hand_over, reason=" "), handing).field == "reason"
    same = dataclasses.replace(hand_over, successor="social_worker")
    assert run.refused(same, handing).field == "successor"
