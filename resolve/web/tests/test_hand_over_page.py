"""The page for handing over a leaver's work, and the same through the API."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.test import Client

from resolve.access.tests.world import World, world_build
from resolve.api.models import api_token_create
from resolve.challenges.events import EventType
from resolve.challenges.models import Action, Event, StageVisit
from resolve.children.models import CaseNote, Child
from resolve.people.models import Post

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(authority: Any) -> Any:
    with time_machine.travel(dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC), tick=False):
        world = world_build(authority)
        world.challenge(world.a)
        person = get_user_model().objects.create_user(username="social_worker_3", first_name="Sam")
        Post.objects.create(user=person, role="social_worker", team=authority.teams["social_work"])
        yield world


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _snapshot() -> tuple[Any, ...]:
    return (
        list(Child.objects.order_by("pk").values_list("pk", "social_worker_id", "team_id")),
        list(StageVisit.objects.order_by("pk").values_list("pk", "to_users", "cc_users")),
        list(Action.objects.order_by("pk").values_list("pk", "owner")),
        Event.objects.count(),
        CaseNote.objects.count(),
    )


def test_a_team_manager_hands_over_a_leavers_work_from_the_page(world: World) -> None:
    client = _client(world.user("team_manager"))
    home = client.get("/").content.decode()
    assert 'href="/allocations/leaver/"' in home
    page = client.get("/allocations/leaver/")
    assert page.status_code == 200 and 'name="successor"' in page.content.decode()
    answer = client.post(
        "/allocations/leaver/",
        {"leaver": "social_worker", "successor": "social_worker_3", "reason": "Sophie has left"},
    )
    assert answer.status_code == 302
    done = client.get(answer["Location"]).content.decode()
    assert (
        "social_worker&#x27;s work is now social_worker_3&#x27;s (1 child, 1 challenge, 1 stage, 0 actions, "
        "0 requests for agreement, 0 meetings to chair)" in done
    )
    world.a.refresh_from_db()
    assert world.a.social_worker.username == "social_worker_3"
    assert Event.objects.filter(type=EventType.HANDED_OVER, by=world.user("team_manager")).count() == 1


def test_errors_are_shown_in_an_error_summary_and_nothing_changes(world: World) -> None:
    client = _client(world.user("team_manager"))
    before = _snapshot()
    answer = client.post("/allocations/leaver/", {"leaver": "", "successor": "social_worker_3", "reason": ""})
    assert answer.status_code == 400
    text = answer.content.decode()
    assert "govuk-error-summary" in text
    assert "Choose the person who is leaving" in text and "Enter why the work is handed over" in text
    # A refusal from the service is shown beside its field.
    refused = client.post(
        "/allocations/leaver/", {"leaver": "social_worker", "successor": "team_manager_2", "reason": "Cover"}
    )
    assert refused.status_code == 400 and "is not a Social Worker" in refused.content.decode()
    assert _snapshot() == before


@pytest.mark.parametrize("username", ["social_worker", "iro", "director"])
def test_those_who_may_not_hand_over_are_refused_and_nothing_changes(world: World, username: str) -> None:
    client = _client(world.user(username))
    before = _snapshot()
    assert client.get("/allocations/leaver/").status_code == 403
    posted = client.post(
        "/allocations/leaver/", {"leaver": "social_worker", "successor": "social_worker_3", "reason": "Left"}
    )
    assert posted.status_code == 403
    assert _snapshot() == before


def test_the_api_hands_over_and_refuses_like_the_page(world: World) -> None:
    manager = Client(HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=world.user('team_manager_2'))}")
    before = _snapshot()
    outside = manager.post(
        "/api/v1/people/social_worker/hand-over",
        {"to": "social_worker_3", "reason": "Left"},
        content_type="application/json",
    )
    assert outside.status_code == 403 and outside.json()["error"]["code"] == "outside_scope"
    admin = Client(HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=world.user('admin'))}")
    missing = admin.post(
        "/api/v1/people/social_worker/hand-over", {"to": "social_worker_3"}, content_type="application/json"
    )
    assert missing.status_code == 422 and missing.json()["error"]["field"] == "reason"
    assert _snapshot() == before
    answer = admin.post(
        "/api/v1/people/social_worker/hand-over",
        {"to": "social_worker_3", "reason": "Sophie has left"},
        content_type="application/json",
    )
    assert answer.status_code == 200
    body = answer.json()
    assert (body["leaver"], body["to"], body["children"], body["stages"]) == (
        "social_worker",
        "social_worker_3",
        ["LCS-A"],
        1,
    )
