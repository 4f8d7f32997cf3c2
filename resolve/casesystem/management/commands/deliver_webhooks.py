"""``manage.py deliver_webhooks``: put new events in the webhook outbox and POST what is due."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from resolve.casesystem.webhooks import webhooks_deliver, webhooks_enqueue


class Command(BaseCommand):
    help = (
        "POST each new event on a challenge, signed, to RESOLVE_WEBHOOK_URL, retrying failures with "
        "back-off. Schedule it (every minute or so); it does nothing when no address is set."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.RESOLVE_WEBHOOK_URL:
            self.stdout.write("RESOLVE_WEBHOOK_URL is not set: webhooks are off.")
            return
        queued = webhooks_enqueue()
        result = webhooks_deliver()
        self.stdout.write(
            f"{queued} event(s) queued; {result.sent} sent, {result.retried} to retry, "
            f"{result.failed} given up."
        )
