"""Each page a person sees in phase 1, in Chromium, checked by axe and photographed."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from resolve.procedures.models import PolicyVersion
from resolve.web.tests.factories import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def user(transactional_db):
    return get_user_model().objects.create_user(username="iro.jones", password=PASSWORD)


def test_sign_in_page(user, browser):
    browser.goto("/sign-in/")
    assert browser.page.title() == "Sign in - Resolve"
    browser.check("sign-in")


def test_bad_sign_in_shows_the_error_summary(user, browser):
    browser.sign_in("iro.jones", "not the password", arrive=False)
    page = browser.page
    assert page.title() == "Error: Sign in - Resolve"
    summary = page.locator(".govuk-error-summary")
    assert summary.is_visible()
    # GOV.UK Frontend moves focus to the summary so screen readers announce it.
    assert page.evaluate("document.activeElement.classList.contains('govuk-error-summary')")
    summary.get_by_role("link", name="Enter a correct username and password").click()
    assert page.evaluate("document.activeElement.id") == "id_username"
    browser.check("sign-in-error")


def test_home_after_sign_in_shows_what_is_waiting(user, browser):
    browser.sign_in("iro.jones", arrive=False)
    page = browser.page
    page.wait_for_url(browser.base_url + "/")
    assert page.get_by_role("heading", level=1).inner_text() == "Your work"
    assert page.get_by_text("Nothing is waiting on you.").is_visible()
    assert page.get_by_role("button", name="Sign out").is_visible()
    browser.check("home")


def test_procedure_list_and_each_procedure(user, browser):
    browser.sign_in("iro.jones", arrive=False)
    browser.page.wait_for_url(browser.base_url + "/")
    browser.goto("/procedures/")
    browser.check("procedure-list")
    keys = list(PolicyVersion.objects.filter(is_current=True).order_by("key").values_list("key", flat=True))
    assert keys, "no procedures were loaded by migrate"
    for key in keys:
        browser.goto(f"/procedures/{key}/")
        figure = browser.page.locator("svg.app-flowchart")
        assert figure.get_attribute("role") == "img"
        assert figure.bounding_box()["height"] > 200  # styled and drawn, not collapsed
        browser.check(f"procedure-{key}")


def test_sign_out(user, browser):
    browser.sign_in("iro.jones", arrive=False)
    browser.page.wait_for_url(browser.base_url + "/")
    browser.page.get_by_role("button", name="Sign out").click()
    browser.page.wait_for_url("**/sign-in/")
    assert browser.page.get_by_text("You have signed out").is_visible()
    browser.check("signed-out")


def test_page_not_found(user, browser):
    browser.sign_in("iro.jones", arrive=False)
    browser.page.wait_for_url(browser.base_url + "/")
    response = browser.goto("/no-such-page/")
    assert response.status == 404
    assert browser.page.get_by_role("heading", level=1).inner_text() == "Page not found"
    browser.check("page-not-found")
