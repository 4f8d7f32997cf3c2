"""The chronology laid out by Typst: whatever people typed prints as written, however it looks as
Typst markup; a long chronology carries the child, the case number and "Page N of M" on every page
and its column headings on every page of the table; an authority's own template is used; and
documents laid out at once on several threads come out whole."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
import time_machine
from pypdf import PdfReader

from resolve.challenges import services
from resolve.children.services import child_create
from resolve.core.limits import MAX_TEXT
from resolve.exports.checks import chronology_template_check
from resolve.exports.downloads import chronology_download
from resolve.exports.selectors import chronology_for_user
from resolve.exports.tests.conftest import TODAY, first_page_png, save
from resolve.exports.typeset import chronology_pdf
from resolve.testing.chronologies import long_chronology_build

pytestmark = pytest.mark.django_db

# Typst markup of every kind that would do something if it were read as markup rather than text:
# code, an import, a file read, emphasis, maths, a label, a reference, a heading, raw text, escapes.
MARKUP = '#import "x": y #read("/etc/passwd") *bold* _italic_ $x^2$ <label> @ref = Heading `raw` \\ #{1 + 1}'
CHILD_NAME = "#set page(fill: red)"  # a child's name is typed too


def _pdftotext(path: Path) -> list[str]:
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return [page for page in text.split("\f") if page.strip()]


def _words(text: str) -> str:
    return " ".join(text.split())


def test_what_people_typed_prints_as_written_never_as_markup(authority):
    """The chronology goes into Typst as JSON data, so markup in a child's name, a concern, a reason, a
    response, an action or an outcome is text: it prints literally and runs nothing."""
    staff = authority.staff
    with time_machine.travel(dt.datetime(2026, 12, 21, 10, 0), tick=False) as frozen:
        child = child_create(
            user=staff["admin"],
            case_number="LCS100009",
            first_name=CHILD_NAME,
            last_name="*Jones*",
            date_of_birth=dt.date(2014, 3, 9),
            social_worker="social_worker",
            iro="iro",
            cp_chair="cp_chair",
        )
        challenge = services.challenge_raise(
            user=staff["iro"],
            child=child,
            track="iro",
            procedure_key="national",
            concern=f"Concern: {MARKUP}",
            impact_on_child="The child has not been seen.",
            themes=["voice_of_child"],
            actions=[
                services.ActionInput(f"Action: {MARKUP}", "social_worker", TODAY + dt.timedelta(days=7))
            ],
            on=TODAY,
        )
        services.challenge_escalate(user=staff["iro"], challenge_id=challenge.pk, reason=f"Reason: {MARKUP}")
        frozen.shift(dt.timedelta(days=1))
        services.challenge_respond(
            user=staff["team_manager"],
            challenge_id=challenge.pk,
            response="agree",
            comments=f"Reply: {MARKUP}",
        )
        services.challenge_resolve(
            user=staff["iro"],
            challenge_id=challenge.pk,
            outcome=f"Outcome: {MARKUP}",
            learning_points="None.",
        )
        download = chronology_download(user=staff["service_manager"], case_number="LCS100009", today=TODAY)
    path = save("chronology-literal-text.pdf", download.content)
    pages = _pdftotext(path)
    text = _words(" ".join(pages))
    for label in ("Concern", "Action", "Reason", "Reply", "Outcome"):
        assert f"{label}: {_words(MARKUP)}" in text, label
    assert "root:" not in text  # /etc/passwd was not read
    name = f"{CHILD_NAME} *Jones*"
    assert all(f"{name} · Case number LCS100009" in page for page in pages)
    reader: Any = PdfReader(io.BytesIO(download.content))
    assert reader.metadata.title == f"Chronology of challenges: {name} (LCS100009)"
    first_page_png(path, "chronology-literal-text")


def test_every_page_of_a_long_chronology_names_the_child_and_is_numbered(authority):
    """Issue: "paginated with page numbers, the child and case number on every page"."""
    with time_machine.travel(dt.datetime(2026, 12, 21, 10, 0), tick=False):
        long_chronology_build(
            authority,
            case_number="LCS100010",
            first_name="Long",
            last_name="Record",
            date_of_birth=dt.date(2012, 1, 2),
            challenges=40,
            first_day=TODAY - dt.timedelta(days=40 * 3),
            days_apart=3,
        )
        download = chronology_download(
            user=authority.staff["service_manager"], case_number="LCS100010", today=TODAY
        )
    reader: Any = PdfReader(io.BytesIO(download.content))
    count = len(reader.pages)
    pages = _pdftotext(save("chronology-long.pdf", download.content))
    assert count >= 8 and len(pages) == count
    for number, page in enumerate(pages, start=1):
        assert page.count("Long Record · Case number LCS100010") == 1, number
        assert "OFFICIAL-SENSITIVE" in page
        assert "Produced by Sarah Moore on 21 December 2026, 10:00 from Resolve" in page
        assert f"Page {number} of {count}" in page
    # Each page the table of events runs onto starts with its column headings again.
    events = next(n for n, page in enumerate(pages) if "Every event in date order" in page)
    for page in pages[events + 1 : -1]:
        assert "Date and event" in _words(page) and "Challenge and stage, by whom, detail" in _words(page)
    text = _words(" ".join(pages))
    assert all(f"Concern {index}:" in text and f"Visits made ({index})." in text for index in range(40))
    root = reader.trailer["/Root"]
    assert bool(root["/MarkInfo"]["/Marked"]) and "/StructTreeRoot" in root
    assert root["/Lang"] == "en-GB"


def test_a_row_longer_than_a_page_runs_on_rather_than_off_the_page(authority, child):
    """Rows are kept whole on a page, but a concern or an outcome of the longest text accepted
    (``MAX_TEXT``) is longer than a page: it continues on the next page and none of it is lost."""
    staff = authority.staff
    words = " ".join(f"w{index}" for index in range(MAX_TEXT // 6))
    concern, outcome = f"{words} CONCERN-ENDS"[-MAX_TEXT:], f"{words} OUTCOME-ENDS"[-MAX_TEXT:]
    with time_machine.travel(dt.datetime(2026, 12, 21, 10, 0), tick=False):
        challenge = services.challenge_raise(
            user=staff["iro"],
            child=child,
            track="iro",
            procedure_key="national",
            concern=concern,
            impact_on_child="The child has not been seen.",
            themes=["voice_of_child"],
            actions=[],
            on=TODAY,
        )
        services.challenge_resolve(
            user=staff["iro"], challenge_id=challenge.pk, outcome=outcome, learning_points="None."
        )
        download = chronology_download(user=staff["service_manager"], case_number="LCS100001", today=TODAY)
    reader: Any = PdfReader(io.BytesIO(download.content))
    pages = _pdftotext(save("chronology-long-rows.pdf", download.content))
    text = _words(" ".join(pages))
    assert len(reader.pages) >= 3
    # Every word, the last ones included (the margins' text comes between a row's pages).
    printed = text.split()
    assert set(concern.split()) <= set(printed) and set(outcome.split()) <= set(printed)
    assert printed.count("CONCERN-ENDS") == 1  # the raised event's row
    assert printed.count("OUTCOME-ENDS") == 2  # the challenge's row and the resolved event's
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {len(reader.pages)}" in page


OWN_TEMPLATE = """#let data = json(bytes(sys.inputs.chronology))
#set document(title: data.title)
#set text(lang: "en", region: "GB")
#set page(header: [#read("council.txt"): #data.case_number])
#for row in data.rows [#row.on #row.what \\ ]
"""


def test_an_authoritys_own_template_is_used(authority, journey, settings, tmp_path):
    """docs/documents.md: put exports/chronology.typ in a template folder listed first; it reads files
    beside it (a logo; here the council's name)."""

    def pages() -> list[str]:
        content = chronology_download(
            user=authority.staff["service_manager"], case_number="LCS100001", today=TODAY
        ).content
        return _pdftotext(save("chronology-own-template.pdf", content))

    assert "Sampletown Council" not in pages()[0]
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "chronology.typ").write_text(OWN_TEMPLATE)
    (tmp_path / "exports" / "council.txt").write_text("Sampletown Council")  # beside the template
    own = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]
    settings.TEMPLATES = own
    ours = pages()
    assert all("Sampletown Council: LCS100001" in page for page in ours)
    assert "Challenge raised" in ours[0]
    settings.TEMPLATES = [{**own[0], "DIRS": own[0]["DIRS"][1:]}]
    assert "Sampletown Council" not in pages()[0]


