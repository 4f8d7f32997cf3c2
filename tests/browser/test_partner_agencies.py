"""A challenge to a partner agency (seed 000 section 2) in Chromium on the demo authority: the raise
journey's own "A partner agency" answer, the form with the agency and its contact, the check page and
the challenge page; axe on every page, a screenshot of each at 1280 and 390 pixels wide."""

from __future__ import annotations

import pytest

from resolve.challenges.models import Challenge
from resolve.children.models import Child
from resolve.notifications.models import AgencyMessage

pytestmark = pytest.mark.browser


def test_raise_a_challenge_to_a_partner_agency(demo, browser):
    child = Child.objects.filter(iro__username="iro").order_by("case_number").first()
    assert child is not None
    browser.sign_in("iro")
    page = browser.page
    browser.goto(f"/children/{child.case_number}/raise/")
    browser.check_both_widths("agency-raise-start")
    if page.get_by_text("Which role are you raising this challenge as?").count():
        page.get_by_label("Independent Reviewing Officer").first.check()
    page.get_by_label("A partner agency: health, police, education").check()
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/raise/iro/multi_agency_escalation/")
    browser.check_both_widths("agency-raise-form")
    page.get_by_role("button", name="Continue").click()
    page.locator(".govuk-error-summary").wait_for()  # the form comes back with its errors
    browser.check_both_widths("agency-raise-form-errors")
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
    browser.check_both_widths("agency-raise-check")
    page.get_by_role("button", name="Raise the challenge").click()
    page.wait_for_url("**/challenges/*/")
    challenge = Challenge.objects.get(agency="North Cumbria Integrated Care")  # the demo has one to a school
    assert AgencyMessage.objects.filter(challenge=challenge, address="priya.shah@nhs.example").exists()
    browser.check_both_widths("agency-challenge")
    assert page.get_by_text("Health (GP, health visiting").count()
    # The step waiting on the chair (recording the reply) is the button; escalating is among the links.
    steps = page.locator("#what-you-can-do")
    steps.get_by_role("link", name="Escalate the challenge", exact=True).or_(
        steps.get_by_role("button", name="Escalate the challenge", exact=True)
    ).click()
    browser.check_both_widths("agency-escalate")
