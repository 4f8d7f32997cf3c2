"""The reports dashboard in Chromium on the demo authority's data: axe clean, at a desk and on a phone,
and a figure followed to the challenges behind it."""

from __future__ import annotations

import datetime as dt

import pytest

from resolve.web.tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def test_the_dashboard_at_a_desk_and_on_a_phone(demo, browser):
    browser.sign_in("iro_service_manager")
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


def test_the_dashboard_works_without_javascript(demo, live_server, _browser_ready):
    """Issue 12: "pages are axe clean and work without JavaScript": the period is chosen with the
    form, a figure is followed to its challenges and the annual report's section is downloaded, in a
    browser with JavaScript switched off."""
    from playwright.sync_api import sync_playwright

    from .conftest import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = chromium.new_context(
            viewport={"width": 1280, "height": 900}, java_script_enabled=False, accept_downloads=True
        )
        page = context.new_page()
        try:
            page.goto(live_server.url + "/sign-in/")
            page.get_by_label("Username").fill("iro_service_manager")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(live_server.url + "/")
            page.goto(live_server.url + "/reports/")
            today = dt.date.today()
            this_year = today.year if today.month >= 4 else today.year - 1
            page.locator("select#year").select_option(str(this_year))
            page.get_by_role("button", name="Show the figures").click()
            assert f"year={this_year}" in page.url
            assert page.get_by_role("heading", name="Challenge report").is_visible()
            raised = page.locator("#table-summary tbody tr").first.locator("a")
            count = int(raised.inner_text().split()[0])
            raised.click()
            assert page.get_by_text("These are the challenges behind a figure of the report").is_visible()
            assert f"{count} challenge" in page.locator("caption").first.inner_text()
            page.go_back()
            with page.expect_download() as download:
                page.get_by_role("link", name="Download the annual IRO report's challenge section").click()
            assert download.value.suggested_filename.startswith("iro-annual-report-challenges-")
            assert download.value.suggested_filename.endswith(".docx")
        finally:
            context.close()
            chromium.close()
