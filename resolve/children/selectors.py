"""Reads about a child's record that other apps share."""

from __future__ import annotations

from django.contrib.auth.models import User

from resolve.children.models import Child
from resolve.people.roles import CHAIR_ROLE_FOR_TRACK
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
