"""Reads about a child's record that other apps share."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db.models import Q

from resolve.children.models import Child
from resolve.people.models import Post
from resolve.people.roles import CHAIR_ROLE_FOR_TRACK, ROLES, Side
from resolve.people.selectors import line_team, role_holders, user_team


def child_chair(*, child: Child, track: str) -> User | None:
    """The child's allocated chair on ``track`` (their IRO, or their CP Chair), while in post."""
    chair = child.iro if track == "iro" else child.cp_chair
    return chair if chair is not None and chair.is_active else None


def child_role_holders(*, child: Child, track: str, role: str) -> list[User]:
    """Who is ``role`` for this child's challenge on ``track``: the active people a stage goes to.

    The social worker and the chairs are people allocated to the child, never everyone in the team
    who holds the same role; every other role is found in the management line (the child's team,
    the chair's own service, or authority-wide).
    """
    if role == "social_worker":
        allocated: list[User | None] = [child.social_worker]
    elif role == "iro":
        allocated = [child.iro]
    elif role == "cp_chair":
        allocated = [child.cp_chair]
    else:
        chair = child.iro if track == "iro" else child.cp_chair  # their service, even after they left
        chair_team = user_team(user=chair, roles=(CHAIR_ROLE_FOR_TRACK[track],)) if chair else None
        team = line_team(role=role, child_team=child.team, chair_team=chair_team)
        return role_holders(role=role, team=team)
    return [person for person in allocated if person is not None and person.is_active]


@dataclass(frozen=True)
class ChildLine:
    """Everyone a change to a child's challenge on one track may involve, read in one query.

    The child's social work line, the chair's own line and the authority-wide posts, with the people
    allocated to the child. ``holders(role)`` answers exactly as ``child_role_holders`` does.
    """

    child: Child
    track: str
    posts: tuple[Post, ...]
    chair_team_id: int | None

    @property
    def chair(self) -> User | None:
        return child_chair(child=self.child, track=self.track)

    def holders(self, role: str) -> list[User]:
        """Who is ``role`` for this child's challenge: as ``child_role_holders``, without a query."""
        if role == "social_worker":
            allocated: list[User | None] = [self.child.social_worker]
        elif role == "iro":
            allocated = [self.child.iro]
        elif role == "cp_chair":
            allocated = [self.child.cp_chair]
        else:
            side = ROLES[role].side
            team_id = (
                self.child.team_id
                if side is Side.CHILD_LINE
                else self.chair_team_id
                if side is Side.CHAIR_LINE
                else None
            )
            active = [post for post in self.posts if post.role == role and post.user.is_active]
            if team_id is not None:
                in_team = [post.user for post in active if post.team_id == team_id]
                if in_team:
                    return in_team
            return [post.user for post in active if post.team_id is None]
        return [person for person in allocated if person is not None and person.is_active]

    def people(self) -> dict[str, User]:
        """Every person the line names, by username (the allocated people included)."""
        found = {post.user.get_username(): post.user for post in self.posts}
        for person in (self.child.social_worker, self.child.iro, self.child.cp_chair):
            if person is not None:
                found.setdefault(person.get_username(), person)
        return found


def child_line(*, child: Child, track: str) -> ChildLine:
    """The posts of the child's team, of the chair's team and of the whole authority, in one query.

    Load the child with its social worker, IRO and CP Chair (``select_related``) to keep it one.
    """
    chair_role = CHAIR_ROLE_FOR_TRACK[track]
    chair_id = child.iro_id if track == "iro" else child.cp_chair_id
    chair_teams = Post.objects.filter(user_id=chair_id or 0, role=chair_role, team__isnull=False).values(
        "team_id"
    )
    posts = tuple(
        Post.objects.filter(Q(team__isnull=True) | Q(team_id=child.team_id) | Q(team_id__in=chair_teams))
        .select_related("user")
        .order_by("id")
    )
    return child_line_from(child=child, track=track, posts=posts)


def child_line_from(*, child: Child, track: str, posts: tuple[Post, ...]) -> ChildLine:
    """The child's line from ``posts`` already read (with their users, in id order): every post of
    the authority will do, as ``holders`` looks only at the teams that concern the child."""
    chair_role = CHAIR_ROLE_FOR_TRACK[track]
    chair_id = child.iro_id if track == "iro" else child.cp_chair_id
    # The chair's service, even after they left: their first team post as a chair (``user_team``).
    chair_team_id = next(
        (
            post.team_id
            for post in posts
            if post.user_id == chair_id and post.role == chair_role and post.team_id is not None
        ),
        None,
    )
    return ChildLine(child=child, track=track, posts=posts, chair_team_id=chair_team_id)
