"""The read chokepoint enforces the map: a role's scope counts only with ``view_records``."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine

from resolve.access import children_visible_to
from resolve.access.permissions import GRANTS, Grant, Perm
from resolve.access.tests.world import World, world_build

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(authority: Any) -> World:
    with time_machine.travel(dt.datetime(2026, 12, 1, 10, 0), tick=False):
        return world_build(authority)


def _without_view_records(monkeypatch: pytest.MonkeyPatch, role: str) -> None:
    grant = GRANTS[role]
    monkeypatch.setitem(GRANTS, role, Grant(grant.scope, grant.perms - {Perm.VIEW_RECORDS}))


def test_a_role_without_view_records_adds_nothing_to_what_one_sees(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert set(children_visible_to(world.user("team_manager"))) == {world.a}
    assert set(children_visible_to(world.user("chief_executive"))) == {world.a, world.b}
    _without_view_records(monkeypatch, "team_manager")
    _without_view_records(monkeypatch, "chief_executive")
    assert not children_visible_to(world.user("team_manager")).exists()
    assert not children_visible_to(world.user("chief_executive")).exists()


def test_allocations_are_seen_whatever_the_role(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The child's own social worker and chair see the child: their part in it is the allocation."""
    _without_view_records(monkeypatch, "social_worker")
    _without_view_records(monkeypatch, "iro")
    assert set(children_visible_to(world.user("social_worker"))) == {world.a}
    assert set(children_visible_to(world.user("iro"))) == {world.a}


def test_a_post_without_view_records_does_not_hide_what_another_post_gives(world: World) -> None:
    admin = world.user("admin")
    assert not children_visible_to(admin).exists()
    admin.posts.create(role="team_manager", team=world.b.team)
    assert set(children_visible_to(admin)) == {world.b}
