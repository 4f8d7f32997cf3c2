"""What each role may do: the one role-to-permission map, reviewed as code.

Two questions decide every request:

1. *Which records can this person see at all?* Their role's ``Scope``, applied by the chokepoint
   (``resolve.access.scoping``) when the role holds ``Perm.VIEW_RECORDS``, plus the children
   allocated to them and the challenges they raised, whatever their role. A record outside it
   answers 404, exactly like a record that does not exist.
2. *What may they do to a record they can see?* The role's ``Perm`` set here is necessary; the
   challenge engine then checks the person's relation to that challenge (its chair, the stage's
   recipient, the chair's manager), so a Team Manager may respond only at a stage sent to them.

``python manage.py permissions_table`` writes docs/permissions.md from this module; the tests fail
when the two disagree, and when a shipped procedure names a role for a job this map does not allow.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from resolve.core.errors import ServiceError
from resolve.people.roles import ROLES
from resolve.people.selectors import user_roles


class Scope(StrEnum):
    """Which children (and so which challenges, case notes and documents) a role's post shows."""

    ALLOCATED = "allocated"
    TEAM = "team"
    LINE = "line"
    CHAIRED = "chaired"
    SERVICE = "service"
    AUTHORITY = "authority"
    NONE = "none"


SCOPE_WORDS: dict[Scope, str] = {
    Scope.ALLOCATED: "Children allocated to them, and those children's challenges.",
    Scope.TEAM: "Their team's children (every team they hold the post in); an authority-wide post sees all.",
    Scope.LINE: "Their part of the management line: a post in a team sees that team's children, "
    "an authority-wide post sees every child.",
    Scope.CHAIRED: "Children they chair (as IRO or CP Chair) and the challenges they raised.",
    Scope.SERVICE: "Their service's: children chaired by a member of their team, challenges raised by one; "
    "an authority-wide post sees every child.",
    Scope.AUTHORITY: "Every child (an authority-wide post, notified of escalations).",
    Scope.NONE: "No child by virtue of the role; only what another post they hold, or an allocation, gives.",
}


class Perm(StrEnum):
    VIEW_RECORDS = "view_records"
    RAISE_CHALLENGE = "raise_challenge"
    RESPOND = "respond"
    ESCALATE = "escalate"
    RESOLVE = "resolve"
    REOPEN = "reopen"
    WITHDRAW = "withdraw"
    REFER_TO_CAFCASS = "refer_to_cafcass"
    UPDATE_ACTION = "update_action"
    RECORD_MEETING = "record_meeting"
    ADD_FINAL_COMMENTS = "add_final_comments"
    ADD_LEARNING_POINTS = "add_learning_points"
    CORRECT_CASE_NOTE = "correct_case_note"
    ADD_CHILDREN = "add_children"
    MANAGE_REFERENCE_DATA = "manage_reference_data"
    BREAK_GLASS = "break_glass"
    REVIEW_ACCESS = "review_access"
    VIEW_REPORTS = "view_reports"
    HAND_OVER_WORK = "hand_over_work"
    PLAN_ACTIONS = "plan_actions"
    EXTEND_DEADLINE = "extend_deadline"
    RECORD_CONCERN = "record_concern"
    ASK_AGREEMENT = "ask_agreement"
    ANSWER_REQUEST = "answer_request"


