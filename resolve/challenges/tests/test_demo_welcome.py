"""`make demo` ends with the address, the sign-ins and a first walk (manage.py demo_welcome)."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_the_welcome_names_the_address_the_password_and_a_first_walk(monkeypatch, settings):
    monkeypatch.setenv("DEMO_PASSWORD", "demo-password-123")
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = "/tmp/resolve-demo-email"
    out = io.StringIO()
    # Nothing listens on port 9 and no worker runs: it waits no longer than --wait, then prints.
    call_command("demo_welcome", url="http://127.0.0.1:9/", wait=0, stdout=out)
    text = out.getvalue()
    assert "Resolve demo: http://127.0.0.1:9/" in text
    assert "Password: demo-password-123" in text
    assert "1. Sign in as iro" in text and "2. Sign in as team_manager" in text
    assert "emails are written to /tmp/resolve-demo-email/" in text
    assert text.rstrip().endswith("=" * 72)
