"""The pages for agreement requests and meetings (issue 9, sections 3 and 6), in Chromium at a desk
width and a phone width: axe on each, a screenshot of each."""

from __future__ import annotations

import datetime as dt

import pytest

from resolve.challenges import services
from resolve.challenges.models import Challenge
from resolve.children.services import child_create
from resolve.people.demo import authority_build
from resolve.web.tests.factories import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def challenge(transactional_db) -> Challenge:
    authority = authority_build(password=PASSWORD)
    child = child_create(
        user=authority.staff["admin"],
        case_number="LCS700001",
        first_name="Amelia",
        last_name="Jones",
        date_of_birth=dt.date(2014, 3, 9),
        social_worker="social_worker",
        iro="iro",
    )
    return services.challenge_raise(
        user=authority.staff["iro"],
        child=child,
        track="iro",
        procedure_key="cla_dispute_resolution",
        stage="stage_2",
        bypass_reason="The plan has drifted for a year",
        bypass_agreed_by="iro_service_manager",
        concern="No pathway plan",
        impact_on_child="Leaving care unplanned",
    )


@pytest.mark.parametrize("width", [1280, 390])
def test_agreement_and_meeting_pages(challenge, browser, width):
    browser.page.set_viewport_size({"width": width, "height": 900})
    url = f"/challenges/{challenge.pk}/"
    browser.sign_in("iro_service_manager")
    assert browser.page.get_by_role("heading", name="Waiting for your answer").is_visible()
    browser.check(f"home-waiting-for-your-answer-{width}")
    browser.goto(url + "answer_agreement/")
    browser.check(f"answer-agreement-{width}")
    browser.page.get_by_label("I confirm").check()
    browser.page.get_by_role("button", name="Send your answer").click()
    browser.page.wait_for_url(browser.base_url + url)
    browser.check(f"challenge-with-agreements-{width}")
    browser.goto(url + "request_meeting/")
    browser.check(f"request-meeting-{width}")
    browser.goto(url + "request_agreement/")
    browser.check(f"request-agreement-{width}")
    browser.goto(url + "record_meeting/")
    browser.check(f"record-meeting-{width}")
