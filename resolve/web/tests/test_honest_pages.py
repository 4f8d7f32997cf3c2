"""The respond page shows what is asked; the Cafcass form shows every error at once; the 403 page says
when something is not available now; stage labels say what happened."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from resolve.challenges import services
from resolve.testing.challenges import raise_challenge

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(dt.datetime(2026, 11, 30, 10, 0), tick=False):
        yield


@pytest.fixture
def at_stage_1(authority, child):
    return raise_challenge(
        authority,
        child,
        procedure_key="challenge_and_resolution",
        stage="stage_1",
        bypass_reason="The child cannot wait",
        bypass_agreed_by="iro_service_manager",
        concern="Statutory visits are nine weeks late.",
        impact_on_child="The child has not been seen alone.",
        desired_outcome="A visit this week.",
        actions=[services.ActionInput("Visit the child alone", "social_worker", dt.date(2026, 12, 4))],
    )


def test_the_respond_page_shows_what_is_asked(client, authority, at_stage_1):
    client.force_login(authority.staff["team_manager"])
    html = client.get(f"/challenges/{at_stage_1.pk}/respond/").content.decode()
    for words in (
        "What the challenge asks",
        "Statutory visits are nine weeks late.",
        "The child has not been seen alone.",
        "A visit this week.",
        "Visit the child alone: by Sophie Walker, by 4 December 2026",
        "7 December 2026 (in 5 working days)",
    ):
        assert words in html


def test_after_a_response_the_page_says_it_was_recorded_and_a_second_is_explained(
    client, authority, at_stage_1
):
    client.force_login(authority.staff["team_manager"])
    response = client.post(
        f"/challenges/{at_stage_1.pk}/respond/",
        {"expected_version": at_stage_1.version, "response": "agree", "comments": "Booked"},
        follow=True,
    )
    assert "Your response has been recorded" in response.content.decode()
    again = client.get(f"/challenges/{at_stage_1.pk}/respond/")
    assert again.status_code == 403
    html = again.content.decode()
    assert "This is not available now" in html
    assert "A response was already recorded at this stage on 30 November 2026" in html


def test_a_change_that_is_not_yours_now_says_so(client, authority, at_stage_1):
    client.force_login(authority.staff["social_worker"])
    response = client.get(f"/challenges/{at_stage_1.pk}/respond/")
    assert response.status_code == 403
    assert "is not yours to do now: the challenge is at Stage 1: Team Manager." in response.content.decode()


def test_the_cafcass_form_shows_every_error_at_once(client, authority, at_stage_1):
    client.force_login(authority.staff["iro"])
    url = f"/challenges/{at_stage_1.pk}/refer_to_cafcass/"
    html = client.get(url).content.decode()
    assert html.count("Regulation 45") == 1
    assert "Those marked (required) must be sent" in html
    response = client.post(url, {"expected_version": at_stage_1.version})
    assert response.status_code == 400
    html = response.content.decode()
    summary = html[
        html.index("govuk-error-summary__list") : html.index("</ul>", html.index("govuk-error-summary__list"))
    ]
    assert "Enter why you are referring the case to Cafcass" in summary
    # The agreements the procedure asks for first are asked in Resolve; until then each is listed.
    assert "Not asked yet: ask for agreement first" in summary
    assert "The referral must include" in summary


def test_a_stage_escalated_before_its_due_date_is_not_tagged_no_response(client, authority, child):
    challenge = raise_challenge(
        authority,
        child,
        procedure_key="challenge_and_resolution",
        concern="Visits are late",
        impact_on_child="Not seen alone",
    )
    services.challenge_escalate(user=authority.staff["iro"], challenge_id=challenge.pk, reason="Urgent now")
    client.force_login(authority.staff["iro"])
    html = client.get(f"/challenges/{challenge.pk}/").content.decode()
    assert "Escalated before its due date" in html
    assert ">No response<" not in html
