"""The group-to-post mapping single sign-on reads at start-up, and the posts it keeps in step.

That the settings start (or refuse to) with single sign-on configured is tested in
resolve/signin/tests/test_settings.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured

from resolve.people.models import Post
from resolve.people.services import posts_sync_from_groups
from resolve.people.sso import GroupPost, group_roles_parse

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
