"""Refuse input no view can handle, before any view sees it; mark the API's answers as not for caching.

Text with a NUL or an unpaired surrogate cannot be stored (PostgreSQL refuses both, mid-query) and a
body past ``DATA_UPLOAD_MAX_MEMORY_SIZE`` would fail wherever it is first read. Both are refused here,
for the path, the query string and a form body alike: 400 (413 for the size) in the API's error
shape under /api/, the GOV.UK error page elsewhere. A JSON body sent to the API is left to the API's
schemas, which refuse the same characters with 422 naming the field, as docs/api.md promises.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers

from resolve.core.limits import MAX_UPLOAD_BODY_BYTES, bad_character, bad_character_in

API_PREFIX = "/api/"


def _refuse(request: HttpRequest, status: int, code: str, message: str) -> HttpResponse:
    if request.path_info.startswith(API_PREFIX):
        response: HttpResponse = JsonResponse({"error": {"code": code, "message": message}}, status=status)
        add_never_cache_headers(response)
        return response
    return render(request, f"{status}.html", {"message": message}, status=status)


# Uploading a document for a Cafcass referral pack: the file may be larger than any other request
# (limits.MAX_UPLOAD_BODY_BYTES); its other fields are still bounded by Django's multipart parser.
# A challenge's pack, and the pack of a referral made with no challenge (under the child).
UPLOAD_PATH = re.compile(
    r"^(/api/v1)?(/challenges/[0-9]+/cafcass-pack|/children/[^/]+/cafcass-referrals/[0-9]+/pack)/(documents)?/?$"
)


def _is_upload(request: HttpRequest) -> bool:
    return request.method == "POST" and bool(UPLOAD_PATH.match(request.path_info))


def _limit(request: HttpRequest) -> int | None:
    return MAX_UPLOAD_BODY_BYTES if _is_upload(request) else settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def _too_big(request: HttpRequest) -> bool:
    limit = _limit(request)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return limit is not None and length > limit


def _body_problem(request: HttpRequest) -> str | None:
    """A bad character in a form or JSON body, or None. Raises ``RequestDataTooBig``."""
    if request.method not in {"POST", "PUT", "PATCH", "DELETE"}:
        return None
    if _is_upload(request):
        # Not read whole: the file is streamed by the multipart parser; only its fields are checked.
        return bad_character_in({key: request.POST.getlist(key) for key in request.POST})
    # Read (and keep) the raw body first, so a view that wants it (the API's) can still have it.
    raw = request.body
    if request.content_type == "application/json":
        if request.path_info.startswith(API_PREFIX):
            return None  # the API's schemas refuse it with 422 naming the field (API.md)
        try:
            data: Any = json.loads(raw)
        except ValueError:
            return None  # the API answers malformed JSON itself
        return bad_character_in(data)
    if request.content_type in {"application/x-www-form-urlencoded", "multipart/form-data"}:
        return bad_character_in({key: request.POST.getlist(key) for key in request.POST})
    return None


class RequestGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refusal = self._check(request)
        return refusal if refusal is not None else self.get_response(request)

    def _check(self, request: HttpRequest) -> HttpResponse | None:
        if _too_big(request):
            return self._too_big(request)
        problem = bad_character(request.path_info) or bad_character_in(
            {key: request.GET.getlist(key) for key in request.GET}
        )
        if problem is None:
            try:
                problem = _body_problem(request)
            except RequestDataTooBig:
                return self._too_big(request)
        if problem is not None:
            return _refuse(request, 400, "bad_character", f"The request was refused: {problem}.")
        return None

    @staticmethod
    def _too_big(request: HttpRequest) -> HttpResponse:
        limit = _limit(request) or 0
        return _refuse(
            request,
            413,
            "too_large",
            f"The request is larger than the {limit:,} bytes accepted; send less at a time.",
        )


class ApiNoStoreMiddleware:
    """Every answer under /api/ carries a child's data or could: no browser or proxy may keep it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path_info.startswith(API_PREFIX):
            add_never_cache_headers(response)
        return response
