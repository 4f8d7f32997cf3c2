"""The Cafcass referral pack of a referral made with no challenge: the same checklist, uploads and zip
as a challenge's pack, reached through the child it is of.

Seed 000: "Alongside or out with the Outcome Resolution the IRO can consider whether to make a
referral to Cafcass". Seed 003, "Referral to CAFCASS": the IRO provides "A report by the IRO explaining
why the matter is being referred at this stage and setting out what steps the IRO has taken to resolve
the position with the Local Authority", "a report by the IRO on the child's wishes and feelings",
"Names and contact details for relevant professionals" and "The most recent Care Plan".
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import subprocess
import zipfile
from typing import Any

import docx
import pytest
import time_machine
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from pypdf import PdfReader

from resolve.access import NotVisible
from resolve.access.context import AccessContext, access_context
from resolve.audit.models import AccessLogEntry
from resolve.challenges import services
from resolve.challenges.models import CafcassReferral
from resolve.core.errors import ServiceError
from resolve.exports.downloads import referral_pack_download
from resolve.exports.models import PackDocument
from resolve.exports.selectors import referral_pack_for_user
from resolve.exports.services import referral_pack_document_add
from resolve.exports.tests.conftest import PDF, api_documents_uploaded, first_page_png, save
from resolve.testing.agreements import REFERRAL_APPROVALS, REFERRAL_CHECKLIST, child_agreements_confirmed

pytestmark = pytest.mark.django_db

TODAY = dt.date(2027, 3, 1)
REASON = "The permanence plan has drifted for a year and the authority has not acted."


def _refer(staff: Any, child: Any) -> CafcassReferral:
    """The agreements the procedure asks for, then the referral of the child's case with no challenge."""
    with time_machine.travel(dt.datetime(2027, 2, 25, 10), tick=False):
        child_agreements_confirmed(staff=staff, child_id=child.pk, people=REFERRAL_APPROVALS)
    with time_machine.travel(dt.datetime(2027, 2, 26, 10), tick=False):
        return services.child_refer_to_cafcass(
            user=staff["iro"], child_id=child.pk, reason=REASON, checklist=REFERRAL_CHECKLIST, urgent=True
        )


@pytest.fixture
def referral(authority: Any, child: Any, settings: Any) -> CafcassReferral:
    """A challenge raised and escalated about the child, then a referral of the child's case with no
    challenge."""
    settings.RESOLVE_DEFAULT_POLICY = "challenge_and_resolution"
    staff = authority.staff
    with time_machine.travel(dt.datetime(2027, 2, 15, 10), tick=False):
        challenge = services.challenge_raise(
            user=staff["iro"],
            child=child,
            track="iro",
            procedure_key="challenge_and_resolution",
            concern="Statutory visits have not happened since August.",
            impact_on_child="The child has not been seen alone.",
            on=dt.date(2027, 2, 15),
        )
    with time_machine.travel(dt.datetime(2027, 2, 16, 10), tick=False):
        services.challenge_escalate(
            user=staff["iro"], challenge_id=challenge.pk, reason="No reply from the social worker."
        )
    return _refer(staff, child)


def _upload(authority: Any, referral: CafcassReferral, item: str, name: str = "d.pdf", content: bytes = PDF):
    return referral_pack_document_add(
        user=authority.staff["iro"],
        child_id=int(referral.child_id),  # type: ignore[arg-type]
        referral_id=referral.pk,
        item=item,
        filename=name,
        content=content,
    )


