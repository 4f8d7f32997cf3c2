"""Documents in the JSON API (mounted on /api/v1/ by config/urls.py): the same files the pages give.

Each answers the file itself, with its content type and a ``Content-Disposition`` filename naming the
case number and the date, found through the access chokepoint like the record it comes from (a
challenge or child you may not see answers 404) and written in the access log as an export.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema

from resolve.access import challenge_get_for_user
from resolve.api.schemas import ErrorOut, SafeStr
from resolve.core.clock import today
from resolve.exports import downloads
from resolve.exports.pdf import PDF
from resolve.exports.selectors import exporting, sent_form_rows
from resolve.exports.views import file_response
from resolve.exports.word import DOCX

router = Router(tags=["documents out"])

RowId = Annotated[int, Field(ge=1, le=2**63 - 1)]
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
