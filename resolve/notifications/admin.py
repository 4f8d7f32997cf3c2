from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from resolve.notifications.models import (
    AgencyMessage,
    Deadline,
    Notification,
    NotificationPreference,
    OutboxMessage,
)
from resolve.notifications.services import outbox_retry_now


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    """Failed sends are here, with their last error; "retry now" puts them back in the queue."""

    list_display = [
        "id",
        "created_at",
        "recipient",
        "kind",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "short_error",
    ]
    list_filter = ["status", "kind"]
    search_fields = ["recipient__username", "subject", "dedupe_key"]
    date_hierarchy = "created_at"
    actions = ["retry_now"]
    readonly_fields = [field.name for field in OutboxMessage._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description="Last error")
    def short_error(self, obj: OutboxMessage) -> str:
        return obj.last_error[:80]

    @admin.action(description="Retry the selected messages now")
    def retry_now(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        count = outbox_retry_now(ids=queryset.values_list("pk", flat=True))
        self.message_user(request, f"{count} message(s) queued again.", messages.SUCCESS)


@admin.register(AgencyMessage)
class AgencyMessageAdmin(admin.ModelAdmin):
    """Emails to partner agencies' contacts (no account): failed sends, their last error, "retry now".
    The subject and body name the child, so only the delivery is shown."""

    list_display = [
        "id",
        "created_at",
        "address",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "short_error",
    ]
    list_filter = ["status"]
    search_fields = ["address"]
    actions = ["retry_now"]
    readonly_fields = [
        "address",
        "challenge",
        "status",
        "attempts",
        "next_attempt_at",
        "claimed_at",
        "last_error",
        "sent_at",
        "created_at",
    ]
    fields = tuple(readonly_fields)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description="Last error")
    def short_error(self, obj: AgencyMessage) -> str:
        return obj.last_error[:80]

    @admin.action(description="Retry the selected emails now")
    def retry_now(self, request: HttpRequest, queryset: QuerySet[AgencyMessage]) -> None:
        count = outbox_retry_now(ids=queryset.values_list("pk", flat=True), model=AgencyMessage)
        self.message_user(request, f"{count} email(s) queued again.", messages.SUCCESS)


@admin.register(Deadline)
class DeadlineAdmin(admin.ModelAdmin):
    list_display = ["fire_on", "trigger", "challenge", "action", "due_on", "fired_at", "outcome"]
    list_filter = ["trigger", "outcome"]
    search_fields = ["key"]
    readonly_fields = [field.name for field in Deadline._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "email", "last_digest_on"]
    list_filter = ["email"]
    exclude = ["calendar_secret"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["user", "message", "created_at", "read_at"]
    readonly_fields = ["user", "message", "created_at", "read_at"]
