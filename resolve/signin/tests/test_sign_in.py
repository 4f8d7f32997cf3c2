"""Signing in with a password: lockout, idle sessions, password rules, and the one-time password the
admin site asks for (with the ``totp_enrol`` command that gives one)."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


def _user(password: str = PASSWORD, **extra: Any) -> Any:
    return get_user_model().objects.create_user(username="sophie", password=password, **extra)


def test_repeated_failures_lock_the_account_out() -> None:
    _user()
    client = Client()
    for _ in range(django_settings.AXES_FAILURE_LIMIT):
        client.post("/sign-in/", {"username": "sophie", "password": "wrong"})
    locked = client.post("/sign-in/", {"username": "sophie", "password": PASSWORD})
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_correct_password_signs_in() -> None:
    _user()
    client = Client()
    answer = client.post("/sign-in/", {"username": "sophie", "password": PASSWORD})
    assert answer.status_code == 302
    assert "_auth_user_id" in client.session


def test_sessions_end_after_inactivity() -> None:
    assert django_settings.SESSION_SAVE_EVERY_REQUEST is True
    assert django_settings.SESSION_COOKIE_AGE <= 60 * 60
    assert django_settings.SESSION_COOKIE_HTTPONLY is True


def test_password_validators_are_on() -> None:
    with pytest.raises(ValidationError):
        validate_password("password123")


def _admin_sign_in(client: Client, device: TOTPDevice) -> Any:
    return client.post(
        "/admin/login/?next=/admin/",
        {
            "username": "sophie",
            "password": PASSWORD,
            "otp_device": device.persistent_id,
            "otp_token": f"{totp(device.bin_key):06d}",
        },
    )


def test_admin_site_requires_a_one_time_password(settings: Any) -> None:
    settings.RESOLVE_ADMIN_REQUIRES_OTP = True
    admin = _user(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)
    assert client.get("/admin/").status_code == 302  # signed in, but not with a second factor
    device = TOTPDevice.objects.create(user=admin, name="phone", confirmed=True)
    client.logout()
    answer = _admin_sign_in(client, device)
    assert answer.status_code == 302, answer.content
    assert client.get("/admin/").status_code == 200


def test_without_the_setting_the_admin_site_asks_for_no_one_time_password(settings: Any) -> None:
    settings.RESOLVE_ADMIN_REQUIRES_OTP = False
    client = Client()
    client.force_login(_user(is_staff=True, is_superuser=True))
    assert client.get("/admin/").status_code == 200


def test_totp_enrol_gives_a_device_that_signs_in_to_the_admin_site(settings: Any) -> None:
    settings.RESOLVE_ADMIN_REQUIRES_OTP = True
    admin = _user(is_staff=True, is_superuser=True)
    out = io.StringIO()
    call_command("totp_enrol", "sophie", "--name", "phone", stdout=out)
    url = urlsplit(out.getvalue().strip())
    assert url.scheme == "otpauth" and url.netloc == "totp"
    assert parse_qs(url.query)["issuer"] == ["Resolve"]
    device = TOTPDevice.objects.get(user=admin)
    assert device.name == "phone" and device.confirmed
    client = Client()
    assert _admin_sign_in(client, device).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_totp_enrol_names_an_unknown_user() -> None:
    with pytest.raises(CommandError, match="There is no user called 'nobody'"):
        call_command("totp_enrol", "nobody")
    assert not TOTPDevice.objects.exists()


def test_lock_out_is_by_username_and_address_together_behind_a_trusted_proxy(settings: Any) -> None:
    """Five failures for A from X behind the proxy lock A out from X only: not A from Y, not B."""
    settings.RESOLVE_TRUST_X_FORWARDED_FOR = True
    _user()
    get_user_model().objects.create_user(username="bea", password=PASSWORD)
    proxy = "10.0.0.1"  # every request reaches us through the same proxy

    def sign_in(username: str, password: str, address: str) -> Any:
        return Client().post(
            "/sign-in/",
            {"username": username, "password": password},
            HTTP_X_FORWARDED_FOR=f"1.2.3.4, {address}",
            REMOTE_ADDR=proxy,
        )

    for _ in range(django_settings.AXES_FAILURE_LIMIT):
        sign_in("sophie", "wrong", "198.51.100.7")
    assert sign_in("sophie", PASSWORD, "198.51.100.7").status_code == 429
    assert sign_in("sophie", PASSWORD, "203.0.113.9").status_code == 302
    assert sign_in("bea", PASSWORD, "198.51.100.7").status_code == 302


def test_an_untrusted_forwarded_for_header_does_not_choose_the_address(settings: Any) -> None:
    settings.RESOLVE_TRUST_X_FORWARDED_FOR = False
    _user()
    for attempt in range(django_settings.AXES_FAILURE_LIMIT):
        Client().post(
            "/sign-in/",
            {"username": "sophie", "password": "wrong"},
            HTTP_X_FORWARDED_FOR=f"198.51.100.{attempt}",
            REMOTE_ADDR="192.0.2.5",
        )
    locked = Client().post(
        "/sign-in/",
        {"username": "sophie", "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="203.0.113.9",
        REMOTE_ADDR="192.0.2.5",
    )
    assert locked.status_code == 429
