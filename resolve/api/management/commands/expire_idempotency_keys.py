from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from resolve.api.idempotency import RETENTION, idempotency_keys_expire


class Command(BaseCommand):
    help = (
        f"Remove API Idempotency-Keys older than {RETENTION.total_seconds() / 3600:.0f} hours "
        "(run it daily, e.g. from cron)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"Removed {idempotency_keys_expire()} idempotency keys.")
