"""The pages of a referral to Cafcass with no challenge and of closing a concern (issue 9, sections 6
and 9), in Chromium at a desk width and a phone width: axe on each, a screenshot of each."""

from __future__ import annotations

import datetime as dt
import re
import zipfile

import pytest
from django.contrib.auth.models import User

from resolve.challenges import services
from resolve.children.models import Child
from resolve.children.services import child_create
from resolve.people.demo import authority_build
from resolve.testing.agreements import REFERRAL_CHECKLIST
from resolve.web.tests.factories import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def child(transactional_db, settings) -> Child:
    settings.RESOLVE_DEFAULT_POLICY = "challenge_and_resolution"
    authority = authority_build(password=PASSWORD)
    child = child_create(
        user=authority.staff["admin"],
        case_number="LCS700009",
        first_name="Amelia",
        last_name="Jones",
        date_of_birth=dt.date(2014, 3, 9),
        social_worker="social_worker",
        iro="iro",
    )
    services.child_request_cafcass_agreement(
        user=authority.staff["iro"],
        child_id=child.pk,
        key="service_manager_approval",
        person="iro_service_manager",
        note="The permanence plan has drifted for a year; the ladder would delay the child's timetable.",
    )
    return child


@pytest.mark.parametrize("width", [1280, 390])
def test_referral_with_no_challenge_pages(child, browser, width):
    browser.page.set_viewport_size({"width": width, "height": 900})
    url = f"/children/{child.case_number}/cafcass-referral/"
    browser.sign_in("iro_service_manager")
    assert browser.page.get_by_role("heading", name="Waiting for your answer").is_visible()
    browser.check(f"home-cafcass-no-challenge-{width}")
    browser.goto(url)
    browser.check(f"cafcass-no-challenge-answer-{width}")
    browser.page.get_by_label("I confirm").check()
    browser.page.get_by_role("button", name="Send your answer").click()
    browser.page.wait_for_url(re.compile(re.escape(browser.base_url + url)))
    assert browser.page.get_by_text("Your answer has been recorded").is_visible()
    browser.page.context.clear_cookies()
    browser.sign_in("iro")
    browser.goto(url)
    browser.check(f"cafcass-no-challenge-iro-{width}")
    browser.page.get_by_role("button", name="Record the referral").click()
    browser.page.wait_for_load_state()
    assert browser.page.locator(".govuk-error-summary").is_visible()
    browser.check(f"cafcass-no-challenge-errors-{width}")


@pytest.mark.parametrize("width", [1280, 390])
def test_the_child_page_lists_the_referral(child, browser, width, settings):
    settings.RESOLVE_DEFAULT_POLICY = "national"
    browser.page.set_viewport_size({"width": width, "height": 900})
    browser.sign_in("iro")
    browser.goto(f"/children/{child.case_number}/")
    browser.page.get_by_role("link", name="Refer to Cafcass without a challenge").click()
    browser.page.get_by_label("Why are you referring the case to Cafcass?").fill(
        "The permanence plan has drifted for a year and the child's timetable cannot wait."
    )
    browser.page.get_by_label("This referral is urgent").check()
    browser.page.get_by_role("button", name="Record the referral").click()
    browser.page.wait_for_load_state()
    browser.check(f"cafcass-no-challenge-done-{width}")
    browser.goto(f"/children/{child.case_number}/")
    assert browser.page.get_by_text("The child's case, with no challenge").is_visible()
    browser.check(f"child-page-cafcass-{width}")


@pytest.mark.parametrize("width", [1280, 390])
def test_closing_a_concern(child, browser, width):
    services.concern_record(
        user=child.iro,
        child=child,
        track="iro",
        concern="The pathway plan has not been updated since the last review.",
        review="cla_review",
        review_on=dt.date.today(),
        procedure_key="outcome_resolution",
    )
    browser.page.set_viewport_size({"width": width, "height": 900})
    browser.sign_in("iro")
    browser.goto(f"/children/{child.case_number}/")
    browser.page.get_by_role("link", name="Close it").click()
    browser.page.wait_for_load_state()
    browser.check(f"concern-close-{width}")
    browser.page.get_by_role("button", name="Close the concern").click()
    browser.page.wait_for_load_state()
    browser.check(f"concern-close-errors-{width}")
    browser.page.get_by_label("Why are you closing the concern?").fill("The team manager updated the plan.")
    browser.page.get_by_role("button", name="Close the concern").click()
    browser.page.wait_for_load_state()
    assert browser.page.get_by_text("The team manager updated the plan.").is_visible()
    browser.check(f"child-page-concern-closed-{width}")


@pytest.mark.parametrize("width", [1280, 390])
def test_the_pack_of_a_referral_with_no_challenge(child, browser, width, tmp_path):
    """From the child's page to the referral's pack: a wrong file refused beside the field, the
    required documents uploaded, and the zip downloaded."""
    staff = {user.username: user for user in User.objects.filter(is_active=True)}
    services.child_answer_cafcass_agreement(
        user=staff["iro_service_manager"], child_id=child.pk, number=1, answer="confirmed"
    )
    asked = services.child_request_cafcass_agreement(
        user=staff["iro"],
        child_id=child.pk,
        key="hos_safeguarding_approval",
        person="head_of_safeguarding",
        note="Please approve.",
    )
    services.child_answer_cafcass_agreement(
        user=staff["head_of_safeguarding"], child_id=child.pk, number=asked.number, answer="confirmed"
    )
    services.child_refer_to_cafcass(
        user=staff["iro"],
        child_id=child.pk,
        reason="The permanence plan has drifted for a year and the child's timetable cannot wait.",
        urgent=True,
        checklist=dict(REFERRAL_CHECKLIST),
    )
    browser.page.set_viewport_size({"width": width, "height": 900})
    browser.sign_in("iro")
    page = browser.page
    browser.goto(f"/children/{child.case_number}/")
    page.get_by_role("link", name=re.compile("^The Cafcass referral pack")).click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == "Cafcass referral pack"
    browser.check(f"cafcass-no-challenge-pack-{width}")
    wrong = tmp_path / "notes.txt"
    wrong.write_text("not a document")
    page.get_by_label("The document").set_input_files(str(wrong))
    page.get_by_role("button", name="Upload").click()
    page.wait_for_load_state()
    assert page.locator("#file-error").is_visible()
    browser.check(f"cafcass-no-challenge-pack-error-{width}")
    for item, name in (("review_records", "reviews.pdf"), ("recent_care_plan", "care-plan.pdf")):
        upload = tmp_path / name
        upload.write_bytes(b"%PDF-1.4\n%" + name.encode() + b"\n%%EOF\n")
        page.get_by_label("Which item it is").select_option(item)
        page.get_by_label("The document").set_input_files(str(upload))
        page.get_by_role("button", name="Upload").click()
        page.wait_for_load_state()
        assert page.get_by_text(f"{name} was added to the pack.").is_visible()
    browser.check(f"cafcass-no-challenge-pack-complete-{width}")
    with page.expect_download() as waiting:
        page.get_by_role("link", name="Download the Cafcass referral pack (zip)").click()
    download = waiting.value
    assert download.suggested_filename.startswith(f"cafcass-referral-pack_{child.case_number}_")
    names = zipfile.ZipFile(download.path()).namelist()
    assert "referral.pdf" in names and "SHA256SUMS.txt" in names
    assert sum(name.startswith("documents/") for name in names) == 2
