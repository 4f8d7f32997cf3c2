"""Time-based one-time passwords for the admin site (django-otp).

With ``RESOLVE_ADMIN_REQUIRES_OTP`` on (always in config/settings_production.py) the admin site lets
in only people who signed in with a TOTP code from an enrolled device
(``python manage.py totp_enrol <username>``). Off, it is the ordinary admin site.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin import AdminSite
from django.http import HttpRequest
from django_otp.admin import OTPAdminAuthenticationForm

from resolve.signin.selectors import admin_requires_otp


class ResolveAdminSite(AdminSite):
    def has_permission(self, request: HttpRequest) -> bool:
        allowed = super().has_permission(request)
        if admin_requires_otp():
            return allowed and bool(getattr(request.user, "is_verified", lambda: False)())
        return allowed

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        self.login_form = OTPAdminAuthenticationForm if admin_requires_otp() else None
        return super().login(request, extra_context)
