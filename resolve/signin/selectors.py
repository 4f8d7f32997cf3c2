"""What signing in is set up to do: read from the settings, which are read once at start-up."""

from __future__ import annotations

from django.conf import settings


def sso_enabled() -> bool:
    """Whether single sign-on is set up (``OIDC_RP_CLIENT_ID`` given, so ``RESOLVE_SSO_ENABLED``)."""
    return bool(getattr(settings, "RESOLVE_SSO_ENABLED", False))


def admin_requires_otp() -> bool:
    """Whether the admin site asks for a one-time password (``RESOLVE_ADMIN_REQUIRES_OTP``)."""
    return bool(getattr(settings, "RESOLVE_ADMIN_REQUIRES_OTP", False))
