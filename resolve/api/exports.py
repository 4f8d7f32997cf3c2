"""Documents in the JSON API (mounted on /api/v1/ by config/urls.py): the same files the pages give.

Each answers the file itself, with its content type and a ``Content-Disposition`` filename naming the
case number and the date, found through the access chokepoint like the record it comes from (a
challenge or child you may not see answers 404) and written in the access log as an export.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from resolve.access import challenge_get_for_user
from resolve.api.idempotency import idempotent
from resolve.api.schemas import ErrorOut, Key, SafeStr
from resolve.core import limits
from resolve.core.clock import today
from resolve.exports import downloads
from resolve.exports.models import PackDocument
from resolve.exports.pdf import PDF
from resolve.exports.selectors import (
    Pack,
    child_referral_get_for_user,
    exporting,
    pack_for_user,
    referral_pack_for_user,
    sent_form_rows,
)
from resolve.exports.services import pack_document_add, referral_pack_document_add
from resolve.exports.uploads import size_check
from resolve.exports.views import file_response
from resolve.exports.word import DOCX

router = Router(tags=["documents out"])

RowId = Annotated[int, Field(ge=1, le=limits.ROW_ID_MOST)]
ERRORS: dict[int, Any] = dict.fromkeys((400, 401, 403, 404, 422), ErrorOut)


def _file(content_type: str, what: str) -> dict[str, Any]:
    """OpenAPI: the route answers a file of ``content_type``."""
    return {
        "responses": {
            200: {
                "description": f"{what}, as a download named after the case number and the date.",
                "content": {content_type: {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    }


class SentFormOut(Schema):
    case_note: int
    note_type: str
    on: dt.date
    stage: str
    event_sequence: int
    filed: bool
    sha256: str | None
    download: str


@router.get(
    "/challenges/{challenge_id}/form.docx", response={**ERRORS}, openapi_extra=_file(DOCX, "The form (Word)")
)
def form_docx(request: HttpRequest, challenge_id: RowId) -> HttpResponse:
    """The Challenge and Resolution form as it stands now, in Word, in the procedure's own words."""
    return file_response(downloads.form_download(user=request.user, challenge_id=challenge_id, format="docx"))


@router.get(
    "/challenges/{challenge_id}/form.pdf", response={**ERRORS}, openapi_extra=_file(PDF, "The form (PDF)")
)
def form_pdf(request: HttpRequest, challenge_id: RowId) -> HttpResponse:
    """The Challenge and Resolution form as it stands now, as a tagged PDF."""
    return file_response(downloads.form_download(user=request.user, challenge_id=challenge_id, format="pdf"))


@router.get("/challenges/{challenge_id}/sent-forms", response={200: list[SentFormOut], **ERRORS})
def sent_forms(request: HttpRequest, challenge_id: RowId) -> Any:
    """The form as sent at each stage: one per stage case note, with its SHA-256 once filed."""
    with exporting():
        challenge = challenge_get_for_user(user=request.user, challenge_id=challenge_id)
    return [
        {
            "case_note": row.case_note_id,
            "note_type": row.note_type,
            "on": row.on,
            "stage": row.stage,
            "event_sequence": row.event_sequence,
            "filed": row.stored is not None,
            "sha256": row.stored.sha256 if row.stored is not None else None,
            "download": f"/api/v1/challenges/{challenge.pk}/sent-forms/{row.case_note_id}.docx",
        }
        for row in sent_form_rows(challenge=challenge)
    ]


@router.get(
    "/challenges/{challenge_id}/sent-forms/{case_note_id}.docx",
    response={**ERRORS},
    openapi_extra=_file(DOCX, "The form as sent with that stage's case note (Word)"),
)
def sent_form(request: HttpRequest, challenge_id: RowId, case_note_id: RowId) -> HttpResponse:
    """The form as it stood when the challenge entered a stage, filed with that stage's case note."""
    return file_response(
        downloads.sent_form_download(user=request.user, challenge_id=challenge_id, case_note_id=case_note_id)
    )


@router.get(
    "/challenges/{challenge_id}/directors-briefing.docx",
    response={**ERRORS},
    openapi_extra=_file(DOCX, "The Director's briefing (Word)"),
)
def briefing_docx(request: HttpRequest, challenge_id: RowId) -> HttpResponse:
    """Seed 002 Appendix B, "Case Briefing for Deputy Director/DCS"; 404 when none was completed."""
    return file_response(
        downloads.briefing_download(user=request.user, challenge_id=challenge_id, format="docx")
    )


@router.get(
    "/challenges/{challenge_id}/directors-briefing.pdf",
    response={**ERRORS},
    openapi_extra=_file(PDF, "The Director's briefing (PDF)"),
)
def briefing_pdf(request: HttpRequest, challenge_id: RowId) -> HttpResponse:
    """The Director's briefing as a tagged PDF; 404 when none was completed."""
    return file_response(
        downloads.briefing_download(user=request.user, challenge_id=challenge_id, format="pdf")
    )


@router.get(
    "/children/{case_number}/chronology.pdf",
    response={**ERRORS},
    openapi_extra=_file(PDF, "The child's chronology (PDF)"),
)
def chronology_pdf(request: HttpRequest, case_number: SafeStr) -> HttpResponse:
    """Every challenge of the child and its events in date order, paginated, for a court bundle or Ofsted."""
    return file_response(
        downloads.chronology_download(user=request.user, case_number=case_number, today=today())
    )


