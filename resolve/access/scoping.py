"""The one chokepoint for reading children and challenges.

Every query for a child, a challenge or a case note — pages, API and exports alike — goes through
``children_visible_to`` / ``challenges_visible_to`` (or the ``*_get_for_user`` helpers built on them),
which scope it to what the person's posts entitle them to see. "Not allowed" and "not found" look
the same to the caller.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet

from resolve.challenges.models import Challenge
from resolve.children.models import Child
from resolve.people.models import Post
from resolve.people.roles import ROLES, Side

# Roles whose post lets them see every child of their team (or of the authority, for an
# authority-wide post).
CHILD_LINE_MANAGERS = frozenset(
    role.key for role in ROLES.values() if role.side is Side.CHILD_LINE and role.key != "social_worker"
)
CHAIR_LINE_MANAGERS = frozenset({"iro_team_manager", "iro_service_manager", "iro_senior_manager", "head_of_safeguarding"})
AUTHORITY_WIDE = frozenset(role.key for role in ROLES.values() if role.side is Side.AUTHORITY)
CHAIRS = frozenset({"iro", "cp_chair"})


class NotVisible(Exception):
    """No such record, or not one this person may see: the two are never told apart."""


def _child_scope(user: AbstractBaseUser | AnonymousUser) -> Q | None:
    """A filter on Child for what ``user`` may see; None means nothing at all."""
    if not user.is_authenticated:
        return None
    posts = list(Post.objects.filter(user_id=user.pk).values_list("role", "team_id"))
    scope = Q(social_worker_id=user.pk) | Q(iro_id=user.pk) | Q(cp_chair_id=user.pk)
    for role, team_id in posts:
        if role in AUTHORITY_WIDE:
            return Q()
        if role in CHILD_LINE_MANAGERS:
            if team_id is None:
                return Q()
            scope |= Q(team_id=team_id)
        elif role in CHAIR_LINE_MANAGERS:
            if team_id is None:
                return Q()
            # Their service: children whose chair works in their team.
            scope |= Q(iro__posts__team_id=team_id, iro__posts__role="iro")
            scope |= Q(cp_chair__posts__team_id=team_id, cp_chair__posts__role="cp_chair")
    return scope


def children_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Child]:
    scope = _child_scope(user)
    if scope is None:
        return Child.objects.none()
    return Child.objects.filter(scope).distinct()


def challenges_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Challenge]:
    scope = _child_scope(user)
    if scope is None:
        return Challenge.objects.none()
    if scope == Q():
        return Challenge.objects.all()
    child_ids = Child.objects.filter(scope).values("pk")
    return Challenge.objects.filter(Q(child_id__in=child_ids) | Q(raised_by_id=user.pk))


def child_get_for_user(*, user: AbstractBaseUser | AnonymousUser, case_number: str) -> Child:
    child = children_visible_to(user).filter(case_number=case_number).first()
    if child is None:
        raise NotVisible(case_number)
    return child


def challenge_get_for_user(*, user: AbstractBaseUser | AnonymousUser, challenge_id: int) -> Challenge:
    challenge = challenges_visible_to(user).filter(pk=challenge_id).first()
    if challenge is None:
        raise NotVisible(challenge_id)
    return challenge