PERM_WORDS: dict[Perm, str] = {
    Perm.VIEW_RECORDS: "See children's records and challenges within their scope",
    Perm.RAISE_CHALLENGE: "Raise a challenge (as the child's allocated IRO or CP Chair)",
    Perm.RESPOND: "Record the response at a stage sent to them (a chair: a partner agency's reply, on "
    "its contact's behalf)",
    Perm.ESCALATE: "Escalate a challenge (its chair, or the chair's manager)",
    Perm.RESOLVE: "Resolve a challenge (its chair, or the chair's manager)",
    Perm.REOPEN: "Re-open a challenge whose actions were not delivered",
    Perm.WITHDRAW: "Withdraw a challenge",
    Perm.REFER_TO_CAFCASS: "Refer a looked-after child's case to Cafcass (the child's IRO, or the role "
    "the procedure names to complete the form)",
    Perm.UPDATE_ACTION: "Mark an agreed action done or not done",
    Perm.RECORD_MEETING: "Record a meeting held at a stage",
    Perm.ADD_FINAL_COMMENTS: "Add the IRO/CP Service Manager's final comments",
    Perm.ADD_LEARNING_POINTS: "Add key learning points (the chair, the stage's recipient, the child's team)",
    Perm.CORRECT_CASE_NOTE: "Add a correction (an addendum) to a case note they can see",
    Perm.ADD_CHILDREN: "Add children to Resolve and allocate their workers",
    Perm.MANAGE_REFERENCE_DATA: "Manage staff, teams, posts, calendars and procedures (admin site)",
    Perm.BREAK_GLASS: "Read a record outside their scope for a short time, with a reason (logged, reported)",
    Perm.REVIEW_ACCESS: "Review the access log (of children they see) and every break-glass access",
    Perm.VIEW_REPORTS: "See and export the figures, charts and learning of the challenges in their scope",
    Perm.HAND_OVER_WORK: (
        "Hand a leaver's children, stages and actions to another person (managers: within their scope)"
    ),
    Perm.PLAN_ACTIONS: "Add agreed actions and change their dates (the chair, the stage's recipient, "
    "the chair's manager)",
    Perm.EXTEND_DEADLINE: "Record an agreed extension of a stage's response date "
    "(the chair or their manager)",
    Perm.RECORD_CONCERN: "Record a concern on a child's record without starting a challenge (the chair)",
    Perm.ASK_AGREEMENT: "Ask a named person to agree to (or be told of) a bypass or a Cafcass referral",
    Perm.ANSWER_REQUEST: "Confirm or decline a request for agreement made to them",
}

# The same permissions as the end of a sentence: "Your role does not allow you to ...".
PERM_DOING: dict[Perm, str] = {
    Perm.VIEW_RECORDS: "see children's records",
    Perm.RAISE_CHALLENGE: "raise a challenge",
    Perm.RESPOND: "record a response",
    Perm.ESCALATE: "escalate a challenge",
    Perm.RESOLVE: "resolve a challenge",
    Perm.REOPEN: "re-open a challenge",
    Perm.WITHDRAW: "withdraw a challenge",
    Perm.REFER_TO_CAFCASS: "refer a case to Cafcass",
    Perm.UPDATE_ACTION: "update an action",
    Perm.RECORD_MEETING: "record a meeting",
    Perm.ADD_FINAL_COMMENTS: "add final comments",
    Perm.ADD_LEARNING_POINTS: "add key learning points",
    Perm.CORRECT_CASE_NOTE: "add corrections to case notes",
    Perm.ADD_CHILDREN: "add children",
    Perm.MANAGE_REFERENCE_DATA: "manage reference data",
    Perm.BREAK_GLASS: "open a record outside your scope",
    Perm.REVIEW_ACCESS: "review the access log",
    Perm.VIEW_REPORTS: "see the reports",
    Perm.HAND_OVER_WORK: "hand over someone's work",
    Perm.PLAN_ACTIONS: "agree or change actions",
    Perm.EXTEND_DEADLINE: "record an extension",
    Perm.RECORD_CONCERN: "record a concern",
    Perm.ASK_AGREEMENT: "ask for agreement",
    Perm.ANSWER_REQUEST: "answer a request for agreement",
}

