"""The Challenge and Resolution form, read back from Word and PDF and compared with the challenge.

Seed 003 lists the form's fields: "Date of Notification", "From: (Allocated Child Protection
Conference Chair/IRO)", "To:", "Name of Child", "DoB", "LCS number", "Social Worker", "Team and Team
Manager", "Stage of Escalation ... Please tick", "What are we worried about? What actions have taken
place to resolve the worries?", "Outcome and Impact for the Child/Young Person", "Themes and Issues
... Please tick", "Recommended Action (SMART actions ...) Action / By when / By whom", "Response to
Challenge and Resolution from Team manager/Service Manager/Head of Service ... Date:", "Child
Protection/IRO Service Manager final comments".
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import subprocess
import typing
from typing import Any

import docx
import pytest
from pypdf import PdfReader

from resolve.access import NotVisible
from resolve.audit.models import AccessLogEntry
from resolve.challenges import services
from resolve.challenges.case_notes import enters_stage
from resolve.challenges.events import DETAILS, detail_from_json
from resolve.challenges.events import Event as TypedEvent
from resolve.challenges.models import Event
from resolve.exports.downloads import form_download, sent_form_download
from resolve.exports.models import SentForm
from resolve.exports.selectors import STAGE_ENTERING, challenges_without_sent_forms, stage_notes
from resolve.exports.services import sent_forms_file
from resolve.exports.tests.conftest import first_page_png, save
from resolve.procedures.selectors import procedure_get, procedure_version_model

pytestmark = pytest.mark.django_db


def docx_text(content: bytes) -> str:
    document = docx.Document(io.BytesIO(content))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append(" | ".join(cell.text for cell in row.cells))
    return "\n".join(parts)


def docx_rows(content: bytes) -> dict[str, str]:
    """The form's labelled rows (the first table): label -> value."""
    document = docx.Document(io.BytesIO(content))
    return {row.cells[0].text: row.cells[1].text for row in document.tables[0].rows}


