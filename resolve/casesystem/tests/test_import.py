"""Importing a case system's export: dry run, apply, re-import, refusals, all or nothing.

Issue 15: "nobody will type in children and staff"; "a dry run that reports row by row what would be
created, changed or refused and why (bad dates, unknown team, duplicate case number, a leaver still
allocated); an idempotent apply that writes events for every change of allocation"; "bad files get a
report naming the row and column, and nothing half-imported".
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from resolve.casesystem.mapping import MappingError, mapping_load, mapping_parse
from resolve.casesystem.models import ImportRun, LegalStatus
from resolve.casesystem.services import LEGAL_STATUS_NOTE, _rows_insert, records_import
from resolve.children.models import CaseNote, Child
from resolve.children.services import ALLOCATION_NOTE
from resolve.core.errors import ServiceError
from resolve.people.models import Post, Team

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def _files(folder: str) -> list[tuple[str, bytes]]:
    return [(path.name, path.read_bytes()) for path in sorted((SAMPLES / folder).iterdir())]


def _snapshot() -> tuple[int, ...]:
    return (
        Team.objects.count(),
        User.objects.count(),
        Post.objects.count(),
        Child.objects.count(),
        CaseNote.objects.count(),
        LegalStatus.objects.count(),
    )


def _lcs(**rows: str) -> list[tuple[str, bytes]]:
    """A small LCS-style export: the files given (name → CSV text)."""
    return [(name, text.encode()) for name, text in rows.items()]


CHILDREN_HEADER = "Person ID,Forename,Surname,DOB,Allocated Worker,IRO,CP Chair,Legal Status\n"


def test_a_dry_run_reports_every_row_and_writes_nothing_but_its_record(authority):
    admin = authority.staff["admin"]
    before = _snapshot()
    report = records_import(user=admin, mapping=mapping_load("lcs-example"), files=_files("lcs"), apply=False)
    assert _snapshot() == before
    assert not report.applied and not report.refused
    assert report.count("create") == 36 + 1 + 1  # the children, the leaver and her post
    text = report.text()
    assert "dry run: nothing written" in text
    assert "lcs_children.csv row 2 (LCS200100): new child." in text
    assert "lcs_workers.csv row 21 (former_iro): new member of staff (has left)." in text
    run = ImportRun.objects.get()
    assert run.outcome == ImportRun.Outcome.CHECKED and run.by == admin and "sha256" in run.files


def test_apply_imports_the_lcs_sample_and_importing_it_again_changes_nothing(authority):
    admin = authority.staff["admin"]
    mapping = mapping_load("lcs-example")
    report = records_import(user=admin, mapping=mapping, files=_files("lcs"), apply=True)
    assert report.applied, report.text()
    amelia = Child.objects.get(case_number="LCS200100")
    assert (amelia.first_name, amelia.date_of_birth) == ("Amelia", dt.date(2008, 1, 1))
    assert (
        amelia.social_worker.username == "social_worker_2"
        and amelia.team.name == "Safeguarding and Family Support Team"
    )
    assert amelia.legal_status.status == "looked_after"
    assert Child.objects.get(case_number="LCS200101").legal_status.status == "child_protection"
    leaver = User.objects.get(username="former_iro")
    assert not leaver.is_active and not leaver.has_usable_password()
    before = _snapshot()
    again = records_import(user=admin, mapping=mapping, files=_files("lcs"), apply=True)
    assert again.applied
    assert again.count("create") == again.count("change") == 0
    assert _snapshot() == before


def test_a_change_of_allocation_goes_through_the_allocation_service_and_is_on_the_record(authority):
    admin = authority.staff["admin"]
    mapping = mapping_load("lcs-example")
    records_import(user=admin, mapping=mapping, files=_files("lcs"), apply=True)
    assert not CaseNote.objects.exists()
    report = records_import(user=admin, mapping=mapping, files=_files("lcs-changes"), apply=True)
    assert report.applied and report.count("change") == 2, report.text()
    noah = Child.objects.get(case_number="LCS200101")
    assert noah.social_worker.username == "social_worker_2"
    note = CaseNote.objects.get(child=noah, note_type=ALLOCATION_NOTE)
    assert "Social worker: Sophie Walker to Sean Walsh" in note.body and note.author == admin
    # The same export again: the allocation is already so, and nothing more is written.
    before = _snapshot()
    assert (
        records_import(user=admin, mapping=mapping, files=_files("lcs-changes"), apply=True).count("change")
        == 0
    )
    assert _snapshot() == before


def test_a_change_of_legal_status_is_written_on_the_record(authority):
    admin = authority.staff["admin"]
    mapping = mapping_load("lcs-example")
    records_import(user=admin, mapping=mapping, files=_files("lcs"), apply=True)
    export = _lcs(
        **{
            "lcs_allocations.csv": "Person ID,Allocated Worker,IRO,CP Chair,Legal Status\n"
            "LCS200100,social_worker_2,iro,,CIN\n"
        }
    )
    report = records_import(user=admin, mapping=mapping, files=export, apply=True)
    assert "legal status: Looked after to Child in need" in report.text()
    child = Child.objects.get(case_number="LCS200100")
    assert child.legal_status.status == "child_in_need"
    assert CaseNote.objects.filter(child=child, note_type=LEGAL_STATUS_NOTE).count() == 1


def test_the_mosaic_sample_workbook_imports(authority):
    admin = authority.staff["admin"]
    path = SAMPLES / "mosaic" / "mosaic_export.xlsx"
    report = records_import(
        user=admin, mapping=mapping_load("mosaic-example"), files=[(path.name, path.read_bytes())], apply=True
    )
    assert report.applied, report.text()
    assert Child.objects.filter(case_number__startswith="MOS").count() == 12
    child = Child.objects.get(case_number="MOS31001")
    assert child.cp_chair is not None and child.cp_chair.username == "M1006"
    assert child.legal_status.status == "child_protection"
    assert not User.objects.get(username="M1010").is_active  # END_DATE 31-Jan-2025


def test_bad_rows_are_refused_by_row_and_column_and_nothing_is_half_imported(authority):
    admin = authority.staff["admin"]
    export = _lcs(
        **{
            "lcs_teams.csv": "Team Name,Team Type\nNew Team,Social Work\n",
            "lcs_worker_roles.csv": "Worker ID,Role,Team Name\nsocial_worker,SW,Nowhere Team\n",
            "lcs_children.csv": CHILDREN_HEADER
            + "LCS900001,Ann,Lee,31/02/2015,social_worker,iro,,CLA\n"  # no 31 February
            + "LCS900002,Bea,Lee,01/02/2015,social_worker,iro,,CLA\n"
            + "lcs900002,Bea,Lee,01/02/2015,social_worker,iro,,CLA\n"  # the same case number again
            + "LCS900003,Cal,Lee,01/02/2015,social_worker,iro,,XYZ\n"  # not in the code list
            + "LCS900004,Dee,Lee,01/02/2015,nobody_here,iro,,CLA\n",
        }
    )
    before = _snapshot()
    report = records_import(user=admin, mapping=mapping_load("lcs-example"), files=export, apply=True)
    assert not report.applied and report.refused
    assert _snapshot() == before  # the acceptable rows were not imported either
    text = report.text()
    assert "Nothing imported" in text
    assert (
        "lcs_worker_roles.csv row 2" in text and "Team Name: there is no team called 'Nowhere Team'" in text
    )
    assert (
        "lcs_children.csv row 2 (LCS900001): refused. DOB: '31/02/2015' is not a date in the form DD/MM/YYYY."
        in text
    )
    assert (
        "lcs_children.csv row 4 (LCS900002): refused. "
        "Person ID: 'LCS900002' is also on lcs_children.csv row 3" in text
    )
    assert "row 5 (LCS900003): refused. Legal Status: 'XYZ' is not in the mapping's code list" in text
    assert "row 6 (LCS900004): refused. Allocated Worker: there is nobody called 'nobody_here'" in text
    assert ImportRun.objects.get().outcome == ImportRun.Outcome.REFUSED


def test_a_leaver_still_allocated_is_refused(authority, child):
    """The export says the child's social worker has left, but leaves the child allocated to her."""
    admin = authority.staff["admin"]
    export = _lcs(
        **{
            "lcs_workers.csv": "Worker ID,Forename,Surname,Email Address,End Date\n"
            "social_worker,Sophie,Walker,social_worker@resolve.invalid,01/01/2025\n",
            "lcs_children.csv": CHILDREN_HEADER + "LCS900010,Eve,Lee,01/02/2015,social_worker,iro,,CLA\n",
        }
    )
    report = records_import(user=admin, mapping=mapping_load("lcs-example"), files=export, apply=True)
    assert not report.applied
    text = report.text()
    assert (
        "lcs_workers.csv row 2 (social_worker): refused. social_worker left on 1 January 2025 but is still "
        "allocated to 1 child(ren) (LCS100001)" in text
    )
    assert (
        "lcs_children.csv row 2 (LCS900010): refused. "
        "Allocated Worker: social_worker has left on 1 January 2025" in text
    )
    assert User.objects.get(username="social_worker").is_active
    # Reallocating the child in the same export lets the leaver go.
    export = _lcs(
        **{
            "lcs_workers.csv": "Worker ID,Forename,Surname,Email Address,End Date\n"
            "social_worker,Sophie,Walker,social_worker@resolve.invalid,01/01/2025\n",
            "lcs_allocations.csv": "Person ID,Allocated Worker,IRO,CP Chair,Legal Status\n"
            "LCS100001,social_worker_2,iro,cp_chair,CP\n",
        }
    )
    report = records_import(user=admin, mapping=mapping_load("lcs-example"), files=export, apply=True)
    assert report.applied, report.text()
    assert not User.objects.get(username="social_worker").is_active
    child.refresh_from_db()
    assert child.social_worker.username == "social_worker_2"


