"""The people a change involves, read in one query before the challenge is locked
(``challenge_change_people``): the same answers as the child's line read on its own, and read again
when the child moved team in between."""

from __future__ import annotations

import pytest

from resolve.challenges.models import Challenge
from resolve.challenges.selectors import challenge_change_people
from resolve.children.models import Child
from resolve.children.selectors import child_line
from resolve.children.services import child_allocate
from resolve.people.demo import Authority
from resolve.people.roles import ROLES
from resolve.testing.challenges import raise_challenge

pytestmark = pytest.mark.django_db


def _raised(authority: Authority, child: Child) -> Challenge:
    return raise_challenge(
        authority,
        child,
        concern="The care plan has not been updated since the last review.",
        impact_on_child="Amelia's move to her grandparents is delayed.",
    )


def _locked(challenge: Challenge) -> Challenge:
    return Challenge.objects.select_related(
        "child", "child__social_worker", "child__iro", "child__cp_chair"
    ).get(pk=challenge.pk)


def test_every_role_has_the_same_holders_as_the_childs_line(authority: Authority, child: Child) -> None:
    challenge = _locked(_raised(authority, child))
    people = challenge_change_people(challenge_id=challenge.pk, user=authority.staff["team_manager"])
    line = people.line(challenge)
    assert line is not None
    alone = child_line(child=challenge.child, track=challenge.track)
    for role in ROLES:
        assert [user.pk for user in line.holders(role)] == [user.pk for user in alone.holders(role)], role
    assert line.chair == alone.chair


def test_the_persons_own_posts_come_with_the_line(authority: Authority, child: Child) -> None:
    challenge = _raised(authority, child)
    people = challenge_change_people(challenge_id=challenge.pk, user=authority.staff["social_worker_2"])
    assert people.own == (("social_worker", authority.teams["second"].pk),)
    assert challenge_change_people(challenge_id=challenge.pk, user=None).own == ()


def test_a_child_who_moved_team_since_is_read_again(authority: Authority, child: Child) -> None:
    challenge = _raised(authority, child)
    people = challenge_change_people(challenge_id=challenge.pk, user=authority.staff["iro"])
    child_allocate(
        user=authority.staff["admin"],
        child_id=child.pk,
        social_worker="social_worker_2",
        iro="iro",
        cp_chair="cp_chair",
        reason="Moved to the second team",
    )
    assert people.line(_locked(challenge)) is None
