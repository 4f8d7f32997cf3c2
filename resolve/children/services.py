"""Writes to the child's record."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from resolve.access import (
    Perm,
    case_note_get_for_change,
    child_challenges_follow,
    child_get_for_allocation,
    perm_require,
)
from resolve.children.models import CaseNote, Child
from resolve.core import limits
from resolve.core.errors import ServiceError
from resolve.core.retry import retried
from resolve.people.models import Team
from resolve.people.roles import role_label
from resolve.people.selectors import user_roles, user_team


def _staff(username: str | None, role: str, field: str) -> User | None:
    if username is None or username == "":
        return None
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise ServiceError("invalid", "unknown_user", f"There is no active user called {username!r}.", field)
    if role not in user_roles(user=user):
        raise ServiceError("invalid", "wrong_role", f"{username} is not a {role_label(role)}.", field)
    return user


def _allocation_people(
    *, social_worker: str, iro: str | None, cp_chair: str | None
) -> tuple[User, Team, User | None, User | None]:
    """The people a child is allocated to, each checked for their role, and the social worker's team
    (which places the child in the management line)."""
    worker = _staff(social_worker, "social_worker", "social_worker")
    if worker is None:
        raise ServiceError("invalid", "required", "Name the child's social worker.", "social_worker")
    team = user_team(user=worker, roles=("social_worker",))
    if team is None:
        raise ServiceError(
            "invalid",
            "no_team",
            f"{social_worker} is not in a social work team: add them to one first.",
            "social_worker",
        )
    chair = _staff(iro, "iro", "iro")
    conference_chair = _staff(cp_chair, "cp_chair", "cp_chair")
    return worker, team, chair, conference_chair


def child_create(
    *,
    user: User,
    case_number: str,
    first_name: str,
    last_name: str,
    date_of_birth: dt.date,
    social_worker: str,
    iro: str | None = None,
    cp_chair: str | None = None,
) -> Child:
    """Add a child to Resolve. The social worker's team places the child in the management line."""
    perm_require(user=user, perm=Perm.ADD_CHILDREN)
    case_number = limits.case_number_normalise(case_number)
    first_name, last_name = first_name.strip(), last_name.strip()
    for field, value, what in (
        ("case_number", case_number, "the child's case number"),
        ("first_name", first_name, "the child's first name"),
        ("last_name", last_name, "the child's last name"),
    ):
        if not value or not value.strip():
            raise ServiceError("invalid", "required", f"Enter {what}.", field)
    problem = limits.case_number_problem(case_number)
    if problem:
        raise ServiceError("invalid", "bad_case_number", problem, "case_number")
    # Names go into email subjects and headers: one line, bounded.
    for field, value in (("first_name", first_name), ("last_name", last_name)):
        limits.text_check(field=field, value=value, max_length=limits.MAX_NAME, single_line=True)
    limits.date_of_birth_check(value=date_of_birth, today=timezone.localdate())
    worker, team, chair, conference_chair = _allocation_people(
        social_worker=social_worker, iro=iro, cp_chair=cp_chair
    )
    try:
        with transaction.atomic():
            return Child.objects.create(
                case_number=case_number,
                first_name=first_name,
                last_name=last_name,
                date_of_birth=date_of_birth,
                social_worker=worker,
                team=team,
                iro=chair,
                cp_chair=conference_chair,
            )
    except IntegrityError:
        raise ServiceError(
            "conflict",
            "duplicate_case_number",
            f"A child with case number {case_number!r} is already recorded.",
            "case_number",
        ) from None


ALLOCATION_NOTE = "Allocation changed"


def _who(user: User | None) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else "nobody"


