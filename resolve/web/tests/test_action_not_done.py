""" "Not done" asks for a reason and a confirmation; the reason is recorded in the event and case note."""

from __future__ import annotations

import datetime as dt

import pytest

from resolve.challenges import services
from resolve.challenges.models import Action, Event
from resolve.testing.challenges import raise_challenge

pytestmark = pytest.mark.django_db


@pytest.fixture
def challenge(authority, child):
    return raise_challenge(
        authority,
        child,
        procedure_key="challenge_and_resolution",
        concern="Visits are late",
        impact_on_child="Not seen alone",
        actions=[services.ActionInput("Visit the child alone", "social_worker", dt.date.today())],
    )


def test_not_done_is_a_page_that_asks_why(client, authority, challenge):
    action = challenge.actions.get()
    client.force_login(authority.staff["iro"])
    html = client.get(f"/challenges/{challenge.pk}/").content.decode()
    url = f"/challenges/{challenge.pk}/actions/{action.pk}/not-done/"
    assert f'href="{url}"' in html
    page = client.get(url).content.decode()
    assert "Mark this action not done" in page and "Why was the action not done?" in page
    assert "Sophie Walker" in page


def test_without_a_reason_nothing_is_recorded(client, authority, challenge):
    action = challenge.actions.get()
    client.force_login(authority.staff["iro"])
    response = client.post(
        f"/challenges/{challenge.pk}/actions/{action.pk}/",
        {"expected_version": challenge.version, "status": "not_done", "confirm": "1", "reason": " "},
    )
    assert response.status_code == 400
    assert "Enter why the action was not done" in response.content.decode()
    assert Action.objects.get(pk=action.pk).status == "open"


def test_the_reason_is_recorded(client, authority, challenge):
    action = challenge.actions.get()
    client.force_login(authority.staff["iro"])
    response = client.post(
        f"/challenges/{challenge.pk}/actions/{action.pk}/",
        {
            "expected_version": challenge.version,
            "status": "not_done",
            "confirm": "1",
            "reason": "The social worker was off sick all week",
        },
    )
    assert response.status_code == 302
    assert Action.objects.get(pk=action.pk).status == "not_done"
    event = Event.objects.filter(challenge=challenge, type="action_updated").get()
    assert event.detail["reason"] == "The social worker was off sick all week"
    note = challenge.case_notes.order_by("-id").first()
    # The case note words the reason as every other case note does ("Reason: ...").
    assert "Reason: The social worker was off sick all week" in note.body
    html = client.get(f"/children/{challenge.child.case_number}/").content.decode()
    assert "Marked not done: The social worker was off sick all week" in html


def test_marking_done_needs_no_reason(client, authority, challenge):
    action = challenge.actions.get()
    client.force_login(authority.staff["iro"])
    response = client.post(
        f"/challenges/{challenge.pk}/actions/{action.pk}/",
        {"expected_version": challenge.version, "status": "done"},
    )
    assert response.status_code == 302
    assert Action.objects.get(pk=action.pk).status == "done"