def test_threads_lay_out_chronologies_at_once(authority, journey):
    """Each thread keeps its own compiler and fonts."""
    chronology = chronology_for_user(
        user=authority.staff["service_manager"], case_number="LCS100001", today=TODAY
    )
    made: list[bytes] = []
    failed: list[BaseException] = []

    def work() -> None:
        try:
            made.extend(chronology_pdf(chronology) for _ in range(2))
        except BaseException as error:  # reported to the test below
            failed.append(error)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failed == [] and len(made) == 6
    for content in made:
        reader: Any = PdfReader(io.BytesIO(content))
        assert reader.metadata.title == "Chronology of challenges: Amelia Jones (LCS100001)"


def _own_folder(settings: Any, tmp_path: Path, template: str) -> None:
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "chronology.typ").write_text(template)
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]


def test_resolves_own_and_a_working_own_template_pass_the_start_up_check(settings, tmp_path):
    assert chronology_template_check() == []
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "council.txt").write_text("Sampletown Council")
    (tmp_path / "exports" / "chronology.typ").write_text(OWN_TEMPLATE)
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]
    assert chronology_template_check() == []


@pytest.mark.parametrize(
    ("template", "says"),
    [
        ("#let data = json(bytes(sys.inputs.chronology))\n#data.no_such_field", "does not contain key"),
        ('#set text(lang: "en")\nNo title.', "missing document title"),
        ('#set document(title: "T")\n#image("/etc/hostname")', "hostname"),
    ],
)
def test_an_own_template_that_does_not_lay_out_is_named_at_start_up(settings, tmp_path, template, says):
    """A mistake, a template without the title PDF/UA-1 needs, or one reaching outside its folder."""
    _own_folder(settings, tmp_path, template)
    [error] = chronology_template_check()
    assert error.id == "resolve.exports.E004"
    assert str(tmp_path / "exports" / "chronology.typ") in error.msg and says in error.msg


