"""Safe retries for every API POST: the ``Idempotency-Key`` header, and one transaction per request.

``@idempotent`` goes under each ``@api.post`` (and each router's ``post``). It runs the whole request
(authentication, the work, the answer) in one transaction, run once more when PostgreSQL picks it
as a deadlock's victim (``resolve.core.retry``), and answers 409 ``conflict`` if the second try
loses too. A server error rolls everything back, so nothing half-written remains.

With an ``Idempotency-Key`` header the first request is carried out and its answer (status and body)
stored with the user, the key and a hash of the request, in the same transaction as its work; a
repeat with the same request answers the stored result and does nothing; the same key with another
request answers 422 ``idempotency_key_reused``. The unique (user, key) is taken before the work, so
a second request with the key waits for the first and then replays it. Keys are kept at least
``RETENTION``; ``manage.py expire_idempotency_keys`` removes older ones.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import inspect
import json
from collections.abc import Callable
from typing import Any, ParamSpec

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.utils import timezone
from ninja.decorators import decorate_view
from ninja.operation import Operation
from ninja.utils import contribute_operation_callback

from resolve.api.models import IDEMPOTENCY_KEY_MAX_LENGTH, IdempotencyKey
from resolve.core.errors import ServiceError
from resolve.core.retry import retried

P = ParamSpec("P")

HEADER = "Idempotency-Key"
RETENTION = dt.timedelta(hours=24)
REPLAYED_HEADER = "Idempotent-Replayed"

# Where the view's wrapper leaves the row it claimed, for the request's wrapper to store the answer in.
_CLAIM = "_resolve_idempotency_claim"


class _RolledBack(Exception):
    """Carries a server error's answer out of the transaction, so that the transaction is undone."""

    def __init__(self, response: HttpResponseBase) -> None:
        super().__init__(response.status_code)
        self.response = response


def _error(status: int, code: str, message: str, field: str | None = None) -> JsonResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        body["field"] = field
    return JsonResponse({"error": body}, status=status)


def _multipart_body(request: HttpRequest) -> bytes:
    """A file upload's fields and files (name and content hash), read from the parsed form: its raw
    body was streamed to the parser, not kept (resolve.web.middleware, UPLOAD_PATH)."""
    digest = hashlib.sha256()
    digest.update(json.dumps({key: request.POST.getlist(key) for key in sorted(request.POST)}).encode())
    for name in sorted(request.FILES):
        for upload in request.FILES.getlist(name):
            digest.update(f"{name}:{upload.name}:{upload.size}".encode())
            for chunk in upload.chunks():
                digest.update(chunk)
            upload.seek(0)
    return digest.digest()


def request_hash(request: HttpRequest) -> str:
    """sha256 of the method, the path and the body (JSON compared by value, not by its spacing)."""
    if request.content_type == "multipart/form-data":
        body = _multipart_body(request)
    else:
        try:
            body = json.dumps(json.loads(request.body), sort_keys=True, separators=(",", ":")).encode()
        except ValueError:
            body = request.body
    digest = hashlib.sha256()
    for part in (request.method or "").encode(), request.path.encode(), body:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _key_refusal(key: str) -> HttpResponse | None:
    if not 1 <= len(key) <= IDEMPOTENCY_KEY_MAX_LENGTH or not key.isprintable():
        return _error(
            422,
            "invalid",
            f"{HEADER}: use 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} printable characters.",
            HEADER,
        )
    return None


def _replay(row: IdempotencyKey) -> HttpResponse:
    response = HttpResponse(
        row.body, status=row.status or 200, content_type=row.content_type or "application/json"
    )
    response[REPLAYED_HEADER] = "true"
    return response