class TestService:
    def test_an_upload_is_kept_against_the_referral_with_its_hash(self, authority, referral):
        document = _upload(authority, referral, "recent_care_plan", "Care plan (May).pdf")
        assert document.referral_id == referral.pk and document.challenge_id is None
        assert document.filename == "Care plan _May_.pdf" and document.content_type == "application/pdf"
        assert document.sha256 == hashlib.sha256(PDF).hexdigest() and document.size == len(PDF)
        assert _upload(authority, referral, "recent_care_plan").pk == document.pk  # a retry keeps one

    @pytest.mark.parametrize(
        ("name", "content", "words"),
        [
            ("plan.pdf", b"", "The file is empty"),
            ("plan.exe", b"MZ\x90\x00", "must be a PDF, a Word document (.docx), a JPEG or a PNG"),
            ("plan.docx", PDF, "is a PDF file but its name does not end in .pdf"),
            ("plan.pdf", b"%PDF-" + b"x" * 10_000_001, "upload a file of up to 10 MB"),
        ],
    )
    def test_bad_files_are_refused_naming_the_field(self, authority, referral, name, content, words):
        with pytest.raises(ServiceError) as refused:
            _upload(authority, referral, "recent_care_plan", name, content)
        assert refused.value.field == "file" and words in refused.value.message
        assert PackDocument.objects.count() == 0

    def test_an_item_not_on_the_checklist_is_refused(self, authority, referral):
        with pytest.raises(ServiceError) as refused:
            _upload(authority, referral, "birth_certificate")
        assert refused.value.field == "item" and "recent_care_plan" in refused.value.message

    def test_only_those_who_may_refer_upload_and_only_within_their_scope(self, authority, referral):
        for username, refusal in (("team_manager", ServiceError), ("admin", NotVisible)):
            with pytest.raises(refusal):
                referral_pack_document_add(
                    user=authority.staff[username],
                    child_id=int(referral.child_id),
                    referral_id=referral.pk,
                    item="recent_care_plan",
                    filename="p.pdf",
                    content=PDF,
                )
        assert PackDocument.objects.count() == 0

    def test_a_challenge_s_referral_is_not_reached_through_the_child(self, authority, referral, child):
        with pytest.raises(NotVisible):
            referral_pack_document_add(
                user=authority.staff["iro"],
                child_id=child.pk,
                referral_id=referral.pk + 1000,
                item="recent_care_plan",
                filename="p.pdf",
                content=PDF,
            )

    def test_a_document_belongs_to_a_challenge_or_a_referral(self, authority, referral):
        with pytest.raises(IntegrityError), transaction.atomic():
            PackDocument.objects.create(
                item="recent_care_plan",
                filename="p.pdf",
                content_type="application/pdf",
                content=PDF,
                size=len(PDF),
                sha256=hashlib.sha256(PDF).hexdigest(),
                uploaded_by=authority.staff["iro"],
            )

    def test_the_checklist_and_the_iro_report_come_from_the_referral_and_the_chronology(
        self, authority, referral, child
    ):
        pack = referral_pack_for_user(
            user=authority.staff["iro"], case_number=child.case_number, referral_id=referral.pk, today=TODAY
        )
        assert pack.challenge_id is None and pack.referral_id == referral.pk
        assert pack.referred_on == dt.date(2027, 2, 26) and pack.urgent and pack.reason == REASON
        assert {item.key: item.present for item in pack.items} == {
            "care_order_and_care_plan": False,
            "guardian_report": False,
            "review_records": False,
            "iro_report": True,
            "wishes_and_feelings": False,
            "professional_contacts": True,
            "recent_care_plan": False,
        }
        assert [number for number, *_ in pack.challenges] == [
            f"Challenge {referral.child.challenges.get().pk}"
        ]
        assert any("No reply from the social worker." in words for _, words in pack.steps)
        assert [on for on, _ in pack.steps] == sorted(on for on, _ in pack.steps)
        assert "Oversight and approval of the HoS for Safeguarding" in " ".join(pack.agreed)
        assert {"Independent Reviewing Officer", "Social Worker"} <= {c.role for c in pack.contacts}


