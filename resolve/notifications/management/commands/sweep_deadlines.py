"""Act on every deadline due today, then deliver the outbox. Safe to run from cron and from workers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from resolve.notifications.services import outbox_deliver
from resolve.notifications.sweep import sweep_run


class Command(BaseCommand):
    help = (
        "Send reminders, overdue alerts and escalation prompts for deadlines due today; then deliver email."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=int,
            default=None,
            help="Deadlines per transaction (default RESOLVE_SWEEP_BATCH_SIZE, 500).",
        )
        parser.add_argument(
            "--no-deliver", action="store_true", help="Write the outbox only; leave sending to the worker."
        )
        parser.add_argument(
            "--date", type=dt.date.fromisoformat, default=None, help="Sweep as of this day (YYYY-MM-DD)."
        )

    def handle(
        self, *args: Any, batch_size: int | None, no_deliver: bool, date: dt.date | None, **options: Any
    ) -> None:
        sweep = sweep_run(today=date, batch_size=batch_size)
        if sweep is None:
            self.stdout.write("Deadlines: another sweep is running (it holds the lease); nothing done.")
        else:
            self.stdout.write(
                f"Deadlines: {sweep.fired} acted on, {sweep.messages} messages, "
                f"{sweep.escalated} escalated, {sweep.rescheduled} rescheduled, {sweep.errors} errors."
            )
        if not no_deliver:
            delivery = outbox_deliver()
            self.stdout.write(
                f"Email: {delivery.sent} sent, {delivery.retried} to retry, {delivery.failed} failed."
            )
