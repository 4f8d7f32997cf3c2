"""The pages for asking agreement and answering it (issue 9, section 6)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from resolve.challenges import services
from resolve.challenges.models import Agreement
from resolve.testing.challenges import raise_challenge

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(dt.datetime(2026, 6, 10, 10, 0), tick=False):
        yield


def test_the_service_manager_is_asked_confirms_in_resolve_and_the_chair_escalates(client, authority, child):
    """Seed 001: "IRO can commence Resolution at a higher level than Informal - following discussion
    with their Service Manager"; the agreement is asked and confirmed in Resolve."""
    challenge = raise_challenge(
        authority,
        child,
        procedure_key="cla_dispute_resolution",
        concern="No pathway plan",
        impact_on_child="Leaving care unplanned",
    )
    url = f"/challenges/{challenge.pk}/"
    client.force_login(authority.staff["iro"])
    page = client.get(url).content.decode()
    assert "Ask for agreement" in page
    form = client.get(url + "request_agreement/").content.decode()
    assert "Going straight to DRP Formal Resolution Process Stage 2" in form
    refused = client.post(url + "request_agreement/", {"expected_version": 1, "subject": "bypass:stage_2"})
    assert refused.status_code == 400
    assert "Choose who you are asking" in refused.content.decode()
    sent = client.post(
        url + "request_agreement/",
        {
            "expected_version": 1,
            "subject": "bypass:stage_2",
            "person": "iro_service_manager",
            "note": "The pathway plan is overdue; I want to go straight to stage 2.",
        },
    )
    assert sent.status_code == 302, sent.content.decode()

    client.force_login(authority.staff["iro_service_manager"])
    home = client.get("/").content.decode()
    assert "Waiting for your answer" in home and "going straight to DRP Formal Resolution" in home
    answer_page = client.get(url + "answer_agreement/").content.decode()
    assert "Request 1" in answer_page
    declined = client.post(
        url + "answer_agreement/", {"expected_version": 2, "number": "1", "answer": "declined"}
    )
    assert declined.status_code == 400 and "why you decline" in declined.content.decode()
    confirmed = client.post(
        url + "answer_agreement/", {"expected_version": 2, "number": "1", "answer": "confirmed"}
    )
    assert confirmed.status_code == 302, confirmed.content.decode()
    assert Agreement.objects.get().status == "confirmed"
    assert "Waiting for your answer" not in client.get("/").content.decode()

    client.force_login(authority.staff["iro"])
    page = client.get(url).content.decode()
    assert "Requests for agreement" in page and "Confirmed" in page
    escalated = client.post(
        url + "escalate/", {"expected_version": 3, "to_stage": "stage_2", "reason": "Drift"}
    )
    assert escalated.status_code == 302, escalated.content.decode()


def test_the_referral_page_shows_where_each_precondition_stands(client, authority, child):
    challenge = raise_challenge(
        authority,
        child,
        procedure_key="qa_issue_resolution",
        concern="No permanence plan",
        impact_on_child="Drift",
    )
    client.force_login(authority.staff["iro"])
    url = f"/challenges/{challenge.pk}/refer_to_cafcass/"
    assert "Not told yet" in client.get(url).content.decode()
    services.challenge_request_agreement(
        user=authority.staff["iro"],
        challenge_id=challenge.pk,
        purpose="cafcass",
        key="deputy_director_informed",
        person="deputy_director",
        note="Considering a referral because the plan has drifted.",
    )
    assert "Told Dawn Davies on 10 June 2026" in client.get(url).content.decode()
