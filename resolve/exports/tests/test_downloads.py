"""Every document from the pages and the API: signed in, scoped like its page, logged as an export."""

from __future__ import annotations

import io
from typing import Any

import docx
import pytest
from pypdf import PdfReader

from resolve.audit.models import AccessLogEntry
from resolve.exports.selectors import stage_notes
from resolve.exports.services import sent_forms_file
from resolve.testing.challenges import raise_challenge

pytestmark = pytest.mark.django_db

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _urls(challenge, case_number):
    return {
        f"/challenges/{challenge.pk}/download/form.docx": DOCX,
        f"/challenges/{challenge.pk}/download/form.pdf": "application/pdf",
        f"/challenges/{challenge.pk}/download/directors-briefing.docx": DOCX,
        f"/challenges/{challenge.pk}/download/directors-briefing.pdf": "application/pdf",
        f"/children/{case_number}/download/chronology.pdf": "application/pdf",
    }


class TestPages:
    def test_the_challenge_page_has_a_download_section(self, client, authority, journey):
        sent_forms_file()
        client.force_login(authority.staff["iro"])
        html = client.get(f"/challenges/{journey.pk}/").content.decode()
        assert '<h2 class="govuk-heading-m" id="downloads-heading">Download</h2>' in html
        for url in _urls(journey, "LCS100001"):
            assert f'href="{url}"' in html
        note, _ = stage_notes(challenge=journey)[1]
        assert f'href="/challenges/{journey.pk}/download/form-as-sent/{note.pk}.docx"' in html
        assert "Challenge and Resolution Form - Stage 1 (Team Manager), 22 December 2026 (Word)" in html

    def test_the_child_page_offers_the_chronology(self, client, authority, journey):
        client.force_login(authority.staff["iro"])
        html = client.get("/children/LCS100001/").content.decode()
        assert 'href="/children/LCS100001/download/chronology.pdf"' in html

    def test_each_file_has_its_type_a_dated_filename_and_is_never_cached(self, client, authority, journey):
        client.force_login(authority.staff["iro"])
        for url, content_type in _urls(journey, "LCS100001").items():
            response = client.get(url)
            assert response.status_code == 200, url
            assert response["Content-Type"] == content_type
            disposition = response["Content-Disposition"]
            assert disposition.startswith('attachment; filename="') and "_LCS100001_20" in disposition
            assert response["Cache-Control"] == "no-store"

    def test_signed_out_gets_the_sign_in_page_not_the_file(self, client, journey):
        for url in _urls(journey, "LCS100001"):
            response = client.get(url)
            assert response.status_code == 302 and response["Location"].startswith("/sign-in/"), url

    def test_someone_who_may_not_see_the_child_gets_404(self, client, authority, journey):
        client.force_login(authority.staff["admin"])  # adds children, sees no record
        for url in _urls(journey, "LCS100001"):
            assert client.get(url).status_code == 404, url
        note, _ = stage_notes(challenge=journey)[0]
        assert client.get(f"/challenges/{journey.pk}/download/form-as-sent/{note.pk}.docx").status_code == 404

    def test_a_download_is_logged_as_an_export_with_its_address(self, client, authority, journey):
        client.force_login(authority.staff["director"])
        client.get(f"/challenges/{journey.pk}/download/form.pdf")
        entry = AccessLogEntry.objects.latest("pk")
        assert entry.channel == "export"
        assert entry.path == f"/challenges/{journey.pk}/download/form.pdf"
        assert entry.user == authority.staff["director"] and entry.challenge_id == journey.pk

    def test_a_challenge_without_a_briefing_has_none_to_download(self, client, authority, child, frozen):
        challenge = raise_challenge(
            authority,
            child,
            procedure_key="challenge_and_resolution",
            concern="Visits missed.",
            impact_on_child="Not seen alone.",
        )
        client.force_login(authority.staff["iro"])
        html = client.get(f"/challenges/{challenge.pk}/").content.decode()
        assert "directors-briefing" not in html
        assert client.get(f"/challenges/{challenge.pk}/download/directors-briefing.pdf").status_code == 404


class TestApi:
    def test_the_same_files_through_the_api(self, api_as, journey):
        api = api_as("iro")
        for path, content_type in {
            f"/challenges/{journey.pk}/form.docx": DOCX,
            f"/challenges/{journey.pk}/form.pdf": "application/pdf",
            f"/challenges/{journey.pk}/directors-briefing.docx": DOCX,
            f"/challenges/{journey.pk}/directors-briefing.pdf": "application/pdf",
            "/children/LCS100001/chronology.pdf": "application/pdf",
        }.items():
            response = api.get(path)
            assert response.status_code == 200, (path, response.content[:300])
            assert response["Content-Type"] == content_type
            assert "_LCS100001_20" in response["Content-Disposition"]
            assert response["Cache-Control"].startswith("no-store")
        entry = AccessLogEntry.objects.latest("pk")
        assert entry.channel == "export" and entry.path == "/api/v1/children/LCS100001/chronology.pdf"

    def test_sent_forms_are_listed_with_their_hashes_and_served(self, api_as, journey):
        sent_forms_file()
        api = api_as("iro")
        rows = api.get(f"/challenges/{journey.pk}/sent-forms").json()
        assert [row["stage"] for row in rows] == [
            "Informal Process",
            "Stage 1: Team Manager",
            "Stage 4: joint Heads of Service meeting overseen by the Director of Children's Services",
        ]
        assert all(row["filed"] and len(row["sha256"]) == 64 for row in rows)
        response = api.get(rows[1]["download"].removeprefix("/api/v1"))
        assert response.status_code == 200
        text = "\n".join(p.text for p in docx.Document(io.BytesIO(response.content)).paragraphs)
        assert "As sent at Stage 1: Team Manager on 22 December 2026" in text

    def test_out_of_scope_answers_404_in_the_error_shape(self, api_as, journey):
        response = api_as("admin").get(f"/challenges/{journey.pk}/form.pdf")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
        assert api_as("admin").get("/children/LCS100001/chronology.pdf").status_code == 404

    def test_a_bad_id_is_a_422_naming_the_field(self, api_as):
        response = api_as("iro").get("/challenges/0/form.pdf")
        assert response.status_code == 422

    def test_the_openapi_document_names_each_route_and_its_content_type(self, api_as):
        spec = api_as("iro").get("/openapi.json").json()
        form = spec["paths"]["/api/v1/challenges/{challenge_id}/form.pdf"]["get"]
        assert "application/pdf" in form["responses"]["200"]["content"]
        assert "/api/v1/children/{case_number}/chronology.pdf" in spec["paths"]
        assert "/api/v1/challenges/{challenge_id}/sent-forms/{case_note_id}.docx" in spec["paths"]

    def test_pdfs_from_the_api_are_real_pdfs(self, api_as, journey):
        response = api_as("director").get(f"/challenges/{journey.pk}/directors-briefing.pdf")
        reader: Any = PdfReader(io.BytesIO(response.content))
        assert "Case Briefing for Deputy Director/DCS" in reader.pages[0].extract_text()
