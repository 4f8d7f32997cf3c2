"""A challenge holds a copy of its child's allocation (team, social worker, IRO, CP Chair) for its scope
and its lists; raising copies it, every change of allocation moves it, and the scope stays exactly
"the challenges of the children one may see, and those one raised (or one's service raised)"."""

from __future__ import annotations

import datetime as dt
import importlib
import re
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from resolve.access import GRANTS, Perm, Scope, challenges_visible_to, children_visible_to
from resolve.access.tests.world import USERNAMES, World, world_build
from resolve.audit.verify import verify_all
from resolve.challenges import services
from resolve.challenges.models import ALLOCATION_COPIED, Challenge
from resolve.children.models import Child
from resolve.children.services import child_allocate
from resolve.people.models import Post

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 12, 1)


@pytest.fixture
def world(authority: Any) -> Any:
    with time_machine.travel(dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC), tick=False):
        world = world_build(authority)
        person = get_user_model().objects.create_user(username="social_worker_3")
        Post.objects.create(user=person, role="social_worker", team=authority.teams["social_work"])
        yield world


def _copies(challenge: Challenge) -> tuple[Any, ...]:
    challenge.refresh_from_db()
    return tuple(getattr(challenge, column) for column in ALLOCATION_COPIED)


def _allocation(child: Child) -> tuple[Any, ...]:
    child.refresh_from_db()
    return tuple(getattr(child, column) for column in ALLOCATION_COPIED)


def _raised_by_their_service(user: Any) -> set[int]:
    """The chairs whose challenges a chairs' manager sees for having raised them (their service)."""
    teams = [
        team
        for role, team in Post.objects.filter(user=user).values_list("role", "team_id")
        if role in GRANTS and GRANTS[role].scope is Scope.SERVICE and Perm.VIEW_RECORDS in GRANTS[role].perms
    ]
    return set(
        Post.objects.filter(team_id__in=teams, role__in=("iro", "cp_chair")).values_list("user_id", flat=True)
    )


def _scope_is_the_childs(world: World) -> None:
    """For every person: a challenge is visible exactly when its child is, or they (or their service)
    raised it: the rule the copies must keep."""
    users = get_user_model().objects
    for username in (*USERNAMES, "iro_2", "social_worker_3"):
        user = users.get(username=username)
        children = set(children_visible_to(user).values_list("pk", flat=True))
        raisers = _raised_by_their_service(user) | {user.pk}
        expected = {
            pk
            for pk, child_id, raised_by in Challenge.objects.values_list("pk", "child_id", "raised_by_id")
            if child_id in children or raised_by in raisers
        }
        assert set(challenges_visible_to(user).values_list("pk", flat=True)) == expected, username


def test_raising_copies_the_childs_allocation_onto_the_challenge(world: World) -> None:
    for child in (world.a, world.b):
        challenge = world.challenge(child)
        assert _copies(challenge) == _allocation(child)
    assert world.a.team_id != world.b.team_id
    _scope_is_the_childs(world)


def test_a_change_of_allocation_moves_the_copies_and_the_scope_with_them_in_one_update(
    world: World,
) -> None:
    first, second = world.challenge(world.a), world.challenge(world.a, track="cpc")
    other = world.challenge(world.b)
    before = _copies(other)
    manager, manager_2 = world.user("team_manager"), world.user("team_manager_2")
    assert challenges_visible_to(manager).filter(pk=first.pk).exists()
    assert not challenges_visible_to(manager_2).filter(pk=first.pk).exists()
    with CaptureQueriesContext(connection) as captured:
        child_allocate(
            user=world.user("admin"),
            child_id=world.a.pk,
            social_worker="social_worker_2",
            iro="iro_2",
            cp_chair=None,
            reason="Moved to the second team",
        )
    table = Challenge._meta.db_table
    updates = [q["sql"] for q in captured.captured_queries if q["sql"].startswith(f'UPDATE "{table}"')]
    assert len(updates) == 1  # both challenges of the child, in one statement
    assert _copies(first) == _copies(second) == _allocation(world.a)
    assert _copies(other) == before  # another child's challenge is left alone
    # The child moved to the second team, so their challenges moved with it.
    assert not challenges_visible_to(manager).filter(pk=first.pk).exists()
    assert challenges_visible_to(manager_2).filter(pk__in=[first.pk, second.pk]).count() == 2
    # The IRO still sees the challenge they raised; the CP Chair no longer chairs the child.
    assert challenges_visible_to(world.user("iro")).filter(pk=first.pk).exists()
    _scope_is_the_childs(world)
    # The copies are not evidence: the challenges' seals still hold, with nothing re-sealed.
    assert list(verify_all()) == []


def test_a_leavers_hand_over_moves_the_copies_to_the_successor(world: World) -> None:
    challenge = world.challenge(world.a)
    services.leaver_hand_over(
        user=world.user("admin"), leaver="social_worker", successor="social_worker_3", reason="Left"
    )
    assert _copies(challenge) == _allocation(world.a)
    successor = challenge.social_worker
    assert successor is not None and successor.username == "social_worker_3"
    assert challenges_visible_to(successor).filter(pk=challenge.pk).exists()
    assert not challenges_visible_to(world.user("social_worker")).filter(pk=challenge.pk).exists()
    _scope_is_the_childs(world)
    assert list(verify_all()) == []


def test_the_migration_fills_the_copies_of_challenges_raised_before_it(world: World) -> None:
    challenges = [world.challenge(world.a), world.challenge(world.b)]
    Challenge._base_manager.update(**dict.fromkeys(ALLOCATION_COPIED))
    assert all(_copies(challenge) == (None,) * 4 for challenge in challenges)
    migration = importlib.import_module("resolve.challenges.migrations.0013_challenge_holds_child_allocation")
    migration.copy_allocations(apps, None)
    assert [_copies(challenge) for challenge in challenges] == [_allocation(world.a), _allocation(world.b)]
    _scope_is_the_childs(world)


def test_past_1000_the_lists_stop_counting_and_say_so(authority: Any, api_as: Any) -> None:
    """The bound: the page says "more than 1,000" and pages to it, the API counts 1,000 with
    ``count_exact`` false and 20 pages of 50, and goes on past them by ``next_cursor``."""
    call_command("load_bulk", "1001", "--today", "2026-12-01", stdout=StringIO())
    client = Client()
    client.force_login(authority.staff["director"])
    assert "more than 1,000 challenges" in client.get("/challenges/").content.decode()

    # 1,001 rows counted, 20 a page: page 51 holds the last one counted, and page 52 is page 51.
    def shown(page: int) -> list[str]:
        html = client.get(f"/challenges/?page={page}").content.decode()
        return re.findall(r'href="/challenges/(\d+)/"', html)

    assert len(shown(50)) == 20
    assert len(shown(51)) == 1 and shown(52) == shown(51)
    api = api_as("director")
    answer = api.get("/challenges").json()
    assert (answer["count"], answer["count_exact"], answer["pages"]) == (1000, False, 20)
    page_20 = api.get("/challenges", page=20).json()
    assert len(page_20["results"]) == 50 and page_20["next_cursor"]
    beyond = api.get("/challenges", cursor=page_20["next_cursor"]).json()
    assert len(beyond["results"]) == 1 and beyond["next_cursor"] is None
