"""The allocation pages in Chromium, at 1280 px and on a 390 px phone: checked by axe, photographed."""

from __future__ import annotations

import pytest

from resolve.access.tests.world import world_build
from resolve.people.demo import authority_build
from resolve.web.tests.factories import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def admin(transactional_db):
    world = world_build(authority_build(password=None))
    user = world.user("admin")
    user.set_password(PASSWORD)
    user.save()
    return user


def _no_sideways_scroll(browser) -> None:
    assert browser.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("width", [1280, 390])
def test_changing_an_allocation_with_errors_then_a_reason(admin, browser, width: int) -> None:
    page = browser.page
    page.set_viewport_size({"width": width, "height": 900})
    browser.sign_in("admin")
    page.get_by_role("link", name="Allocations: change who works with a child").click()
    page.get_by_label("Case number").fill("lcs-a")
    page.get_by_role("button", name="Find the child").click()
    page.wait_for_url(browser.base_url + "/children/LCS-A/allocation/")
    _no_sideways_scroll(browser)
    browser.check(f"allocation-{width}")
    page.get_by_label("Social worker").select_option("social_worker_2")
    page.get_by_role("button", name="Change the allocation").click()
    summary = page.locator(".govuk-error-summary")
    assert summary.is_visible()
    summary.get_by_role("link", name="Enter the reason for the change").click()
    assert page.evaluate("document.activeElement.id") == "id_reason"
    _no_sideways_scroll(browser)
    browser.check(f"allocation-error-{width}")
    page.get_by_label("Why is the allocation changing?").fill("Moved to the second team")
    page.get_by_role("button", name="Change the allocation").click()
    page.wait_for_url(browser.base_url + "/allocations/")
    assert "Allocation changed for Amelia Jones" in page.content()
    browser.check(f"allocation-done-{width}")


@pytest.mark.parametrize("width", [1280, 390])
def test_handing_over_a_leavers_work(admin, browser, width: int) -> None:
    from django.contrib.auth import get_user_model

    from resolve.people.models import Post, Team

    cover = get_user_model().objects.create_user(
        username="social_worker_3", first_name="Sam", last_name="Cole"
    )
    Post.objects.create(user=cover, role="social_worker", team=Team.objects.get(name="Children in Care Team"))
    page = browser.page
    page.set_viewport_size({"width": width, "height": 900})
    browser.sign_in("admin")
    browser.goto("/allocations/")
    page.get_by_role("link", name="Hand over a leaver's work").click()
    page.wait_for_url(browser.base_url + "/allocations/leaver/")
    page.get_by_label("Whose work is to be handed over?").select_option("social_worker")
    page.get_by_label("Who takes it over?").select_option("social_worker_3")
    page.get_by_role("button", name="Hand over the work").click()
    summary = page.locator(".govuk-error-summary")
    assert summary.is_visible()
    _no_sideways_scroll(browser)
    browser.check(f"hand-over-error-{width}")
    page.get_by_label("Why is the work handed over?").fill("Sophie has left the authority")
    page.get_by_role("button", name="Hand over the work").click()
    page.wait_for_url(browser.base_url + "/allocations/leaver/")
    assert "work is now social_worker_3" in page.content()
    _no_sideways_scroll(browser)
    browser.check(f"hand-over-done-{width}")
