"""The escalation page asks about seed 000's Chief Executive; responses read in the procedure's words."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from resolve.challenges.models import Event
from resolve.testing.challenges import raise_challenge

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(dt.datetime(2026, 6, 10, 10, 0), tick=False):
        yield


def test_escalating_to_the_director_asks_whether_to_tell_the_chief_executive(client, authority, child):
    """Seed 000: "Escalate to Director of Children's Services. Consideration given to notifying Chief
    Executive.\""""
    challenge = raise_challenge(
        authority,
        child,
        procedure_key="outcome_resolution",
        stage="stage_4",
        bypass_reason="Urgent",
        concern="No pathway plan",
        impact_on_child="Unplanned",
    )
    client.force_login(authority.staff["iro"])
    url = f"/challenges/{challenge.pk}/escalate/"
    assert "should the Chief Executive be told?" in client.get(url).content.decode()
    unanswered = client.post(url, {"expected_version": 1, "to_stage": "stage_5", "reason": "Unresolved"})
    assert unanswered.status_code == 400
    assert "Say whether the Chief Executive should be told" in unanswered.content.decode()
    answered = client.post(
        url, {"expected_version": 1, "to_stage": "stage_5", "reason": "Unresolved", "notify_optional": "no"}
    )
    assert answered.status_code == 302, answered.content.decode()
    event = Event.objects.filter(challenge=challenge).latest("sequence")
    assert event.detail["optional_notified"] is False


def test_the_response_form_and_page_use_the_procedures_words(client, authority, child):
    """Seed 000: "Don't agree & will not implement"."""
    challenge = raise_challenge(
        authority,
        child,
        procedure_key="outcome_resolution",
        concern="No pathway plan",
        impact_on_child="Unplanned",
    )
    client.force_login(authority.staff["team_manager"])
    form = client.get(f"/challenges/{challenge.pk}/respond/").content.decode()
    assert "Don&#x27;t agree &amp; will not implement" in form
    client.post(f"/challenges/{challenge.pk}/respond/", {"expected_version": 1, "response": "disagree"})
    page = client.get(f"/challenges/{challenge.pk}/").content.decode()
    assert page.count("Don&#x27;t agree &amp; will not implement") >= 2  # the stage and the responses
