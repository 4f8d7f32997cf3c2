"""The reports dashboard in Chromium on the demo authority's data: axe clean, at a desk and on a phone,
and a figure followed to the challenges behind it."""

from __future__ import annotations

import datetime as dt

import pytest

from resolve.challenges.demo import demo_build
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


def test_the_dashboard_at_a_desk_and_on_a_phone(demo, browser):
    sign_in(browser, "iro_service_manager")
    page = browser.page
    page.set_viewport_size({"width": 1280, "height": 900})
    browser.goto("/reports/")
    assert page.get_by_role("heading", name="Challenge report").is_visible()
    assert page.locator("svg.app-chart").count() >= 3
    browser.check("reports-dashboard-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    browser.goto("/reports/")
    browser.check("reports-dashboard-390")
    # The first figure (raised in the period) opens the list of the challenges behind it.
    page.set_viewport_size({"width": 1280, "height": 900})
    browser.goto("/reports/")
    raised = page.locator("#table-summary tbody tr").first.locator("a")
    count = int(raised.inner_text().split()[0])
    raised.click()
    assert page.get_by_text("These are the challenges behind a figure of the report").is_visible()
    assert f"{count} challenge" in page.locator("caption").first.inner_text()
    browser.check("reports-figure-list")
