from django.contrib import admin

from resolve.people.models import Post, Team


class PostInline(admin.TabularInline):
    model = Post
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "kind"]
    list_filter = ["kind"]
    search_fields = ["name"]
    inlines = [PostInline]


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "team", "from_sso"]
    list_filter = ["role", "team", "from_sso"]
    search_fields = ["user__username", "user__first_name", "user__last_name"]
    autocomplete_fields = ["user", "team"]
