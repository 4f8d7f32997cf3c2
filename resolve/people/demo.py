"""A small authority with one person in every role: the demo's staff, and the tests' too.

Usernames are the role keys (``iro``, ``team_manager``, ...), so scripts and people can guess them.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.db import transaction

from resolve.people.models import Post, Team
from resolve.people.roles import ROLES, Side

SOCIAL_WORK_TEAM = "Children in Care Team"
SECOND_TEAM = "Safeguarding and Family Support Team"
CHAIRS_TEAM = "IRO and Child Protection Chairs Service"

# Child-line roles held inside the social work team; the rest of that line is authority-wide.
TEAM_ROLES = ("social_worker", "team_manager", "service_manager")

_NAMES = {
    "iro": ("Isla", "Reid"),
    "cp_chair": ("Chris", "Patel"),
    "iro_team_manager": ("Tanya", "Morgan"),
    "iro_service_manager": ("Sam", "Mensah"),
    "iro_senior_manager": ("Sunita", "Rao"),
    "head_of_safeguarding": ("Hannah", "Shaw"),
    "social_worker": ("Sophie", "Walker"),
    "team_manager": ("Tom", "Mitchell"),
    "service_manager": ("Sarah", "Moore"),
    "senior_manager": ("Simon", "Marsh"),
    "head_of_service": ("Helen", "Owens"),
    "assistant_director": ("Alan", "Dixon"),
    "deputy_director": ("Dawn", "Davies"),
    "director": ("Diana", "Carter"),
    "principal_social_worker": ("Priya", "Singh"),
    "service_director": ("Stephen", "Doyle"),
    "chief_executive": ("Catherine", "Evans"),
    "admin": ("Adam", "Brown"),
}


@dataclass
class Authority:
    teams: dict[str, Team]
    staff: dict[str, User]


@transaction.atomic
def authority_build(*, password: str | None) -> Authority:
    """Create (or find) the demo authority: its teams and one person in every role, named after the role."""
    users = User
    # Hashing is slow by design; the demo's users share one password, so hash it once.
    hashed = make_password(password) if password else None
    teams = {
        "social_work": Team.objects.get_or_create(
            name=SOCIAL_WORK_TEAM, defaults={"kind": Team.Kind.SOCIAL_WORK}
        )[0],
        "second": Team.objects.get_or_create(name=SECOND_TEAM, defaults={"kind": Team.Kind.SOCIAL_WORK})[0],
        "chairs": Team.objects.get_or_create(name=CHAIRS_TEAM, defaults={"kind": Team.Kind.CHAIRS})[0],
    }
    staff: dict[str, User] = {}
    for key, role in ROLES.items():
        first, last = _NAMES[key]
        user, created = users.objects.get_or_create(
            username=key, defaults={"first_name": first, "last_name": last, "email": f"{key}@resolve.invalid"}
        )
        if created or password:
            if hashed:
                user.password = hashed
            else:
                user.set_unusable_password()
            if key == "admin":
                user.is_staff = user.is_superuser = True
            user.save()
        if role.side is Side.CHAIR_LINE:
            team: Team | None = teams["chairs"]
        elif key in TEAM_ROLES:
            team = teams["social_work"]
        else:
            team = None
        Post.objects.get_or_create(user=user, role=key, team=team)
        staff[key] = user
    # A second social work team with its own worker and manager, for scoping.
    for key, role_key, (first, last) in (
        ("social_worker_2", "social_worker", ("Sean", "Walsh")),
        ("team_manager_2", "team_manager", ("Tara", "Mills")),
    ):
        user, created = users.objects.get_or_create(
            username=key, defaults={"first_name": first, "last_name": last, "email": f"{key}@resolve.invalid"}
        )
        if created or password:
            if hashed:
                user.password = hashed
            else:
                user.set_unusable_password()
            user.save()
        Post.objects.get_or_create(user=user, role=role_key, team=teams["second"])
        staff[key] = user
    # The Service Manager manages both social work teams.
    Post.objects.get_or_create(user=staff["service_manager"], role="service_manager", team=teams["second"])
    return Authority(teams=teams, staff=staff)
