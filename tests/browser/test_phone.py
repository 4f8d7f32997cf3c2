"""Every page, as each role, on a 390 px phone: nothing scrolls sideways (WCAG 1.4.10 reflow), axe
finds nothing, and a screenshot of each is saved. The homes are photographed at 1280 px too."""

from __future__ import annotations

import pytest

from resolve.challenges.models import Challenge
from resolve.procedures.models import PolicyVersion

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

pytestmark = pytest.mark.browser

# The elements wider than the window, to say what to fix when the page does scroll sideways.
WIDE = """() => {
  const width = window.innerWidth;
  return [...document.querySelectorAll('body *')]
    .filter((el) => el.getBoundingClientRect().right > width + 1)
    .slice(0, 8)
    .map((el) => `${el.tagName}.${el.className} ${Math.round(el.getBoundingClientRect().right)}`);
}"""


def assert_no_sideways_scroll(browser, name: str) -> None:
    page = browser.page
    page.wait_for_load_state("networkidle")
    scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll <= inner, f"{name} scrolls sideways: {scroll} px wide in {inner} px; {page.evaluate(WIDE)}"


def visit(browser, path: str, name: str) -> None:
    response = browser.goto(path)
    assert response.status < 400, f"{path} answered {response.status}"
    assert_no_sideways_scroll(browser, name)
    browser.check(name)


def _challenge(**filters) -> Challenge:
    challenge = Challenge.objects.filter(**filters).order_by("pk").first()
    assert challenge is not None, filters
    return challenge


def _not_done_page() -> str:
    challenge = _challenge(track="iro", status="open", actions__status="open")
    action = challenge.actions.filter(status="open").order_by("pk").first()
    assert action is not None
    return f"/challenges/{challenge.pk}/actions/{action.pk}/not-done/"


def _respond_page() -> str:
    """A stage sent to the social worker (an informal stage), not yet answered."""
    for challenge in Challenge.objects.filter(status="open", stage_responded_on__isnull=True).order_by("pk"):
        visit = challenge.visits.filter(left_on__isnull=True).first()
        if visit is not None and "social_worker" in visit.to_users:
            return f"/challenges/{challenge.pk}/respond/"
    raise AssertionError("the demo has no stage waiting on the social worker")


ROLE_PAGES = {
    "iro": lambda: [
        "/",
        "/challenges/",
        "/challenges/?q=Amelia&overdue=yes",
        "/challenges/raise/",
        "/children/",
        f"/children/{_challenge(track='iro').child.case_number}/",
        f"/challenges/{_challenge(track='iro', status='open', stage_responded_on__isnull=False).pk}/",
        f"/challenges/{_challenge(status='resolved').pk}/",
        f"/challenges/{_challenge(cafcass_referred_on__isnull=False).pk}/",
        f"/challenges/{_challenge(policy__key='challenge_and_resolution', status='open').pk}/escalate/",
        f"/children/{_challenge(track='iro').child.case_number}/raise/",
        "/notifications/",
        "/procedures/",
        _not_done_page(),
        f"/challenges/{_challenge(track='iro', status='open', agreements__isnull=False).pk}/",
        f"/challenges/{_challenge(track='iro', status='open').pk}/add_action/",
        f"/challenges/{_challenge(track='iro', status='open').pk}/request_agreement/",
        f"/challenges/{_challenge(track='iro', status='open').pk}/record_meeting/",
    ],
    "team_manager": lambda: [
        "/",
        "/challenges/",
        f"/challenges/{_challenge(status='open', child__social_worker__username='social_worker').pk}/",
        "/notifications/",
    ],
    "social_worker": lambda: ["/", "/children/", _respond_page()],
    "head_of_service": lambda: ["/", "/challenges/"],
    "iro_service_manager": lambda: [
        "/",
        "/challenges/",
        "/allocations/leaver/",
        f"/challenges/{_challenge(status='open', agreements__status='pending').pk}/answer_agreement/",
    ],
    "admin": lambda: ["/", "/allocations/", "/allocations/leaver/"],
    "director": lambda: ["/"],
}


