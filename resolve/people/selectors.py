"""Questions about who holds which role, and where."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User

from resolve.people.models import Post, Team
from resolve.people.roles import ROLES, Side

UserLike = User | AnonymousUser


def user_roles(*, user: UserLike) -> set[str]:
    if not user.is_authenticated:
        return set()
    cached: set[str] | None = getattr(user, "_resolve_roles", None)
    if cached is None:
        cached = set(Post.objects.filter(user_id=user.pk).values_list("role", flat=True))
        if getattr(user, "is_superuser", False):
            cached.add("admin")
        user._resolve_roles = cached  # type: ignore[attr-defined]
    return cached


def user_team(*, user: UserLike, roles: tuple[str, ...] | None = None) -> Team | None:
    """The team a person works in (their first team post, optionally among ``roles``)."""
    if not user.is_authenticated:
        return None
    posts = Post.objects.filter(user_id=user.pk, team__isnull=False).select_related("team").order_by("id")
    if roles is not None:
        posts = posts.filter(role__in=roles)
    post = posts.first()
    return post.team if post else None


def role_holders(*, role: str, team: Team | None) -> list[User]:
    """Who actively holds ``role`` for ``team``: the team's own post-holders, else the authority-wide ones.

    People who have left (inactive accounts) hold nothing, so a vacant team post falls back to the
    authority-wide one rather than to someone who will never answer.
    """
    posts = Post.objects.filter(role=role, user__is_active=True).select_related("user").order_by("id")
    if team is not None:
        in_team = [post.user for post in posts.filter(team=team)]
        if in_team:
            return in_team
    return [post.user for post in posts.filter(team__isnull=True)]


def line_team(*, role: str, child_team: Team | None, chair_team: Team | None) -> Team | None:
    """The team whose line a role is looked up in, by the side of the process the role sits on."""
    side = ROLES[role].side
    if side is Side.CHILD_LINE:
        return child_team
    if side is Side.CHAIR_LINE:
        return chair_team
    return None


def social_work_teams() -> list[Team]:
    """The social work teams, by name: the teams a child can belong to."""
    return list(Team.objects.filter(kind=Team.Kind.SOCIAL_WORK).order_by("name"))
