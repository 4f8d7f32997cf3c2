"""Sign-in hardening and the web surface: lockout, idle sessions, OTP for the admin site, headers,
and production settings that pass ``manage.py check --deploy``."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

pytestmark = pytest.mark.django_db
ROOT = Path(django_settings.BASE_DIR)


def _user(password: str = "correct horse battery staple", **extra: Any) -> Any:
    return get_user_model().objects.create_user(username="sophie", password=password, **extra)


def test_repeated_failures_lock_the_account_out() -> None:
    _user()
    client = Client()
    for _ in range(django_settings.AXES_FAILURE_LIMIT):
        client.post("/sign-in/", {"username": "sophie", "password": "wrong"})
    locked = client.post("/sign-in/", {"username": "sophie", "password": "correct horse battery staple"})
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_correct_password_signs_in() -> None:
    _user()
    client = Client()
    answer = client.post("/sign-in/", {"username": "sophie", "password": "correct horse battery staple"})
    assert answer.status_code == 302
    assert "_auth_user_id" in client.session


def test_sessions_end_after_inactivity() -> None:
    assert django_settings.SESSION_SAVE_EVERY_REQUEST is True
    assert django_settings.SESSION_COOKIE_AGE <= 60 * 60
    assert django_settings.SESSION_COOKIE_HTTPONLY is True


def test_password_validators_are_on() -> None:
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        validate_password("password123")


def test_admin_site_requires_a_one_time_password(settings: Any) -> None:
    settings.RESOLVE_ADMIN_REQUIRES_OTP = True
    admin = _user(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)
    assert client.get("/admin/").status_code == 302  # signed in, but not with a second factor
    device = TOTPDevice.objects.create(user=admin, name="phone", confirmed=True)
    client.logout()
    answer = client.post(
        "/admin/login/?next=/admin/",
        {
            "username": "sophie",
            "password": "correct horse battery staple",
            "otp_device": device.persistent_id,
            "otp_token": f"{totp(device.bin_key):06d}",
        },
    )
    assert answer.status_code == 302, answer.content
    assert client.get("/admin/").status_code == 200


def test_pages_carry_a_strict_content_security_policy() -> None:
    answer = Client().get("/sign-in/")
    policy = answer.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


def test_templates_hold_no_inline_script_or_style() -> None:
    """The CSP forbids inline code: every script and style must be a static file."""
    import re

    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=\"|\son[a-z]+=\"", re.IGNORECASE)
    for template in [*ROOT.glob("templates/**/*.html"), *ROOT.glob("resolve/*/templates/**/*.html")]:
        found = inline.search(template.read_text(encoding="utf-8"))
        assert found is None, (
            f"{template}: inline {found.group(0)!r} is blocked by the Content-Security-Policy"
        )


def test_the_api_sends_no_cookie_and_needs_a_token() -> None:
    answer = Client().get("/api/v1/policies")
    assert answer.status_code == 401
    assert not answer.cookies


def test_production_settings_pass_check_deploy() -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": "sqlite://:memory:",
        "ALLOWED_HOSTS": "resolve.example.gov.uk",
    }
    env.pop("DEBUG", None)
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_production_settings_refuse_a_weak_key() -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_production", "SECRET_KEY": "short"}
    done = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0 and "SECRET_KEY" in done.stderr
