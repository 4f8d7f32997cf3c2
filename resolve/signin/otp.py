"""The admin site: who may enter it comes from the permission map; a one-time password guards it.

Entry needs ``manage_reference_data`` (staff, teams, posts, calendars, procedures) or
``review_access`` (the access log and break-glass grants, resolve/audit/admin.py), from any of the
person's posts (a superuser holds the admin role: ``resolve.people.selectors.user_roles``); Django's
``is_staff`` decides nothing. Inside, each model's page still asks its own permission.

With ``RESOLVE_ADMIN_REQUIRES_OTP`` on (always in config/settings_production.py) the admin site lets
in only people who signed in with a TOTP code from an enrolled device
(``python manage.py totp_enrol <username>``). Off, it is the ordinary admin site.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin import AdminSite
from django.http import HttpRequest
from django_otp.admin import OTPAdminAuthenticationForm

from resolve.access.permissions import Perm, user_perms
from resolve.signin.selectors import admin_requires_otp

ADMIN_SITE_PERMS = frozenset({Perm.MANAGE_REFERENCE_DATA, Perm.REVIEW_ACCESS})


class ResolveAdminSite(AdminSite):
    def has_permission(self, request: HttpRequest) -> bool:
        allowed = bool(ADMIN_SITE_PERMS & user_perms(user=request.user))
        if admin_requires_otp():
            return allowed and bool(getattr(request.user, "is_verified", lambda: False)())
        return allowed

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        self.login_form = OTPAdminAuthenticationForm if admin_requires_otp() else None
        return super().login(request, extra_context)
