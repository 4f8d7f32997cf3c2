from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from resolve.children.models import CaseNote, Child


@admin.register(Child)
class ChildAdmin(admin.ModelAdmin):
    list_display = ["case_number", "first_name", "last_name", "team", "social_worker", "iro", "cp_chair"]
    list_filter = ["team"]
    search_fields = ["case_number", "first_name", "last_name"]
    autocomplete_fields = ["social_worker", "iro", "cp_chair", "team"]


@admin.register(CaseNote)
class CaseNoteAdmin(admin.ModelAdmin):
    """Case notes are evidence: the admin shows them and never changes them."""

    list_display = ["child", "note_type", "on", "author", "created_at"]
    search_fields = ["child__case_number", "note_type"]
    list_filter = ["note_type"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
