"""Which posts single sign-on gives for which identity-provider groups.

Read by the settings at start-up (so nothing here may touch the database or the app registry): a
mistake in the mapping stops Resolve starting, with a message naming the variable and the group.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

from resolve.people.roles import ROLES, Side


@dataclass(frozen=True, slots=True)
class GroupPost:
    """A post that membership of one group gives: a role, in a team (by name) or authority-wide."""

    role: str
    team: str | None = None


def group_roles_parse(raw: str, *, variable: str) -> dict[str, tuple[GroupPost, ...]]:
    """Parse ``{"<group>": {"role": "iro", "team": "<team name>"}, ...}``.

    A group may also give several posts: ``{"<group>": [{"role": ...}, {"role": ...}]}``. Without a
    team the post is authority-wide (as a Director's is); a team is refused for an authority-wide or
    admin role. Group names (or Entra ID's group object ids) are matched exactly.
    """
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ImproperlyConfigured(f"{variable} is not valid JSON: {error}.") from None
    if not isinstance(data, dict):
        raise ImproperlyConfigured(f'{variable} must be a JSON object: {{"<group>": {{"role": ...}}}}.')
    mapping: dict[str, tuple[GroupPost, ...]] = {}
    for group, value in data.items():
        where = f"{variable}: group {group!r}"
        if not group.strip():
            raise ImproperlyConfigured(f"{variable}: a group name is empty.")
        items = value if isinstance(value, list) else [value]
        if not items:
            raise ImproperlyConfigured(f"{where} gives no posts.")
        mapping[group] = tuple(_group_post(item, where=where) for item in items)
    return mapping


def _group_post(item: object, *, where: str) -> GroupPost:
    if not isinstance(item, dict):
        raise ImproperlyConfigured(f'{where} must map to {{"role": ..., "team": ...}}, not {item!r}.')
    unknown = sorted(set(item) - {"role", "team"})
    if unknown:
        raise ImproperlyConfigured(f"{where} has unknown fields: {', '.join(unknown)}.")
    role = item.get("role")
    if not isinstance(role, str) or role not in ROLES:
        raise ImproperlyConfigured(f"{where}: role {role!r} is not one of {', '.join(sorted(ROLES))}.")
    team = item.get("team")
    if team is not None and (not isinstance(team, str) or not team.strip()):
        raise ImproperlyConfigured(f"{where}: team must be a team's name, not {team!r}.")
    in_a_line = ROLES[role].side in {Side.CHILD_LINE, Side.CHAIR_LINE}
    if team is not None and not in_a_line:
        raise ImproperlyConfigured(f"{where}: role {role!r} is authority-wide and takes no team.")
    return GroupPost(role=role, team=team.strip() if team else None)
