"""The request in progress, for the access log: set by the middleware, read by the chokepoint."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.http import HttpRequest, HttpResponse
from python_ipware import IpWare

from resolve.core.conf import conf


@dataclass
class AccessContext:
    channel: str  # "page", "api", "export", "calendar" or "other" (AccessLogEntry.Channel)
    method: str = ""
    path: str = ""
    ip_address: str | None = None
    # What this request has already logged, so one request writes one row per record.
    logged: set[tuple[int, int | None]] = field(default_factory=set)


_current: ContextVar[AccessContext | None] = ContextVar("resolve_access_context", default=None)

API_PREFIX = "/api/"
EXPORT_MARKERS = ("/export", ".csv")
# A personal calendar feed: /calendar/<secret>.ics. Its address is its only credential.
CALENDAR_FEED = re.compile(r"^/calendar/[^/]+\.ics$")
CALENDAR_FEED_LOGGED_AS = "/calendar/(secret).ics"


def current() -> AccessContext | None:
    return _current.get()


# python-ipware parses and validates the address; which hop to believe is our rule, not its guess
# (it prefers a public address anywhere in the header, which a client can forge).
_ADDRESS = IpWare(precedence=("HTTP_X_FORWARDED_FOR",))


def client_ip(request: HttpRequest) -> str | None:
    """The address the request came from, for the access log and for sign-in lock-out (django-axes).

    ``X-Forwarded-For`` is read only when ``RESOLVE_TRUST_X_FORWARDED_FOR`` says a proxy we run sets
    it, and then only its right-most entry, the one that proxy added (a client can put anything to
    the left of it). Otherwise anyone could choose the address their failed sign-ins count against.
    """
    if conf.trust_x_forwarded_for:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if hops[-1]:
            address, _ = _ADDRESS.get_client_ip({"HTTP_X_FORWARDED_FOR": hops[-1]})
            if address is not None:
                return str(address)
    return request.META.get("REMOTE_ADDR") or None


def channel_for(path: str) -> str:
    if CALENDAR_FEED.match(path):
        return "calendar"
    if any(marker in path for marker in EXPORT_MARKERS):
        return "export"
    if path.startswith(API_PREFIX):
        return "api"
    return "page"


@contextmanager
def access_context(context: AccessContext) -> Iterator[AccessContext]:
    """Use ``context`` for what is read inside the block (exports and scripts call this themselves)."""
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


class RequestContextMiddleware:
    """Puts who-is-asking-from-where in a context variable for the chokepoint to log."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        channel = channel_for(request.path)
        context = AccessContext(
            channel=channel,
            method=request.method or "",
            # Never the feed's secret: whoever reads the log could then read the feed.
            path=CALENDAR_FEED_LOGGED_AS if channel == "calendar" else request.get_full_path()[:500],
            ip_address=client_ip(request),
        )
        with access_context(context):
            return self.get_response(request)
