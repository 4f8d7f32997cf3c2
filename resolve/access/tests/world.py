"""A small world for access tests: the demo authority, a child in scope of its staff, and one outside.

Child A is in the demo social work team, chaired by the demo IRO and CP Chair. Child B is in the
second team (``social_worker_2``), chaired by ``iro_2`` of another chairs service, so only that line
and authority-wide posts see it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth import get_user_model

from resolve.challenges import services
from resolve.challenges.models import Challenge
from resolve.children.models import Child
from resolve.children.services import child_create
from resolve.people.demo import Authority
from resolve.people.models import Post, Team

TODAY = dt.date(2026, 12, 1)

# Everyone in the demo authority, by username.
USERNAMES = (
    "iro",
    "cp_chair",
    "iro_team_manager",
    "iro_service_manager",
    "iro_senior_manager",
    "head_of_safeguarding",
    "social_worker",
    "team_manager",
    "service_manager",
    "senior_manager",
    "head_of_service",
    "assistant_director",
    "deputy_director",
    "director",
    "principal_social_worker",
    "service_director",
    "chief_executive",
    "admin",
    "social_worker_2",
    "team_manager_2",
)

# Who sees each child, by the rules of issue 4 (docs/permissions.md).
_SEES_ANY = {
    "senior_manager",
    "head_of_service",
    "assistant_director",
    "deputy_director",
    "director",
    "principal_social_worker",
    "service_director",
    "chief_executive",
}
SEES_A = frozenset(
    _SEES_ANY
    | {
        "iro",
        "cp_chair",
        "iro_team_manager",
        "iro_service_manager",
        "iro_senior_manager",
        "head_of_safeguarding",
        "social_worker",
        "team_manager",
        "service_manager",
    }
)
# The demo Service Manager manages both social work teams.
SEES_B = frozenset(_SEES_ANY | {"social_worker_2", "team_manager_2", "service_manager"})


@dataclass
class World:
    authority: Authority
    a: Child
    b: Child

    def user(self, username: str):
        return self.authority.staff[username]

    def challenge(
        self, child: Child, *, procedure: str = "national", track: str = "iro", resolved: bool = False
    ) -> Challenge:
        chair = self.user("iro") if child == self.a else get_user_model().objects.get(username="iro_2")
        if track == "cpc":
            chair = self.user("cp_chair")
        challenge = services.challenge_raise(
            user=chair,
            child=child,
            track=track,
            procedure_key=procedure,
            concern="No statutory visit for eight weeks",
            impact_on_child="The child has not been seen",
            actions=[services.ActionInput(action="Visit the child", owner="Social worker", due=TODAY)],
            on=TODAY,
        )
        if resolved:
            services.challenge_resolve(
                user=chair,
                challenge_id=challenge.pk,
                outcome="Visit done",
                learning_points="Plan visits",
                on=TODAY,
            )
        return challenge


def world_build(authority: Authority) -> World:
    admin = authority.staff["admin"]
    a = child_create(
        user=admin,
        case_number="LCS-A",
        first_name="Amelia",
        last_name="Jones",
        date_of_birth=dt.date(2014, 3, 9),
        social_worker="social_worker",
        iro="iro",
        cp_chair="cp_chair",
    )
    other_chairs = Team.objects.create(name="Another IRO service", kind=Team.Kind.CHAIRS)
    iro_2 = get_user_model().objects.create_user(username="iro_2", email="iro_2@resolve.invalid")
    Post.objects.create(user=iro_2, role="iro", team=other_chairs)
    b = child_create(
        user=admin,
        case_number="LCS-B",
        first_name="Ben",
        last_name="Smith",
        date_of_birth=dt.date(2015, 5, 1),
        social_worker="social_worker_2",
        iro="iro_2",
    )
    return World(authority=authority, a=a, b=b)
