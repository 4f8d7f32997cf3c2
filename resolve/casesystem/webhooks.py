"""Webhooks (optional per authority): a signed POST to the authority's address for each event.

Events are written once, in the transaction of the change they record, so they are the outbox's
source: ``webhooks_enqueue`` puts every event after the cursor (``WebhookCursor``) in the webhook
outbox (``WebhookDelivery``, one row per event), and ``webhooks_deliver`` POSTs each row that is due,
retrying a failure with the email outbox's back-off (``outbox_backoff``) until
``RESOLVE_OUTBOX_MAX_ATTEMPTS``. ``manage.py deliver_webhooks`` does both; schedule it.

The body names the event and its challenge and child by id, never a name or free text; the receiver
reads the rest through the API, as the account its token belongs to (scoped and access-logged). Each
body is signed: ``Resolve-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>" under
RESOLVE_WEBHOOK_SECRET>``; ``Resolve-Delivery`` is the delivery's id, the same on every retry.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from resolve.casesystem.models import WebhookCursor, WebhookDelivery
from resolve.challenges.models import Event
from resolve.core.conf import conf
from resolve.notifications.services import outbox_backoff

TIMEOUT_SECONDS = 10
BATCH = 500


def webhook_signature(*, body: bytes, timestamp: int, secret: str) -> str:
    """The ``Resolve-Signature`` header for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def webhooks_enqueue() -> int:
    """Put the events recorded since the cursor in the outbox; the first call only sets the cursor."""
    if not settings.RESOLVE_WEBHOOK_URL:
        return 0
    with transaction.atomic():
        cursor = WebhookCursor.objects.select_for_update().first()
        newest = Event.objects.aggregate(last=Max("id"))["last"] or 0
        if cursor is None:
            WebhookCursor.objects.create(last_event_id=newest)  # from now on, not the past
            return 0
        ids = list(
            Event.objects.filter(pk__gt=cursor.last_event_id, pk__lte=newest)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        WebhookDelivery.objects.bulk_create(
            [WebhookDelivery(event_id=pk) for pk in ids], batch_size=1000, ignore_conflicts=True
        )
        cursor.last_event_id = newest
        cursor.save(update_fields=["last_event_id", "updated_at"])
        return len(ids)


def _body(delivery: WebhookDelivery) -> bytes:
    event = Event.objects.select_related("challenge", "by").get(pk=delivery.event_id)
    payload = {
        "delivery": delivery.pk,
        "event": {
            "id": event.pk,
            "type": event.type,
            "challenge": event.challenge_id,
            "child": event.challenge.child_id,
            "sequence": event.sequence,
            "stage": event.stage_key or None,
            "on": event.on.isoformat(),
            "by": event.by.get_username() if event.by else None,
            "recorded_at": event.created_at.astimezone(dt.UTC).isoformat(),
        },
    }
    return json.dumps(payload, separators=(",", ":")).encode()


@dataclass
class WebhookResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0


def webhooks_deliver(*, now: dt.datetime | None = None) -> WebhookResult:
    """POST every delivery that is due, oldest first; one failure never stops the others."""
    result = WebhookResult()
    if not settings.RESOLVE_WEBHOOK_URL:
        return result
    moment = now or timezone.now()
    due = (
        WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=moment))
        .order_by("event_id")[:BATCH]
    )
    for delivery in list(due):
        body = _body(delivery)
        stamp = int(time.time())
        request = urllib.request.Request(  # noqa: S310 (http(s) only, checked in settings)
            settings.RESOLVE_WEBHOOK_URL,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": "Resolve-Webhooks/1",
                "Resolve-Delivery": str(delivery.pk),
                "Resolve-Signature": webhook_signature(
                    body=body, timestamp=stamp, secret=settings.RESOLVE_WEBHOOK_SECRET
                ),
            },
        )
        error = ""
        try:
            # http(s) only: settings refuse any other scheme for RESOLVE_WEBHOOK_URL.
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:  # noqa: S310  # nosec B310
                if not 200 <= answer.status < 300:
                    error = f"answered {answer.status}"
        except urllib.error.HTTPError as refused:
            error = f"answered {refused.code}"
        except (urllib.error.URLError, OSError, TimeoutError) as failure:
            error = f"could not be reached: {failure}"
        delivery.attempts += 1
        if not error:
            delivery.status = WebhookDelivery.Status.SENT
            delivery.sent_at = timezone.now()
            delivery.last_error = ""
            result.sent += 1
        elif delivery.attempts >= conf.outbox_max_attempts:
            delivery.status = WebhookDelivery.Status.FAILED
            delivery.last_error = error[:1000]
            result.failed += 1
        else:
            delivery.next_attempt_at = moment + outbox_backoff(delivery.attempts)
            delivery.last_error = error[:1000]
            result.retried += 1
        delivery.save(update_fields=["attempts", "status", "sent_at", "last_error", "next_attempt_at"])
    return result