class TestDownload:
    def test_a_pack_without_its_required_items_is_refused(self, authority, referral, child):
        with pytest.raises(ServiceError) as refused:
            referral_pack_download(
                user=authority.staff["iro"],
                case_number=child.case_number,
                referral_id=referral.pk,
                today=TODAY,
            )
        assert (
            refused.value.code == "pack_incomplete" and "The most recent Care Plan" in refused.value.message
        )

    def test_the_whole_pack_as_one_zip(self, authority, referral, child):
        _upload(authority, referral, "review_records", "reviews.pdf")
        image = b"\x89PNG\r\n\x1a\n" + b"\x00" * 20
        _upload(authority, referral, "recent_care_plan", "care-plan.png", image)
        before = AccessLogEntry.objects.count()
        with access_context(AccessContext(channel="page", path="/pack")):
            download = referral_pack_download(
                user=authority.staff["iro"],
                case_number=child.case_number,
                referral_id=referral.pk,
                today=TODAY,
            )
        assert set(AccessLogEntry.objects.order_by("pk")[before:].values_list("channel", flat=True)) == {
            "export"
        }
        assert download.content_type == "application/zip"
        assert download.filename == "cafcass-referral-pack_LCS100001_2027-03-01.zip"
        archive = zipfile.ZipFile(io.BytesIO(download.content))
        names = set(archive.namelist())
        assert {"referral.pdf", "chronology.pdf", "wishes-and-feelings-draft.docx", "SHA256SUMS.txt"} <= names
        assert not any(name.startswith("forms/") for name in names)  # no challenge, no form of its own
        uploaded = sorted(name for name in names if name.startswith("documents/"))
        assert len(uploaded) == 2 and archive.read(next(n for n in uploaded if n.endswith(".png"))) == image
        sums = dict(line.split("  ")[::-1] for line in archive.read("SHA256SUMS.txt").decode().splitlines())
        assert set(sums) == names - {"SHA256SUMS.txt"}
        for name in sums:
            assert sums[name] == hashlib.sha256(archive.read(name)).hexdigest(), name

        referral_pdf = archive.read("referral.pdf")
        path = save("cafcass-referral-no-challenge.pdf", referral_pdf)
        reader: Any = PdfReader(io.BytesIO(referral_pdf))
        assert reader.trailer["/Root"]["/Lang"] == "en-GB"
        text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
        assert "Dear Cafcass Legal," in text and REASON in text
        assert "as a matter of urgency" in text
        assert "The steps the IRO has taken to resolve the position with the local authority" in text
        assert "No reply from the social worker." in text and "What we are worried about" not in text
        assert "Professionals' contact details" in text and "To follow" in text and "Present" in text
        first_page_png(path, "cafcass-referral-no-challenge")

        chronology = save("cafcass-referral-no-challenge-chronology.pdf", archive.read("chronology.pdf"))
        chronology_text = subprocess.run(
            ["pdftotext", str(chronology), "-"], capture_output=True, text=True
        ).stdout
        assert "No challenge" in " ".join(chronology_text.split())
        first_page_png(chronology, "cafcass-referral-no-challenge-chronology")

        draft = docx.Document(io.BytesIO(archive.read("wishes-and-feelings-draft.docx")))
        paragraphs = [p.text for p in draft.paragraphs]
        assert "Why the case is being referred to Cafcass" in paragraphs and REASON in paragraphs

    def test_with_no_challenge_about_the_child_the_report_says_so(self, authority, child, settings):
        settings.RESOLVE_DEFAULT_POLICY = "challenge_and_resolution"
        made = _refer(authority.staff, child)
        pack = referral_pack_for_user(
            user=authority.staff["iro"], case_number=child.case_number, referral_id=made.pk, today=TODAY
        )
        assert pack.steps == [] and pack.challenges == [] and pack.actions == []
        _upload(authority, made, "review_records", "reviews.pdf")
        _upload(authority, made, "recent_care_plan", "plan.pdf", PDF + b"plan")
        download = referral_pack_download(
            user=authority.staff["iro"], case_number=child.case_number, referral_id=made.pk, today=TODAY
        )
        referral_pdf = zipfile.ZipFile(io.BytesIO(download.content)).read("referral.pdf")
        text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(referral_pdf)).pages).split())
        assert "no challenge about Amelia Jones is recorded in Resolve" in text


