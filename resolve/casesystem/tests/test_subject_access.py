"""A subject access export: everything held about a child, as a zip with a readable index.

Issue 15: "a subject access export of everything held about a child (records, case notes, documents,
who viewed them) as a zip with a readable index".
"""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
from django.core.management import call_command

from resolve.access import NotVisible, child_get_for_user
from resolve.audit.models import AccessLogEntry
from resolve.casesystem.subject_access import subject_access_export
from resolve.core.errors import ServiceError
from resolve.testing.challenges import raise_challenge

pytestmark = pytest.mark.django_db


def test_the_export_holds_the_record_notes_challenges_and_who_viewed_them(authority, child):
    challenge = raise_challenge(
        authority,
        child,
        procedure_key="national",
        concern="Amelia has not been visited.",
        impact_on_child="Amelia feels forgotten.",
        themes=["voice_of_child"],
    )
    child_get_for_user(user=authority.staff["team_manager"], case_number=child.case_number)
    manager = authority.staff["iro_service_manager"]
    name, content = subject_access_export(user=manager, case_number=child.case_number)
    assert name.startswith(f"subject-access-{child.case_number}-") and name.endswith(".zip")
    archive = zipfile.ZipFile(io.BytesIO(content))
    names = set(archive.namelist())
    assert {"index.html", "record.json", "case-notes.csv", "who-viewed.csv", "break-glass.csv"} <= names
    assert f"challenges/challenge-{challenge.pk}.json" in names
    index = archive.read("index.html").decode()
    assert "Everything Resolve holds about Amelia Jones" in index and 'href="case-notes.csv"' in index
    assert json.loads(archive.read("record.json"))["first_name"] == "Amelia"
    notes = list(csv.DictReader(io.StringIO(archive.read("case-notes.csv").decode())))
    assert notes and notes[0]["author"] == "Isla Reid"
    form = json.loads(archive.read(f"challenges/challenge-{challenge.pk}.json"))
    assert form["concern"] == "Amelia has not been visited." and form["events"][0]["type"] == "raised"
    viewed = list(csv.DictReader(io.StringIO(archive.read("who-viewed.csv").decode())))
    assert "Tom Mitchell" in {row["who"] for row in viewed}
    # The export is itself a look at the record, and logged.
    assert AccessLogEntry.objects.filter(user=manager, child=child).exists()


def test_only_those_who_review_access_export_and_only_children_they_see(authority, child, tmp_path):
    with pytest.raises(ServiceError):
        subject_access_export(user=authority.staff["social_worker"], case_number=child.case_number)
    with pytest.raises(NotVisible):
        subject_access_export(user=authority.staff["iro_service_manager"], case_number="NOSUCH1")
    call_command("subject_access_export", child.case_number, user="iro_service_manager", out=str(tmp_path))
    assert len(list(tmp_path.glob("subject-access-*.zip"))) == 1