class TestLiveForm:
    def test_word_form_has_every_field_of_seed_003(self, authority, child, journey):
        download = form_download(user=authority.staff["iro"], challenge_id=journey.pk, format="docx")
        assert download.content_type.endswith("wordprocessingml.document")
        assert download.filename == "challenge-form_LCS100001_2026-12-25.docx"
        save("challenge-form.docx", download.content)
        rows = docx_rows(download.content)
        assert rows["Name of child"] == "Amelia Jones"
        assert rows["Date of birth"] == "9 March 2014"
        assert rows["Case number"] == "LCS100001"
        assert rows["Social worker"] == _name(authority.staff["social_worker"])
        assert rows["Team and team manager"].startswith(child.team.name)
        assert _name(authority.staff["team_manager"]) in rows["Team and team manager"]
        assert rows["From"] == f"{_name(authority.staff['iro'])} (IRO)"
        assert rows["To"] == _name(authority.staff["director"])  # stage 4 went to the Director
        assert rows["Date of notification"] == "24 December 2026"  # the day stage 4 was entered
        text = docx_text(download.content)
        # The procedure's own name for its form and its stages.
        assert "Challenge and Resolution form" in text
        assert "Challenge and Resolution Form - Stage 4 (Director of Children's Services)" in text
        assert _line(
            text, "Stage 4: joint Heads of Service meeting overseen by the Director of Children's Services | "
        ).endswith("| ☒")
        assert (
            "Stage 1: Team Manager | Challenge and Resolution Form - Stage 1 (Team Manager)"
            " | 5 working days | ☐" in text
        )
        assert journey.concern.splitlines()[0] in text and journey.concern.splitlines()[1] in text
        assert journey.impact_on_child in text
        assert "Inadequate Voice of the Child/Young Person | ☒" in text or "| ☒" in _theme_line(text, "Voice")
        assert "| ☐" in _theme_line(text, "Placement")
        assert "Visit the child alone | " in text and "| Done" in _line(text, "Visit the child alone")
        assert "| Open" in _line(text, "Update the care plan")
        assert "Do not agree and will not implement" in text and "Visits are planned for January." in text
        assert "Agree and able to implement" in text
        assert "Date: 25 December 2026" in text or "Date: 24 December 2026" in text
        assert "Resolved at stage 4; monitor the plan at the next review." in text
        assert f"{_name(authority.staff['iro_service_manager'])}. Date: 25 December 2026" in text
        head = Event.objects.filter(challenge=journey).latest("sequence")
        assert head.hash in text  # the evidence: a reader can check it with verify_evidence

    def test_pdf_form_reads_back_with_its_title_language_and_text(self, authority, journey, tmp_path):
        download = form_download(user=authority.staff["iro"], challenge_id=journey.pk, format="pdf")
        assert download.content_type == "application/pdf"
        assert download.filename.endswith(".pdf")
        path = save("challenge-form.pdf", download.content)
        reader: Any = PdfReader(io.BytesIO(download.content))
        assert reader.metadata.title == "Challenge and Resolution form: Amelia Jones (LCS100001)"
        assert reader.trailer["/Root"]["/Lang"] == "en-GB"
        assert "/StructTreeRoot" in reader.trailer["/Root"]  # tagged
        text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True).stdout
        for words in (
            "Date of notification",
            "Amelia Jones",
            "LCS100001",
            "9 March 2014",
            "Stage of escalation",
            "Themes and issues",
            "Recommended actions (SMART)",
            "Visit the child alone",
            "Response to the challenge",
            "IRO/CP Service Manager final comments",
            "Page 1 of",
        ):
            assert words in text, words
        first_page_png(path, "challenge-form")

    def test_someone_who_may_not_see_the_challenge_gets_nothing(self, authority, journey):
        with pytest.raises(NotVisible):
            form_download(user=authority.staff["admin"], challenge_id=journey.pk, format="pdf")

    def test_each_download_is_an_export_in_the_access_log(self, authority, journey):
        before = AccessLogEntry.objects.count()
        form_download(user=authority.staff["team_manager"], challenge_id=journey.pk, format="docx")
        entry = AccessLogEntry.objects.latest("pk")
        assert AccessLogEntry.objects.count() == before + 1
        assert entry.channel == AccessLogEntry.Channel.EXPORT
        assert entry.challenge_id == journey.pk and entry.user == authority.staff["team_manager"]


class TestFormAsSent:
    """Seed 003: the form is "a live document", forwarded at each stage; seed 001: "This will transfer
    the information and open the form for the next stage on the system." The version sent at each
    stage is filed with that stage's case note."""

    def test_the_worker_files_one_form_per_stage_note_with_its_hash(self, authority, journey):
        assert sent_forms_file() == 3  # raised (informal), escalated to stage 1, escalated to stage 4
        assert sent_forms_file() == 0  # filed once
        sent = list(SentForm.objects.filter(challenge=journey).order_by("event_sequence"))
        notes = [note for note, _ in stage_notes(challenge=journey)]
        assert [s.case_note_id for s in sent] == [n.pk for n in notes]
        assert [s.case_note.note_type for s in sent] == [
            "IRO/Conference Chair Escalation Discussion",
            "Challenge and Resolution Form - Stage 1 (Team Manager)",
            "Challenge and Resolution Form - Stage 4 (Director of Children's Services)",
        ]
        for form in sent:
            assert hashlib.sha256(bytes(form.content)).hexdigest() == form.sha256

    def test_the_worker_looks_again_only_at_challenges_with_a_stage_still_to_file(self, authority, journey):
        assert list(challenges_without_sent_forms()) == [journey]
        sent_forms_file()
        # Responses, actions and meetings write case notes too, but no form: nothing is left to do.
        assert list(challenges_without_sent_forms()) == []
        for stage in stage_notes(challenge=journey):
            assert enters_stage(_typed(stage[1]))

    def test_the_stage_1_version_shows_what_stood_then_not_what_came_after(self, authority, journey):
        sent_forms_file()
        note, _ = stage_notes(challenge=journey)[1]
        assert note.note_type == "Challenge and Resolution Form - Stage 1 (Team Manager)"
        download = sent_form_download(
            user=authority.staff["iro"], challenge_id=journey.pk, case_note_id=note.pk
        )
        assert download.content == bytes(note.sent_form.content)
        rows = docx_rows(download.content)
        assert rows["To"] == _name(authority.staff["team_manager"])
        assert rows["Date of notification"] == "22 December 2026"
        text = docx_text(download.content)
        assert "As sent at Stage 1: Team Manager on 22 December 2026" in text
        assert "No response recorded yet." in text  # the team manager answered the next day
        assert "Visits are planned for January." not in text
        assert "| Open" in _line(text, "Visit the child alone")  # marked done later
        assert "None yet." in text  # no final comments then

    def test_a_form_not_filed_yet_is_built_from_the_same_evidence(self, authority, journey):
        note, _ = stage_notes(challenge=journey)[1]
        before = sent_form_download(
            user=authority.staff["iro"], challenge_id=journey.pk, case_note_id=note.pk
        )
        sent_forms_file()
        filed = SentForm.objects.get(case_note=note)
        assert docx_text(before.content) == docx_text(bytes(filed.content))

    def test_a_note_of_another_challenge_is_not_found(self, authority, journey):
        with pytest.raises(NotVisible):
            sent_form_download(user=authority.staff["iro"], challenge_id=journey.pk, case_note_id=10**6)


