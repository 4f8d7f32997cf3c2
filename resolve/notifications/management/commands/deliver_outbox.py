from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from resolve.notifications.services import digests_send, outbox_deliver


class Command(BaseCommand):
    help = "Send the outbox's pending email (and, with --digests, today's daily digests first)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--digests", action="store_true", help="Write today's digests before delivering.")

    def handle(self, *args: Any, digests: bool, **options: Any) -> None:
        if digests:
            self.stdout.write(f"Digests written: {digests_send()}")
        delivery = outbox_deliver()
        self.stdout.write(
            f"Email: {delivery.sent} sent, {delivery.retried} to retry, {delivery.failed} failed."
        )
