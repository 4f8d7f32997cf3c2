from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from resolve.procedures.models import PolicyVersion


@admin.register(PolicyVersion)
class PolicyVersionAdmin(admin.ModelAdmin):
    """Read-only: versions are recorded from the procedure files by ``procedure_sync`` and never edited."""

    list_display = ["key", "version", "name", "authority", "nation", "is_current", "loaded_at"]
    list_filter = ["is_current", "nation", "key"]
    search_fields = ["key", "name", "authority"]
    readonly_fields = [field.name for field in PolicyVersion._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