def test_a_missing_column_is_a_file_problem_naming_the_column(authority):
    export = _lcs(**{"lcs_children.csv": "Person ID,Forename,Surname\nLCS1,A,B\n", "notes.csv": "x\n"})
    report = records_import(
        user=authority.staff["admin"], mapping=mapping_load("lcs-example"), files=export, apply=True
    )
    assert not report.applied
    text = report.text()
    assert "File problem: lcs_children.csv: row 1 has no column 'DOB', 'Allocated Worker'" in text
    assert "File problem: notes.csv: matches none of the mapping's file names" in text


def test_only_an_administrator_imports(authority):
    with pytest.raises(ServiceError) as refused:
        records_import(
            user=authority.staff["team_manager"],
            mapping=mapping_load("lcs-example"),
            files=_files("lcs"),
            apply=True,
        )
    assert refused.value.kind == "forbidden"
    assert not Child.objects.exists()


def test_a_bad_mapping_is_refused_naming_the_key():
    good: dict[str, Any] = {"source": {"name": "x", "system": "x", "status": "example", "reference": "x"}}
    cases: list[tuple[dict[str, Any], str]] = [
        (
            {**good, "children": {"columns": {"case_number": "ID"}}},
            "[children]: columns.first_name is required",
        ),
        (
            {**good, "teams": {"columns": {"name": "N", "kind": "K"}, "codes": {"kind": {"A": "castle"}}}},
            "codes.kind.A: 'castle'",
        ),
        ({**good, "date_formats": ["%Q"]}, "date_formats: '%Q' is not a date format"),
        ({**good, "teamz": {}}, "[teamz] is not a section"),
        ({"source": {**good["source"], "status": "official"}, "teams": {}}, "source.status must be"),
    ]
    for data, message in cases:
        with pytest.raises(
            MappingError, match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")
        ):
            mapping_parse(data, key="t", where="t.toml")


def test_the_command_reports_and_refuses_with_a_non_zero_exit(authority, tmp_path, capsys):
    bad = tmp_path / "lcs_children.csv"
    bad.write_text(CHILDREN_HEADER + "LCS900001,Ann,Lee,not a date,social_worker,iro,,CLA\n")
    with pytest.raises(CommandError, match="1 refused"):
        call_command("import_records", str(bad), mapping="lcs-example", user="admin", apply=True)
    assert "DOB: 'not a date' is not a date in the form DD/MM/YYYY" in capsys.readouterr().out
    call_command("import_records", str(SAMPLES / "lcs"), mapping="lcs-example", user="admin", apply=True)
    assert Child.objects.count() == 36


def test_new_rows_go_through_the_orm_when_the_table_has_columns_the_import_does_not_fill(authority, child):
    """The fast insert writes exactly the columns it names; a table with more (a column added later,
    with a default only Python knows) is written through the ORM instead, defaults and all."""
    _rows_insert(
        LegalStatus, ["child_id", "status", "updated_at"], [(child.pk, "child_in_need")], stamped=True
    )
    status = LegalStatus.objects.get(child=child)
    assert (status.status, status.was_looked_after) == ("child_in_need", False)
