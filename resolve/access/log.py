"""The access log's writer: one row per look at a child's record or a challenge.

It lives in access, beside the chokepoint that calls it, and writes ``resolve.audit.models`` directly:
the access-log and break-glass models sit below access (they import nothing of it), while audit's
services, selectors and API, which need the chokepoint, sit above it.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.utils import timezone

from resolve.access.context import current
from resolve.audit.models import AccessLogEntry, BreakGlassGrant

UserLike = AbstractBaseUser | AnonymousUser


def access_record(*, user: UserLike, child_id: int, challenge_id: int | None = None) -> AccessLogEntry | None:
    """Log that ``user`` opened a child's record (or one of its challenges), once per record per request.

    The channel, method, path and address come from the request in progress
    (``resolve.access.context``); outside one the row says "other". A look during a break-glass grant
    is logged against it.
    """
    if not user.is_authenticated:
        return None
    context = current()
    if context is not None:
        key = (child_id, challenge_id)
        if key in context.logged:
            return None
        context.logged.add(key)
    grant = (
        BreakGlassGrant.objects.filter(user_id=user.pk, child_id=child_id, expires_at__gt=timezone.now())
        .order_by("-granted_at")
        .first()
    )
    return AccessLogEntry.objects.create(
        user_id=user.pk,
        child_id=child_id,
        challenge_id=challenge_id,
        channel=context.channel if context else AccessLogEntry.Channel.OTHER,
        method=context.method if context else "",
        path=context.path if context else "",
        ip_address=context.ip_address if context else None,
        break_glass=grant,
    )
