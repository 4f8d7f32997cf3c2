"""Writes about people: keeping the posts single sign-on gives in step with the identity provider."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from resolve.people.models import Post, Team
from resolve.people.sso import GroupPost

logger = logging.getLogger(__name__)


@dataclass
class PostSync:
    """What one sign-in changed: posts added and removed as (role, team name or None)."""

    added: list[tuple[str, str | None]] = field(default_factory=list)
    removed: list[tuple[str, str | None]] = field(default_factory=list)
    kept_by_hand: list[tuple[str, str | None]] = field(default_factory=list)
    unknown_teams: list[str] = field(default_factory=list)


def posts_sync_from_groups(
    *, user: AbstractBaseUser, groups: Iterable[str], mapping: Mapping[str, Iterable[GroupPost]]
) -> PostSync:
    """Give ``user`` exactly the single sign-on posts their ``groups`` map to.

    Only posts marked ``from_sso`` are added or removed; a post an administrator made by hand is
    never touched (and a wanted post that already exists by hand is left as it is). A team named in
    the mapping that does not exist gives no post and is logged: teams are reference data, made by
    an administrator, never by signing in.
    """
    wanted: set[tuple[str, str | None]] = set()
    for group in sorted(set(groups)):
        for given in mapping.get(group, ()):
            wanted.add((given.role, given.team))
    names = {team for _, team in wanted if team is not None}
    teams = {team.name: team for team in Team.objects.filter(name__in=names)}
    result = PostSync(unknown_teams=sorted(names - set(teams)))
    for name in result.unknown_teams:
        logger.error("Single sign-on: the group mapping names team %r, which does not exist.", name)
    wanted = {(role, team) for role, team in wanted if team is None or team in teams}

    def key(post: Post) -> tuple[str, str | None]:
        return (post.role, post.team.name if post.team is not None else None)

    with transaction.atomic():
        held = list(
            Post.objects.select_for_update(of=("self",)).filter(user_id=user.pk).select_related("team")
        )
        by_sso = {key(post): post for post in held if post.from_sso}
        by_hand = {key(post) for post in held if not post.from_sso}
        for post_key, post in sorted(by_sso.items(), key=lambda item: str(item[0])):
            if post_key not in wanted:
                post.delete()
                result.removed.append(post_key)
        for role, team in sorted(wanted, key=str):
            if (role, team) in by_hand:
                result.kept_by_hand.append((role, team))
            elif (role, team) not in by_sso:
                Post.objects.create(
                    user_id=user.pk, role=role, team=teams[team] if team else None, from_sso=True
                )
                result.added.append((role, team))
    if result.added or result.removed:
        logger.warning(
            "Single sign-on changed the posts of %s: added %s, removed %s.",
            user.get_username(),
            result.added or "none",
            result.removed or "none",
        )
    return result
