"""The allocation page: those who add children change who works with a child, with a reason on the record."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from resolve.access.tests.world import World, world_build
from resolve.children.models import CaseNote, Child
from resolve.children.services import ALLOCATION_NOTE
from resolve.people.models import Post

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(authority: Any) -> World:
    return world_build(authority)


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _state(child: Child) -> tuple[Any, ...]:
    child.refresh_from_db()
    notes = CaseNote.objects.filter(child=child).count()
    return child.social_worker_id, child.team_id, child.iro_id, child.cp_chair_id, notes


def test_the_administrator_finds_a_child_and_changes_the_allocation_with_a_reason(world: World) -> None:
    client = _client(world.user("admin"))
    home = client.get("/")
    assert 'href="/allocations/"' in home.content.decode()
    found = client.get("/allocations/?case_number=%20lcs-a%20")
    assert found.status_code == 302 and found["Location"] == "/children/LCS-A/allocation/"
    page = client.get("/children/LCS-A/allocation/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Amelia Jones (LCS-A)" in text and 'name="reason"' in text
    assert '<option value="social_worker" selected>' in text  # the current allocation is chosen
    answer = client.post(
        "/children/LCS-A/allocation/",
        {
            "social_worker": "social_worker_2",
            "iro": "iro",
            "cp_chair": "",
            "reason": "Moved to the second team",
        },
    )
    # The administrator sees no child's page, so they go back to the allocations page.
    assert answer.status_code == 302 and answer["Location"] == "/allocations/"
    world.a.refresh_from_db()
    assert world.a.social_worker == world.user("social_worker_2") and world.a.cp_chair is None
    note = CaseNote.objects.get(child=world.a, note_type=ALLOCATION_NOTE)
    assert note.author == world.user("admin")
    assert "Reason: Moved to the second team" in note.body and "CP Chair" in note.body


def test_errors_are_shown_in_an_error_summary_and_nothing_changes(world: World) -> None:
    client = _client(world.user("admin"))
    before = _state(world.a)
    answer = client.post("/children/LCS-A/allocation/", {"social_worker": "", "iro": "nobody", "reason": " "})
    assert answer.status_code == 400
    text = answer.content.decode()
    assert "govuk-error-summary" in text
    for message in (
        "Choose the child&#x27;s social worker",
        "Choose the child&#x27;s IRO from the list, or no IRO",
        "Enter the reason for the change",
    ):
        assert message in text
    assert 'href="#id_social_worker"' in text
    # The same allocation again is refused by the service, shown the same way.
    same = client.post(
        "/children/LCS-A/allocation/",
        {"social_worker": "social_worker", "iro": "iro", "cp_chair": "cp_chair", "reason": "No change"},
    )
    assert same.status_code == 400 and "That is the child&#x27;s allocation already" in same.content.decode()
    assert _state(world.a) == before


def test_an_unknown_case_number_is_not_found(world: World) -> None:
    client = _client(world.user("admin"))
    assert client.get("/children/LCS-NONE/allocation/").status_code == 404
    start = client.get("/allocations/?case_number=LCS-NONE")
    assert start.status_code == 400 and "No child has that case number" in start.content.decode()


@pytest.mark.parametrize(
    ("username", "refused"),
    [
        ("social_worker", 403),
        ("team_manager", 403),
        ("iro", 403),
        ("director", 403),
        ("social_worker_2", 404),
    ],
)
def test_those_who_may_not_allocate_are_refused_and_nothing_changes(
    world: World, username: str, refused: int
) -> None:
    """Those who see child A are told they may not (403); to others child A is not found (404), as
    a child that does not exist."""
    client = _client(world.user(username))
    before = _state(world.a)
    assert client.get("/allocations/").status_code == 403
    assert client.get("/children/LCS-A/allocation/").status_code == refused
    posted = client.post(
        "/children/LCS-A/allocation/",
        {"social_worker": "social_worker_2", "iro": "", "cp_chair": "", "reason": "Taking over"},
    )
    assert posted.status_code == refused
    assert client.get("/children/LCS-NONE/allocation/").status_code == 404
    assert _state(world.a) == before
    # No link to a page they cannot use.
    assert "/allocation/" not in client.get("/children/LCS-A/").content.decode()


def test_the_child_page_links_to_the_allocation_page_for_those_who_allocate(world: World) -> None:
    manager = world.user("team_manager")
    Post.objects.create(user=manager, role="admin")  # a team manager who also administers Resolve
    page = _client(manager).get("/children/LCS-A/")
    assert 'href="/children/LCS-A/allocation/"' in page.content.decode()
    answer = _client(manager).post(
        "/children/LCS-A/allocation/",
        {"social_worker": "social_worker", "iro": "", "cp_chair": "cp_chair", "reason": "The IRO left"},
    )
    assert answer.status_code == 302 and answer["Location"] == "/children/LCS-A/"


def test_allocating_oneself_is_refused_beside_the_field(world: World) -> None:
    iro = world.user("iro")
    Post.objects.create(user=iro, role="admin")
    before = _state(world.b)
    answer = _client(iro).post(
        "/children/LCS-B/allocation/",
        {"social_worker": "social_worker_2", "iro": "iro", "cp_chair": "", "reason": "Cover"},
    )
    assert answer.status_code == 400 and "You cannot allocate a child to yourself" in answer.content.decode()
    assert _state(world.b) == before
