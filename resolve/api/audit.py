"""Break-glass and access review in the JSON API (mounted on /api/v1/ by config/urls.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

from resolve.access import records_viewed
from resolve.api.idempotency import idempotent
from resolve.api.schemas import ErrorOut, Key, SafeStr, Text, _In
from resolve.audit.models import BreakGlassGrant
from resolve.audit.selectors import access_log_list, break_glass_list
from resolve.audit.services import break_glass_open

router = Router(tags=["break-glass"])


class BreakGlassIn(_In):
    case_number: Key = Field(min_length=1)
    reason_category: Key = Field(
        description="Why, from a list: " + ", ".join(BreakGlassGrant.ReasonCategory.values)
    )
    reason: Text = Field(description="The justification: at least 20 characters and 4 different words.")


class BreakGlassOut(Schema):
    id: int
    user: str
    case_number: str
    reason_category: str
    reason: str
    granted_at: dt.datetime
    expires_at: dt.datetime


class AccessOut(Schema):
    at: dt.datetime
    user: str
    case_number: str
    challenge: int | None
    channel: str
    path: str
    ip_address: str | None
    break_glass: int | None


def _grant_out(grant: Any) -> dict[str, Any]:
    return {
        "id": grant.pk,
        "user": grant.user.get_username(),
        "case_number": grant.child.case_number,
        "reason_category": grant.reason_category,
        "reason": grant.reason,
        "granted_at": grant.granted_at,
        "expires_at": grant.expires_at,
    }


def _errors() -> dict[int, Any]:
    return dict.fromkeys((400, 401, 403, 404, 409, 422), ErrorOut)


@router.post("/break-glass", response={201: BreakGlassOut, **_errors()})
@idempotent
def break_glass(request: HttpRequest, payload: BreakGlassIn) -> Any:
    """Open a child's record to read (not change) for a short time. The reason is recorded and reported."""
    grant = break_glass_open(
        user=request.user,  # type: ignore[arg-type]
        case_number=payload.case_number,
        reason_category=payload.reason_category,
        reason=payload.reason,
    )
    return 201, _grant_out(grant)


@router.get("/break-glass", response={200: list[BreakGlassOut], **_errors()})
def break_glass_review(request: HttpRequest) -> Any:
    """Every break-glass access (those who review access; others see an empty list).

    Reading the list is itself logged: one access-log row per child it shows.
    """
    grants = list(break_glass_list(user=request.user)[:500])
    records_viewed(user=request.user, children=[grant.child for grant in grants])
    return [_grant_out(grant) for grant in grants]


@router.get("/access-log", response={200: list[AccessOut], **_errors()})
def access_log(request: HttpRequest, case_number: SafeStr | None = None) -> Any:
    """Who opened the records you may see, when, from where (reviewers only; others see an empty list).

    Reading the log is itself logged: one access-log row per child it shows.
    """
    entries = list(access_log_list(user=request.user, case_number=case_number)[:500])
    records_viewed(user=request.user, children=[entry.child for entry in entries])
    return [
        {
            "at": entry.at,
            "user": entry.user.get_username(),
            "case_number": entry.child.case_number,
            "challenge": entry.challenge_id,
            "channel": entry.channel,
            "path": entry.path,
            "ip_address": entry.ip_address,
            "break_glass": entry.break_glass_id,
        }
        for entry in entries
    ]
