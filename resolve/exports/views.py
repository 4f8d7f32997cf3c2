"""Downloads from the pages: signed in, scoped like the page each comes from, logged as exports.

A record the person may not see answers 404, as its page does; signed out, the sign-in page.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse

from resolve.access import NotVisible
from resolve.core.clock import today
from resolve.exports import downloads
from resolve.exports.downloads import Download


def file_response(download: Download) -> HttpResponse:
    """The file with its content type and a filename naming the case number and the date."""
    response = HttpResponse(download.content, content_type=download.content_type)
    response["Content-Disposition"] = f'attachment; filename="{download.filename}"'
    response["Content-Length"] = str(len(download.content))
    # A child's record: never kept by a browser or a proxy.
    response["Cache-Control"] = "no-store"
    return response


def _serve(make: Callable[[], Download]) -> HttpResponse:
    try:
        return file_response(make())
    except NotVisible:
        raise Http404("No such document") from None


@login_required
def challenge_form(request: HttpRequest, challenge_id: int, format: str) -> HttpResponse:
    return _serve(
        lambda: downloads.form_download(
            user=request.user,
            challenge_id=challenge_id,
            format="docx" if format == "docx" else "pdf",
        )
    )


@login_required
def sent_form(request: HttpRequest, challenge_id: int, case_note_id: int) -> HttpResponse:
    return _serve(
        lambda: downloads.sent_form_download(
            user=request.user, challenge_id=challenge_id, case_note_id=case_note_id
        )
    )


@login_required
def directors_briefing(request: HttpRequest, challenge_id: int, format: str) -> HttpResponse:
    return _serve(
        lambda: downloads.briefing_download(
            user=request.user,
            challenge_id=challenge_id,
            format="docx" if format == "docx" else "pdf",
        )
    )


@login_required
def chronology(request: HttpRequest, case_number: str) -> HttpResponse:
    return _serve(
        lambda: downloads.chronology_download(user=request.user, case_number=case_number, today=today())
    )
