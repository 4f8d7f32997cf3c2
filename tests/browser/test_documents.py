"""The Download sections and the print stylesheet in Chromium, on the demo authority's data.

Each page is checked by axe and photographed at 1280 px and 390 px; a download is clicked as a person
would and the file read back; printing a page (Chromium's own PDF, print media) leaves out the
navigation, the Beta banner and the buttons. The first page of each PDF is saved as a PNG under
test-artifacts/ for a reviewer to look at.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from resolve.challenges.models import Challenge

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "documents"

pytestmark = pytest.mark.browser


def _first_page_png(pdf: Path, name: str) -> None:
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "60",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(pdf),
            str(ARTIFACTS / name),
        ],
        check=True,
    )


def _at_widths(browser, name: str) -> None:
    for width in (1280, 390):
        browser.page.set_viewport_size({"width": width, "height": 900})
        browser.check(f"{name}-{width}")


def test_the_challenge_page_downloads_the_form_and_prints_clean(demo, browser):
    challenge = Challenge.objects.filter(child__case_number__isnull=False).order_by("pk").first()
    assert challenge is not None
    browser.sign_in(challenge.raised_by.username)
    page = browser.page
    browser.goto(f"/challenges/{challenge.pk}/")
    downloads = page.get_by_role("region", name="Download")
    assert downloads.is_visible()
    _at_widths(browser, "challenge-downloads")

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with page.expect_download() as waiting:
        downloads.get_by_role("link", name="The form as it stands now (PDF)").click()
    download = waiting.value
    assert download.suggested_filename.startswith(f"challenge-form_{challenge.child.case_number}_")
    saved = ARTIFACTS / "browser-challenge-form.pdf"
    download.save_as(saved)
    reader = PdfReader(saved)
    assert challenge.child.full_name in reader.pages[0].extract_text()

    # Printing: the record only, without the service's furniture or anything to press.
    page.set_viewport_size({"width": 1280, "height": 900})
    page.emulate_media(media="print")
    for hidden in (".govuk-template__header", ".govuk-phase-banner", ".govuk-footer", ".govuk-button"):
        assert not page.locator(hidden).first.is_visible(), hidden
    assert not downloads.is_visible()
    assert page.get_by_role("heading", name="Stages").is_visible()
    printed = ARTIFACTS / "printed-challenge-page.pdf"
    page.pdf(path=str(printed), format="A4")
    text = PdfReader(printed).pages[0].extract_text()
    assert "Beta" not in text and "Sign out" not in text
    assert challenge.child.full_name in text
    _first_page_png(printed, "printed-challenge-page")


def test_the_child_page_downloads_the_chronology(demo, browser):
    browser.sign_in("iro")
    page = browser.page
    child = Challenge.objects.order_by("pk").first().child  # type: ignore[union-attr]
    browser.goto(f"/children/{child.case_number}/")
    downloads = page.get_by_role("region", name="Download")
    _at_widths(browser, "child-downloads")
    with page.expect_download() as waiting:
        downloads.get_by_role(
            "link", name="Chronology of challenges for a court bundle or an Ofsted case sample (PDF)"
        ).click()
    saved = ARTIFACTS / "browser-chronology.pdf"
    waiting.value.save_as(saved)
    assert waiting.value.suggested_filename == f"chronology_{child.case_number}_{dt.date.today()}.pdf"
    text = "".join(p.extract_text() for p in PdfReader(saved).pages)
    assert f"Case number {child.case_number}" in text
    _first_page_png(saved, "browser-chronology")


def test_the_cafcass_pack_page_uploads_a_document(demo, browser, tmp_path):
    challenge = Challenge.objects.filter(track="iro").order_by("pk").first()
    assert challenge is not None
    browser.sign_in(challenge.child.iro.username)  # type: ignore[union-attr]
    page = browser.page
    browser.goto(f"/challenges/{challenge.pk}/")
    page.get_by_role("region", name="Download").get_by_role("link", name="The Cafcass referral pack").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Cafcass referral pack"
    _at_widths(browser, "cafcass-pack")
    wrong = tmp_path / "notes.txt"
    wrong.write_text("not a document")
    page.get_by_label("The document").set_input_files(str(wrong))
    page.get_by_role("button", name="Upload").click()
    page.locator(".govuk-error-summary").wait_for()  # the page comes back with its errors
    browser.check("cafcass-pack-error")
    plan = tmp_path / "care-plan.pdf"
    plan.write_bytes(b"%PDF-1.4\n%%EOF\n")
    page.get_by_label("Which item it is").select_option(index=0)
    page.get_by_label("The document").set_input_files(str(plan))
    page.get_by_role("button", name="Upload").click()
    assert page.get_by_text("care-plan.pdf was added to the pack.").is_visible()
