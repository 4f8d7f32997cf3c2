"""What an import compares its rows with: the teams, staff, posts and children Resolve holds.

These read for the system, not for a person: an import checks every row against every record, and
only the records it then changes are opened through the chokepoint (``child_get_for_allocation``),
which logs each one against the person who ran the import.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.contrib.auth.models import User

from resolve.casesystem.models import LegalStatus
from resolve.children.models import Child
from resolve.people.models import Post, Team


@dataclass
class TeamNow:
    id: int | None
    name: str
    kind: str


@dataclass
class PersonNow:
    id: int | None
    username: str
    first_name: str
    last_name: str
    email: str
    is_active: bool
    is_admin: bool


@dataclass
class ChildNow:
    id: int | None
    case_number: str
    first_name: str
    last_name: str
    date_of_birth: dt.date
    social_worker: str
    team: str
    iro: str | None
    cp_chair: str | None
    legal_status: str | None


@dataclass
class Records:
    """Resolve's records as an import sees them, keyed by the words an export uses."""

    teams: dict[str, TeamNow] = field(default_factory=dict)  # by name, case folded
    people: dict[str, PersonNow] = field(default_factory=dict)  # by username
    posts: set[tuple[str, str, str | None]] = field(default_factory=set)  # (username, role, team name)
    # Each person's social work team (their first social worker post in a team), which places a child.
    social_work_team: dict[str, str] = field(default_factory=dict)
    children: dict[str, ChildNow] = field(default_factory=dict)  # by case number


def records_for_import() -> Records:
    records = Records()
    names: dict[int, str] = {}
    for team in Team.objects.order_by("id"):
        records.teams[team.name.casefold()] = TeamNow(team.pk, team.name, team.kind)
        names[team.pk] = team.name
    usernames: dict[int, str] = {}
    for pk, username, first, last, email, active, staff, superuser in User.objects.values_list(
        "pk", "username", "first_name", "last_name", "email", "is_active", "is_staff", "is_superuser"
    ):
        records.people[username] = PersonNow(pk, username, first, last, email, active, staff or superuser)
        usernames[pk] = username
    for user_id, role, team_id in Post.objects.order_by("id").values_list("user_id", "role", "team_id"):
        username = usernames[user_id]
        team_name = names.get(team_id) if team_id is not None else None
        records.posts.add((username, role, team_name))
        if role == "social_worker" and team_name is not None:
            records.social_work_team.setdefault(username, team_name)
    statuses = dict(LegalStatus.objects.values_list("child_id", "status"))
    for row in Child.objects.values_list(
        "pk",
        "case_number",
        "first_name",
        "last_name",
        "date_of_birth",
        "social_worker_id",
        "team_id",
        "iro_id",
        "cp_chair_id",
    ).iterator(chunk_size=5000):
        pk, case_number, first, last, born, worker, team_id, iro, cp_chair = row
        records.children[case_number] = ChildNow(
            pk,
            case_number,
            first,
            last,
            born,
            usernames[worker],
            names[team_id],
            usernames[iro] if iro is not None else None,
            usernames[cp_chair] if cp_chair is not None else None,
            statuses.get(pk),
        )
    return records


@dataclass(frozen=True)
class RetentionRow:
    case_number: str
    date_of_birth: dt.date
    status: str | None
    was_looked_after: bool


def children_for_retention() -> list[RetentionRow]:
    """Every child not yet disposed of, with what their retention date is computed from (no names)."""
    statuses = {
        child_id: (status, was)
        for child_id, status, was in LegalStatus.objects.values_list("child_id", "status", "was_looked_after")
    }
    rows = []
    for pk, case_number, born in (
        Child.objects.filter(disposal__isnull=True)
        .values_list("pk", "case_number", "date_of_birth")
        .iterator()
    ):
        status, was = statuses.get(pk, (None, False))
        rows.append(RetentionRow(case_number, born, status, was))
    return rows


def child_id_newest() -> int:
    """The newest child's id (0 when none): an import's new children are those after it."""
    return Child.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def child_ids_after(newest: int) -> dict[str, int]:
    """The ids of the children added after ``newest``, by case number."""
    return dict(Child.objects.filter(pk__gt=newest).values_list("case_number", "pk"))
