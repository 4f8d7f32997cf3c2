"""Break-glass access: opening a record outside one's scope, with a reason, reported at once.

The access log itself is written by the chokepoint (``resolve.access.log``).
"""

from __future__ import annotations

import datetime as dt
import logging
import re

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db import transaction
from django.utils import timezone

from resolve.access.context import current
from resolve.access.permissions import Perm, perm_require, roles_with
from resolve.access.scoping import child_get_for_break_glass
from resolve.audit.models import AccessLogEntry, BreakGlassGrant
from resolve.core.conf import conf
from resolve.core.errors import ServiceError
from resolve.notifications.models import Kind
from resolve.notifications.services import Message, messages_put, outbox_deliver_on_commit
from resolve.people.models import Post

logger = logging.getLogger(__name__)

UserLike = AbstractBaseUser | AnonymousUser

# Who is told of a break-glass access: the first rung above the person who broke glass that has
# someone else in it (anyone below the IRO/CP Service Manager: the Service Manager). Above the top
# rung, or with nobody on the rungs above, every other reviewer of access; never only the breaker.
BREAK_GLASS_LADDER = ("iro_service_manager", "iro_senior_manager", "head_of_safeguarding")
BREAK_GLASS_REVIEWER_ROLE = BREAK_GLASS_LADDER[0]
# A justification a reviewer can judge: enough words, not a string of one character.
REASON_MIN_LENGTH = 20
REASON_MIN_WORDS = 4
_WORD = re.compile(r"[^\W\d_]{2,}")


def break_glass_minutes() -> int:
    return conf.break_glass_minutes


def break_glass_open(
    *, user: AbstractBaseUser, case_number: str, reason_category: str, reason: str
) -> BreakGlassGrant:
    """Open a child's record outside one's scope for ``RESOLVE_BREAK_GLASS_MINUTES``, giving a reason.

    The reason is a category (``BreakGlassGrant.ReasonCategory``) and a justification of at least
    ``REASON_MIN_LENGTH`` characters and ``REASON_MIN_WORDS`` different words. The grant gives reads
    only. The access is recorded, every look during it is logged against it, and the people above
    the breaker (``BREAK_GLASS_LADDER``) are told in the app and by email, through the notifications
    outbox in the same transaction. One active grant per person and child: the person's own row is
    locked while the grant is decided, so simultaneous requests make one grant and the others are
    told the record is already open (a conflict). A case number that does not exist raises
    ``NotVisible``, as elsewhere.
    """
    perm_require(user=user, perm=Perm.BREAK_GLASS)  # before the reason is read; the chokepoint checks too
    if reason_category not in BreakGlassGrant.ReasonCategory.values:
        raise ServiceError(
            "invalid", "reason_category", "Choose why you need this record from the list.", "reason_category"
        )
    reason = (reason or "").strip()
    words = {word.casefold() for word in _WORD.findall(reason)}
    if len(reason) < REASON_MIN_LENGTH or len(words) < REASON_MIN_WORDS:
        raise ServiceError(
            "invalid",
            "reason_required",
            f"Say why you need this record now, in at least {REASON_MIN_WORDS} different words "
            f"({REASON_MIN_LENGTH} characters or more); it is reported.",
            "reason",
        )
    context = current()
    now = timezone.now()
    with transaction.atomic():
        # Serialises this person's break-glass requests: the second sees the first's grant.
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        child = child_get_for_break_glass(user=user, case_number=case_number)
        grant = BreakGlassGrant.objects.create(
            user=user,  # type: ignore[misc]
            child=child,
            reason_category=reason_category,
            reason=reason,
            granted_at=now,
            expires_at=now + dt.timedelta(minutes=break_glass_minutes()),
            channel=context.channel if context else AccessLogEntry.Channel.OTHER,
            ip_address=context.ip_address if context else None,
        )
        # In the grant's transaction: no grant without its report, no report without its grant.
        _report(grant)
    logger.warning("Break-glass: %s opened child %s: %s", user.get_username(), child.case_number, reason)
    return grant


def break_glass_reviewers(*, breaker: AbstractBaseUser) -> list[User]:
    """Who is told when ``breaker`` breaks glass: the next rung up, else every other reviewer."""
    posts = Post.objects.filter(user__is_active=True).exclude(user_id=breaker.pk).select_related("user")
    held = set(Post.objects.filter(user_id=breaker.pk).values_list("role", flat=True))
    rungs = [index for index, role in enumerate(BREAK_GLASS_LADDER) if role in held]
    for role in BREAK_GLASS_LADDER[(max(rungs) + 1 if rungs else 0) :]:
        above = list(dict.fromkeys(post.user for post in posts.filter(role=role).order_by("user_id")))
        if above:
            return above
    reviewers = posts.filter(role__in=roles_with(Perm.REVIEW_ACCESS)).order_by("user_id")
    return list(dict.fromkeys(post.user for post in reviewers))


def _report(grant: BreakGlassGrant) -> int:
    """Tell those above the breaker (``break_glass_reviewers``), in the app and by email.

    The grant row itself is the lasting record; the report is never held for a daily digest.
    """
    reviewers = break_glass_reviewers(breaker=grant.user)
    if not reviewers:
        logger.error(
            "Break-glass grant %s: there is no active IRO/CP Service Manager or other reviewer to tell.",
            grant.pk,
        )
        return 0
    user = grant.user
    who = user.get_full_name() or user.get_username()
    opened = f"{timezone.localtime(grant.granted_at):%d %B %Y %H:%M}"
    written = messages_put(
        recipients=reviewers,
        message=Message(
            kind=Kind.BREAK_GLASS,
            key=f"grant:{grant.pk}",
            subject=f"Break-glass access by {who}",
            body=(
                f"{who} ({user.get_username()}) opened the record of child {grant.child.case_number}, "
                f"outside their own caseload, at {opened}.\n"
                f"Access lasts until {timezone.localtime(grant.expires_at):%H:%M}.\n\n"
                f"Reason: {grant.get_reason_category_display()}\n{grant.reason}\n\n"
                "Every record they open under it is in the access log. It lets them read, not change."
            ),
        ),
    )
    if written:
        outbox_deliver_on_commit()
    return written
