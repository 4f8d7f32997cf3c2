"""The challenge list: search across child, case number, chair, team, theme and procedure; filters for
team and chair; the stage filter grouped by procedure; the filters behind a "Filter" disclosure."""

from __future__ import annotations

import datetime as dt

import pytest

from resolve.challenges import services
from resolve.children.services import child_create
from resolve.testing.challenges import raise_challenge

pytestmark = pytest.mark.django_db


@pytest.fixture
def two(authority, child):
    other = child_create(
        user=authority.staff["admin"],
        case_number="LCS100002",
        first_name="Noah",
        last_name="Taylor",
        date_of_birth=dt.date(2015, 1, 1),
        social_worker="social_worker_2",
        iro="iro",
        cp_chair="cp_chair",
    )
    first = raise_challenge(
        authority,
        child,
        procedure_key="challenge_and_resolution",
        concern="Visits are late",
        impact_on_child="Not seen alone",
        themes=["placement"],
    )
    second = services.challenge_raise(
        user=authority.staff["cp_chair"],
        child=other,
        track="cpc",
        procedure_key="national",
        concern="Core groups missed",
        impact_on_child="Risks not reviewed",
        themes=["safeguarding"],
    )
    return first, second


def _list(client, authority, query=""):
    client.force_login(authority.staff["iro_service_manager"])
    response = client.get(f"/challenges/{query}")
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize(
    ("query", "finds_first", "finds_second"),
    [
        ("?q=amelia", True, False),  # the child's name
        ("?q=lcs100002", False, True),  # the case number, any case
        ("?q=Patel", False, True),  # the chair (Chris Patel chairs the CP track)
        ("?q=Reid", True, False),  # the IRO, Isla Reid, chairs the IRO track only
        ("?q=Safeguarding+and+Family", False, True),  # the child's team
        ("?q=placement", True, False),  # a theme, in its words
        ("?q=Challenge+and+Resolution", True, False),  # the procedure
        ("?q=amelia+noah", False, False),  # every word must match
    ],
)
def test_search_across_challenges(client, authority, two, query, finds_first, finds_second):
    first, second = two
    html = _list(client, authority, query)
    assert (f"/challenges/{first.pk}/" in html) is finds_first
    assert (f"/challenges/{second.pk}/" in html) is finds_second


def test_filters_for_team_and_chair(client, authority, two):
    first, second = two
    team = authority.teams["second"].pk
    html = _list(client, authority, f"?team={team}")
    assert f"/challenges/{second.pk}/" in html and f"/challenges/{first.pk}/" not in html
    html = _list(client, authority, "?chair=iro")
    assert f"/challenges/{first.pk}/" in html and f"/challenges/{second.pk}/" not in html


def test_the_stage_filter_is_grouped_by_procedure(client, authority, two):
    first, second = two
    html = _list(client, authority)
    assert '<optgroup label="Challenge and Resolution">' in html
    assert 'value="challenge_and_resolution:informal"' in html
    html = _list(client, authority, "?stage=challenge_and_resolution:informal")
    assert f"/challenges/{first.pk}/" in html and f"/challenges/{second.pk}/" not in html
    # An older link with a bare stage key still filters that stage in every procedure.
    html = _list(client, authority, "?stage=informal")
    assert f"/challenges/{first.pk}/" in html and f"/challenges/{second.pk}/" in html


def test_filters_fold_behind_a_disclosure_open_once_used(client, authority, two):
    html = _list(client, authority)
    assert '<details class="govuk-details app-filters-disclosure">' in html
    html = _list(client, authority, "?q=amelia")
    assert '<details class="govuk-details app-filters-disclosure" open>' in html
    assert "Clear filters" in html


def test_bad_filter_values_are_ignored(client, authority, two):
    html = _list(client, authority, "?team=nonsense&chair=nobody&stage=nope:nothing&q=" + "x" * 500)
    assert "Challenges" in html


def test_the_chair_can_start_raising_from_the_list(client, authority, two):
    client.force_login(authority.staff["iro"])
    assert 'href="/challenges/raise/"' in client.get("/challenges/").content.decode()
    client.force_login(authority.staff["team_manager"])
    assert 'href="/challenges/raise/"' not in client.get("/challenges/").content.decode()
