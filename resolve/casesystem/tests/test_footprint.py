"""The footprint on the child's record: Resolve's case notes, in the shape the case system loads.

Issue 15: "Each case note Resolve writes can be exported in the shape the case system takes (a CSV or
JSON per day with the case number, note type, date, author and text; and a per-child 'IRO challenge
summary') ... each export is access-logged and repeatable without duplicates (a cursor of what was
sent)"; "the footprint export loads back into a simple LCS-shaped table in a test".
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest
from django.core.management import call_command

from resolve.audit.models import AccessLogEntry
from resolve.casesystem.footprint import footprint_export
from resolve.casesystem.models import FootprintDelivery
from resolve.children.models import CaseNote
from resolve.children.services import child_allocate
from resolve.testing.challenges import raise_challenge

pytestmark = pytest.mark.django_db

# A simple LCS-shaped case-notes table: what an authority's load job would insert into.
LCS_TABLE = """
CREATE TABLE lcs_case_notes (
    person_id TEXT NOT NULL,
    note_type TEXT NOT NULL,
    note_date TEXT NOT NULL,
    author TEXT NOT NULL,
    note_text TEXT NOT NULL,
    external_ref TEXT NOT NULL UNIQUE
)
"""


def _load_into_lcs(db: sqlite3.Connection, folder: Path) -> None:
    """Load every case-notes CSV in the folder, skipping rows already loaded (by Resolve's note id)."""
    for path in sorted(folder.glob("resolve-case-notes-*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                db.execute(
                    "INSERT OR IGNORE INTO lcs_case_notes VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        row["case_number"],
                        row["note_type"],
                        row["note_date"],
                        row["author"],
                        row["text"],
                        f"RESOLVE-{row['resolve_note_id']}",
                    ),
                )


def _raise(authority, child):
    return raise_challenge(
        authority,
        child,
        concern="Statutory visits have not taken place for nine weeks.",
        impact_on_child="The child has not been seen alone, and says so, with a comma.",
        themes=["voice_of_child"],
        on=dt.date.today() - dt.timedelta(days=3),
    )


def test_case_notes_load_into_an_lcs_shaped_table_once_each(authority, child, tmp_path):
    exporter = authority.staff["principal_social_worker"]
    challenge = _raise(authority, child)
    delivery = footprint_export(user=exporter, folder=tmp_path)
    notes = list(CaseNote.objects.filter(child=child).order_by("pk"))
    assert delivery.notes == len(notes) >= 1 and delivery.children == 1
    db = sqlite3.connect(":memory:")
    db.execute(LCS_TABLE)
    _load_into_lcs(db, tmp_path)
    loaded = db.execute(
        "SELECT person_id, note_type, note_date, author, note_text FROM lcs_case_notes"
    ).fetchall()
    assert loaded == [
        (child.case_number, note.note_type, note.on.isoformat(), "Isla Reid", note.body) for note in notes
    ]
    # The JSON file of the day holds the same notes.
    [json_file] = tmp_path.glob("resolve-case-notes-*.json")
    assert [row["text"] for row in json.loads(json_file.read_text())["notes"]] == [
        note.body for note in notes
    ]
    # The IRO challenge summary: one row per challenge of the child.
    [summary] = tmp_path.glob("resolve-iro-challenge-summary-*.csv")
    [row] = list(csv.DictReader(summary.open(encoding="utf-8", newline="")))
    assert (row["case_number"], row["challenge_id"], row["status"]) == (
        child.case_number,
        str(challenge.pk),
        "open",
    )
    assert row["summary"].startswith("Independent Reviewing Officer challenge raised")

    # Again: nothing new, nothing sent, nothing duplicated.
    assert footprint_export(user=exporter, folder=tmp_path).notes == 0
    # A new note goes in the next delivery only.
    child_allocate(
        user=authority.staff["admin"], child_id=child.pk, social_worker="social_worker_2", iro="iro"
    )
    second = footprint_export(user=exporter, folder=tmp_path)
    assert second.notes == 1
    _load_into_lcs(db, tmp_path)
    assert db.execute("SELECT count(*) FROM lcs_case_notes").fetchone()[0] == len(notes) + 1
    assert FootprintDelivery.objects.count() == 2


def test_each_delivery_is_access_logged_and_scoped_to_the_person_running_it(authority, child, tmp_path):
    _raise(authority, child)
    before = AccessLogEntry.objects.filter(user=authority.staff["principal_social_worker"]).count()
    footprint_export(user=authority.staff["principal_social_worker"], folder=tmp_path)
    logged = AccessLogEntry.objects.filter(user=authority.staff["principal_social_worker"], child=child)
    assert logged.count() == before + 1
    # Someone who sees no records delivers nothing (and moves no cursor).
    other = tmp_path / "other"
    other.mkdir()
    assert footprint_export(user=authority.staff["admin"], folder=other).notes == 0
    assert not list(other.iterdir())


def test_the_command_writes_to_the_configured_folder(authority, child, tmp_path, settings, capsys):
    _raise(authority, child)
    settings.RESOLVE_CASE_SYSTEM_DIR = str(tmp_path)
    call_command("export_case_notes", user="principal_social_worker")
    assert "Delivered" in capsys.readouterr().out
    call_command("export_case_notes", user="principal_social_worker")
    assert "No case notes written since the last delivery." in capsys.readouterr().out