@pytest.mark.parametrize("username", list(ROLE_PAGES))
def test_no_page_scrolls_sideways_on_a_phone(demo, browser, username):
    browser.page.set_viewport_size(PHONE)
    browser.sign_in(username)
    for index, path in enumerate(ROLE_PAGES[username]()):
        visit(browser, path, f"phone-{username}-{index:02d}")


def test_every_procedure_and_its_flowchart_on_a_phone(demo, browser):
    browser.page.set_viewport_size({"width": 320, "height": 700})
    browser.sign_in("iro")
    keys = PolicyVersion.objects.filter(is_current=True).order_by("key").values_list("key", flat=True)
    for key in keys:
        visit(browser, f"/procedures/{key}/", f"phone-320-procedure-{key}")
        frame = browser.page.locator(".app-flowchart-frame")
        # The chart keeps a legible size and scrolls within its own box, not the page.
        assert frame.locator("svg").bounding_box()["width"] >= 700


@pytest.mark.parametrize("username", ["iro", "team_manager", "head_of_service", "iro_service_manager"])
def test_each_roles_home_at_1280(demo, browser, username):
    browser.page.set_viewport_size(DESKTOP)
    browser.sign_in(username)
    page = browser.page
    assert page.get_by_role("heading", level=1).inner_text() == "Your work"
    assert page.locator(".app-queue__item").count() >= 1, f"{username}'s home shows nothing to do"
    browser.check(f"desktop-home-{username}")


def test_bypass_fields_show_only_when_starting_later(demo, browser):
    """With JavaScript the bypass fields appear only for a later stage; without it they are always shown
    (the view test checks they are then ignored at the first stage)."""
    browser.page.set_viewport_size(PHONE)
    browser.sign_in("iro")
    page = browser.page
    case_number = _challenge(track="iro").child.case_number
    browser.goto(f"/children/{case_number}/raise/iro/challenge_and_resolution/")
    reason = page.get_by_label("Why are you starting after the first stage?")
    assert not reason.is_visible()
    page.get_by_label("Stage 1: Team Manager").check()
    assert reason.is_visible()
    assert_no_sideways_scroll(browser, "raise-form-bypassing")
    browser.check("phone-raise-form-bypassing")
    page.get_by_label("Informal Process").check()
    assert not reason.is_visible()


# Whose challenge page to open, for each role: one where they have something to do.
STEPS_PAGES = {
    "iro": lambda: _challenge(track="iro", status="open", agreements__isnull=False),
    "team_manager": lambda: _challenge(status="open", child__social_worker__username="social_worker"),
    "iro_service_manager": lambda: _challenge(status="open", agreements__status="pending"),
}


@pytest.mark.parametrize("username", list(STEPS_PAGES))
def test_a_challenges_steps_are_in_the_first_screen_on_a_phone(demo, browser, username):
    """Issue 13: on a phone "action buttons stay in view". "What you can do now" comes before the record:
    its button (the step waiting on you) is on the first screen without scrolling, and the other steps
    are a short list of links, not a screen of full-width buttons; no bar is fixed over the content."""
    page = browser.page
    page.set_viewport_size(PHONE)
    browser.sign_in(username)
    challenge = STEPS_PAGES[username]()
    visit(browser, f"/challenges/{challenge.pk}/", f"phone-steps-{username}")
    page.evaluate("window.scrollTo(0, 0)")
    block = page.locator("#what-you-can-do")
    button = block.locator(".govuk-button").first
    box = button.bounding_box()
    assert button.is_visible() and box["y"] + box["height"] <= PHONE["height"]
    record = page.get_by_role("heading", level=2, name="The challenge", exact=True).bounding_box()
    assert block.bounding_box()["y"] + block.bounding_box()["height"] <= record["y"]
    assert block.locator(".govuk-button").count() == 1  # one button; the rest are links
    fixed = page.evaluate(
        "[...document.querySelectorAll('body *')].filter((el) => "
        "['fixed', 'sticky'].includes(getComputedStyle(el).position)).length"
    )
    assert fixed == 0
    page.set_viewport_size(DESKTOP)
    visit(browser, f"/challenges/{challenge.pk}/", f"desktop-steps-{username}")
