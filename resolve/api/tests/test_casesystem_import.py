"""POST /api/v1/imports: the case system's bulk import for administrators, dry run and apply."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from resolve.api.tests.helpers import refused, unchanged
from resolve.children.models import Child

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).resolve().parents[2] / "casesystem" / "samples"


def _lcs_files() -> list[dict[str, str]]:
    return [
        {"name": path.name, "content": path.read_text(encoding="utf-8")}
        for path in sorted((SAMPLES / "lcs").iterdir())
    ]


def test_a_dry_run_then_apply_then_again(api_as):
    admin = api_as("admin")
    with unchanged():
        dry = admin.post("/imports", {"mapping": "lcs-example", "files": _lcs_files()})
    assert dry.status_code == 200, dry.content
    body = dry.json()
    assert body["applied"] is False and body["refused"] is False
    assert body["counts"]["create"] == 38
    assert body["rows"][0]["action"] == "create"
    applied = admin.post("/imports", {"mapping": "lcs-example", "apply": True, "files": _lcs_files()})
    assert applied.status_code == 200 and applied.json()["applied"] is True
    assert Child.objects.count() == 36
    again = admin.post("/imports", {"mapping": "lcs-example", "apply": True, "files": _lcs_files()})
    assert again.json()["counts"] == {"create": 0, "change": 0, "unchanged": 80, "refuse": 0}
    assert again.json()["rows"] == []


def test_an_xlsx_workbook_goes_as_base64(api_as):
    content = base64.b64encode((SAMPLES / "mosaic" / "mosaic_export.xlsx").read_bytes()).decode()
    answer = api_as("admin").post(
        "/imports",
        {
            "mapping": "mosaic-example",
            "apply": True,
            "files": [{"name": "export.xlsx", "content_base64": content}],
        },
    )
    assert answer.status_code == 200, answer.content
    assert Child.objects.filter(case_number__startswith="MOS").count() == 12


def test_a_refused_import_answers_422_with_the_report_and_writes_nothing(api_as):
    files = [
        {
            "name": "lcs_children.csv",
            "content": "Person ID,Forename,Surname,DOB,Allocated Worker,IRO,CP Chair,Legal Status\n"
            "LCS900001,Ann,Lee,2015-02-01,social_worker,iro,,CLA\n"
            "LCS900002,Bea,Lee,01/02/2015,social_worker,iro,,CLA\n",
        }
    ]
    with unchanged():
        answer = api_as("admin").post("/imports", {"mapping": "lcs-example", "apply": True, "files": files})
    assert answer.status_code == 422
    body = answer.json()
    assert body["error"]["code"] == "import_refused" and body["error"]["field"] == "files"
    row = body["report"]["rows"][0]
    assert (row["row"], row["action"]) == (2, "refuse")
    assert row["problems"] == [
        {"column": "DOB", "message": "'2015-02-01' is not a date in the form DD/MM/YYYY."}
    ]
    assert not Child.objects.exists()


def test_bad_requests_name_the_field(api_as):
    admin = api_as("admin")
    with unchanged():
        refused(
            lambda: api_as("team_manager").post(
                "/imports", {"mapping": "lcs-example", "files": _lcs_files()}
            ),
            403,
        )
        refused(
            lambda: admin.post("/imports", {"mapping": "nope", "files": _lcs_files()}), 422, "unknown_mapping"
        )
        refused(
            lambda: admin.post("/imports", {"mapping": "lcs-example", "files": [{"name": "a.csv"}]}),
            422,
            "content",
        )
        refused(
            lambda: admin.post(
                "/imports", {"mapping": "lcs-example", "files": [{"name": "a.xlsx", "content_base64": "***"}]}
            ),
            422,
            "bad_base64",
        )
        refused(lambda: admin.post("/imports", {"mapping": "lcs-example", "files": []}), 422)
