"""Writes about signing in: giving an administrator a one-time password device."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django_otp.plugins.otp_totp.models import TOTPDevice


def totp_device_enrol(*, user: AbstractBaseUser, name: str) -> TOTPDevice:
    """Give ``user`` a confirmed TOTP device; its ``config_url`` goes into an authenticator app."""
    device: TOTPDevice = TOTPDevice.objects.create(user=user, name=name, confirmed=True)
    return device