class TestPages:
    def _url(self, referral: CafcassReferral, tail: str = "pack/") -> str:
        return f"/children/LCS100001/cafcass-referrals/{referral.pk}/{tail}"

    def test_the_child_page_and_the_referral_page_link_the_pack(self, client, authority, referral):
        client.force_login(authority.staff["iro"])
        for page in ("/children/LCS100001/", "/children/LCS100001/cafcass-referral/"):
            assert self._url(referral) in client.get(page).content.decode(), page

    def test_the_pack_page_uploads_and_shows_errors_beside_the_field(self, client, authority, referral):
        client.force_login(authority.staff["iro"])
        page = client.get(self._url(referral)).content.decode()
        assert "Cafcass referral pack" in page and "To follow" in page and "with no challenge" in page
        bad = client.post(
            self._url(referral), {"item": "recent_care_plan", "file": SimpleUploadedFile("x.pdf", b"no")}
        )
        assert bad.status_code == 400
        html = bad.content.decode()
        assert "There is a problem" in html and 'id="file-error"' in html and "must be a PDF" in html
        wrong_item = client.post(
            self._url(referral), {"item": "birth", "file": SimpleUploadedFile("p.pdf", PDF)}
        )
        assert wrong_item.status_code == 400 and 'id="item-error"' in wrong_item.content.decode()
        assert PackDocument.objects.count() == 0
        for item in ("recent_care_plan", "review_records"):
            good = client.post(
                self._url(referral),
                {"item": item, "file": SimpleUploadedFile(f"{item}.pdf", PDF + item.encode())},
            )
            assert good.status_code == 302 and good["Location"] == self._url(referral)
        download = client.get(self._url(referral, "download/cafcass-referral-pack.zip"))
        assert download.status_code == 200 and download["Content-Type"] == "application/zip"
        assert download["Cache-Control"] == "no-store"
        assert "documents/recent_care_plan-" in " ".join(
            zipfile.ZipFile(io.BytesIO(download.content)).namelist()
        )

    def test_an_incomplete_pack_download_shows_what_is_missing(self, client, authority, referral):
        client.force_login(authority.staff["iro"])
        refused = client.get(self._url(referral, "download/cafcass-referral-pack.zip"))
        assert refused.status_code == 409 and "The most recent Care Plan" in refused.content.decode()

    def test_someone_who_may_not_see_the_child_gets_404_and_changes_nothing(
        self, client, authority, referral
    ):
        client.force_login(authority.staff["admin"])
        assert client.get(self._url(referral)).status_code == 404
        assert client.get(self._url(referral, "download/cafcass-referral-pack.zip")).status_code == 404
        posted = client.post(
            self._url(referral), {"item": "recent_care_plan", "file": SimpleUploadedFile("p.pdf", PDF)}
        )
        assert posted.status_code == 404 and PackDocument.objects.count() == 0

    def test_someone_who_sees_the_child_but_may_not_refer_may_not_upload(self, client, authority, referral):
        client.force_login(authority.staff["team_manager"])
        page = client.get(self._url(referral))
        assert page.status_code == 200 and 'name="file"' not in page.content.decode()
        assert "Only those who may refer the case to Cafcass" in page.content.decode()
        posted = client.post(
            self._url(referral), {"item": "recent_care_plan", "file": SimpleUploadedFile("p.pdf", PDF)}
        )
        assert posted.status_code == 403 and PackDocument.objects.count() == 0

    def test_a_challenge_s_referral_is_not_a_pack_under_the_child(self, client, authority, referral):
        client.force_login(authority.staff["iro"])
        assert (
            client.get(f"/children/LCS100001/cafcass-referrals/{referral.pk + 1000}/pack/").status_code == 404
        )

    def test_signed_out_the_pack_is_the_sign_in_page(self, client, referral):
        response = client.get(self._url(referral, "download/cafcass-referral-pack.zip"))
        assert response.status_code == 302 and response["Location"].startswith(settings.LOGIN_URL)


