"""The map is enforced where it matters: a role's scope counts only with ``view_records``; adding
children and correcting case notes ask the map, not a role's name."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine

from resolve.access import NotVisible, case_note_get_for_change, child_get_for_user, children_visible_to
from resolve.access.permissions import GRANTS, Grant, Perm
from resolve.access.tests.world import World, world_build
from resolve.challenges.models import Challenge
from resolve.children.models import CaseNote
from resolve.children.services import child_create
from resolve.core.errors import ServiceError

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(authority: Any) -> World:
    with time_machine.travel(dt.datetime(2026, 12, 1, 10, 0), tick=False):
        return world_build(authority)


def _without(monkeypatch: pytest.MonkeyPatch, role: str, perm: Perm) -> None:
    grant = GRANTS[role]
    monkeypatch.setitem(GRANTS, role, Grant(grant.scope, grant.perms - {perm}))


def _with(monkeypatch: pytest.MonkeyPatch, role: str, perm: Perm) -> None:
    grant = GRANTS[role]
    monkeypatch.setitem(GRANTS, role, Grant(grant.scope, grant.perms | {perm}))


def _without_view_records(monkeypatch: pytest.MonkeyPatch, role: str) -> None:
    _without(monkeypatch, role, Perm.VIEW_RECORDS)


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


def _add_child(user: Any, case_number: str) -> None:
    child_create(
        user=user,
        case_number=case_number,
        first_name="Cara",
        last_name="Lee",
        date_of_birth=dt.date(2016, 1, 2),
        social_worker="social_worker",
    )


def test_adding_children_follows_the_map_not_the_role_name(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ServiceError) as refused:
        _add_child(world.user("team_manager"), "LCS-TM")
    assert refused.value.kind == "forbidden"
    _with(monkeypatch, "team_manager", Perm.ADD_CHILDREN)
    _add_child(world.user("team_manager"), "LCS-TM")
    _without(monkeypatch, "admin", Perm.ADD_CHILDREN)
    with pytest.raises(ServiceError):
        _add_child(world.user("admin"), "LCS-AD")


def _first_note(challenge: Challenge) -> CaseNote:
    note = challenge.case_notes.order_by("id").first()
    assert note is not None
    return note


def test_the_case_note_write_chokepoint(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Out of scope: not found; in scope without the permission: forbidden; with it: the note."""
    with time_machine.travel(dt.datetime(2026, 12, 1, 10, 0), tick=False):
        in_a = _first_note(world.challenge(world.a))
        in_b = _first_note(world.challenge(world.b))
    social_worker = world.user("social_worker")
    with pytest.raises(NotVisible):
        case_note_get_for_change(user=social_worker, note_id=in_b.pk, perm=Perm.CORRECT_CASE_NOTE)
    assert case_note_get_for_change(user=social_worker, note_id=in_a.pk, perm=Perm.CORRECT_CASE_NOTE) == in_a
    _without(monkeypatch, "social_worker", Perm.CORRECT_CASE_NOTE)
    with pytest.raises(ServiceError) as refused:
        case_note_get_for_change(user=social_worker, note_id=in_a.pk, perm=Perm.CORRECT_CASE_NOTE)
    assert refused.value.kind == "forbidden"


def test_a_case_number_is_found_however_it_is_typed(world: World) -> None:
    """Case numbers are stored upper-cased and trimmed; a lookup normalises the same way, so
    ``" lcs-a "`` typed into a URL or the API finds ``LCS-A`` and an out-of-scope child stays hidden."""
    typed = f"  {world.a.case_number.lower()} "
    assert child_get_for_user(user=world.user("team_manager"), case_number=typed) == world.a
    with pytest.raises(NotVisible):
        child_get_for_user(user=world.user("team_manager"), case_number=f" {world.b.case_number.lower()}")