def test_no_chronology_template_at_all_is_named_at_start_up(settings, tmp_path):
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path], "APP_DIRS": False}]
    [error] = chronology_template_check()
    assert error.id == "resolve.exports.E003" and "exports/chronology.typ" in error.msg


# Characters no font on a plain Debian server shows: an emoji pasted into a concern, a name in a script
# with no font installed, a control character, a code point Unicode has not assigned.
NO_FONT = "Thumbs up 👍, 名前, bell\x07, unassigned \U000508af"


def test_text_no_font_can_show_still_downloads_tagged(authority):
    """PDF/UA-1 refuses text no font can show; the chronology is then laid out without that claim
    (still tagged, titled and in English) instead of the download failing, and the rest reads as typed."""
    staff = authority.staff
    with time_machine.travel(dt.datetime(2026, 12, 21, 10, 0), tick=False):
        child = child_create(
            user=staff["admin"],
            case_number="LCS100011",
            first_name="名前",
            last_name="Jones",
            date_of_birth=dt.date(2014, 3, 9),
            social_worker="social_worker",
            iro="iro",
            cp_chair="cp_chair",
        )
        services.challenge_raise(
            user=staff["iro"],
            child=child,
            track="iro",
            procedure_key="national",
            concern=f"Concern: {NO_FONT}",
            impact_on_child="The child has not been seen.",
            on=TODAY,
        )
        download = chronology_download(user=staff["service_manager"], case_number="LCS100011", today=TODAY)
    reader: Any = PdfReader(io.BytesIO(download.content))
    root = reader.trailer["/Root"]
    assert bool(root["/MarkInfo"]["/Marked"]) and "/StructTreeRoot" in root
    assert root["/Lang"] == "en-GB"
    assert reader.metadata.title == "Chronology of challenges: 名前 Jones (LCS100011)"
    text = _words(" ".join(_pdftotext(save("chronology-no-font.pdf", download.content))))
    assert "Concern: Thumbs up" in text and "unassigned" in text
