"""Action plans, agreed extensions and concerns in Chromium on the demo authority: axe on every page,
a screenshot of each at 1280 and 390 pixels wide."""

from __future__ import annotations

import datetime as dt

import pytest

from resolve.challenges.models import Challenge

pytestmark = pytest.mark.browser


def test_add_an_action_and_record_an_extension(demo, browser):
    challenge = Challenge.objects.filter(
        track="iro", status="open", raised_by__username="iro", stage_due_on__isnull=False
    ).first()
    assert challenge is not None
    browser.sign_in("iro")
    page = browser.page
    browser.goto(f"/challenges/{challenge.pk}/")
    browser.check_both_widths("plan-challenge")
    page.locator("#what-you-can-do").get_by_role("link", name="Add an action", exact=True).click()
    page.get_by_role("button", name="Add the action").click()
    page.locator(".govuk-error-summary").wait_for()  # the page comes back with its errors
    browser.check_both_widths("plan-add-action-errors")
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
    browser.check_both_widths("plan-extension")


def test_record_a_concern(demo, browser):
    challenge = Challenge.objects.filter(track="iro", raised_by__username="iro").first()
    assert challenge is not None
    child = challenge.child
    browser.sign_in("iro")
    page = browser.page
    browser.goto(f"/children/{child.case_number}/")
    page.get_by_role("button", name="Record a concern").click()
    page.get_by_role("button", name="Record the concern").click()
    page.locator(".govuk-error-summary").wait_for()  # the page comes back with its errors
    browser.check_both_widths("concern-errors")
    page.get_by_label("What is the concern?").fill("Pathway plan not updated since the last review")
    page.get_by_role("button", name="Record the concern").click()
    assert page.get_by_text("Concern recorded on the child's record").is_visible()
    browser.check_both_widths("concern-child")
