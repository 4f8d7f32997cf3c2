"""Read-only views of the access log and break-glass grants, for those whose role reviews access.

Only ``review_access`` in the permission map opens them: a superuser or an administrator without it
does not see who looked at which child.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from resolve.access.permissions import Perm, user_has_perm
from resolve.audit.models import AccessLogEntry, BreakGlassGrant


class _ReadOnly(admin.ModelAdmin):
    def has_module_permission(self, request: HttpRequest) -> bool:
        return user_has_perm(user=request.user, perm=Perm.REVIEW_ACCESS)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return user_has_perm(user=request.user, perm=Perm.REVIEW_ACCESS)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AccessLogEntry)
class AccessLogEntryAdmin(_ReadOnly):
    list_display = ["at", "user", "child", "challenge", "channel", "ip_address", "break_glass"]
    list_filter = ["channel"]
    search_fields = ["user__username", "child__case_number"]
    date_hierarchy = "at"


@admin.register(BreakGlassGrant)
class BreakGlassGrantAdmin(_ReadOnly):
    list_display = ["granted_at", "user", "child", "expires_at", "reason"]
    search_fields = ["user__username", "child__case_number"]
