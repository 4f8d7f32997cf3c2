"""Read-only views of the access log and break-glass grants, for those whose role reviews access.

Only ``review_access`` in the permission map opens them: a superuser or an administrator without it
does not see who looked at which child. The rows are those of ``resolve.audit.selectors`` (scoped like
the records), and each list page read writes one list-view row naming the children it shows.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from resolve.access import access_record_list
from resolve.access.permissions import Perm, user_has_perm
from resolve.audit.models import AccessLogEntry, BreakGlassGrant
from resolve.audit.selectors import access_log_list, break_glass_list


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

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            access_record_list(user=request.user, children=[row.child for row in changelist.result_list])
        return response


@admin.register(AccessLogEntry)
class AccessLogEntryAdmin(_ReadOnly):
    list_display = ["at", "user", "child", "challenge", "channel", "ip_address", "break_glass"]
    list_filter = ["channel"]
    search_fields = ["user__username", "child__case_number"]
    date_hierarchy = "at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[AccessLogEntry]:
        return access_log_list(user=request.user)


@admin.register(BreakGlassGrant)
class BreakGlassGrantAdmin(_ReadOnly):
    list_display = ["granted_at", "user", "child", "expires_at", "reason"]
    search_fields = ["user__username", "child__case_number"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[BreakGlassGrant]:
        return break_glass_list(user=request.user)
