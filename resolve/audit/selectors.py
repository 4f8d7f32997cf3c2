"""Reads of the access log and break-glass grants, for those who review access."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from resolve.access.permissions import Perm, user_has_perm
from resolve.audit.models import AccessLogEntry, BreakGlassGrant


def break_glass_list(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[BreakGlassGrant]:
    """Every break-glass access, newest first, for a reviewer; nothing for anyone else."""
    if not user_has_perm(user=user, perm=Perm.REVIEW_ACCESS):
        return BreakGlassGrant.objects.none()
    return BreakGlassGrant.objects.select_related("user", "child").order_by("-granted_at", "-id")


def access_log_list(
    *, user: AbstractBaseUser | AnonymousUser, case_number: str | None = None
) -> QuerySet[AccessLogEntry]:
    """Who looked at what, newest first (optionally for one child), for a reviewer."""
    if not user_has_perm(user=user, perm=Perm.REVIEW_ACCESS):
        return AccessLogEntry.objects.none()
    entries = AccessLogEntry.objects.select_related("user", "child", "break_glass")
    if case_number:
        entries = entries.filter(child__case_number=case_number)
    return entries.order_by("-at", "-id")
