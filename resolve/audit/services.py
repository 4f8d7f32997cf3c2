"""Break-glass access: opening a record outside one's scope, with a reason, reported at once.

The access log itself is written by the chokepoint (``resolve.access.log``).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone

from resolve.access.context import current
from resolve.access.permissions import Perm, perm_require
from resolve.access.scoping import child_get_for_break_glass
from resolve.audit.models import AccessLogEntry, BreakGlassGrant
from resolve.core.conf import conf
from resolve.core.errors import ServiceError
from resolve.notifications.models import Kind
from resolve.notifications.services import Message, messages_put, outbox_deliver_on_commit
from resolve.people.models import Post

logger = logging.getLogger(__name__)

UserLike = AbstractBaseUser | AnonymousUser

# The person told of every break-glass access.
BREAK_GLASS_REVIEWER_ROLE = "iro_service_manager"
REASON_MIN_LENGTH = 10


def break_glass_minutes() -> int:
    return conf.break_glass_minutes


def break_glass_open(*, user: AbstractBaseUser, case_number: str, reason: str) -> BreakGlassGrant:
    """Open a child's record outside one's scope for ``RESOLVE_BREAK_GLASS_MINUTES``, giving a reason.

    The access is recorded, every look during it is logged against it, and the IRO/CP Service Manager
    is told in the app and by email, through the notifications outbox in the same transaction
    (and can list every grant: ``break_glass_list``). A case number that does not exist
    raises ``NotVisible``, as elsewhere.
    """
    perm_require(user=user, perm=Perm.BREAK_GLASS)  # before the reason is read; the chokepoint checks too
    reason = (reason or "").strip()
    if len(reason) < REASON_MIN_LENGTH:
        raise ServiceError(
            "invalid",
            "reason_required",
            f"Say why you need this record now (at least {REASON_MIN_LENGTH} characters); it is reported.",
            "reason",
        )
    child = child_get_for_break_glass(user=user, case_number=case_number)
    context = current()
    now = timezone.now()
    with transaction.atomic():
        grant = BreakGlassGrant.objects.create(
            user=user,  # type: ignore[misc]
            child=child,
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


def _report(grant: BreakGlassGrant) -> int:
    """Tell the IRO/CP Service Manager(s), in the app and by email through the outbox.

    The grant row itself is the lasting record; the report is never held for a daily digest.
    """
    reviewers = [
        post.user
        for post in Post.objects.filter(role=BREAK_GLASS_REVIEWER_ROLE, user__is_active=True)
        .select_related("user")
        .order_by("user_id")
    ]
    if not reviewers:
        logger.error("Break-glass grant %s: there is no active IRO/CP Service Manager to tell.", grant.pk)
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
                f"Reason given: {grant.reason}\n\nEvery record they open under it is in the access log."
            ),
        ),
    )
    if written:
        outbox_deliver_on_commit()
    return written
