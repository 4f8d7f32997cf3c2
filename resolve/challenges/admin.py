from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from resolve.challenges.models import Challenge, Event


class ReadOnly(admin.ModelAdmin):
    """Challenges change only through their services, which write the evidence; the admin only shows."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Challenge)
class ChallengeAdmin(ReadOnly):
    list_display = ["id", "child", "track", "policy", "status", "stage_key", "stage_due_on", "raised_on"]
    list_filter = ["status", "track", "policy__key"]
    search_fields = ["child__case_number"]


@admin.register(Event)
class EventAdmin(ReadOnly):
    list_display = ["challenge", "sequence", "type", "stage_key", "on", "by", "created_at"]
    list_filter = ["type"]
    search_fields = ["challenge__child__case_number"]