def idempotency_claim(*, user: User, key: str, request_hash: str) -> IdempotencyKey | HttpResponse:
    """Claim ``key`` for this request (a new row, to be answered), or the answer to give instead.

    Call inside the request's transaction: the row is held until it commits, so another request
    with the key waits here until then, and finds the stored answer.
    """
    found = IdempotencyKey.objects.select_for_update().filter(user=user, key=key).first()
    if found is None:
        try:
            with transaction.atomic():
                return IdempotencyKey.objects.create(user=user, key=key, request_hash=request_hash)
        except IntegrityError:
            # Another request with this key committed while this one waited: answer as it did.
            found = IdempotencyKey.objects.select_for_update().get(user=user, key=key)
    if found.request_hash != request_hash:
        return _error(
            422,
            "idempotency_key_reused",
            f"This {HEADER} was used for a different request: send a new key with a new request.",
            HEADER,
        )
    if found.status is None:  # pragma: no cover - a claim is committed only with its answer
        return _error(409, "conflict", "A request with this key is still being carried out: try again.")
    return _replay(found)


def idempotency_store(*, claim: IdempotencyKey, response: HttpResponseBase) -> None:
    """Keep the answer to the request that claimed the key."""
    claim.status = response.status_code
    claim.body = response.content.decode() if isinstance(response, HttpResponse) else ""
    claim.content_type = response.get("Content-Type", "")
    claim.save(update_fields=["status", "body", "content_type"])


def idempotency_keys_expire(*, now: dt.datetime | None = None) -> int:
    """Remove keys older than ``RETENTION``; returns how many went."""
    cutoff = (now or timezone.now()) - RETENTION
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted


@retried
def _attempt(
    run: Callable[..., HttpResponseBase], request: HttpRequest, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> HttpResponseBase:
    setattr(request, _CLAIM, None)
    response = run(request, *args, **kwargs)
    if response.status_code >= 500:
        raise _RolledBack(response)
    claim: IdempotencyKey | None = getattr(request, _CLAIM, None)
    if claim is not None:
        idempotency_store(claim=claim, response=response)
    return response


def _in_one_transaction(run: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Wraps ninja's handling of the request (authentication, parsing, the view, the answer)."""

    @functools.wraps(run)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return _attempt(run, request, args, kwargs)
        except _RolledBack as rolled_back:
            return rolled_back.response
        except ServiceError as gave_up:  # the second try lost a deadlock too
            return _error(409, gave_up.code, gave_up.message)

    return wrapped


OPENAPI_PARAMETER = {
    "in": "header",
    "name": HEADER,
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": IDEMPOTENCY_KEY_MAX_LENGTH},
    "description": "Makes a retry safe: a repeat of this request with the same key answers the first "
    "answer and does nothing again; the same key with another request answers 422 "
    "idempotency_key_reused. Kept at least 24 hours, per user.",
}


def _document(operation: Operation) -> None:
    extra = dict(operation.openapi_extra or {})
    extra["parameters"] = [*extra.get("parameters", []), OPENAPI_PARAMETER]
    operation.openapi_extra = extra


def idempotent(view: Callable[P, Any]) -> Callable[P, Any]:
    """Make an API POST safe to retry (see the module's docstring). Put it under ``@api.post``."""

    @functools.wraps(view)
    def claimed(*args: P.args, **kwargs: P.kwargs) -> Any:
        request = args[0]
        assert isinstance(request, HttpRequest)
        key = request.headers.get(HEADER)
        if key is not None:
            refusal = _key_refusal(key)
            if refusal is not None:
                return refusal
            outcome = idempotency_claim(
                user=request.user,  # type: ignore[arg-type]
                key=key,
                request_hash=request_hash(request),
            )
            if isinstance(outcome, HttpResponse):
                return outcome
            setattr(request, _CLAIM, outcome)
        return view(*args, **kwargs)

    # ninja reads the parameters' types from the signature, resolved in the view's own module.
    claimed.__signature__ = inspect.signature(view, eval_str=True)  # type: ignore[attr-defined]
    contribute_operation_callback(claimed, _document)
    return decorate_view(_in_one_transaction)(claimed)
