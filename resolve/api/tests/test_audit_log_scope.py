"""A reviewer reads the log only about children they may see, and reading it is itself logged."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from resolve.access import child_get_for_user
from resolve.access.tests.world import World, world_build
from resolve.api.models import api_token_create
from resolve.audit.models import ListViewEntry
from resolve.audit.selectors import access_log_list
from resolve.audit.services import break_glass_open

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(authority: Any) -> World:
    world = world_build(authority)
    child_get_for_user(user=world.user("social_worker"), case_number="LCS-A")
    child_get_for_user(user=world.user("social_worker_2"), case_number="LCS-B")
    return world


def _api(user: Any) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=user)}")


def test_a_reviewer_sees_log_rows_only_for_children_they_see(world: World) -> None:
    reviewer = world.user("iro_service_manager")  # sees child A, not child B
    assert {entry.child.case_number for entry in access_log_list(user=reviewer)} == {"LCS-A"}
    assert not access_log_list(user=reviewer, case_number="LCS-B").exists()


def test_the_api_log_is_scoped_and_its_read_is_logged(world: World) -> None:
    reviewer = world.user("iro_service_manager")
    answer = _api(reviewer).get("/api/v1/access-log")
    assert answer.status_code == 200
    assert {row["case_number"] for row in answer.json()} == {"LCS-A"}
    assert _api(reviewer).get("/api/v1/access-log?case_number=LCS-B").json() == []
    # One list-view row for the read that showed a child; none for the empty answer.
    (read,) = ListViewEntry.objects.filter(user=reviewer)
    assert read.children == [[world.a.pk, "LCS-A"]] and read.path == "/api/v1/access-log"


def test_the_admin_log_is_scoped_and_its_read_is_logged(world: World) -> None:
    reviewer = world.user("iro_service_manager")
    client = Client()
    client.force_login(reviewer)
    page = client.get("/admin/audit/accesslogentry/")
    assert page.status_code == 200
    assert "LCS-A" in page.content.decode() and "LCS-B" not in page.content.decode()
    (read,) = ListViewEntry.objects.filter(user=reviewer)
    assert read.children == [[world.a.pk, "LCS-A"]] and read.path == "/admin/audit/accesslogentry/"


def test_the_break_glass_list_is_for_reviewers_and_its_read_is_logged(world: World) -> None:
    break_glass_open(
        user=world.user("iro"),
        case_number="LCS-B",
        reason_category="agency_request",
        reason="Police called about Ben tonight",
    )
    reviewer = world.user("iro_service_manager")
    assert [row["case_number"] for row in _api(reviewer).get("/api/v1/break-glass").json()] == ["LCS-B"]
    (read,) = ListViewEntry.objects.filter(user=reviewer)
    assert read.children == [[world.b.pk, "LCS-B"]] and read.path == "/api/v1/break-glass"
    assert _api(world.user("service_manager")).get("/api/v1/break-glass").json() == []
