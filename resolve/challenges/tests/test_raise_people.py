"""Raising reads everyone it names with the person's posts and the child's line, in one query.

``child_raise_people`` answers the person's own posts (their scope), the child's line (who the stage
goes to) and each person the challenge names by username (who agreed to going straight to a later
stage, who owns an action) with all of their posts, wherever those are: so the roles that decide
whether the agreement counts are the person's whole roles, as ``user_roles`` would answer them, and an
unknown or deactivated person is refused as before. A refused raise writes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine

from resolve.audit.verify import verify_all
from resolve.challenges import services
from resolve.challenges.models import Action, Challenge
from resolve.children.models import Child
from resolve.core.errors import ServiceError
from resolve.people.demo import Authority
from resolve.people.models import Post
from resolve.testing.challenges import raise_challenge

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 12, 1)  # a Tuesday


@pytest.fixture(autouse=True)
def _on_day() -> Iterator[None]:
    with time_machine.travel(dt.datetime(2026, 12, 1, 10, 0), tick=False):
        yield


def _raise(authority: Authority, child: Child, **kwargs: Any) -> Challenge:
    arguments: dict[str, Any] = {
        "procedure_key": "cla_dispute_resolution",
        "stage": "stage_2",
        "bypass_reason": "Serious",
        "on": DAY,
        **kwargs,
    }
    return raise_challenge(authority, child, **arguments)


def _refused(act: Any, code: str, field: str) -> None:
    with pytest.raises(ServiceError) as refused:
        act()
    assert (refused.value.code, refused.value.field) == (code, field)
    assert not Challenge.objects.exists()


def test_a_person_agreeing_from_outside_the_childs_line_counts_by_all_their_posts(
    authority: Authority, child: Child, django_user_model: Any
) -> None:
    deputy = django_user_model.objects.create(username="deputy", first_name="Dee", last_name="Puty")
    # Their only post is in a team that has nothing to do with the child.
    Post.objects.create(user=deputy, role="iro_service_manager", team=authority.teams["second"])
    challenge = _raise(authority, child, bypass_agreed_by="deputy")
    assert challenge.stage_key == "stage_2"
    assert list(verify_all()) == []


def test_a_person_agreeing_without_the_role_is_refused(authority: Authority, child: Child) -> None:
    _refused(
        lambda: _raise(authority, child, bypass_agreed_by="social_worker_2"),
        "bypass_agreement_wrong_role",
        "bypass_agreed_by",
    )


def test_a_person_with_no_post_at_all_is_known_and_has_no_role(
    authority: Authority, child: Child, django_user_model: Any
) -> None:
    django_user_model.objects.create(username="visitor")
    _refused(
        lambda: _raise(authority, child, bypass_agreed_by="visitor"),
        "bypass_agreement_wrong_role",
        "bypass_agreed_by",
    )


def test_an_unknown_or_deactivated_person_is_refused(authority: Authority, child: Child) -> None:
    _refused(lambda: _raise(authority, child, bypass_agreed_by="ghost"), "unknown_user", "bypass_agreed_by")
    manager = authority.staff["iro_service_manager"]
    manager.is_active = False
    manager.save()
    _refused(
        lambda: _raise(authority, child, bypass_agreed_by="iro_service_manager"),
        "unknown_user",
        "bypass_agreed_by",
    )


def test_action_owners_are_people_in_resolve_or_named_in_words(
    authority: Authority, child: Child, django_user_model: Any
) -> None:
    django_user_model.objects.create(username="locum", first_name="Lee", last_name="Cum")  # no post
    challenge = _raise(
        authority,
        child,
        procedure_key="national",
        stage=None,
        bypass_reason="",
        actions=[
            services.ActionInput(action="Update the plan", owner="social_worker", due=DAY),
            services.ActionInput(action="Book the review", owner="", owner_user="locum", due=DAY),
            services.ActionInput(action="Send the report", owner="Dr Patel", due=DAY),
        ],
    )
    owners = sorted(
        Action.objects.filter(challenge=challenge).values_list("owner", "owner_user__username"),
        key=lambda pair: pair[0],
    )
    assert owners == [("Dr Patel", None), ("locum", "locum"), ("social_worker", "social_worker")]
    _refused_after = Challenge.objects.count()
    with pytest.raises(ServiceError) as refused:
        _raise(
            authority,
            child,
            procedure_key="national",
            stage=None,
            bypass_reason="",
            actions=[services.ActionInput(action="Call", owner="", owner_user="ghost", due=DAY)],
        )
    assert (refused.value.code, refused.value.field) == ("unknown_user", "actions[0].owner_user")
    assert Challenge.objects.count() == _refused_after


def test_an_unknown_procedure_or_a_child_out_of_scope_is_refused(authority: Authority, child: Child) -> None:
    _refused(lambda: _raise(authority, child, procedure_key="nothing_like_it"), "unknown_policy", "policy")
    with pytest.raises(ServiceError) as refused:
        _raise(authority, child, user=authority.staff["social_worker_2"])
    assert refused.value.code == "not_found"
    assert not Challenge.objects.exists()
