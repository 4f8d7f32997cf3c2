"""The web surface: headers, no inline code, an API without cookies, and production settings that
pass ``manage.py check --deploy``. Signing in is tested in resolve/signin/tests."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client

pytestmark = pytest.mark.django_db
ROOT = Path(django_settings.BASE_DIR)


def test_pages_carry_a_strict_content_security_policy() -> None:
    answer = Client().get("/sign-in/")
    policy = answer.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


def test_templates_hold_no_inline_script_or_style() -> None:
    """The CSP forbids inline code: every script and style must be a static file."""
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
        "RESOLVE_EVIDENCE_KEY": secrets.token_urlsafe(32),
        "RESOLVE_EVIDENCE_ANCHOR_DIR": "/var/lib/resolve/evidence-anchor",
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


def test_production_settings_refuse_to_start_without_an_evidence_key() -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_production",
        "SECRET_KEY": secrets.token_urlsafe(50),
    }
    env.pop("DEBUG", None)
    env.pop("RESOLVE_EVIDENCE_KEY", None)
    env.pop("RESOLVE_EVIDENCE_KEY_FILE", None)
    done = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0 and "RESOLVE_EVIDENCE_KEY" in done.stderr
