"""An authority restyles the Word documents: it writes out the built-in template, changes its styles,
header and footer in Word, and points RESOLVE_WORD_TEMPLATE at it (docs/documents.md). A file that
is not a Word document, or lacks a style the documents use, is named at start-up."""

from __future__ import annotations

import io
from pathlib import Path

import docx
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from resolve.exports.checks import word_template_check
from resolve.exports.downloads import form_download

pytestmark = pytest.mark.django_db


def _written(tmp_path: Path) -> Path:
    path = tmp_path / "sampletown.docx"
    call_command("word_template", str(path), stdout=io.StringIO())
    return path


def test_the_built_in_template_is_written_out_and_passes_the_check(tmp_path, settings):
    path = _written(tmp_path)
    template = docx.Document(str(path))
    assert template.styles["Normal"].font.name == "Arial"
    assert not any(p.text for p in template.paragraphs)  # an empty body
    settings.RESOLVE_WORD_TEMPLATE = str(path)
    assert word_template_check() == []


def test_an_existing_file_or_another_type_is_refused(tmp_path):
    path = _written(tmp_path)
    with pytest.raises(CommandError, match="already exists"):
        call_command("word_template", str(path), stdout=io.StringIO())
    with pytest.raises(CommandError, match=r"\.docx"):
        call_command("word_template", str(tmp_path / "ours.dotx"), stdout=io.StringIO())


def test_the_documents_use_the_authoritys_styles_letterhead_and_footer(
    tmp_path, settings, authority, journey
):
    path = _written(tmp_path)
    template = docx.Document(str(path))
    template.styles["Normal"].font.name = "Verdana"
    template.styles["Heading 2"].font.name = "Georgia"
    section = template.sections[0]
    section.header.paragraphs[0].text = "Sampletown Council, Children's Services"
    section.footer.paragraphs[0].text = "Sampletown Council, Town Hall, Sampletown"
    template.save(str(path))
    settings.RESOLVE_WORD_TEMPLATE = str(path)

    download = form_download(user=authority.staff["iro"], challenge_id=journey.pk, format="docx")
    document = docx.Document(io.BytesIO(download.content))
    assert document.styles["Normal"].font.name == "Verdana"
    assert document.styles["Heading 2"].font.name == "Georgia"
    header = [p.text for p in document.sections[0].header.paragraphs]
    footer = [p.text for p in document.sections[0].footer.paragraphs]
    # The letterhead first, then the child on every page; the authority's footer, then who and the page.
    assert header[0] == "Sampletown Council, Children's Services"
    assert "Amelia Jones  ·  Case number LCS100001  ·  OFFICIAL-SENSITIVE" in header[1:]
    assert footer[0] == "Sampletown Council, Town Hall, Sampletown"
    assert any(line.startswith("Produced by Isla Reid") and "Page 1 of 1" in line for line in footer[1:])
    assert "Challenge and Resolution form" in [p.text for p in document.paragraphs]


def test_a_template_without_a_style_the_documents_use_is_named_at_start_up(tmp_path, settings):
    path = _written(tmp_path)
    template = docx.Document(str(path))
    template.styles.element.remove(template.styles["Table Grid"].element)
    template.save(str(path))
    settings.RESOLVE_WORD_TEMPLATE = str(path)
    [error] = word_template_check()
    assert error.id == "resolve.exports.E002" and "'Table Grid'" in error.msg


def test_a_file_that_is_not_a_word_document_is_named_at_start_up(tmp_path, settings):
    path = tmp_path / "letterhead.docx"
    path.write_bytes(b"%PDF-1.7 not a Word document")
    settings.RESOLVE_WORD_TEMPLATE = str(path)
    [error] = word_template_check()
    assert error.id == "resolve.exports.E001" and "letterhead.docx" in error.msg
