"""Every role Resolve knows, in the words the procedures use.

Role keys are the same words in the procedure files, the API and the demo usernames. A role sits on
one side of the process, which decides whose team a post is looked up in:

- ``child_line``: the child's social work line, found from the child's team;
- ``chair_line``: the IRO/CP Chair's own line, found from the chair's team;
- ``authority``: authority-wide posts (Principal Social Worker, Service Director, Chief Executive);
- ``admin``: looks after reference data.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Side(StrEnum):
    CHILD_LINE = "child_line"
    CHAIR_LINE = "chair_line"
    AUTHORITY = "authority"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Role:
    key: str
    label: str
    side: Side


_ROLES = [
    Role("iro", "Independent Reviewing Officer", Side.CHAIR_LINE),
    Role("cp_chair", "Child Protection Conference Chair", Side.CHAIR_LINE),
    Role("iro_team_manager", "IRO/CP Team Manager", Side.CHAIR_LINE),
    Role("iro_service_manager", "IRO/CP Service Manager", Side.CHAIR_LINE),
    Role("iro_senior_manager", "IRO Senior Manager", Side.CHAIR_LINE),
    Role("head_of_safeguarding", "Head of Service (Safeguarding)", Side.CHAIR_LINE),
    Role("social_worker", "Social Worker", Side.CHILD_LINE),
    Role("team_manager", "Team Manager", Side.CHILD_LINE),
    Role("service_manager", "Service Manager", Side.CHILD_LINE),
    Role("senior_manager", "Senior Manager", Side.CHILD_LINE),
    Role("head_of_service", "Head of Service", Side.CHILD_LINE),
    Role("assistant_director", "Assistant Director", Side.CHILD_LINE),
    Role("deputy_director", "Deputy Director", Side.CHILD_LINE),
    Role("director", "Director of Children's Services", Side.CHILD_LINE),
    Role("principal_social_worker", "Principal Social Worker", Side.AUTHORITY),
    Role("service_director", "Service Director", Side.AUTHORITY),
    Role("chief_executive", "Chief Executive", Side.AUTHORITY),
    Role("admin", "Administrator", Side.ADMIN),
]

ROLES: dict[str, Role] = {role.key: role for role in _ROLES}

# The roles that chair a track: the IRO track belongs to IROs, the CP track to CP Chairs.
CHAIR_ROLE_FOR_TRACK: dict[str, str] = {"iro": "iro", "cpc": "cp_chair"}
# The track in words.
TRACK_LABELS: dict[str, str] = {
    "iro": "Independent Reviewing Officer",
    "cpc": "Child Protection Conference Chair",
}
# The chairs' own line, above the chairs: who oversees the IRO/CP service's challenges.
CHAIRS_LINE_ROLES: frozenset[str] = frozenset(
    role.key
    for role in _ROLES
    if role.side is Side.CHAIR_LINE and role.key not in CHAIR_ROLE_FOR_TRACK.values()
)
# The chair's manager: who may escalate, resolve, re-open or withdraw beside the chair.
CHAIR_MANAGER_ROLES: tuple[str, ...] = ("iro_team_manager", "iro_service_manager")


def role_label(key: str) -> str:
    role = ROLES.get(key)
    return role.label if role else key
