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
from resolve.access.log import ShownChild
from resolve.access.permissions import Perm, user_has_perm
from resolve.audit.models import AccessLogEntry, BreakGlassGrant, ListViewEntry
from resolve.audit.selectors import (
    access_log_list,
    break_glass_list,
    list_view_children_visible,
    list_view_list,
)


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


@admin.register(ListViewEntry)
class ListViewEntryAdmin(_ReadOnly):
    """Views of list pages that showed a child the reviewer may see; each row names only those children.

    Search by a case number answers the views that showed that child (one the reviewer may see).
    """

    list_filter = ["channel"]
    search_fields = ["user__username"]
    date_hierarchy = "at"
    # The row names every child its page showed: only the list's column, which keeps to the
    # reviewer's scope, shows them.
    exclude = ("children",)
    list_display_links = None

    def get_queryset(self, request: HttpRequest) -> QuerySet[ListViewEntry]:
        return list_view_list(user=request.user)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[ListViewEntry], search_term: str
    ) -> tuple[QuerySet[ListViewEntry], bool]:
        by_child = (
            list_view_list(user=request.user, case_number=search_term.strip().upper())
            if search_term
            else None
        )
        found, duplicates = super().get_search_results(request, queryset, search_term)
        if by_child is not None:
            found = found | queryset.filter(pk__in=by_child.values("pk"))
        return found, duplicates

    def get_list_display(self, request: HttpRequest) -> list[Any]:
        def children_shown(entry: ListViewEntry) -> str:
            visible = list_view_children_visible(user=request.user, entries=[entry])
            names = [number for child_id, number in entry.children if child_id in visible]
            hidden = len(entry.children) - len(names)
            return ", ".join(names) + (f" (and {hidden} you may not see)" if hidden else "")

        children_shown.short_description = "Children shown"  # type: ignore[attr-defined]
        return ["at", "user", "channel", "path", children_shown]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = admin.ModelAdmin.changelist_view(self, request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            entries = list(changelist.result_list)
            visible = list_view_children_visible(user=request.user, entries=entries)
            access_record_list(
                user=request.user,
                children=[
                    ShownChild(child_id, number)
                    for entry in entries
                    for child_id, number in entry.children
                    if child_id in visible
                ],
            )
        return response
