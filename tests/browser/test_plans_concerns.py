"""Action plans, agreed extensions and concerns in Chromium on the demo authority: axe on every page,
a screenshot of each at 1280 and 390 pixels wide."""

from __future__ import annotations

import datetime as dt

import pytest

from resolve.challenges.demo import demo_build
from resolve.challenges.models import Challenge
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


def test_add_an_action_and_record_an_extension(demo, browser):
    challenge = Challenge.objects.filter(
        track="iro", status="open", raised_by__username="iro", stage_due_on__isnull=False
    ).first()
    assert challenge is not None
    sign_in(browser, "iro")
    page = browser.page
    browser.goto(f"/challenges/{challenge.pk}/")
    check_both_widths(browser, "plan-challenge")
    page.locator("#what-you-can-do").get_by_role("link", name="Add an action", exact=True).click()
    page.get_by_role("button", name="Add the action").click()
    page.locator(".govuk-error-summary").wait_for()  # the page comes back with its errors
    check_both_widths(browser, "plan-add-action-errors")
    page.get_by_label("What needs to happen?").fill("Book the health assessment")
    page.get_by_label("Or by whom: someone outside Resolve").fill("Dr A Patel, school nurse")
    due = dt.date.today() + dt.timedelta(days=14)
    page.get_by_label("Day").fill(str(due.day))
    page.get_by_label("Month").fill(str(due.month))
    page.get_by_label("Year").fill(str(due.year))
    page.get_by_role("button", name="Add the action").click()
    assert page.get_by_text("The action has been added").is_visible()
    assert page.get_by_role("cell", name="Dr A Patel, school nurse").is_visible()
    page.locator("#what-you-can-do").get_by_role("link", name="Record an agreed extension").click()
    check_both_widths(browser, "plan-extension")


def test_record_a_concern(demo, browser):
    challenge = Challenge.objects.filter(track="iro", raised_by__username="iro").first()
    assert challenge is not None
    child = challenge.child
    sign_in(browser, "iro")
    page = browser.page
    browser.goto(f"/children/{child.case_number}/")
    page.get_by_role("button", name="Record a concern").click()
    page.get_by_role("button", name="Record the concern").click()
    page.locator(".govuk-error-summary").wait_for()  # the page comes back with its errors
    check_both_widths(browser, "concern-errors")
    page.get_by_label("What is the concern?").fill("Pathway plan not updated since the last review")
    page.get_by_role("button", name="Record the concern").click()
    assert page.get_by_text("Concern recorded on the child's record").is_visible()
    check_both_widths(browser, "concern-child")
