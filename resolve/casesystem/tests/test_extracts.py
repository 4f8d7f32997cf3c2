"""Nightly extracts for the data warehouse: the tables the reports use, with stable columns, incremental.

Issue 15: "every table the reports use, as CSV (or Parquet) with a documented schema and stable column
names, incremental by a change cursor, through one management command an operator schedules."
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest
from django.core.management import call_command

from resolve.casesystem.extracts import TABLES, extracts_export
from resolve.casesystem.models import ExtractRun
from resolve.challenges import services
from resolve.challenges.engine import AgencyContact
from resolve.testing.challenges import raise_challenge

pytestmark = pytest.mark.django_db

# The promise to the warehouse: these headings, in this order (columns may only be added at the end).
STABLE = {
    "teams": ["id", "name", "kind"],
    "children": [
        "id",
        "case_number",
        "team_id",
        "social_worker_id",
        "iro_id",
        "cp_chair_id",
        "legal_status",
        "created_at",
    ],
    "challenges": [
        "id",
        "child_id",
        "track",
        "procedure",
        "procedure_version",
        "status",
        "raised_by_id",
        "raised_on",
        "themes",
        "stage_key",
        "stage_entered_on",
        "stage_due_on",
        "formal_started_on",
        "formal_due_on",
        "cafcass_referred_on",
        "resolved_on",
        "last_event_on",
        "version",
        "updated_at",
        "agency",
        "agency_kind",
    ],
    "events": ["id", "challenge_id", "sequence", "type", "stage_key", "on", "by_id", "created_at"],
}


def _read(folder: Path, table: str) -> list[dict[str, str]]:
    with (folder / f"{table}.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _raise(authority, child, days_ago: int):
    return raise_challenge(
        authority,
        child,
        concern="Statutory visits have not taken place.",
        impact_on_child="The child has not been seen alone.",
        themes=["voice_of_child", "drift_delay_planning"],
        on=dt.date.today() - dt.timedelta(days=days_ago),
    )


def test_the_first_run_writes_everything_with_its_schema_then_only_changes(authority, child, tmp_path):
    reader = authority.staff["principal_social_worker"]
    challenge = _raise(authority, child, 5)
    first = Path(extracts_export(user=reader, folder=tmp_path).folder)
    for table, headings in STABLE.items():
        with (first / f"{table}.csv").open(encoding="utf-8") as handle:
            assert handle.readline().strip().split(",") == headings
    [row] = _read(first, "challenges")
    assert (row["id"], row["status"], row["themes"]) == (
        str(challenge.pk),
        "open",
        "voice_of_child;drift_delay_planning",
    )
    assert "concern" not in row
    [kid] = _read(first, "children")
    assert kid["case_number"] == child.case_number and "first_name" not in kid
    assert [e["type"] for e in _read(first, "events")] == ["raised"]
    manifest = json.loads((first / "manifest.json").read_text())
    assert [t["table"] for t in manifest["tables"]] == [table.name for table in TABLES]
    assert manifest["rows"]["challenges"] == 1 and manifest["full"] is True

    # Nothing changed: the next run writes the reference tables, and no challenge or event again.
    # (Runs start a few minutes before the last cursor; move the cursor back to see past the overlap.)
    ExtractRun.objects.update(
        challenges_until=ExtractRun.objects.get().challenges_until + dt.timedelta(minutes=10)
    )
    second = Path(extracts_export(user=reader, folder=tmp_path).folder)
    assert _read(second, "challenges") == [] and _read(second, "events") == []
    assert len(_read(second, "teams")) >= 1

    # A change to the challenge: it comes again, with its new event only.
    ExtractRun.objects.update(challenges_until=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    services.challenge_escalate(user=authority.staff["iro"], challenge_id=challenge.pk, reason="No response")
    third = Path(extracts_export(user=reader, folder=tmp_path).folder)
    [row] = _read(third, "challenges")
    assert int(row["version"]) > 1
    assert [e["type"] for e in _read(third, "events")] == ["escalated"]
    assert len(_read(third, "stage_visits")) == 2


def test_a_challenge_to_a_partner_agency_names_the_agency_and_its_kind(authority, child, tmp_path):
    # Seed 000 section 2, "Partner agencies": the warehouse can tell these from the authority's own.
    own = _raise(authority, child, 5)
    agency = raise_challenge(
        authority,
        child,
        procedure_key="multi_agency_escalation",
        concern="The school did not send a report to the review.",
        impact_on_child="Her education needs were not considered.",
        desired_outcome="Send the report to the next review.",
        agency="Brampton Primary School",
        agency_kind="education",
        contact=AgencyContact(name="Ann Hale", role="Class teacher", email="ann.hale@school.example"),
    )
    folder = Path(extracts_export(user=authority.staff["principal_social_worker"], folder=tmp_path).folder)
    rows = {int(row["id"]): row for row in _read(folder, "challenges")}
    assert (rows[agency.pk]["agency"], rows[agency.pk]["agency_kind"]) == (
        "Brampton Primary School",
        "education",
    )
    assert (rows[own.pk]["agency"], rows[own.pk]["agency_kind"]) == ("", "")


def test_the_extract_holds_only_what_the_account_may_see(authority, child, tmp_path):
    _raise(authority, child, 5)
    folder = Path(extracts_export(user=authority.staff["social_worker_2"], folder=tmp_path).folder)
    assert _read(folder, "children") == [] and _read(folder, "challenges") == []


def test_one_command_writes_the_extracts(authority, child, tmp_path, settings, capsys):
    settings.RESOLVE_EXTRACTS_DIR = str(tmp_path)
    call_command("export_extracts", user="principal_social_worker")
    assert "children: 1 rows" in capsys.readouterr().out
    assert ExtractRun.objects.count() == 1
