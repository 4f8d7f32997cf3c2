"""Reads of the access log and break-glass grants, for those who review access, scoped like the records.

A reviewer (``Perm.REVIEW_ACCESS``) sees log rows only about children they may see themselves
(``children_visible_to``): the log says who looked at a child, the case number and the path, so an
authority-wide log would show a reviewer what the records' own scope hides, even which case numbers
exist. An authority-wide post sees every child, and so the whole log. The list of break-glass grants
is the exception (see ``break_glass_list``).
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from resolve.access import children_visible_to
from resolve.access.permissions import Perm, user_has_perm
from resolve.audit.models import AccessLogEntry, BreakGlassGrant


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
