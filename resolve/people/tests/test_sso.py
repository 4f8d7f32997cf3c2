"""The group-to-post mapping single sign-on reads at start-up, and the posts it keeps in step."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured

from resolve.people.models import Post
from resolve.people.services import posts_sync_from_groups
from resolve.people.sso import GroupPost, group_roles_parse

ROOT = Path(__file__).resolve().parents[3]
VAR = "RESOLVE_OIDC_GROUP_ROLES"


def test_a_mapping_parses_into_posts() -> None:
    raw = json.dumps(
        {
            "IROs": {"role": "iro", "team": " Chairs "},
            "Managers": [{"role": "iro_team_manager", "team": "Chairs"}, {"role": "iro_service_manager"}],
            "Chief": {"role": "chief_executive"},
        }
    )
    assert group_roles_parse(raw, variable=VAR) == {
        "IROs": (GroupPost("iro", "Chairs"),),
        "Managers": (GroupPost("iro_team_manager", "Chairs"), GroupPost("iro_service_manager")),
        "Chief": (GroupPost("chief_executive"),),
    }


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("{not json", "is not valid JSON"),
        ('["iro"]', "must be a JSON object"),
        ('{"IROs": {"role": "wizard"}}', "group 'IROs': role 'wizard' is not one of"),
        ('{"IROs": {"role": "iro", "tem": "Chairs"}}', "group 'IROs' has unknown fields: tem"),
        ('{"IROs": {"role": "iro", "team": ""}}', "team must be a team's name"),
        ('{"Chief": {"role": "chief_executive", "team": "Chairs"}}', "is authority-wide and takes no team"),
        ('{"IROs": []}', "group 'IROs' gives no posts"),
        ('{"IROs": "iro"}', "must map to"),
    ],
)
def test_a_mistake_in_the_mapping_names_the_variable_and_the_group(raw: str, says: str) -> None:
    with pytest.raises(ImproperlyConfigured) as error:
        group_roles_parse(raw, variable=VAR)
    assert str(error.value).startswith(VAR) and says in str(error.value)


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


@pytest.mark.django_db
def test_posts_sync_skips_a_team_that_does_not_exist(
    authority: Any, caplog: pytest.LogCaptureFixture
) -> None:
    user = get_user_model().objects.create_user("pat@council.example")
    mapping = {"IROs": (GroupPost("iro", "No such team"),), "Director": (GroupPost("director"),)}
    result = posts_sync_from_groups(user=user, groups=["IROs", "Director"], mapping=mapping)
    assert result.unknown_teams == ["No such team"] and result.added == [("director", None)]
    assert list(Post.objects.filter(user=user).values_list("role", "from_sso")) == [("director", True)]
    assert "names team 'No such team', which does not exist" in caplog.text
