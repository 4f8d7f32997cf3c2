from django.contrib import admin

from resolve.api.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["user", "label", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["user", "digest", "created_at", "last_used_at"]
    search_fields = ["user__username", "label"]
