"""Who may use the admin site, and who sees the access log in it, comes from the permission map."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from resolve.people.demo import Authority
from resolve.people.models import Post

pytestmark = pytest.mark.django_db

ACCESS_LOG = "/admin/audit/accesslogentry/"
TEAMS = "/admin/people/team/"


def _as(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_administrator_manages_reference_data_but_does_not_review_access(authority: Authority) -> None:
    admin = _as(authority.staff["admin"])
    assert admin.get("/admin/").status_code == 200
    assert admin.get(TEAMS).status_code == 200
    assert admin.get(ACCESS_LOG).status_code == 403


def test_a_reviewer_sees_the_access_log_and_nothing_else(authority: Authority) -> None:
    reviewer = _as(authority.staff["iro_service_manager"])
    index = reviewer.get("/admin/")
    assert index.status_code == 200
    assert ACCESS_LOG in index.content.decode() and TEAMS not in index.content.decode()
    assert reviewer.get(ACCESS_LOG).status_code == 200
    assert reviewer.get(TEAMS).status_code == 403


@pytest.mark.parametrize("username", ["social_worker", "iro", "director", "chief_executive"])
def test_roles_without_either_permission_are_sent_to_sign_in(authority: Authority, username: str) -> None:
    answer = _as(authority.staff[username]).get("/admin/")
    assert answer.status_code == 302 and answer["Location"].startswith("/admin/login/")


def test_is_staff_alone_decides_nothing(authority: Authority) -> None:
    users = get_user_model()
    staff_only = users.objects.create_user(username="staff_only", is_staff=True)
    assert _as(staff_only).get("/admin/").status_code == 302
    admin_post = users.objects.create_user(username="admin_post")
    Post.objects.create(user=admin_post, role="admin")
    assert _as(admin_post).get("/admin/").status_code == 200
    admin_post.is_active = False
    admin_post.save()
    assert _as(admin_post).get("/admin/").status_code == 302
