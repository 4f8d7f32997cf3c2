"""Break-glass and access review in the JSON API (mounted on /api/v1/ by config/urls.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

from resolve.api.schemas import ErrorOut, Key, SafeStr, Text, _In
from resolve.audit.selectors import access_log_list, break_glass_list
from resolve.audit.services import break_glass_open

router = Router(tags=["break-glass"])


class BreakGlassIn(_In):
    case_number: Key = Field(min_length=1)
    reason: Text


class BreakGlassOut(Schema):
    id: int
    user: str
    case_number: str
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
        "reason": grant.reason,
        "granted_at": grant.granted_at,
        "expires_at": grant.expires_at,
    }


def _errors() -> dict[int, Any]:
    return dict.fromkeys((400, 401, 403, 404, 409, 422), ErrorOut)


@router.post("/break-glass", response={201: BreakGlassOut, **_errors()})
def break_glass(request: HttpRequest, payload: BreakGlassIn) -> Any:
    """Open a child's record outside your scope for a short time. The reason is recorded and reported."""
    grant = break_glass_open(user=request.user, case_number=payload.case_number, reason=payload.reason)  # type: ignore[arg-type]
    return 201, _grant_out(grant)


@router.get("/break-glass", response={200: list[BreakGlassOut], **_errors()})
def break_glass_review(request: HttpRequest) -> Any:
    """Every break-glass access (IRO/CP service managers and those who review access; others see none)."""
    return [_grant_out(grant) for grant in break_glass_list(user=request.user)[:500]]


@router.get("/access-log", response={200: list[AccessOut], **_errors()})
def access_log(request: HttpRequest, case_number: SafeStr | None = None) -> Any:
    """Who opened which record, when, from where (reviewers only; others see an empty list)."""
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
        for entry in access_log_list(user=request.user, case_number=case_number)[:500]
    ]