def child_allocate(
    *,
    user: User,
    child_id: int,
    social_worker: str,
    iro: str | None = None,
    cp_chair: str | None = None,
    reason: str = "",
    reason_required: bool = False,
) -> Child:
    """Set who works with a child (the team follows the social worker) and record it on their record.

    The one way an allocation changes: the child is locked through the chokepoint
    (``child_get_for_allocation``: ``Perm.ADD_CHILDREN``, logged), and the change is written with a
    case note that says who changed what, and why when a reason is given (the page requires one),
    in one transaction. Nobody allocates themselves.
    """
    perm_require(user=user, perm=Perm.ADD_CHILDREN)  # before the names are looked up
    reason = reason.strip()
    if reason_required and not reason:
        raise ServiceError("invalid", "required", "Enter the reason for the change.", "reason")
    limits.text_check(field="reason", value=reason)
    worker, team, chair, conference_chair = _allocation_people(
        social_worker=social_worker, iro=iro, cp_chair=cp_chair
    )
    wanted: list[tuple[str, str, User | None]] = [
        ("social_worker", "Social worker", worker),
        ("iro", "IRO", chair),
        ("cp_chair", "CP Chair", conference_chair),
    ]
    for field, _label, person in wanted:
        if person is not None and person.pk == user.pk:
            raise ServiceError(
                "forbidden", "self_allocation", "You cannot allocate a child to yourself.", field
            )
    with transaction.atomic():
        child = child_get_for_allocation(user=user, child_id=child_id)
        _allocation_write(user=user, child=child, wanted=wanted, team=team, reason=reason)
    return child


def _allocation_write(
    *, user: User, child: Child, wanted: list[tuple[str, str, User | None]], team: Team, reason: str
) -> None:
    """Write a new allocation on a locked child, with the case note saying who changed what and why."""
    changes = [
        f"{label}: {_who(getattr(child, field))} to {_who(person)}"
        for field, label, person in wanted
        if getattr(child, f"{field}_id") != (person.pk if person is not None else None)
    ]
    if child.team_id != team.pk:
        changes.append(f"Team: {child.team} to {team}")
    if not changes:
        raise ServiceError("invalid", "no_change", "That is the child's allocation already.")
    for field, _label, person in wanted:
        setattr(child, field, person)
    child.team = team
    child.save(update_fields=["social_worker", "team", "iro", "cp_chair"])
    # The child's challenges hold a copy of the allocation for their scope and lists: moved with it.
    child_challenges_follow(child=child)
    CaseNote.objects.create(
        child=child,
        note_type=ALLOCATION_NOTE,
        body=f"{_who(user)} changed the allocation.\n"
        + "\n".join(changes)
        + (f"\nReason: {reason}" if reason else ""),
        on=timezone.localdate(),
        author=user,
    )


def child_allocation_hand_over(
    *, user: User, child: Child, leaver: User, successor: User, reason: str
) -> None:
    """Put ``successor`` wherever ``leaver`` is allocated to ``child`` (locked by
    ``resolve.access.work_get_for_hand_over``), with the reason in the "Allocation changed" case note.

    The successor must hold each role they take (a social worker in a social work team, an IRO, a
    CP Chair); a refusal names the child, so the hand-over can be put right.
    """
    perm_require(user=user, perm=Perm.HAND_OVER_WORK)
    if successor.pk == user.pk:
        raise ServiceError(
            "forbidden", "self_allocation", "You cannot allocate a child to yourself.", "successor"
        )

    def swap(person: User | None) -> str | None:
        if person is None:
            return None
        return successor.get_username() if person.pk == leaver.pk else person.get_username()

    try:
        worker, team, chair, conference_chair = _allocation_people(
            social_worker=swap(child.social_worker) or "",
            iro=swap(child.iro),
            cp_chair=swap(child.cp_chair),
        )
    except ServiceError as error:
        raise ServiceError(
            error.kind, error.code, f"{child.full_name} ({child.case_number}): {error.message}", "successor"
        ) from None
    wanted: list[tuple[str, str, User | None]] = [
        ("social_worker", "Social worker", worker),
        ("iro", "IRO", chair),
        ("cp_chair", "CP Chair", conference_chair),
    ]
    _allocation_write(user=user, child=child, wanted=wanted, team=team, reason=reason)


@retried
def case_note_correct(*, user: User, note_id: int, body: str) -> CaseNote:
    """Correct a case note: a new note (an addendum) that refers to the original, which stays as it was.

    The note must be one this person can see (else ``NotVisible``, as for a note that does not exist)
    and their role must allow corrections.
    """
    note = case_note_get_for_change(user=user, note_id=note_id, perm=Perm.CORRECT_CASE_NOTE)
    if not body.strip():
        raise ServiceError("invalid", "required", "Enter the correction.", "body")
    limits.text_check(field="body", value=body)
    with transaction.atomic():
        return CaseNote.objects.create(
            child=note.child,
            challenge=note.challenge,
            note_type=f"Correction: {note.note_type}",
            body=body.strip(),
            on=timezone.localdate(),
            author=user,
            corrects=note,
        )
