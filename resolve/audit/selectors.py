"""Reads of the access log and break-glass grants, for those who review access, scoped like the records.

A reviewer (``Perm.REVIEW_ACCESS``) sees log rows only about children they may see themselves
(``children_visible_to``): the log says who looked at a child, the case number and the path, so an
authority-wide log would show a reviewer what the records' own scope hides, even which case numbers
exist. An authority-wide post sees every child, and so the whole log. The list of break-glass grants
is the exception (see ``break_glass_list``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from resolve.access import children_visible_to
from resolve.access.permissions import Perm, user_has_perm
from resolve.audit.models import AccessLogEntry, BreakGlassGrant, ListViewChild, ListViewEntry

UserLike = AbstractBaseUser | AnonymousUser


def break_glass_list(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[BreakGlassGrant]:
    """Every break-glass access, newest first, for a reviewer; nothing for anyone else.

    Authority-wide on purpose: a grant opens a child outside the breaker's scope, and so usually
    outside their managers' too; those who answer for break-glass (``review_access``) must see them
    all. A grant shows who, which case number, when and why, never what was looked at.
    """
    if not user_has_perm(user=user, perm=Perm.REVIEW_ACCESS):
        return BreakGlassGrant.objects.none()
    return BreakGlassGrant.objects.select_related("user", "child").order_by("-granted_at", "-id")


def access_log_list(
    *, user: AbstractBaseUser | AnonymousUser, case_number: str | None = None
) -> QuerySet[AccessLogEntry]:
    """Who looked at the children a reviewer may see, newest first (optionally for one child)."""
    if not user_has_perm(user=user, perm=Perm.REVIEW_ACCESS):
        return AccessLogEntry.objects.none()
    entries = AccessLogEntry.objects.filter(child_id__in=children_visible_to(user).values("pk"))
    if case_number:
        entries = entries.filter(child__case_number=case_number)
    return entries.select_related("user", "child", "break_glass").order_by("-at", "-id")


def list_view_list(*, user: UserLike, case_number: str | None = None) -> QuerySet[ListViewEntry]:
    """Views of list pages that showed a child the reviewer may see, newest first (optionally one child).

    A row names every child its page showed; ``list_view_children_visible`` keeps those the reviewer
    may see, so the log shows a scoped reviewer no case number the records' scope hides.
    """
    if not user_has_perm(user=user, perm=Perm.REVIEW_ACCESS):
        return ListViewEntry.objects.none()
    children = children_visible_to(user)
    if case_number:
        children = children.filter(case_number=case_number)
    shown = ListViewChild.objects.filter(child_id__in=children.values("pk")).values("entry_id")
    return ListViewEntry.objects.filter(pk__in=shown).select_related("user").order_by("-at", "-id")


def list_view_children_visible(
    *, user: UserLike, entries: list[ListViewEntry], case_number: str | None = None
) -> set[int]:
    """Of the children the rows ``entries`` name, the ids of those the reviewer may see (and asks about)."""
    ids = {child_id for entry in entries for child_id, _ in entry.children}
    children = children_visible_to(user).filter(pk__in=ids)
    if case_number:
        children = children.filter(case_number=case_number)
    return set(children.values_list("pk", flat=True))


@dataclass(frozen=True)
class ChildView:
    """One look at one child: a record opened ("record") or a list page that showed it ("list")."""

    kind: str
    at: dt.datetime
    user: str
    child_id: int
    case_number: str
    channel: str
    path: str
    ip_address: str | None
    challenge_id: int | None = None
    break_glass_id: int | None = None

    @property
    def pk(self) -> int:  # so that the look can itself be logged (``access_record_list``)
        return self.child_id


def child_views(*, user: UserLike, case_number: str | None = None, limit: int = 500) -> list[ChildView]:
    """Who saw the children a reviewer may see (or one child), newest first, at most ``limit`` looks.

    Both kinds of look: each record opened (``AccessLogEntry``) and each list page that showed the
    child (``ListViewEntry``, one look per child of the page the reviewer may see).
    """
    records = [
        ChildView(
            kind="record",
            at=entry.at,
            user=entry.user.get_username(),
            child_id=entry.child_id,
            case_number=entry.child.case_number,
            channel=entry.channel,
            path=entry.path,
            ip_address=entry.ip_address,
            challenge_id=entry.challenge_id,
            break_glass_id=entry.break_glass_id,
        )
        for entry in access_log_list(user=user, case_number=case_number)[:limit]
    ]
    entries = list(list_view_list(user=user, case_number=case_number)[:limit])
    visible = list_view_children_visible(user=user, entries=entries, case_number=case_number)
    lists = [
        ChildView(
            kind="list",
            at=entry.at,
            user=entry.user.get_username(),
            child_id=child_id,
            case_number=shown_case_number,
            channel=entry.channel,
            path=entry.path,
            ip_address=entry.ip_address,
        )
        for entry in entries
        for child_id, shown_case_number in entry.children
        if child_id in visible
    ]
    # Each source is newest first and at most ``limit`` long, so the newest ``limit`` of both are here.
    return sorted(records + lists, key=lambda view: view.at, reverse=True)[:limit]