_CHAIR_WORK = frozenset(
    {
        Perm.VIEW_RECORDS,
        Perm.RAISE_CHALLENGE,
        # Only a partner agency's reply, which its contact (with no account) cannot record: the engine's
        # respond guard lets a chair respond on that track alone (seed 000 section 2).
        Perm.RESPOND,
        Perm.ESCALATE,
        Perm.RESOLVE,
        Perm.REOPEN,
        Perm.WITHDRAW,
        Perm.UPDATE_ACTION,
        Perm.RECORD_MEETING,
        Perm.ADD_LEARNING_POINTS,
        Perm.CORRECT_CASE_NOTE,
        Perm.BREAK_GLASS,
        Perm.PLAN_ACTIONS,
        Perm.EXTEND_DEADLINE,
        Perm.RECORD_CONCERN,
        Perm.ASK_AGREEMENT,
        Perm.ANSWER_REQUEST,
    }
)
_CHAIR_MANAGEMENT = frozenset(
    {
        Perm.VIEW_RECORDS,
        Perm.VIEW_REPORTS,
        Perm.ESCALATE,
        Perm.RESOLVE,
        Perm.REOPEN,
        Perm.WITHDRAW,
        Perm.UPDATE_ACTION,
        Perm.RECORD_MEETING,
        Perm.ADD_FINAL_COMMENTS,
        Perm.CORRECT_CASE_NOTE,
        Perm.BREAK_GLASS,
        Perm.REVIEW_ACCESS,
        Perm.PLAN_ACTIONS,
        Perm.EXTEND_DEADLINE,
        Perm.ASK_AGREEMENT,
        Perm.ANSWER_REQUEST,
    }
)
_RECEIVING = frozenset(
    {
        Perm.VIEW_RECORDS,
        Perm.RESPOND,
        Perm.UPDATE_ACTION,
        Perm.RECORD_MEETING,
        Perm.ADD_LEARNING_POINTS,
        Perm.CORRECT_CASE_NOTE,
        Perm.BREAK_GLASS,
        Perm.PLAN_ACTIONS,
        Perm.ANSWER_REQUEST,
    }
)
# Read, and answer a request made to them.
_TOLD = frozenset({Perm.VIEW_RECORDS, Perm.ANSWER_REQUEST})


@dataclass(frozen=True, slots=True)
class Grant:
    scope: Scope
    perms: frozenset[Perm]


# The map. Every role in resolve.people.roles must appear here (a test checks it).
GRANTS: dict[str, Grant] = {
    # The raising side.
    "iro": Grant(Scope.CHAIRED, _CHAIR_WORK | {Perm.REFER_TO_CAFCASS}),
    "cp_chair": Grant(Scope.CHAIRED, _CHAIR_WORK),
    "iro_team_manager": Grant(Scope.SERVICE, _CHAIR_MANAGEMENT | {Perm.HAND_OVER_WORK}),
    # Seed 001: "the CPRU Service Manager will complete the Form CLA Resolution Stage 4 - Referral to
    # CAFCASS"; the engine lets them only where the procedure says so (cafcass.form_completed_by).
    "iro_service_manager": Grant(
        Scope.SERVICE, _CHAIR_MANAGEMENT | {Perm.HAND_OVER_WORK, Perm.REFER_TO_CAFCASS}
    ),
    "iro_senior_manager": Grant(
        Scope.SERVICE, _CHAIR_MANAGEMENT - {Perm.ESCALATE, Perm.RESOLVE, Perm.REOPEN, Perm.WITHDRAW}
    ),
    # Head of Service (Safeguarding) can be the "To" of a stage (seed 003), so responds too.
    "head_of_safeguarding": Grant(
        Scope.SERVICE,
        (_CHAIR_MANAGEMENT - {Perm.ESCALATE, Perm.RESOLVE, Perm.REOPEN, Perm.WITHDRAW}) | {Perm.RESPOND},
    ),
    # The child's social work line.
    "social_worker": Grant(Scope.ALLOCATED, _RECEIVING),
    # Managers in the line see the figures of their part of it (issue 12: "a head of service sees
    # their part of the line").
    "team_manager": Grant(Scope.TEAM, _RECEIVING | {Perm.VIEW_REPORTS, Perm.HAND_OVER_WORK}),
    "service_manager": Grant(Scope.LINE, _RECEIVING | {Perm.VIEW_REPORTS, Perm.HAND_OVER_WORK}),
    "senior_manager": Grant(Scope.LINE, _RECEIVING | {Perm.VIEW_REPORTS}),
    "head_of_service": Grant(Scope.LINE, _RECEIVING | {Perm.VIEW_REPORTS}),
    "assistant_director": Grant(Scope.LINE, _RECEIVING | {Perm.VIEW_REPORTS}),
    "deputy_director": Grant(Scope.LINE, _RECEIVING | {Perm.VIEW_REPORTS}),
    "director": Grant(Scope.LINE, _RECEIVING | {Perm.VIEW_REPORTS}),
    # Authority-wide posts that procedures notify: they read, and answer only what is asked of them.
    "principal_social_worker": Grant(Scope.AUTHORITY, _TOLD | {Perm.VIEW_REPORTS}),
    "service_director": Grant(Scope.AUTHORITY, _TOLD | {Perm.VIEW_REPORTS}),
    "chief_executive": Grant(Scope.AUTHORITY, _TOLD | {Perm.VIEW_REPORTS}),
    # Reference data only: children are seen through the same rules as anyone else.
    "admin": Grant(
        Scope.NONE, frozenset({Perm.ADD_CHILDREN, Perm.MANAGE_REFERENCE_DATA, Perm.HAND_OVER_WORK})
    ),
}