class PackDocumentOut(Schema):
    id: int
    item: str
    filename: str
    content_type: str
    size: int
    sha256: str


class PackItemOut(Schema):
    key: str
    label: str
    required: bool
    present: bool
    source: str
    documents: list[PackDocumentOut]


class PackOut(Schema):
    referred_on: dt.date | None
    items: list[PackItemOut]
    missing: list[str]
    download: str


@router.get("/challenges/{challenge_id}/cafcass-pack", response={200: PackOut, **ERRORS})
def cafcass_pack(request: HttpRequest, challenge_id: RowId) -> Any:
    """The Cafcass referral pack's checklist: each item present (uploaded, or written by Resolve) or not."""
    pack = pack_for_user(user=request.user, challenge_id=challenge_id)
    return _pack_out(pack, f"/api/v1/challenges/{challenge_id}/cafcass-pack.zip")


def _document_out(document: PackDocument) -> dict[str, Any]:
    return {
        "id": document.pk,
        "item": document.item,
        "filename": document.filename,
        "content_type": document.content_type,
        "size": document.size,
        "sha256": document.sha256,
    }


def _pack_out(pack: Pack, download: str) -> dict[str, Any]:
    return {
        "referred_on": pack.referred_on,
        "items": [
            {
                "key": item.key,
                "label": item.label,
                "required": item.required,
                "present": item.present,
                "source": item.source,
                "documents": [
                    {
                        "id": pk,
                        "item": item.key,
                        "filename": name,
                        "content_type": kind,
                        "size": size,
                        "sha256": digest,
                    }
                    for pk, name, digest, size, kind in item.documents
                ],
            }
            for item in pack.items
        ],
        "missing": pack.missing,
        "download": download,
    }


@router.post(
    "/challenges/{challenge_id}/cafcass-pack/documents",
    response={201: PackDocumentOut, **ERRORS, 409: ErrorOut, 413: ErrorOut},
)
@idempotent
def cafcass_pack_upload(
    request: HttpRequest, challenge_id: RowId, item: Form[Key], file: File[UploadedFile]
) -> Any:
    """Upload a document (PDF, .docx, JPEG or PNG, up to 10 MB) for an item of the pack's checklist.

    Multipart form: ``item`` (the checklist item's key) and ``file``. The same file sent again for the
    same item answers the one already kept, so a retry stores nothing twice.
    """
    size_check(file.size or 0)
    document = pack_document_add(
        user=request.user,  # type: ignore[arg-type]
        challenge_id=challenge_id,
        item=item,
        filename=file.name or "",
        content=file.read(),
    )
    return 201, _document_out(document)


@router.get(
    "/challenges/{challenge_id}/cafcass-pack.zip",
    response={**ERRORS, 409: ErrorOut},
    openapi_extra=_file("application/zip", "The Cafcass referral pack (zip)"),
)
def cafcass_pack_zip(request: HttpRequest, challenge_id: RowId) -> HttpResponse:
    """The whole pack as one zip; 409 until the referral is recorded and every required item is present."""
    return file_response(downloads.pack_download(user=request.user, challenge_id=challenge_id, today=today()))


# -- the pack of a referral to Cafcass made with no challenge (seed 000) ---------------------------
REFERRAL_PACK = "/children/{case_number}/cafcass-referrals/{referral_id}/pack"


@router.get(REFERRAL_PACK, response={200: PackOut, **ERRORS})
def referral_pack(request: HttpRequest, case_number: SafeStr, referral_id: RowId) -> Any:
    """The checklist of the pack of a referral to Cafcass made with no challenge (one of
    /children/{case_number}/cafcass-referrals with ``challenge`` null): each item present or not.
    Scoped like the child; a challenge's referral is not found here (use /challenges/{id}/cafcass-pack)."""
    pack = referral_pack_for_user(
        user=request.user, case_number=case_number, referral_id=referral_id, today=today()
    )
    return _pack_out(pack, f"/api/v1/children/{pack.case_number}/cafcass-referrals/{referral_id}/pack.zip")


@router.post(
    REFERRAL_PACK + "/documents",
    response={201: PackDocumentOut, **ERRORS, 409: ErrorOut, 413: ErrorOut},
)
@idempotent
def referral_pack_upload(
    request: HttpRequest,
    case_number: SafeStr,
    referral_id: RowId,
    item: Form[Key],
    file: File[UploadedFile],
) -> Any:
    """Upload a document (PDF, .docx, JPEG or PNG, up to 10 MB) for an item of the referral's pack, as
    for a challenge's pack: multipart ``item`` and ``file``; the same file again is the one kept."""
    size_check(file.size or 0)
    child, _ = child_referral_get_for_user(
        user=request.user, case_number=case_number, referral_id=referral_id
    )
    document = referral_pack_document_add(
        user=request.user,  # type: ignore[arg-type]
        child_id=child.pk,
        referral_id=referral_id,
        item=item,
        filename=file.name or "",
        content=file.read(),
    )
    return Status(201, _document_out(document))


@router.get(
    REFERRAL_PACK + ".zip",
    response={**ERRORS, 409: ErrorOut},
    openapi_extra=_file("application/zip", "The Cafcass referral pack (zip)"),
)
def referral_pack_zip(request: HttpRequest, case_number: SafeStr, referral_id: RowId) -> HttpResponse:
    """The referral's whole pack as one zip; 409 while a required item of the checklist is missing."""
    return file_response(
        downloads.referral_pack_download(
            user=request.user, case_number=case_number, referral_id=referral_id, today=today()
        )
    )
