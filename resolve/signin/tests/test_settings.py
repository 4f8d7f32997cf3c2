"""Start-up with single sign-on configured: the backend is added after django-axes, and a missing or
wrong sign-on setting stops Resolve starting with a message naming it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _settings_import(**env: str) -> subprocess.CompletedProcess[str]:
    """Import the real settings in a fresh interpreter with this environment (start-up, as deployed)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OIDC_", "RESOLVE_OIDC_"))}
    code = "import config.settings as s; print(s.AUTHENTICATION_BACKENDS)"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "DEBUG": "true", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


SSO_ENV = {
    "OIDC_RP_CLIENT_ID": "resolve",
    "OIDC_RP_CLIENT_SECRET": "secret",
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "https://login.example/authorize",
    "OIDC_OP_TOKEN_ENDPOINT": "https://login.example/token",
    "OIDC_OP_USER_ENDPOINT": "https://login.example/userinfo",
    "OIDC_OP_JWKS_ENDPOINT": "https://login.example/keys",
    "OIDC_OP_ISSUER": "https://login.example/v2.0",
    "RESOLVE_OIDC_GROUP_ROLES": '{"IROs": {"role": "iro", "team": "Chairs"}}',
}


def test_settings_start_with_sign_on_configured_and_keep_axes_first() -> None:
    result = _settings_import(**SSO_ENV)
    assert result.returncode == 0, result.stderr
    backends = eval(result.stdout)
    assert backends[0] == "axes.backends.AxesStandaloneBackend"
    assert backends[-1] == "resolve.signin.oidc.ResolveOIDCBackend"


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"OIDC_OP_JWKS_ENDPOINT": ""}, "Set the environment variable OIDC_OP_JWKS_ENDPOINT"),
        ({"OIDC_OP_ISSUER": ""}, "Set the environment variable OIDC_OP_ISSUER"),
        (
            {"RESOLVE_OIDC_GROUP_ROLES": '{"IROs": {"role": "wizard"}}'},
            "RESOLVE_OIDC_GROUP_ROLES: group 'IROs'",
        ),
        ({"OIDC_RP_SIGN_ALGO": "HS256"}, "OIDC_RP_SIGN_ALGO must be RS256"),
        ({"RESOLVE_OIDC_USERNAME_CLAIM": "name"}, "RESOLVE_OIDC_USERNAME_CLAIM must be"),
    ],
)
def test_a_sign_on_setting_missing_or_wrong_stops_start_up_naming_it(
    change: dict[str, str], says: str
) -> None:
    result = _settings_import(**{**SSO_ENV, **change})
    assert result.returncode != 0 and says in result.stderr