UserLike = AbstractBaseUser | AnonymousUser


def role_perms(role: str) -> frozenset[Perm]:
    grant = GRANTS.get(role)
    return grant.perms if grant else frozenset()


def roles_with(perm: Perm) -> frozenset[str]:
    return frozenset(role for role, grant in GRANTS.items() if perm in grant.perms)


def user_perms(*, user: UserLike) -> frozenset[Perm]:
    """Everything any of the person's posts allows (a deactivated or anonymous user: nothing)."""
    if not user.is_authenticated or not getattr(user, "is_active", False):
        return frozenset()
    perms: set[Perm] = set()
    for role in user_roles(user=user):  # type: ignore[arg-type]
        perms |= role_perms(role)
    return frozenset(perms)


def user_has_perm(*, user: UserLike, perm: Perm) -> bool:
    return perm in user_perms(user=user)


def perm_require(*, user: UserLike, perm: Perm) -> None:
    """Refuse (``ServiceError(forbidden)``, a 403) unless one of the person's posts allows ``perm``."""
    if not user_has_perm(user=user, perm=perm):
        raise ServiceError("forbidden", "not_allowed", f"Your role does not allow you to {PERM_DOING[perm]}.")


def permissions_markdown() -> str:
    """docs/permissions.md, generated from GRANTS (``python manage.py permissions_table``)."""
    roles = [key for key in ROLES if key in GRANTS]
    lines = [
        "# Permissions",
        "",
        "<!-- Generated by `python manage.py permissions_table` from resolve/access/permissions.py."
        " Do not edit by hand. -->",
        "",
        "Who may see which records, and who may do what. A record outside a person's scope answers",
        "**404**, exactly as a record that does not exist. Seeing a record is necessary for acting on it;",
        "the challenge engine then checks the person's relation to that challenge (its chair, the",
        "stage's recipient, the chair's manager). A person with several posts has the union of them.",
        "",
        "## Scopes",
        "",
        "| Role | Key | Sees |",
        "|---|---|---|",
    ]
    for key in roles:
        grant = GRANTS[key]
        lines.append(f"| {ROLES[key].label} | `{key}` | {SCOPE_WORDS[grant.scope]} |")
    lines += [
        "",
        "A role's scope counts only when the role may see records (`view_records`). Everyone, whatever",
        "their role, also sees the children allocated to them (as social worker, IRO or CP Chair), the",
        "challenges they raised, and (to read, not to change) any child they opened through break-glass",
        "while that access lasts.",
        "",
        "## What each role may do",
        "",
        "| Permission | " + " | ".join(f"`{key}`" for key in roles) + " |",
        "|---|" + "|".join(":-:" for _ in roles) + "|",
    ]
    for perm in Perm:
        marks = " | ".join("✔" if perm in GRANTS[key].perms else "" for key in roles)
        lines.append(f"| {PERM_WORDS[perm]} (`{perm.value}`) | {marks} |")
    lines.append("")
    return "\n".join(lines)
