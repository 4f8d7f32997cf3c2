"""How PDFs are made: the page margins carry the child and the page number on every page of the
chronology (Typst); for the documents WeasyPrint lays out (the form here), an authority's own
stylesheet wins however often documents are made, and laying out leaves the process as it found it."""

from __future__ import annotations

import gc
import io
import subprocess
import threading
from typing import Any

import pytest
from pypdf import PdfReader

from resolve.exports.downloads import chronology_download
from resolve.exports.pdf import pdf_render
from resolve.exports.selectors import challenge_form_for_user
from resolve.exports.tests.conftest import TODAY, save

pytestmark = pytest.mark.django_db

OWN_CSS = """@page { size: A4; margin: 20mm;
  @top-left { content: string(child); }
  @top-right { content: "Sampletown Council"; } }
.running-child { string-set: child content(); visibility: hidden; height: 0; margin: 0; }
.running-produced { display: none; }
"""


def _chronology(authority: Any) -> bytes:
    return chronology_download(
        user=authority.staff["service_manager"], case_number="LCS100001", today=TODAY
    ).content


def _form_context(authority: Any, journey: Any) -> dict[str, object]:
    form = challenge_form_for_user(user=authority.staff["service_manager"], challenge_id=journey.pk)
    return {
        "form": form,
        "child_name": form.child_name,
        "case_number": form.case_number,
        "produced_by": form.produced_by,
        "produced_on": form.produced_on,
    }


def _form(authority: Any, journey: Any) -> bytes:
    return pdf_render("exports/form.html", _form_context(authority, journey))


def _text(content: bytes, name: str) -> list[str]:
    path = save(name, content)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return [page for page in text.split("\f") if page.strip()]


def test_every_page_names_the_child_is_numbered_and_the_pdf_is_tagged(authority, journey):
    content = _chronology(authority)
    reader: Any = PdfReader(io.BytesIO(content))
    pages = _text(content, "chronology-pages.pdf")
    assert len(pages) == len(reader.pages)
    for number, page in enumerate(pages, start=1):
        assert "Amelia Jones · Case number LCS100001" in page
        assert "OFFICIAL-SENSITIVE" in page
        assert "Produced by Sarah Moore on" in page
        assert f"Page {number} of {len(reader.pages)}" in page
    # The margins' text is taken from the document, not laid out a second time in the page body.
    assert pages[0].count("Amelia Jones · Case number LCS100001") == 1
    root = reader.trailer["/Root"]
    assert bool(root["/MarkInfo"]["/Marked"]) and "/StructTreeRoot" in root
    assert root["/Lang"] == "en-GB"
    assert reader.metadata.title == "Chronology of challenges: Amelia Jones (LCS100001)"


def test_an_authoritys_own_stylesheet_is_used_and_dropped_as_soon_as_it_changes(
    authority, journey, settings, tmp_path
):
    """docs/documents.md: "put a folder of your own first in TEMPLATES["DIRS"] and copy into it
    exports/document.css". The parsed stylesheet is kept between documents, so it must follow a change."""
    assert "Sampletown Council" not in _text(_form(authority, journey), "form-default.pdf")[0]
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "document.css").write_text(OWN_CSS)
    own = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]
    settings.TEMPLATES = own
    pages = _text(_form(authority, journey), "form-restyled.pdf")
    assert all("Sampletown Council" in page for page in pages)
    assert not any("Produced by" in page for page in pages)
    settings.TEMPLATES = [{**own[0], "DIRS": own[0]["DIRS"][1:]}]
    assert "Sampletown Council" not in _text(_form(authority, journey), "form-default.pdf")[0]


def test_the_cycle_collector_is_left_as_it_was(authority, journey):
    """It is paused while a document is laid out, and only then."""
    assert gc.isenabled()
    _form(authority, journey)
    assert gc.isenabled()
    gc.disable()
    try:
        _form(authority, journey)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_threads_lay_out_documents_at_once_and_the_collector_comes_back(authority, journey):
    """Each thread keeps its own fonts; the collector is restored only when the last one finishes."""
    context = _form_context(authority, journey)
    made: list[bytes] = []
    failed: list[BaseException] = []

    def work() -> None:
        try:
            made.extend(pdf_render("exports/form.html", context) for _ in range(2))
        except BaseException as error:  # reported to the test below
            failed.append(error)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failed == [] and len(made) == 4
    form: Any = context["form"]
    for content in made:
        reader: Any = PdfReader(io.BytesIO(content))
        assert reader.metadata.title == f"{form.title}: Amelia Jones (LCS100001)"
    assert gc.isenabled()
