"""Downloads from the pages: signed in, scoped like the page each comes from, logged as exports.

A record the person may not see answers 404, as its page does; signed out, the sign-in page.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from resolve.access import NotVisible, Perm, user_has_perm
from resolve.core.clock import today
from resolve.core.errors import ServiceError
from resolve.exports import downloads, selectors, services
from resolve.exports.downloads import Download
from resolve.exports.models import PackDocument
from resolve.exports.uploads import MAX_UPLOAD_BYTES, size_check


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


def _pack_page(
    request: HttpRequest,
    load: Callable[[], selectors.Pack],
    *,
    errors: list[dict[str, str]] | None = None,
    status: int = 200,
) -> HttpResponse:
    try:
        pack = load()
    except NotVisible:
        raise Http404("No such Cafcass referral") from None
    return render(
        request,
        "exports/pack.html",
        {
            "pack": pack,
            "errors": errors or [],
            "item_error": next((e["text"] for e in errors or [] if e.get("href") == "#item"), ""),
            "file_error": next((e["text"] for e in errors or [] if e.get("href") == "#file"), ""),
            "max_mb": MAX_UPLOAD_BYTES // 1_000_000,
            # The form for those whose role may refer; the service still decides each upload.
            "may_upload": user_has_perm(user=request.user, perm=Perm.REFER_TO_CAFCASS),
        },
        status=status,
    )


def _pack_upload(
    request: HttpRequest,
    load: Callable[[], selectors.Pack],
    add: Callable[[str, str, bytes], PackDocument],
    back: HttpResponse,
) -> HttpResponse:
    """Upload one document to a pack (a challenge's or a referral's with no challenge): a refusal is
    shown beside the field it names (400), as the pack page."""
    upload = request.FILES.get("file")
    item = request.POST.get("item", "")
    if upload is None:
        errors = [{"text": "Choose the document to upload", "href": "#file"}]
        return _pack_page(request, load, errors=errors, status=400)
    try:
        size_check(upload.size or 0)  # before reading it into memory
        document = add(item, upload.name or "", upload.read())
    except NotVisible:
        raise Http404("No such Cafcass referral") from None
    except ServiceError as error:
        if error.kind == "forbidden":
            raise PermissionDenied(error.message) from None
        href = "#item" if error.field == "item" else "#file"
        return _pack_page(request, load, errors=[{"text": error.message, "href": href}], status=400)
    messages.success(request, f"{document.filename} was added to the pack.")
    return back


def _pack_serve(
    request: HttpRequest, make: Callable[[], Download], load: Callable[[], selectors.Pack]
) -> HttpResponse:
    try:
        download = make()
    except NotVisible:
        raise Http404("No such Cafcass referral") from None
    except ServiceError as error:
        return _pack_page(request, load, errors=[{"text": error.message, "href": "#checklist"}], status=409)
    return file_response(download)


@login_required
def cafcass_pack(request: HttpRequest, challenge_id: int) -> HttpResponse:
    """The Cafcass referral pack: its checklist, each item present or to follow, and uploads."""

    def load() -> selectors.Pack:
        return selectors.pack_for_user(user=request.user, challenge_id=challenge_id)

    if request.method != "POST":
        return _pack_page(request, load)
    return _pack_upload(
        request,
        load,
        lambda item, filename, content: services.pack_document_add(
            user=request.user,  # type: ignore[arg-type]
            challenge_id=challenge_id,
            item=item,
            filename=filename,
            content=content,
        ),
        redirect("exports:cafcass_pack", challenge_id=challenge_id),
    )


@login_required
def cafcass_pack_download(request: HttpRequest, challenge_id: int) -> HttpResponse:
    return _pack_serve(
        request,
        lambda: downloads.pack_download(user=request.user, challenge_id=challenge_id, today=today()),
        lambda: selectors.pack_for_user(user=request.user, challenge_id=challenge_id),
    )


@login_required
def referral_pack(request: HttpRequest, case_number: str, referral_id: int) -> HttpResponse:
    """The pack of a referral to Cafcass made with no challenge: the same checklist and uploads as a
    challenge's pack, scoped like the child's page."""

    def load() -> selectors.Pack:
        return selectors.referral_pack_for_user(
            user=request.user, case_number=case_number, referral_id=referral_id, today=today()
        )

    if request.method != "POST":
        return _pack_page(request, load)
    try:
        child, _ = selectors.child_referral_get_for_user(
            user=request.user, case_number=case_number, referral_id=referral_id
        )
    except NotVisible:
        raise Http404("No such Cafcass referral") from None
    return _pack_upload(
        request,
        load,
        lambda item, filename, content: services.referral_pack_document_add(
            user=request.user,  # type: ignore[arg-type]
            child_id=child.pk,
            referral_id=referral_id,
            item=item,
            filename=filename,
            content=content,
        ),
        redirect("exports:referral_pack", case_number=child.case_number, referral_id=referral_id),
    )


@login_required
def referral_pack_download(request: HttpRequest, case_number: str, referral_id: int) -> HttpResponse:
    return _pack_serve(
        request,
        lambda: downloads.referral_pack_download(
            user=request.user, case_number=case_number, referral_id=referral_id, today=today()
        ),
        lambda: selectors.referral_pack_for_user(
            user=request.user, case_number=case_number, referral_id=referral_id, today=today()
        ),
    )