def _name(user) -> str:
    return f"{user.first_name} {user.last_name}".strip() or user.username


def _line(text: str, start: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(start))


def _theme_line(text: str, word: str) -> str:
    return next(line for line in text.splitlines() if word in line and "|" in line)


@pytest.mark.parametrize(
    "key",
    [
        "national",
        "outcome_resolution",
        "cla_dispute_resolution",
        "qa_issue_resolution",
        "challenge_and_resolution",
        "informal_challenge_dispute_resolution",
    ],
)
def test_every_procedure_names_its_own_form_and_stages(authority, child, frozen, key):
    """Seed 001's "CLA - Resolution Stage 1", seed 002's "QA form", seed 003's "Challenge and
    Resolution Form": the form carries the procedure's own name and stage names."""
    procedure = procedure_version_model(procedure_get(key=key))
    track = "iro" if "iro" in procedure.tracks else "cpc"
    challenge = services.challenge_raise(
        user=authority.staff["iro" if track == "iro" else "cp_chair"],
        child=child,
        track=track,
        procedure_key=key,
        concern="Visits missed.",
        impact_on_child="Not seen alone.",
    )
    download = form_download(user=authority.staff["iro"], challenge_id=challenge.pk, format="docx")
    text = docx_text(download.content)
    assert f"{procedure.name} form" in text
    first = procedure.stages[0]
    assert _line(text, f"{first.name} | {first.case_note} | ").endswith("| ☒")
    for stage in procedure.stages[1:]:
        assert _line(text, f"{stage.name} | {stage.case_note} | ").endswith("| ☐")


def _typed(event) -> Any:
    return TypedEvent(
        stage=event.stage_key or None, on=event.on, detail=detail_from_json(event.type, event.detail)
    )


def test_the_worker_counts_the_same_stage_entering_events_as_the_case_notes():
    """``STAGE_ENTERING`` is ``case_notes.enters_stage`` as a list of types, for the worker's query."""
    day = dt.date(2026, 1, 5)
    blanks: dict[Any, Any] = {str: "", bool: False, int: 0, dt.date: day}
    for type_, cls in DETAILS.items():
        hints = typing.get_type_hints(cls)
        values: dict[str, Any] = {
            f.name: blanks.get(hints[f.name], None if "None" in str(hints[f.name]) else ())
            for f in dataclasses.fields(cls)
        }
        if hints.get("checklist") or hints.get("preconditions"):
            values.update(checklist={}, preconditions={})
        event = TypedEvent(stage="stage_1", on=day, detail=cls(**values))
        assert enters_stage(event) == (type_ in STAGE_ENTERING), type_
