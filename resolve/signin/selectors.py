"""What signing in is set up to do: read from the settings, which are read once at start-up."""

from __future__ import annotations

from resolve.core.conf import conf


def sso_enabled() -> bool:
    """Whether single sign-on is set up (``OIDC_RP_CLIENT_ID`` given, so ``RESOLVE_SSO_ENABLED``)."""
    return conf.sso_enabled


def admin_requires_otp() -> bool:
    """Whether the admin site asks for a one-time password (``RESOLVE_ADMIN_REQUIRES_OTP``)."""
    return conf.admin_requires_otp
