"""A challenge to a partner agency (seed 000 section 2) in Chromium on the demo authority: the raise
journey's own "A partner agency" answer, the form with the agency and its contact, the check page and
the challenge page; axe on every page, a screenshot of each at 1280 and 390 pixels wide."""

from __future__ import annotations

import datetime as dt

import pytest

from resolve.challenges.demo import demo_build
from resolve.challenges.models import Challenge
from resolve.children.models import Child
from resolve.notifications.models import AgencyMessage
from resolve.people.demo import authority_build

PASSWORD = "correct horse battery staple"

pytestmark = pytest.mark.browser


@pytest.fixture
def demo(transactional_db):
    authority = authority_build(password=PASSWORD)
    demo_build(authority=authority, today=dt.date.today())
    return authority


def sign_in(browser, username: str) -> None:
    browser.goto("/sign-in/")
    page = browser.page
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(browser.base_url + "/")


def check_both_widths(browser, name: str) -> None:
    for width, height in ((1280, 900), (390, 844)):
        browser.page.set_viewport_size({"width": width, "height": height})
        browser.check(f"{name}-{width}")


def test_raise_a_challenge_to_a_partner_agency(demo, browser):
    child = Child.objects.filter(iro__username="iro").order_by("case_number").first()
    assert child is not None
    sign_in(browser, "iro")
    page = browser.page
    browser.goto(f"/children/{child.case_number}/raise/")
    check_both_widths(browser, "agency-raise-start")
    if page.get_by_text("Which role are you raising this challenge as?").count():
        page.get_by_label("Independent Reviewing Officer").first.check()
    page.get_by_label("A partner agency: health, police, education").check()
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/raise/iro/multi_agency_escalation/")
    check_both_widths(browser, "agency-raise-form")
    page.get_by_role("button", name="Continue").click()
    page.locator(".govuk-error-summary").wait_for()  # the form comes back with its errors
    check_both_widths(browser, "agency-raise-form-errors")
    page.get_by_label("Name of the partner agency").fill("North Cumbria Integrated Care")
    page.get_by_label("Health (GP, health visiting").check()
    page.get_by_label("Contact's name").fill("Priya Shah")
    page.get_by_label("Their role at the agency").fill("Health visitor")
    page.get_by_label("Their email address").fill("priya.shah@nhs.example")
    page.get_by_label("What are we worried about?").fill(
        "The health visitor has not attended the last two reviews or sent a report"
    )
    page.get_by_label("Outcome and impact for the child").fill("Her health needs were not considered")
    page.get_by_label("What are you asking the agency to do?").fill(
        "Attend the next review or send the health report a week before it"
    )
    page.get_by_label("Attendance at conferences and reviews").check()
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/check/")
    check_both_widths(browser, "agency-raise-check")
    page.get_by_role("button", name="Raise the challenge").click()
    page.wait_for_url("**/challenges/*/")
    challenge = Challenge.objects.get(agency="North Cumbria Integrated Care")  # the demo has one to a school
    assert AgencyMessage.objects.filter(challenge=challenge, address="priya.shah@nhs.example").exists()
    check_both_widths(browser, "agency-challenge")
    assert page.get_by_text("Health (GP, health visiting").count()
    # The step waiting on the chair (recording the reply) is the button; escalating is among the links.
    steps = page.locator("#what-you-can-do")
    steps.get_by_role("link", name="Escalate the challenge", exact=True).or_(
        steps.get_by_role("button", name="Escalate the challenge", exact=True)
    ).click()
    check_both_widths(browser, "agency-escalate")
