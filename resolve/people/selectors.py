"""Questions about who holds which role, and where."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser, User
from django.db import connection
from django.db.models import TextField
from django.db.models.expressions import RawSQL

from resolve.core.rows import json_rows, rows_from
from resolve.people.models import Post, Team
from resolve.people.roles import ROLES, Side

UserLike = User | AnonymousUser


def user_roles(*, user: UserLike) -> set[str]:
    if not user.is_authenticated:
        return set()
    cached: set[str] | None = getattr(user, "_resolve_roles", None)
    if cached is None:
        cached = user_roles_remember(
            user=user, roles=Post.objects.filter(user_id=user.pk).values_list("role", flat=True)
        )
    return cached


def user_roles_remember(*, user: AbstractBaseUser | AnonymousUser, roles: Iterable[str]) -> set[str]:
    """Keep ``roles`` (the roles of the person's posts, just read) as ``user_roles``'s answer for this
    user object, unless it has one already: a request that read the posts for another reason (the
    scope) need not read them again to check a permission."""
    cached: set[str] | None = getattr(user, "_resolve_roles", None)
    if cached is None:
        cached = set(roles)
        if getattr(user, "is_superuser", False):
            cached.add("admin")
        user._resolve_roles = cached  # type: ignore[union-attr]
    return cached


Held = list[tuple[str, int | None]]


def user_posts(*, user: AbstractBaseUser | AnonymousUser) -> Held:
    """The (role, team id) of each of the person's posts: as read with the person
    (``user_posts_remember``), else read now."""
    cached: Held | None = getattr(user, "_resolve_posts", None)
    if cached is not None:
        return cached
    assert user.pk is not None, "asked only for a person signed in"
    return list(Post.objects.filter(user_id=user.pk).values_list("role", "team_id"))


def user_posts_with(user_id: str) -> RawSQL:
    """An annotation reading the posts of the person whose id is in the column ``user_id`` of the
    query's own table (its name and the column, quoted), as ``user_posts_remember`` takes them: a
    request authenticated by a token reads the person's posts, which decide what they see and may
    do, in the statement that reads the token."""
    db = connection
    sql = _POSTS_SQL.get((db.vendor, user_id))
    if sql is None:
        quote = db.ops.quote_name
        sql = _POSTS_SQL[(db.vendor, user_id)] = json_rows(
            db, Post, f"r.{quote('user_id')} = {user_id}", ["id"], fields=_POST_FIELDS
        )
    # Our own tables and quoted columns; no value of a request is in them.
    return RawSQL(sql, (), output_field=TextField())  # noqa: S611  # nosec B611


_POSTS_SQL: dict[tuple[str, str], str] = {}
_POST_FIELDS = ("id", "role", "team")


def user_posts_remember(*, user: AbstractBaseUser | AnonymousUser, posts: str | None) -> Held:
    """Keep the posts read with ``user_posts_with`` (its JSON text) as ``user_posts``'s answer for
    this user object, and their roles as ``user_roles``'s."""
    held = [(post.role, post.team_id) for post in rows_from(Post, posts, fields=_POST_FIELDS)]
    user._resolve_posts = held  # type: ignore[union-attr]
    user_roles_remember(user=user, roles=[role for role, _ in held])
    return held


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


def role_members(*, role: str) -> list[User]:
    """Every active person who holds ``role`` anywhere, by name: those one may allocate or hand work to."""
    posts = Post.objects.filter(role=role, user__is_active=True).select_related("user")
    people = {post.user.pk: post.user for post in posts}
    return sorted(people.values(), key=lambda user: (user.get_full_name() or user.username).lower())


def staff_list(*, active_only: bool) -> list[User]:
    """Everyone who holds a post (optionally only active accounts), by name: people to choose from."""
    posts = Post.objects.select_related("user")
    if active_only:
        posts = posts.filter(user__is_active=True)
    people = {post.user.pk: post.user for post in posts}
    return sorted(people.values(), key=lambda user: (user.get_full_name() or user.username).lower())


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
