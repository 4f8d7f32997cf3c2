"""The Cafcass referral pack: uploads checked for type and size and kept with their hash, the checklist
present or to follow, required items enforced, and one zip that holds it all.

Seed 003, "Referral to CAFCASS": the IRO provides "Copies of any final Care Order and the final Care
Plan", "The report of the children's guardian", "The review records from the preceding 12 months", "A
report by the IRO explaining why the matter is being referred at this stage and setting out what steps
the IRO has taken to resolve the position with the Local Authority", "a report by the IRO on the
child's wishes and feelings", "Names and contact details for relevant professionals" and "The most
recent Care Plan".
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import zipfile
from typing import Any

import docx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from pypdf import PdfReader

from resolve.access import NotVisible
from resolve.access.context import AccessContext, access_context
from resolve.audit.models import AccessLogEntry
from resolve.challenges import services
from resolve.core.errors import ServiceError
from resolve.exports.downloads import pack_download
from resolve.exports.models import PackDocument
from resolve.exports.selectors import pack_for_user
from resolve.exports.services import pack_document_add
from resolve.exports.tests.conftest import BRIEFING, PDF, TODAY, api_documents_uploaded, first_page_png, save
from resolve.testing.agreements import agreements_confirmed
from resolve.testing.challenges import raise_challenge

pytestmark = pytest.mark.django_db


@pytest.fixture
def referred(authority, child, frozen):
    staff = authority.staff
    challenge = services.challenge_raise(
        user=staff["iro"],
        child=child,
        track="iro",
        procedure_key="challenge_and_resolution",
        concern="The care plan has not been reviewed for a year.",
        impact_on_child="The child's placement is drifting without a plan.",
        themes=["drift_delay_planning"],
        actions=[services.ActionInput("Review the care plan", "team_manager", TODAY + dt.timedelta(days=7))],
        on=TODAY,
    )
    frozen.shift(dt.timedelta(days=1))
    agreements_confirmed(
        staff=staff, challenge_id=challenge.pk, people={"stage_4": "iro_service_manager"}, purpose="bypass"
    )
    services.challenge_escalate(
        user=staff["iro"],
        challenge_id=challenge.pk,
        to_stage="stage_4",
        reason="No progress at the informal stage.",
        bypass_agreed_by="iro_service_manager",
        directors_briefing=BRIEFING,
    )
    frozen.shift(dt.timedelta(days=1))
    agreements_confirmed(
        staff=staff,
        challenge_id=challenge.pk,
        people={
            "service_manager_approval": "iro_service_manager",
            "hos_safeguarding_approval": "head_of_safeguarding",
        },
    )
    services.challenge_refer_to_cafcass(
        user=staff["iro"],
        challenge_id=challenge.pk,
        reason="The plan for permanence has drifted for a year and the Director has not answered.",
        checklist={
            "care_order_and_care_plan": False,
            "guardian_report": False,
            "review_records": True,
            "iro_report": True,
            "wishes_and_feelings": True,
            "professional_contacts": True,
            "recent_care_plan": True,
        },
        preconditions={
            "service_manager_approval": "iro_service_manager",
            "hos_safeguarding_approval": "head_of_safeguarding",
        },
    )
    return challenge


def _upload(authority, challenge, item, name="document.pdf", content=PDF):
    return pack_document_add(
        user=authority.staff["iro"], challenge_id=challenge.pk, item=item, filename=name, content=content
    )


class TestUploads:
    def test_a_pdf_is_kept_with_its_hash(self, authority, referred):
        document = _upload(authority, referred, "recent_care_plan", "Care plan (May).pdf")
        assert document.filename == "Care plan _May_.pdf"
        assert document.content_type == "application/pdf"
        assert document.sha256 == hashlib.sha256(PDF).hexdigest() and document.size == len(PDF)

    def test_the_same_file_again_is_the_one_already_kept(self, authority, referred):
        first = _upload(authority, referred, "recent_care_plan")
        again = _upload(authority, referred, "recent_care_plan")
        assert first.pk == again.pk and PackDocument.objects.count() == 1

    @pytest.mark.parametrize(
        ("name", "content", "words"),
        [
            ("plan.pdf", b"", "The file is empty"),
            ("plan.exe", b"MZ\x90\x00", "must be a PDF, a Word document (.docx), a JPEG or a PNG"),
            ("plan.pdf", b"<html>not a pdf</html>", "must be a PDF"),
            ("plan.docx", PDF, "is a PDF file but its name does not end in .pdf"),
            ("plan.pdf", b"%PDF-" + b"x" * 10_000_001, "upload a file of up to 10 MB"),
        ],
    )
    def test_bad_files_are_refused_naming_the_field_and_nothing_is_kept(
        self, authority, referred, name, content, words
    ):
        with pytest.raises(ServiceError) as refused:
            _upload(authority, referred, "recent_care_plan", name, content)
        assert refused.value.field == "file" and words in refused.value.message
        assert PackDocument.objects.count() == 0

    def test_an_item_not_on_the_checklist_is_refused(self, authority, referred):
        with pytest.raises(ServiceError) as refused:
            _upload(authority, referred, "birth_certificate")
        assert refused.value.field == "item" and "recent_care_plan" in refused.value.message

    def test_only_those_who_may_refer_upload(self, authority, referred):
        with pytest.raises(ServiceError) as refused:
            pack_document_add(
                user=authority.staff["team_manager"],
                challenge_id=referred.pk,
                item="recent_care_plan",
                filename="plan.pdf",
                content=PDF,
            )
        assert refused.value.kind == "forbidden"
        with pytest.raises(NotVisible):
            pack_document_add(
                user=authority.staff["admin"],
                challenge_id=referred.pk,
                item="recent_care_plan",
                filename="p.pdf",
                content=PDF,
            )


class TestPack:
    def test_the_checklist_says_present_or_to_follow(self, authority, referred):
        pack = pack_for_user(user=authority.staff["iro"], challenge_id=referred.pk)
        status = {item.key: item.present for item in pack.items}
        assert status == {
            "care_order_and_care_plan": False,
            "guardian_report": False,
            "review_records": False,
            "iro_report": True,  # written by Resolve from the record
            "wishes_and_feelings": False,  # a draft is included for the IRO to complete
            "professional_contacts": True,
            "recent_care_plan": False,
        }
        assert pack.missing == [
            "The review records from the preceding 12 months.",
            "The most recent Care Plan.",
        ]

    def test_a_pack_without_its_required_items_is_refused_with_what_to_upload(self, authority, referred):
        with pytest.raises(ServiceError) as refused:
            pack_download(user=authority.staff["iro"], challenge_id=referred.pk, today=TODAY)
        assert refused.value.code == "pack_incomplete"
        assert refused.value.message == (
            "The pack cannot be made until these required items are uploaded: "
            "The review records from the preceding 12 months; The most recent Care Plan."
        )

    def test_the_whole_pack_as_one_zip(self, authority, referred):
        _upload(authority, referred, "review_records", "reviews.pdf")
        image = b"\x89PNG\r\n\x1a\n" + b"\x00" * 20
        _upload(authority, referred, "recent_care_plan", "care-plan.png", image)
        download = pack_download(user=authority.staff["iro"], challenge_id=referred.pk, today=TODAY)
        assert download.content_type == "application/zip"
        assert download.filename == "cafcass-referral-pack_LCS100001_2026-12-21.zip"
        archive = zipfile.ZipFile(io.BytesIO(download.content))
        names = archive.namelist()
        assert {"referral.pdf", "chronology.pdf", "wishes-and-feelings-draft.docx", "SHA256SUMS.txt"} <= set(
            names
        )
        assert "forms/challenge-form-as-it-stands.pdf" in names
        assert sum(name.startswith("forms/") and name.endswith(".docx") for name in names) == 2  # two stages
        uploaded = [name for name in names if name.startswith("documents/")]
        assert len(uploaded) == 2 and archive.read(next(n for n in uploaded if n.endswith(".png"))) == image
        sums = dict(line.split("  ")[::-1] for line in archive.read("SHA256SUMS.txt").decode().splitlines())
        for name in names:
            if name != "SHA256SUMS.txt":
                assert sums[name] == hashlib.sha256(archive.read(name)).hexdigest(), name

        referral = archive.read("referral.pdf")
        path = save("cafcass-referral.pdf", referral)
        reader: Any = PdfReader(io.BytesIO(referral))
        assert reader.trailer["/Root"]["/Lang"] == "en-GB"
        text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
        assert "To: Cafcass Legal" in text and "Dear Cafcass Legal," in text
        assert "The plan for permanence has drifted for a year and the Director has not answered." in text
        assert "The steps the IRO has taken to resolve the position with the local authority" in text
        assert "No progress at the informal stage." not in text or "Escalated" in text
        assert "Professionals' contact details" in text and "Independent Reviewing Officer" in text
        assert "Oversight and approval of the HoS for Safeguarding" in text
        assert "To follow" in text and "Present" in text
        first_page_png(path, "cafcass-referral")

        save("wishes-and-feelings-draft.docx", archive.read("wishes-and-feelings-draft.docx"))
        draft = docx.Document(io.BytesIO(archive.read("wishes-and-feelings-draft.docx")))
        paragraphs = [p.text for p in draft.paragraphs]
        assert "The child's wishes and feelings (draft)" in paragraphs
        assert "The child's views on the matter being referred, and on any court proceedings" in paragraphs
        assert "Amelia Jones" in [row.cells[1].text for row in draft.tables[0].rows]

    def test_the_pack_is_one_export_in_the_access_log(self, authority, referred):
        _upload(authority, referred, "review_records", "reviews.pdf")
        _upload(authority, referred, "recent_care_plan", "plan.pdf", PDF + b"plan")
        before = AccessLogEntry.objects.count()
        with access_context(AccessContext(channel="page", path="/pack")):
            pack_download(user=authority.staff["iro"], challenge_id=referred.pk, today=TODAY)
        rows = list(AccessLogEntry.objects.order_by("pk")[before:].values_list("channel", "challenge_id"))
        assert rows == [
            ("export", referred.pk),
            ("export", None),
        ]  # the challenge, and the child's chronology

    def test_a_challenge_not_referred_has_no_pack_to_download(self, authority, child, frozen):
        challenge = raise_challenge(
            authority,
            child,
            procedure_key="challenge_and_resolution",
            concern="Visits missed.",
            impact_on_child="Not seen alone.",
        )
        with pytest.raises(ServiceError) as refused:
            pack_download(user=authority.staff["iro"], challenge_id=challenge.pk, today=TODAY)
        assert refused.value.code == "not_referred"


class TestPagesAndApi:
    def test_the_pack_page_uploads_and_shows_errors_beside_the_field(self, client, authority, referred):
        client.force_login(authority.staff["iro"])
        url = f"/challenges/{referred.pk}/cafcass-pack/"
        page = client.get(url).content.decode()
        assert "Cafcass referral pack" in page and "To follow" in page
        bad = client.post(url, {"item": "recent_care_plan", "file": SimpleUploadedFile("x.pdf", b"nope")})
        assert bad.status_code == 400
        html = bad.content.decode()
        assert "There is a problem" in html and 'id="file-error"' in html
        good = client.post(
            url, {"item": "recent_care_plan", "file": SimpleUploadedFile("plan.pdf", PDF, "application/pdf")}
        )
        assert good.status_code == 302
        assert PackDocument.objects.get().item == "recent_care_plan"
        refused = client.get(f"/challenges/{referred.pk}/download/cafcass-referral-pack.zip")
        assert (
            refused.status_code == 409
            and "The review records from the preceding 12 months" in refused.content.decode()
        )

    def test_a_large_upload_passes_the_request_limit_and_gets_the_files_own_message(
        self, client, authority, referred
    ):
        client.force_login(authority.staff["iro"])
        big = SimpleUploadedFile("reviews.pdf", b"%PDF-" + b"0" * 2_000_000, "application/pdf")
        response = client.post(
            f"/challenges/{referred.pk}/cafcass-pack/", {"item": "review_records", "file": big}
        )
        assert response.status_code == 302  # 2 MB: over the 1 MB of other requests, within an upload's 10 MB
        assert PackDocument.objects.get().size == 2_000_005

    def test_a_request_past_the_uploads_limit_is_refused_before_it_is_read(self, client, authority, referred):
        client.force_login(authority.staff["iro"])
        huge = SimpleUploadedFile("reviews.pdf", b"%PDF-" + b"0" * 10_200_000, "application/pdf")
        response = client.post(
            f"/challenges/{referred.pk}/cafcass-pack/", {"item": "review_records", "file": huge}
        )
        assert response.status_code == 413 and PackDocument.objects.count() == 0
        # Anywhere else, the ordinary limit.
        other = client.post(f"/challenges/{referred.pk}/escalate/", {"reason": "x" * 1_100_000})
        assert other.status_code == 413

    def test_the_api_uploads_lists_and_serves_the_zip(self, api_as, referred):
        api = api_as("iro")
        headers = {"Authorization": f"Bearer {api.token}"}
        path = f"/api/v1/challenges/{referred.pk}/cafcass-pack/documents"
        api_documents_uploaded(api, path, headers)
        checklist = api.get(f"/challenges/{referred.pk}/cafcass-pack").json()
        assert checklist["missing"] == []
        assert [
            d["content_type"]
            for d in next(i for i in checklist["items"] if i["key"] == "review_records")["documents"]
        ] == ["application/pdf"]
        response = api.get(f"/challenges/{referred.pk}/cafcass-pack.zip")
        assert response.status_code == 200 and response["Content-Type"] == "application/zip"
        assert "cafcass-referral-pack_LCS100001_" in response["Content-Disposition"]

    def test_a_retried_upload_with_its_idempotency_key_is_answered_once(self, api_as, referred):
        api = api_as("iro")
        path = f"/api/v1/challenges/{referred.pk}/cafcass-pack/documents"
        headers = {"Authorization": f"Bearer {api.token}", "Idempotency-Key": "upload-1"}
        answers = [
            api.client.post(
                path, {"item": "review_records", "file": SimpleUploadedFile("r.pdf", PDF)}, headers=headers
            )
            for _ in range(2)
        ]
        assert [a.status_code for a in answers] == [201, 201]
        assert answers[1]["Idempotent-Replayed"] == "true" and answers[0].json() == answers[1].json()
        other = api.client.post(
            path, {"item": "recent_care_plan", "file": SimpleUploadedFile("r.pdf", PDF)}, headers=headers
        )
        assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
        assert PackDocument.objects.count() == 1

    def test_an_incomplete_pack_is_a_409_through_the_api(self, api_as, referred):
        response = api_as("iro").get(f"/challenges/{referred.pk}/cafcass-pack.zip")
        assert response.status_code == 409 and response.json()["error"]["code"] == "pack_incomplete"
