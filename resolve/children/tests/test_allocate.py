"""An allocation changes only through child_allocate, which writes a case note; no child in the admin."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin

from resolve.access import NotVisible
from resolve.access.tests.world import World, world_build
from resolve.audit.models import AccessLogEntry
from resolve.challenges.models import (
    Action,
    CafcassReferral,
    Challenge,
    Document,
    Event,
    Meeting,
    Response,
    StageVisit,
)
from resolve.children.models import CaseNote, Child
from resolve.children.services import ALLOCATION_NOTE, child_allocate
from resolve.core.errors import ServiceError
from resolve.people.models import Post

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(authority: Any) -> World:
    return world_build(authority)


def test_no_record_about_a_child_is_in_the_admin_site() -> None:
    for model in (
        Child,
        CaseNote,
        Challenge,
        Event,
        StageVisit,
        Response,
        Meeting,
        Document,
        CafcassReferral,
        Action,
    ):
        assert not admin.site.is_registered(model), model


def test_the_admin_role_allocates_and_the_change_is_on_the_childs_record(world: World) -> None:
    admin_user = world.user("admin")
    child = child_allocate(
        user=admin_user, child_id=world.a.pk, social_worker="social_worker_2", iro="iro", cp_chair=None
    )
    child.refresh_from_db()
    assert child.social_worker == world.user("social_worker_2")
    assert child.cp_chair is None
    assert child.team_id != world.a.team_id  # the team follows the social worker
    note = CaseNote.objects.filter(child=child, note_type=ALLOCATION_NOTE).get()
    assert note.author == admin_user
    assert "Social worker" in note.body and "CP Chair" in note.body and "Team" in note.body
    assert AccessLogEntry.objects.filter(user=admin_user, child=child).exists()


def test_only_those_who_add_children_allocate(world: World) -> None:
    for username in ("iro", "team_manager", "director"):
        with pytest.raises(ServiceError) as refused:
            child_allocate(user=world.user(username), child_id=world.a.pk, social_worker="social_worker_2")
        assert refused.value.kind == "forbidden"
    world.a.refresh_from_db()
    assert world.a.social_worker == world.user("social_worker")
    assert not CaseNote.objects.filter(note_type=ALLOCATION_NOTE).exists()


def test_no_such_child_is_not_visible(world: World) -> None:
    with pytest.raises(NotVisible):
        child_allocate(user=world.user("admin"), child_id=999_999, social_worker="social_worker")


def test_nothing_to_change_and_the_wrong_role_are_refused(world: World) -> None:
    admin_user = world.user("admin")
    with pytest.raises(ServiceError) as same:
        child_allocate(
            user=admin_user,
            child_id=world.a.pk,
            social_worker="social_worker",
            iro="iro",
            cp_chair="cp_chair",
        )
    assert same.value.code == "no_change"
    with pytest.raises(ServiceError) as wrong:
        child_allocate(user=admin_user, child_id=world.a.pk, social_worker="iro")
    assert wrong.value.code == "wrong_role"


def test_nobody_allocates_a_child_to_themselves(world: World) -> None:
    admin_user = world.user("admin")
    Post.objects.create(user=admin_user, role="iro", team=world.user("iro").posts.first().team)
    with pytest.raises(ServiceError) as refused:
        child_allocate(user=admin_user, child_id=world.a.pk, social_worker="social_worker", iro="admin")
    assert refused.value.code == "self_allocation"
