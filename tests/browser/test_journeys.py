"""Each phase 2 journey in Chromium on the demo authority's data: axe on every page, a screenshot of each."""

from __future__ import annotations

import datetime as dt

import pytest

from resolve.challenges import services
from resolve.challenges.models import Challenge
from resolve.children.models import Child

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(
    ("username", "heading"),
    [
        ("iro", "Needs your decision"),
        ("team_manager", "Waiting on you"),
        ("iro_service_manager", "Your service's challenges"),
    ],
)
def test_home_answers_what_is_waiting_on_me(demo, browser, username, heading):
    browser.sign_in(username)
    page = browser.page
    assert page.get_by_role("heading", level=1).inner_text() == "Your work"
    assert page.get_by_role("heading", level=2, name=heading).is_visible()
    for link in ("Home", "Children", "Challenges", "Procedures"):
        assert page.get_by_role("link", name=link, exact=True).first.is_visible()
    browser.check(f"home-{username}")


def test_children_list_search_and_child_page(demo, browser):
    browser.sign_in("iro")
    page = browser.page
    page.get_by_role("link", name="Children", exact=True).first.click()
    browser.check("children")
    page.get_by_label("Search by name or case number").fill("Amelia")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Amelia Jones").click()
    assert page.get_by_role("heading", name="Chronology").is_visible()
    browser.check("child")


def test_challenge_list_with_filters(demo, browser):
    browser.sign_in("iro_service_manager")
    page = browser.page
    page.get_by_role("link", name="Challenges", exact=True).first.click()
    page.get_by_text("Filter", exact=True).click()  # the filters fold behind a disclosure
    page.get_by_label("Overdue").select_option("yes")
    page.get_by_label("Sort by").select_option("due")
    page.get_by_role("button", name="Apply filters").click()
    assert "overdue=yes" in page.url
    assert page.locator("tbody .govuk-tag", has_text="Overdue").count() >= 1
    browser.check("challenges-filtered")


def test_raise_a_challenge_with_check_your_answers(demo, browser):
    browser.sign_in("iro")
    page = browser.page
    browser.goto("/children/LCS200135/")
    page.get_by_role("button", name="Raise a challenge").click()
    browser.check("raise-start")
    # Isla Reid is this child's only chair: the role question has one answer and is not asked.
    assert not page.get_by_label("As the child's IRO").count()
    page.get_by_label("Challenge and Resolution").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Continue").click()  # nothing filled in: the error summary
    page.locator(".govuk-error-summary").wait_for()  # the page comes back with its errors
    browser.check("raise-form-errors")
    page.get_by_label("What are we worried about?").fill("The pathway plan has not been updated.")
    page.get_by_label("Outcome and impact for the child").fill("No plan for leaving care.")
    page.get_by_label("Placement concerns").check()
    page.get_by_role("button", name="Add another action").click()
    assert page.locator("textarea[name='actions-3-action']").count() == 1
    page.locator("textarea[name='actions-0-action']").fill("Update the pathway plan")
    # By whom: the child's social worker, chosen from the people who work with the child.
    worker = Child.objects.get(case_number="LCS200135").social_worker
    page.locator("select[name='actions-0-owner_user']").select_option(worker.get_username())
    page.locator("textarea[name='actions-1-action']").fill("Tell the school nurse")
    page.locator("input[name='actions-1-owner']").fill("Dr A Patel, school nurse")
    due = dt.date.today() + dt.timedelta(days=20)
    page.locator("input[name='actions-0-due_0']").fill(str(due.day))
    page.locator("input[name='actions-0-due_1']").fill(str(due.month))
    page.locator("input[name='actions-0-due_2']").fill(str(due.year))
    for part, value in (("0", due.day), ("1", due.month), ("2", due.year)):
        page.locator(f"input[name='actions-1-due_{part}']").fill(str(value))
    browser.check("raise-form")
    page.get_by_role("button", name="Continue").click()
    assert page.get_by_text("Respond by").is_visible()
    actions = page.locator(".govuk-summary-list__row", has_text="Update the pathway plan").inner_text()
    assert f"by {worker.first_name} {worker.last_name}" in actions
    assert "by Dr A Patel, school nurse" in actions
    browser.check("raise-check")
    page.get_by_role("button", name="Raise the challenge").click()
    # Waits for the challenge page to load (a busy machine can take a moment to render it).
    page.get_by_text("Challenge raised. The case note").wait_for(state="visible")
    browser.check("challenge-raised")


def test_challenge_page_and_respond(demo, browser):
    first = Challenge.objects.filter(track="iro").first()
    assert first is not None
    child = first.child
    challenge = services.challenge_raise(
        user=demo.staff["iro"],
        child=child,
        track="iro",
        procedure_key="challenge_and_resolution",
        stage="stage_1",
        bypass_reason="The child cannot wait",
        bypass_agreed_by="iro_service_manager",
        concern="Visits are late",
        impact_on_child="Not seen alone",
    )
    browser.sign_in(child.social_worker.get_username().replace("social_worker", "team_manager"))
    page = browser.page
    browser.goto(f"/challenges/{challenge.pk}/")
    assert not page.get_by_role("button", name="Escalate the challenge").count()
    browser.check("challenge")
    page.get_by_role("button", name="Record your response").click()
    page.get_by_role("button", name="Record response").click()
    page.locator(".govuk-error-summary").wait_for()  # the page comes back with its errors
    browser.check("respond-errors")
    page.get_by_label("Agree and able to implement").check()
    page.get_by_label("Your comments").fill("A visit is booked for Friday")
    page.get_by_role("button", name="Record response").click()
    assert page.get_by_text("Your response has been recorded").is_visible()
    browser.check("challenge-responded")


def test_cafcass_referral_page(demo, browser):
    challenge = (
        Challenge.objects.filter(track="iro", status="open", cafcass_referred_on__isnull=True)
        .exclude(policy__key="informal_challenge_dispute_resolution")
        .filter(policy__key="challenge_and_resolution")
        .first()
    )
    assert challenge is not None
    browser.sign_in("iro")
    page = browser.page
    browser.goto(f"/challenges/{challenge.pk}/")
    # The step that waits on the chair is the button; the others are links in "What you can do now".
    page.locator("#what-you-can-do").get_by_role("link", name="Refer to Cafcass", exact=True).click()
    assert page.get_by_role("heading", name="Before you refer").is_visible()
    browser.check("cafcass")
    page.get_by_role("button", name="Refer to Cafcass").click()
    page.locator(".govuk-error-summary").wait_for()  # the page comes back with its errors
    browser.check("cafcass-errors")


def test_correct_a_case_note(demo, browser):
    challenge = Challenge.objects.filter(track="iro", raised_by__username="iro").first()
    assert challenge is not None
    browser.sign_in("iro")
    page = browser.page
    browser.goto(f"/challenges/{challenge.pk}/")
    page.get_by_role("link", name="Add a correction").first.click()
    page.get_by_role("button", name="Add the correction").click()
    page.locator(".govuk-error-summary").wait_for()  # the page comes back with its errors
    browser.check("case-note-correction-errors")
    page.get_by_label("Correction").fill("The concern was first raised by phone on Monday.")
    page.get_by_role("button", name="Add the correction").click()
    assert page.get_by_text("This corrects").first.is_visible()
    browser.check("challenge-with-correction")
