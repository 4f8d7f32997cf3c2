"""A queue's statements are built once for everything they are built from, and kept; their rows are
read every time. A change of the person's posts, of the day or of the procedures builds new ones; a
break-glass grant that ends during the day ends in the kept statement too; and (on in the tests) a
kept statement that differs from one built now fails loudly."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.contrib.auth import get_user_model

from resolve.access import NotVisible, challenge_get_for_user, challenges_visible_to
from resolve.access.tests.world import World, world_build
from resolve.audit.models import BreakGlassGrant
from resolve.challenges import queues, services
from resolve.challenges.models import Challenge
from resolve.core import kept
from resolve.core.errors import ServiceError
from resolve.people.models import Post

pytestmark = pytest.mark.django_db

MORNING = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def world(authority: Any) -> Any:
    with time_machine.travel(MORNING, tick=False):
        yield world_build(authority)


def _fresh(username: str) -> Any:
    """The person as a new request reads them (their posts are read again)."""
    return get_user_model().objects.get(username=username)


def _grant_till_half_past(outsider: Any, world: World, child: Any = None) -> None:
    """Break-glass access to ``child`` (child A unless given) for ``outsider`` from the morning until
    half an hour later."""
    BreakGlassGrant.objects.create(
        user=outsider,
        child=child or world.a,
        reason="Duty call about the child tonight",
        expires_at=MORNING + dt.timedelta(minutes=30),
        channel="page",
    )


def _first(queued: queues.Queued) -> tuple[list[int], int]:
    rows, total = queued.first_counted(10)
    return [row.pk for row in rows], total


def test_a_queue_read_again_uses_its_kept_statements_and_sees_new_rows(world: World) -> None:
    kept._KEPT.clear()
    with time_machine.travel(MORNING, tick=False):
        first = world.challenge(world.a)
        today = MORNING.date()
        assert _first(queues.waiting_on_me(user=_fresh("social_worker"), today=today)) == ([first.pk], 1)
        held = dict(kept._KEPT)
        assert held, "the queue's statement was not kept"
        second = world.challenge(world.a)
        answer = _first(queues.waiting_on_me(user=_fresh("social_worker"), today=today))
        # Two rows now, read with the statement kept from the first time.
        assert answer == ([first.pk, second.pk], 2)
        assert dict(kept._KEPT) == held
        # "See all": a slice and the count, each kept too.
        queued = queues.waiting_on_me(user=_fresh("social_worker"), today=today)
        assert ([row.pk for row in queued[0:1]], queued.count()) == ([first.pk], 2)
        assert len(kept._KEPT) == len(held) + 2


def test_a_new_post_builds_a_new_statement(world: World) -> None:
    with time_machine.travel(MORNING, tick=False):
        in_a = world.challenge(world.a)
        in_b = world.challenge(world.b)
        today = MORNING.date()
        assert _first(queues.my_people(user=_fresh("team_manager_2"), today=today)) == ([in_b.pk], 1)
        # Also a team manager of child A's team, from now.
        Post.objects.create(user=_fresh("team_manager_2"), role="team_manager", team=world.a.team)
        answer = _first(queues.my_people(user=_fresh("team_manager_2"), today=today))
        assert sorted(answer[0]) == sorted([in_a.pk, in_b.pk])


def test_a_team_managers_own_part_beyond_the_team_is_in_the_teams_queue_once(world: World) -> None:
    """ "Your team's challenges" is read a part of the scope at a time (the team's, on its indexes; the
    person's own, whole): what they see beyond their team is in it, and a challenge in both is one row
    and counted once."""
    with time_machine.travel(MORNING, tick=False):
        in_a = world.challenge(world.a)
        in_b = world.challenge(world.b)
        manager = _fresh("team_manager_2")  # child B's team
        today = MORNING.date()
        assert _first(queues.my_people(user=manager, today=today)) == ([in_b.pk], 1)
        # Break-glass to child A (another team's) and to child B (their own team's) too.
        _grant_till_half_past(manager, world)
        _grant_till_half_past(manager, world, world.b)
        queued = queues.my_people(user=_fresh("team_manager_2"), today=today)
        assert sorted(_first(queued)[0]) == sorted([in_a.pk, in_b.pk])
        assert _first(queued)[1] == 2
        assert (sorted(row.pk for row in queued[0:10]), queued.count()) == (sorted([in_a.pk, in_b.pk]), 2)
    with time_machine.travel(MORNING + dt.timedelta(minutes=40), tick=False):
        assert _first(queues.my_people(user=_fresh("team_manager_2"), today=today)) == ([in_b.pk], 1)


def test_a_count_at_the_bound_counts_a_challenge_in_two_ways_in_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The count reads its ways in one after another and stops at the bound when the first rows hold
    no repeat; when they do, it counts them without repeats. Three of team B's challenges are both
    the team's and, through break-glass to their child, the manager's own part: six rows in, three
    challenges."""
    with time_machine.travel(MORNING, tick=False):
        raised = sorted(world.challenge(world.b).pk for _ in range(3))
        _grant_till_half_past(_fresh("team_manager_2"), world, world.b)
        today = MORNING.date()
        # bound: the count (at most bound + 1) and the words on the page
        for bound, count in ((2, 3), (3, 3), (5, 3)):
            monkeypatch.setattr(queues, "COUNT_BOUND", bound)
            kept._KEPT.clear()  # the bound is written into the statement
            queued = queues.my_people(user=_fresh("team_manager_2"), today=today)
            rows, total = _first(queued)
            assert (sorted(rows), total, queued.count()) == (raised, count, count), bound


def test_the_next_day_builds_a_new_statement(world: World) -> None:
    with time_machine.travel(MORNING, tick=False):
        challenge = world.challenge(world.a)
    iro = world.user("iro")
    for day in (dt.date(2026, 12, 1), dt.date(2027, 3, 1)):
        with time_machine.travel(dt.datetime(day.year, day.month, day.day, 10, tzinfo=dt.UTC), tick=False):
            # Overdue by March: a chair's decision then, not before.
            decide = _first(queues.needs_my_decision(user=_fresh("iro"), today=day))
            others = _first(queues.waiting_on_others(user=iro, today=day))
            if day.month == 12:
                assert (decide, others) == (([], 0), ([challenge.pk], 1))
            else:
                assert (decide, others) == (([challenge.pk], 1), ([], 0))


def test_break_glass_that_ends_during_the_day_ends_in_the_kept_statement(world: World) -> None:
    with time_machine.travel(MORNING, tick=False):
        challenge = world.challenge(world.a)
        outsider = _fresh("social_worker_2")
        _grant_till_half_past(outsider, world)
    key = ("test", outsider.pk)

    def build() -> Any:
        return challenges_visible_to(outsider).filter(pk=challenge.pk).values_list("pk")

    with time_machine.travel(MORNING + dt.timedelta(minutes=10), tick=False):
        assert queues._kept_rows(key, build) == [(challenge.pk,)]
    with time_machine.travel(MORNING + dt.timedelta(minutes=40), tick=False):
        assert queues._kept_rows(key, build) == []


def test_a_kept_statement_that_differs_from_one_built_now_fails(world: World) -> None:
    with time_machine.travel(MORNING, tick=False):
        challenge = world.challenge(world.a)
        services.challenge_escalate(user=world.user("iro"), challenge_id=challenge.pk, reason="No plan")
    iro = world.user("iro")
    key = ("test", "stale")
    slots = {"challenge": challenge.pk}
    kept.rows(
        key, lambda values: challenges_visible_to(iro).filter(pk=values["challenge"]).values_list("pk"), slots
    )
    # An input the key leaves out (here, the status) changes the statement built now.
    with pytest.raises(RuntimeError, match="differs from one built now"):
        kept.rows(
            key,
            lambda values: (
                challenges_visible_to(iro).filter(pk=values["challenge"], status="open").values_list("pk")
            ),
            slots,
        )


def test_a_slot_takes_each_call_s_value_and_nothing_else(world: World) -> None:
    with time_machine.travel(MORNING, tick=False):
        one, two = world.challenge(world.a), world.challenge(world.a)
    iro = world.user("iro")

    def build(values: Any) -> Any:
        return challenges_visible_to(iro).filter(pk=values["challenge"]).values_list("pk", "raised_by_id")

    # The person's id equals the challenge's here: only the slot's place takes the new value.
    assert kept.rows(("test", "slot"), build, {"challenge": one.pk}) == [(one.pk, iro.pk)]
    assert kept.rows(("test", "slot"), build, {"challenge": two.pk}) == [(two.pk, iro.pk)]
    assert kept.rows(("test", "slot"), build, {"challenge": 10**9}) == []


def test_a_queue_seen_through_break_glass_ends_with_the_grant(world: World) -> None:
    """The kept statement of a queue takes each request's moment: a record opened through break-glass
    leaves the person's queue when the grant ends, the same day, with the same statement."""
    outsider = _fresh("social_worker_2")
    with time_machine.travel(MORNING, tick=False):
        challenge = services.challenge_raise(
            user=world.user("iro"),
            child=world.a,
            track="iro",
            concern="No statutory visit for eight weeks",
            impact_on_child="The child has not been seen",
            actions=[
                services.ActionInput(action="Visit the child", owner="social_worker_2", due=MORNING.date())
            ],
        )
        _grant_till_half_past(outsider, world)
    today = MORNING.date()
    with time_machine.travel(MORNING + dt.timedelta(minutes=10), tick=False):
        assert _first(queues.waiting_on_me(user=_fresh("social_worker_2"), today=today)) == (
            [challenge.pk],
            1,
        )
    with time_machine.travel(MORNING + dt.timedelta(minutes=40), tick=False):
        assert _first(queues.waiting_on_me(user=_fresh("social_worker_2"), today=today)) == ([], 0)


def test_an_id_no_column_can_hold_finds_nothing(world: World, client: Any) -> None:
    """Past a 64-bit integer an id matches no row: the kept statements answer nothing, as the ORM
    does, instead of handing the driver a number it cannot bind."""
    iro = world.user("iro")
    with time_machine.travel(MORNING, tick=False):
        challenge = world.challenge(world.a)
    huge = 2**63
    assert (
        kept.rows(
            ("test", "huge"),
            lambda values: Challenge.objects.filter(pk=values["id"]).values_list("pk"),
            {"id": huge},
        )
        == []
    )
    with pytest.raises(NotVisible):
        challenge_get_for_user(user=iro, challenge_id=huge)
    with pytest.raises(ServiceError) as refused:
        services.challenge_escalate(user=iro, challenge_id=huge, reason="No plan")
    assert refused.value.code == "not_found"
    client.force_login(iro)
    # In an address, past the largest id is no such page (``core.converters.RowIdConverter``), before
    # any statement: reading it, and changing it (the change's people are read by the id first).
    assert client.get(f"/challenges/{huge}/").status_code == 404
    assert client.get(f"/challenges/{huge * 10}/").status_code == 404
    assert client.post(f"/challenges/{huge}/escalate/", {"reason": "No plan"}).status_code == 404
    assert client.get(f"/challenges/{huge - 1}/").status_code == 404  # the largest, looked up: none
    # The largest id a column holds is still looked up, and the challenge there still found.
    assert (
        kept.rows(
            ("test", "huge"),
            lambda values: Challenge.objects.filter(pk=values["id"]).values_list("pk"),
            {"id": 2**63 - 1},
        )
        == []
    )
    assert challenge_get_for_user(user=iro, challenge_id=challenge.pk).pk == challenge.pk
