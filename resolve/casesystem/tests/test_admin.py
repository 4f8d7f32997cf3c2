"""The administrator's import page: a dry run shows the report row by row, an import applies it."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from resolve.casesystem.models import ImportRun
from resolve.children.models import Child

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
PAGE = "/admin/casesystem/importrun/add/"


def _uploads() -> list[SimpleUploadedFile]:
    return [
        SimpleUploadedFile(path.name, path.read_bytes(), content_type="text/csv")
        for path in sorted((SAMPLES / "lcs").iterdir())
    ]


def test_the_administrator_checks_then_imports_an_export(authority):
    client = Client()
    client.force_login(authority.staff["admin"])
    assert client.get(PAGE).status_code == 200
    dry = client.post(PAGE, {"mapping": "lcs-example", "export": _uploads()})
    page = dry.content.decode()
    assert dry.status_code == 200
    assert "Dry run: nothing written" in page and "lcs_children.csv row 2 (LCS200100): new child." in page
    assert not Child.objects.exists()
    done = client.post(PAGE, {"mapping": "lcs-example", "export": _uploads(), "apply": "on"})
    assert "Imported: 38 new" in done.content.decode()
    assert Child.objects.count() == 36
    listing = client.get("/admin/casesystem/importrun/")
    assert listing.status_code == 200 and "Applied" in listing.content.decode()
    assert list(ImportRun.objects.values_list("outcome", flat=True)) == ["applied", "checked"]


def test_a_refused_row_is_shown_and_nothing_is_imported(authority):
    client = Client()
    client.force_login(authority.staff["admin"])
    bad = SimpleUploadedFile(
        "lcs_children.csv",
        b"Person ID,Forename,Surname,DOB,Allocated Worker,IRO,CP Chair,Legal Status\n"
        b"LCS900001,Ann,Lee,01/02/2015,social_worker,nobody,,CLA\n",
    )
    page = client.post(PAGE, {"mapping": "lcs-example", "export": [bad], "apply": "on"}).content.decode()
    assert "Refused: nothing imported" in page
    assert "IRO: there is nobody called &#x27;nobody&#x27;" in page
    assert not Child.objects.exists()


def test_others_do_not_see_the_import_page(authority):
    client = Client()
    client.force_login(authority.staff["team_manager"])
    assert client.get(PAGE).status_code in {302, 403}
    assert not Child.objects.exists()
