"""Break-glass and access review in the JSON API (mounted on /api/v1/ by config/urls.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from resolve.access import access_record_list
from resolve.access.log import ShownChild
from resolve.api.idempotency import idempotent
from resolve.api.schemas import ErrorOut, Key, SafeStr, Text, _In
from resolve.audit.models import BreakGlassGrant
from resolve.audit.selectors import (
    break_glass_list,
    child_views,
    list_view_children_visible,
    list_view_list,
)
from resolve.audit.services import break_glass_open
from resolve.core.limits import case_number_normalise

router = Router(tags=["break-glass"])

# Rows of /access-log/list-views on one page.
LIST_VIEWS_PAGE = 20


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
    kind: str = Field(
        description='"record": the child\'s record or one of its challenges was opened; '
        '"list": a list page showed the child\'s name or case number (see /access-log/list-views).'
    )


class ListViewFilters(Schema):
    case_number: SafeStr | None = None
    page: int = Field(default=1, ge=1, le=10_000)


class ListViewOut(Schema):
    id: int
    at: dt.datetime
    user: str
    channel: str
    path: str = Field(description="The address, with its query: which filters and which page.")
    ip_address: str | None
    case_numbers: list[str] = Field(description="The children shown that you may see, in the order shown.")
    shown: int = Field(description="How many children the page showed in all.")


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

    Reading the list is itself logged: one list-view row naming the children it shows.
    """
    grants = list(break_glass_list(user=request.user)[:500])
    access_record_list(user=request.user, children=[grant.child for grant in grants])
    return [_grant_out(grant) for grant in grants]


@router.get("/access-log", response={200: list[AccessOut], **_errors()})
def access_log(request: HttpRequest, case_number: SafeStr | None = None) -> Any:
    """Who saw the children you may see, newest first, at most 500 looks (reviewers only; others
    see an empty list). Ask with `case_number` for "who saw this child".

    Both kinds of look: a record opened (`kind` "record") and a list page that showed the child
    (`kind` "list", one item per child of that page you may see). Reading the log is itself
    logged: one list-view row naming the children it shows.
    """
    views = child_views(user=request.user, case_number=case_number_normalise(case_number or "") or None)
    access_record_list(user=request.user, children=views)
    return [
        {
            "at": view.at,
            "user": view.user,
            "case_number": view.case_number,
            "challenge": view.challenge_id,
            "channel": view.channel,
            "path": view.path,
            "ip_address": view.ip_address,
            "break_glass": view.break_glass_id,
            "kind": view.kind,
        }
        for view in views
    ]


@router.get("/access-log/list-views", response={200: list[ListViewOut], **_errors()})
def access_log_list_views(request: HttpRequest, filters: Query[ListViewFilters]) -> Any:
    """Each view of a list page that showed a child you may see, newest first, 20 a page (reviewers
    only; others see an empty list): one item per page view, naming the children it showed.

    Reading it is itself logged: one list-view row naming the children it shows.
    """
    case_number = case_number_normalise(filters.case_number or "") or None
    found = list_view_list(user=request.user, case_number=case_number)
    start = (filters.page - 1) * LIST_VIEWS_PAGE
    entries = list(found[start : start + LIST_VIEWS_PAGE])
    visible = list_view_children_visible(user=request.user, entries=entries)
    answer = [
        {
            "id": entry.pk,
            "at": entry.at,
            "user": entry.user.get_username(),
            "channel": entry.channel,
            "path": entry.path,
            "ip_address": entry.ip_address,
            "case_numbers": [number for child_id, number in entry.children if child_id in visible],
            "shown": len(entry.children),
        }
        for entry in entries
    ]
    access_record_list(
        user=request.user,
        children=[
            ShownChild(child_id, number)
            for entry in entries
            for child_id, number in entry.children
            if child_id in visible
        ],
    )
    return answer
