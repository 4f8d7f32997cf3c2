"""The one chokepoint for reading children, challenges, case notes and documents.

Every query for one of them — pages, API and exports alike — goes through ``children_visible_to`` /
``challenges_visible_to`` / ``case_notes_visible_to`` / ``documents_visible_to`` (or the
``*_get_for_user`` helpers built on them), which scope it to what the person's posts entitle them to
see (``resolve.access.permissions.GRANTS``), plus any break-glass access still running. "Not
allowed" and "not found" look the same to the caller: ``NotVisible``, answered as 404.

The ``*_get_for_user`` helpers also write the access log: who opened which record, when, from where
and through what (see ``resolve.access.context``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from resolve.access.log import access_record, access_record_many
from resolve.access.permissions import GRANTS, Perm, Scope, perm_require, user_has_perm
from resolve.audit.models import BreakGlassGrant
from resolve.challenges.models import (
    ALLOCATION_COPIED,
    Action,
    Agreement,
    Challenge,
    Document,
    Meeting,
    StageVisit,
)
from resolve.children.models import CaseNote, Child
from resolve.core import kept, limits
from resolve.core.errors import ServiceError
from resolve.people.models import Post
from resolve.people.selectors import user_posts, user_roles_remember

UserLike = AbstractBaseUser | AnonymousUser

CHAIR_ROLES = ("iro", "cp_chair")

# Kept for code that still asks by role set; the scopes themselves come from GRANTS.
CHILD_LINE_MANAGERS = frozenset(
    key for key, grant in GRANTS.items() if grant.scope in {Scope.TEAM, Scope.LINE}
)
CHAIR_LINE_MANAGERS = frozenset(key for key, grant in GRANTS.items() if grant.scope is Scope.SERVICE)
AUTHORITY_WIDE = frozenset(key for key, grant in GRANTS.items() if grant.scope is Scope.AUTHORITY)
CHAIRS = frozenset(key for key, grant in GRANTS.items() if grant.scope is Scope.CHAIRED)


# The moment a scope is worked out for (break-glass access still running then): now, unless a caller
# that keeps the statement it builds pins it (``scope_moment``), to put the moment of each later
# request in its place.
_MOMENT: ContextVar[dt.datetime | None] = ContextVar("resolve_scope_moment", default=None)


@contextmanager
def scope_moment(moment: dt.datetime) -> Iterator[None]:
    """Scopes worked out inside are worked out for ``moment`` instead of now."""
    token = _MOMENT.set(moment)
    try:
        yield
    finally:
        _MOMENT.reset(token)


class NotVisible(Exception):
    """No such record, or not one this person may see: the two are never told apart."""


@dataclass
class _Scope:
    """Every record, or children matching ``children`` plus challenges matching ``challenges``.

    ``challenges`` names the challenges of the children ``children`` matches (on the copies of the
    child's allocation each challenge holds, ``Challenge.ALLOCATION_COPIED``) and those the person
    sees for their own part in them (raised by them or their service), so that a list of challenges
    filters on the challenge's own row, with an index in the list's order for each column.
    """

    everything: bool = False
    children: Q = field(default_factory=Q)
    challenges: Q = field(default_factory=Q)
    # ``challenges`` in parts (``ChallengeWays``): the person's own part in the record, and each of
    # their posts' wider reach (a team's, a line's, a service's challenges).
    own: tuple[Q, ...] = ()
    wide: tuple[Q, ...] = ()


def _scope(
    user: UserLike, *, break_glass: bool = True, posts: Iterable[tuple[str, int | None]] | None = None
) -> _Scope | None:
    """What ``user`` sees: None means nothing at all (signed out, or deactivated).

    Each post adds its role's scope when the role holds ``Perm.VIEW_RECORDS``; a role without it adds
    nothing. Whatever their roles, a person also sees the children allocated to them, the challenges
    they raised and a child opened through break-glass while that lasts: those are their own part in
    the record, not something a role gives. Break-glass gives reads only: the write chokepoints ask
    with ``break_glass=False``. ``posts``: the (role, team) of each of the person's posts, when the
    caller has just read them; read here otherwise.

    Each rule is written twice, side by side: on the child's row and on the copies a challenge holds
    of it (the same column names), so that a challenge is seen exactly when its child is.
    """
    if not user.is_authenticated or not getattr(user, "is_active", False):
        return None
    allocated = Q(social_worker_id=user.pk) | Q(iro_id=user.pk) | Q(cp_chair_id=user.pk)
    children = allocated
    own = [Q(social_worker_id=user.pk), Q(iro_id=user.pk), Q(cp_chair_id=user.pk), Q(raised_by_id=user.pk)]
    if break_glass:
        moment = _MOMENT.get() or timezone.now()
        opened = BreakGlassGrant.objects.filter(user_id=user.pk, expires_at__gt=moment).values("child_id")
        children |= Q(pk__in=opened)
        own.append(Q(child_id__in=opened))
    challenges = Q()
    for part in own:
        challenges |= part
    wide: list[Q] = []
    held = user_posts(user=user) if posts is None else list(posts)
    user_roles_remember(user=user, roles=[role for role, _ in held])
    for role, team_id in held:
        grant = GRANTS.get(role)
        # A post's scope counts only when its role may see records at all.
        if grant is None or Perm.VIEW_RECORDS not in grant.perms:
            continue
        if grant.scope is Scope.AUTHORITY:
            return _Scope(everything=True)
        if grant.scope in {Scope.TEAM, Scope.LINE}:
            if team_id is None:
                return _Scope(everything=True)
            children |= Q(team_id=team_id)
            wide.append(Q(team_id=team_id))
        elif grant.scope is Scope.SERVICE:
            if team_id is None:
                return _Scope(everything=True)
            # Their service: children whose chair works in their team, and challenges one of them raised.
            service = Q(iro_id__in=Post.objects.filter(team_id=team_id, role="iro").values("user_id")) | Q(
                cp_chair_id__in=Post.objects.filter(team_id=team_id, role="cp_chair").values("user_id")
            )
            children |= service
            chairs = Post.objects.filter(team_id=team_id, role__in=CHAIR_ROLES).values("user_id")
            wide.append(service | Q(raised_by_id__in=chairs))
        # ALLOCATED, CHAIRED and NONE add nothing beyond the person's own allocations above.
    reach = tuple(dict.fromkeys(wide))  # two posts in one team reach its challenges once
    for part in reach:
        challenges |= part
    return _Scope(children=children, challenges=challenges, own=tuple(own), wide=reach)


def _children_in(
    user: UserLike, *, break_glass: bool, posts: Iterable[tuple[str, int | None]] | None = None
) -> QuerySet[Child]:
    scope = _scope(user, break_glass=break_glass, posts=posts)
    if scope is None:
        return Child.objects.none()
    if scope.everything:
        return Child.objects.all()
    return Child.objects.filter(scope.children)


def _challenges_in(
    user: UserLike, *, break_glass: bool, posts: Iterable[tuple[str, int | None]] | None = None
) -> QuerySet[Challenge]:
    scope = _scope(user, break_glass=break_glass, posts=posts)
    if scope is None:
        return Challenge.objects.none()
    if scope.everything:
        return Challenge.objects.all()
    return Challenge.objects.filter(scope.challenges)


def _case_notes_in(user: UserLike, *, break_glass: bool) -> QuerySet[CaseNote]:
    return CaseNote.objects.filter(
        Q(child_id__in=_children_in(user, break_glass=break_glass).values("pk"))
        | Q(challenge_id__in=_challenges_in(user, break_glass=break_glass).values("pk"))
    )


def children_visible_to(user: UserLike) -> QuerySet[Child]:
    return _children_in(user, break_glass=True)


def challenges_visible_to(user: UserLike) -> QuerySet[Challenge]:
    return _challenges_in(user, break_glass=True)


@dataclass(frozen=True)
class ChallengeWays:
    """The challenges a person may see (``challenges_visible_to``), as parts an index can walk one at a
    time: ``wide``, each a reach of one of their posts (a team's or a line's challenges, on the
    challenge's copy of its child's team; a service's; or every challenge), and ``own``, their own
    part in the record (the children allocated to them, the challenges they raised, a child opened
    through break-glass while that lasts), which is as large as one person's caseload, however many
    challenges there are. Between them, exactly the challenges ``challenges_visible_to`` holds; two
    parts may share a challenge."""

    wide: tuple[QuerySet[Challenge], ...]
    own: QuerySet[Challenge] | None  # None: nothing beyond ``wide`` (one who sees every challenge)


def challenges_visible_in_ways(user: UserLike) -> ChallengeWays:
    """``challenges_visible_to``, in parts (``ChallengeWays``): for a queue read in an order, where one
    statement over every part would check each challenge of the table against them all."""
    scope = _scope(user)
    if scope is None:
        return ChallengeWays((), None)
    if scope.everything:
        return ChallengeWays((Challenge.objects.all(),), None)
    # Their own part as the ids of each of its columns (one index each), so that the database reads
    # each column's few rows on its own index whatever its statistics say of the others.
    ids = [Challenge.objects.order_by().filter(part).values("pk") for part in scope.own]
    return ChallengeWays(
        tuple(Challenge.objects.filter(part) for part in scope.wide),
        Challenge.objects.filter(pk__in=ids[0].union(*ids[1:], all=True)),
    )


def challenges_chaired_by(user: UserLike) -> tuple[QuerySet[Challenge], ...]:
    """The challenges ``user`` chairs, one part per track (an IRO's as their ``iro``, a conference
    chair's as their ``cp_chair``), each a column an index in the queues' order leads with. Part of
    what they see whatever their posts: the children allocated to them (``_scope``). None for one
    who sees nothing."""
    if not user.is_authenticated or not getattr(user, "is_active", False):
        return ()
    return tuple(Challenge.objects.filter(track) for track in chaired_by_q(user.pk))


def chaired_by_q(user_id: Any, via: str = "") -> tuple[Q, Q]:
    """Who chairs a challenge, as a filter per track: the IRO on the IRO track, the conference chair
    on the CP track (the challenge's own copies of its child's allocation). ``via``: the path to the
    challenge from the model filtered (``"challenge__"``)."""
    return (
        Q(**{f"{via}track": "iro", f"{via}iro_id": user_id}),
        Q(**{f"{via}track": "cpc", f"{via}cp_chair_id": user_id}),
    )


def case_notes_visible_to(user: UserLike) -> QuerySet[CaseNote]:
    """Notes on the children one may see, and the notes of challenges one may see."""
    return _case_notes_in(user, break_glass=True)


def documents_visible_to(user: UserLike) -> QuerySet[Document]:
    return Document.objects.filter(challenge_id__in=challenges_visible_to(user).values("pk"))


def _log(user: UserLike, child_id: int, challenge_id: int | None = None) -> None:
    access_record(user=user, child_id=child_id, challenge_id=challenge_id)


def child_get_for_user(*, user: UserLike, case_number: str) -> Child:
    child = children_visible_to(user).filter(case_number=limits.case_number_normalise(case_number)).first()
    if child is None:
        raise NotVisible(case_number)
    _log(user, child.pk)
    return child


def _expressions_key(expressions: Mapping[str, Any] | None) -> tuple[Any, ...] | None:
    """``with_rows`` as part of a kept statement's key: each name with its SQL and values (None when
    one is not raw SQL, whose statement is then built every time)."""
    key = []
    for name, expression in (expressions or {}).items():
        sql, params = getattr(expression, "sql", None), getattr(expression, "params", None)
        if sql is None or params is None:
            return None
        key.append((name, sql, tuple(params)))
    return tuple(key)


def _person_key(user: UserLike, held: list[tuple[str, int | None]]) -> tuple[Any, ...]:
    """Who a chokepoint's statement is built for: the person and their posts, which decide the scope."""
    return (user.pk, user.is_authenticated, getattr(user, "is_active", False), tuple(held))


def _challenge_id(challenge_id: Any) -> int:
    """A challenge's id as the ORM would look it up (the same error for one that is not a number)."""
    return int(Challenge._meta.pk.get_prep_value(challenge_id))


def challenge_get_for_user(
    *,
    user: UserLike,
    challenge_id: int,
    related: tuple[str, ...] = (),
    deferred: tuple[str, ...] = (),
    with_rows: Mapping[str, Any] | None = None,
) -> Challenge:
    """A challenge ``user`` may see, logged as opened; ``related``: relations to read with it (one
    query), so a page that shows them need not read the challenge again; ``deferred``: columns of
    those not read; ``with_rows``: annotations read in the same statement (the API answer's lists),
    each set on the challenge under its name."""
    held = user_posts(user=user) if user.is_authenticated else []
    if user.is_authenticated:
        user_roles_remember(user=user, roles=[role for role, _ in held])
    rows = _expressions_key(with_rows)
    # Built once for the person, the relations and the rows read with it, and kept; the challenge's
    # id and the moment break-glass access is asked about are given each time (``core/kept.py``).
    key = None if rows is None else ("challenge_for_user", _person_key(user, held), related, deferred, rows)

    def build(values: Mapping[str, Any]) -> QuerySet[Challenge]:
        with scope_moment(values["moment"]):
            challenges = _challenges_in(user, break_glass=True, posts=held).select_related(*related)
        if deferred:
            challenges = challenges.defer(*deferred)
        # By its id, so unordered: ordering the one row would only cost building an ORDER BY.
        return challenges.annotate(**(with_rows or {})).filter(pk=values["challenge"]).order_by()[:1]

    slots = {"challenge": _challenge_id(challenge_id), "moment": timezone.now()}
    found = kept.instances(key, build, slots, prepared=True)
    challenge = found[0] if found else None
    if challenge is None:
        raise NotVisible(challenge_id)
    _log(user, challenge.child_id, challenge.pk)
    return challenge


def challenge_get_for_change(
    *,
    user: UserLike | None,
    challenge_id: int,
    perm: Perm,
    owner_may: bool = False,
    posts: Iterable[tuple[str, int | None]] | None = None,
    with_rows: Mapping[str, Any] | None = None,
) -> Challenge:
    """Lock a challenge for a change, found through ``user``'s scope, once their role may make it.

    The write chokepoint: every service that changes a challenge loads it here, inside its
    transaction. Out of scope (or no such challenge) raises ``NotVisible``; in scope but a role
    without ``perm`` raises ``ServiceError(forbidden)``. ``user=None`` is Resolve itself acting on a
    deadline its procedure tells it to act on (an automatic escalation): it sees every challenge and
    the engine decides whether it may act. ``owner_may``: the owner of one of the challenge's agreed
    actions may make this change whatever their role (marking their own action done). ``posts``: the
    (role, team) of each of the person's posts, when the caller read them with others just now.
    ``with_rows``: annotations read in the same statement as the locked row (the write path's visits,
    actions and chain heads), each set on the challenge under its name.
    """
    checks_owner = owner_may and user is not None
    held = None
    if user is not None and user.is_authenticated:
        held = user_posts(user=user) if posts is None else list(posts)
        user_roles_remember(user=user, roles=[role for role, _ in held])
    rows = _expressions_key(with_rows)
    # Built once for the person (or Resolve itself), whether an action's owner may act and the rows
    # read with it, and kept; the challenge's id is given each time (``core/kept.py``).
    person = None if user is None else _person_key(user, held or [])
    key = None if rows is None else ("challenge_for_change", person, checks_owner, rows)

    def build(values: Mapping[str, Any]) -> QuerySet[Challenge]:
        # A break-glass grant opens a record to read, never to change.
        challenges = (
            Challenge.objects.all() if user is None else _challenges_in(user, break_glass=False, posts=held)
        )
        if checks_owner:
            # The owner is a person in Resolve (``Action.owner_user``); a named outsider owns nothing.
            assert user is not None
            challenges = challenges.annotate(
                owns_an_action=Exists(Action.objects.filter(challenge=OuterRef("pk"), owner_user_id=user.pk))
            )
        # By its id, so unordered: ordering the one row would only cost building an ORDER BY.
        return (
            challenges.select_for_update(of=("self",))
            .select_related(
                "child", "child__team", "child__social_worker", "child__iro", "child__cp_chair", "policy"
            )
            .annotate(**(with_rows or {}))
            .filter(pk=values["challenge"])
            .order_by()[:1]
        )

    found = kept.instances(key, build, {"challenge": _challenge_id(challenge_id)}, prepared=True)
    challenge = found[0] if found else None
    if challenge is None:
        raise NotVisible(challenge_id)
    owns_an_action = checks_owner and bool(getattr(challenge, "owns_an_action", False))
    if user is not None and not owns_an_action:
        perm_require(user=user, perm=perm)
    return challenge


def child_get_for_change(
    *,
    user: UserLike,
    child_id: int,
    perm: Perm,
    lock: bool = False,
    posts: Iterable[tuple[str, int | None]] | None = None,
    with_rows: Mapping[str, Any] | None = None,
) -> Child:
    """A child, through ``user``'s scope, for a change their role must allow (raising a challenge).

    ``lock``: hold the child's row until the transaction ends, for a change numbered on the child (a
    Cafcass referral with no challenge, and its requests for agreement). ``posts``: the (role, team)
    of each of the person's posts, when the caller read them with others just now. ``with_rows``:
    annotations read in the same statement as the child (raising: its chain's head, the procedure),
    each set on the child under its name."""
    children = _children_in(user, break_glass=False, posts=posts)
    if lock:
        children = children.select_for_update(of=("self",))
    found = list(
        children.select_related("team", "social_worker", "iro", "cp_chair")
        .annotate(**(with_rows or {}))
        .filter(pk=child_id)
        .order_by()[:1]
    )
    child = found[0] if found else None
    if child is None:
        raise NotVisible(child_id)
    perm_require(user=user, perm=perm)
    return child


def case_note_get_for_change(*, user: UserLike, note_id: int, perm: Perm) -> CaseNote:
    """A case note to change (correct), found through ``user``'s scope, once their role may do it.

    The write chokepoint for case notes, as ``challenge_get_for_change`` is for challenges: out of
    scope (or no such note) raises ``NotVisible``; in scope but a role without ``perm`` raises
    ``ServiceError(forbidden)``. Notes are append-only, so a change adds a row; but a note of a
    challenge locks that challenge first, as its transitions do, before the child's evidence chain
    is touched (the lock order in docs/architecture.md, "Locks"). Call it inside a transaction.
    """
    note = (
        _case_notes_in(user, break_glass=False)
        .select_related("child", "challenge")
        .filter(pk=note_id)
        .first()
    )
    if note is None:
        raise NotVisible(note_id)
    perm_require(user=user, perm=perm)
    if note.challenge_id is not None:
        list(Challenge.objects.select_for_update().filter(pk=note.challenge_id).values_list("pk"))
    return note


def child_get_for_break_glass(*, user: UserLike, case_number: str) -> Child:
    """The one read of a child outside the reader's scope: the record a break-glass grant will open.

    A role without ``Perm.BREAK_GLASS`` is refused (``ServiceError(forbidden)``); no such child is
    ``NotVisible``; a child the person already sees is a conflict, as there is nothing to open.
    Nothing is logged here: the grant is the record of it, and each look under it is logged.
    """
    perm_require(user=user, perm=Perm.BREAK_GLASS)
    child = Child.objects.filter(case_number=limits.case_number_normalise(case_number or "")).first()
    if child is None:
        raise NotVisible(case_number)
    if children_visible_to(user).filter(pk=child.pk).exists():
        raise ServiceError(
            "conflict",
            "already_visible",
            "You can already see this child's record: there is no need to break glass.",
        )
    return child


def child_id_for_allocation(*, user: UserLike, case_number: str) -> int:
    """The id of the child with ``case_number``, for those who allocate children (``Perm.ADD_CHILDREN``);
    ``NotVisible`` when there is none. The change itself loads it with ``child_get_for_allocation``."""
    perm_require(user=user, perm=Perm.ADD_CHILDREN)
    found = (
        Child.objects.filter(case_number=limits.case_number_normalise(case_number))
        .values_list("pk", flat=True)
        .first()
    )
    if found is None:
        raise NotVisible(case_number)
    return found


def child_get_for_allocation(*, user: UserLike, child_id: int, lock: bool = True) -> Child:
    """Lock a child to change who works with them (social worker, IRO, CP Chair, and so the team).

    Those who add children (``Perm.ADD_CHILDREN``) allocate them, although their role sees no
    record: they reach the child by its id, for this change only, and the look is logged like any
    other. Anyone else may not (``ServiceError(forbidden)``); no such child is ``NotVisible``.
    ``lock=False`` reads it without a lock, for the page that asks for the change.
    """
    perm_require(user=user, perm=Perm.ADD_CHILDREN)
    if lock:
        # The change moves the copies of the allocation the child's challenges hold
        # (``child_challenges_follow``): their rows are locked first, in the order of docs/architecture.md
        # ("Locks": challenge rows, then child rows, then chain heads).
        list(Challenge.objects.select_for_update().filter(child_id=child_id).order_by("pk").values_list("pk"))
    children = Child.objects.select_for_update(of=("self",)) if lock else Child.objects.all()
    child = children.select_related("team", "social_worker", "iro", "cp_chair").filter(pk=child_id).first()
    if child is None:
        raise NotVisible(child_id)
    _log(user, child.pk)
    return child


def child_challenges_follow(*, child: Child) -> int:
    """Move the copies of ``child``'s allocation its challenges hold (``ALLOCATION_COPIED``) to the
    child's allocation as it now stands: one UPDATE, in the caller's transaction (the change of
    allocation, which has locked the child and writes its case note). Answers how many challenges.

    Through the base manager: the copies are not evidence (the child's record is), so the
    challenges' seals are not renewed for them.
    """
    copies = {column: getattr(child, column) for column in ALLOCATION_COPIED}
    return Challenge._base_manager.filter(child_id=child.pk).update(**copies)


def case_note_get_for_user(*, user: UserLike, note_id: int) -> CaseNote:
    note = case_notes_visible_to(user).filter(pk=note_id).first()
    if note is None:
        raise NotVisible(note_id)
    _log(user, note.child_id, note.challenge_id)
    return note


def document_get_for_user(*, user: UserLike, document_id: int) -> Document:
    document = documents_visible_to(user).select_related("challenge").filter(pk=document_id).first()
    if document is None:
        raise NotVisible(document_id)
    _log(user, document.challenge.child_id, document.challenge_id)
    return document


def records_viewed(
    *, user: UserLike, children: Iterable[Child] = (), challenges: Iterable[Challenge] = ()
) -> None:
    """Log a look at many records at once (a list or a feed that shows their contents), once each."""
    for child_id in dict.fromkeys(child.pk for child in children):
        _log(user, child_id)
    for child_id, challenge_id in dict.fromkeys(
        (challenge.child_id, challenge.pk) for challenge in challenges
    ):
        _log(user, child_id, challenge_id)


# -- handing over a leaver's work ----------------------------------------------------------------


def _hand_over_reach(user: UserLike) -> tuple[QuerySet[Child], QuerySet[Challenge]]:
    """The children and challenges ``user`` may hand over: every one for those who allocate children
    (``Perm.ADD_CHILDREN``, as for allocation), else those in their own scope (no break-glass)."""
    if user_has_perm(user=user, perm=Perm.ADD_CHILDREN):
        return Child.objects.all(), Challenge.objects.all()
    return _children_in(user, break_glass=False), _challenges_in(user, break_glass=False)


@dataclass
class HandOverWork:
    """What waits on a leaver, locked for the hand-over: challenges first, then children (docs: Locks)."""

    children: list[Child]
    challenges: list[Challenge]
    # Challenges whose current stage went to, was copied to or told the leaver.
    staged: set[int]


def work_get_for_hand_over(*, user: UserLike, leaver: AbstractBaseUser) -> HandOverWork:
    """Everything that waits on ``leaver``, for ``user`` to hand over: locked, logged, refused as a whole.

    The children allocated to them (social worker, IRO, CP Chair); the open challenges whose current
    stage went to, was copied to or told them, whose chair they are, or with a requested meeting they
    are to chair; and the open or resolved challenges with an open action they own (by account) or a
    request for agreement waiting on their answer. A role without ``Perm.HAND_OVER_WORK`` is refused;
    so is a manager when any of it is outside their scope (they are told how many, never which), and
    more than ``limits.MAX_HAND_OVER`` records at once.
    """
    perm_require(user=user, perm=Perm.HAND_OVER_WORK)
    username = leaver.get_username()
    staged = {
        challenge_id
        for challenge_id, to_users, cc_users, notify_users in StageVisit.objects.filter(
            challenge__status=Challenge.Status.OPEN, left_on__isnull=True
        ).values_list("challenge_id", "to_users", "cc_users", "notify_users")
        if username in (*to_users, *cc_users, *notify_users)
    }
    chaired = Q(track="iro", child__iro_id=leaver.pk) | Q(track="cpc", child__cp_chair_id=leaver.pk)
    owned = Action.objects.filter(owner_user_id=leaver.pk, status=Action.Status.OPEN).values("challenge_id")
    asked = Agreement.objects.filter(
        person_id=leaver.pk, status=Agreement.Status.PENDING, kind="agree"
    ).values("challenge_id")
    # A meeting asked for, not yet held nor asked again with another chair, that they are to chair.
    to_chair = Meeting.objects.filter(chair_id=leaver.pk, requested=True, records__isnull=True).values(
        "challenge_id"
    )
    open_or_resolved = Q(status__in=[Challenge.Status.OPEN, Challenge.Status.RESOLVED])
    challenges = Challenge.objects.filter(
        Q(pk__in=staged)
        | (Q(status=Challenge.Status.OPEN) & (chaired | Q(pk__in=to_chair)))
        | ((Q(pk__in=owned) | Q(pk__in=asked)) & open_or_resolved)
    )
    children = Child.objects.filter(
        Q(social_worker_id=leaver.pk) | Q(iro_id=leaver.pk) | Q(cp_chair_id=leaver.pk)
    )
    reach_children, reach_challenges = _hand_over_reach(user)
    outside = (
        children.exclude(pk__in=reach_children.values("pk")).count()
        + challenges.exclude(pk__in=reach_challenges.values("pk")).count()
    )
    if outside:
        raise ServiceError(
            "forbidden",
            "outside_scope",
            f"{outside} of the children and challenges waiting on {username} are outside your part of "
            "the service: ask an administrator to hand over their work.",
        )
    total = children.count() + challenges.count()
    if total > limits.MAX_HAND_OVER:
        raise ServiceError(
            "invalid",
            "too_much",
            f"{username} has {total} children and challenges; one hand-over moves at most "
            f"{limits.MAX_HAND_OVER}. Re-allocate some children first.",
        )
    locked_challenges = list(
        challenges.select_for_update(of=("self",))
        .select_related("child", "child__team", "child__iro", "child__cp_chair", "policy")
        .order_by("pk")
    )
    locked_children = list(
        children.select_for_update(of=("self",))
        .select_related("team", "social_worker", "iro", "cp_chair")
        .order_by("pk")
    )
    # Each record read is logged, in the same few statements however many.
    access_record_many(
        user=user,
        records=[
            *((child.pk, None) for child in locked_children),
            *((challenge.child_id, challenge.pk) for challenge in locked_challenges),
        ],
    )
    return HandOverWork(children=locked_children, challenges=locked_challenges, staged=staged)


def challenge_get_for_hand_over(
    *, user: UserLike, challenge_id: int, with_rows: Mapping[str, Any] | None = None
) -> Challenge:
    """Lock one challenge for its hand-over, within ``user``'s reach (see ``work_get_for_hand_over``).
    ``with_rows``: as ``challenge_get_for_change``'s, read in the same statement."""
    perm_require(user=user, perm=Perm.HAND_OVER_WORK)
    _, reach = _hand_over_reach(user)
    challenge = (
        reach.select_for_update(of=("self",))
        .select_related(
            "child", "child__team", "child__social_worker", "child__iro", "child__cp_chair", "policy"
        )
        .annotate(**(with_rows or {}))
        .filter(pk=challenge_id)
        .first()
    )
    if challenge is None:
        raise NotVisible(challenge_id)
    return challenge