class TestApi:
    def test_the_api_uploads_lists_and_serves_the_zip(self, api_as, referral):
        api = api_as("iro")
        headers = {"Authorization": f"Bearer {api.token}"}
        base = f"/cafcass-referrals/{referral.pk}/pack"
        path = f"/api/v1/children/LCS100001{base}/documents"
        incomplete = api.get(f"/children/LCS100001{base}.zip")
        assert incomplete.status_code == 409 and incomplete.json()["error"]["code"] == "pack_incomplete"
        api_documents_uploaded(api, path, headers)
        checklist = api.get(f"/children/LCS100001{base}").json()
        assert checklist["missing"] == [] and checklist["referred_on"] == "2027-02-26"
        assert checklist["download"] == f"/api/v1/children/LCS100001{base}.zip"
        response = api.get(f"/children/LCS100001{base}.zip")
        assert response.status_code == 200 and response["Content-Type"] == "application/zip"
        assert "cafcass-referral-pack_LCS100001_" in response["Content-Disposition"]

    def test_a_retried_upload_with_its_idempotency_key_is_answered_once(self, api_as, referral):
        api = api_as("iro")
        path = f"/api/v1/children/LCS100001/cafcass-referrals/{referral.pk}/pack/documents"
        headers = {"Authorization": f"Bearer {api.token}", "Idempotency-Key": "referral-upload-1"}
        answers = [
            api.client.post(
                path, {"item": "review_records", "file": SimpleUploadedFile("r.pdf", PDF)}, headers=headers
            )
            for _ in range(2)
        ]
        assert [a.status_code for a in answers] == [201, 201]
        assert answers[1]["Idempotent-Replayed"] == "true" and answers[0].json() == answers[1].json()
        assert PackDocument.objects.count() == 1

    def test_someone_who_may_not_see_the_child_gets_404(self, api_as, referral):
        api = api_as("admin")
        base = f"/children/LCS100001/cafcass-referrals/{referral.pk}/pack"
        assert api.get(base).status_code == 404 and api.get(f"{base}.zip").status_code == 404
        posted = api.client.post(
            f"/api/v1{base}/documents",
            {"item": "review_records", "file": SimpleUploadedFile("r.pdf", PDF)},
            headers={"Authorization": f"Bearer {api.token}"},
        )
        assert posted.status_code == 404 and PackDocument.objects.count() == 0


class TestRequestLimits:
    def test_a_large_upload_passes_the_request_limit_on_the_page_and_the_api(self, client, api_as, referral):
        client.force_login(referral.by)
        big = SimpleUploadedFile("reviews.pdf", b"%PDF-" + b"0" * 2_000_000, "application/pdf")
        page = f"/children/LCS100001/cafcass-referrals/{referral.pk}/pack/"
        assert client.post(page, {"item": "review_records", "file": big}).status_code == 302
        api = api_as("iro")
        response = api.client.post(
            f"/api/v1{page}documents",
            {"item": "recent_care_plan", "file": SimpleUploadedFile("p.pdf", b"%PDF-" + b"1" * 2_000_000)},
            headers={"Authorization": f"Bearer {api.token}"},
        )
        assert response.status_code == 201
        assert sorted(PackDocument.objects.values_list("size", flat=True)) == [2_000_005, 2_000_005]

    def test_a_request_past_the_uploads_limit_is_refused_before_it_is_read(self, client, referral):
        client.force_login(referral.by)
        huge = SimpleUploadedFile("reviews.pdf", b"%PDF-" + b"0" * 10_200_000, "application/pdf")
        response = client.post(
            f"/children/LCS100001/cafcass-referrals/{referral.pk}/pack/",
            {"item": "review_records", "file": huge},
        )
        assert response.status_code == 413 and PackDocument.objects.count() == 0
