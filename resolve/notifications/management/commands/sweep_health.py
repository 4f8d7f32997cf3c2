"""Is the deadline sweep running? For monitoring: exit status 1 when no sweep has completed lately."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from resolve.notifications.selectors import sweep_health_get
from resolve.notifications.sweep import sweep_stale_alert


class Command(BaseCommand):
    help = (
        "Report when a deadline sweep last completed; exit 1 when none has in RESOLVE_SWEEP_STALE_MINUTES "
        "(and tell the IRO/CP Service Managers, once per stale period)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        health = sweep_health_get()
        last = (
            f"{timezone.localtime(health.last_completed_at):%Y-%m-%d %H:%M:%S %Z}"
            if health.last_completed_at is not None
            else "never"
        )
        running = " A sweep is running now." if health.sweeping else ""
        if not health.stale:
            self.stdout.write(f"ok: the last deadline sweep completed {last}.{running}")
            return
        sweep_stale_alert()
        raise CommandError(
            f"stale: no deadline sweep has completed in {health.stale_after_minutes} minutes "
            f"(last completed: {last}).{running} Is `manage.py run_worker` running?"
        )
