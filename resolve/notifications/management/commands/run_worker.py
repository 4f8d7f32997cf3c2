"""The background worker: the django-tasks database worker plus a clock that enqueues the periodic tasks.

Run it as its own process next to the web server (``make demo`` does). Several may run at once: each
periodic task is enqueued only when none is already waiting, and the sweep and delivery are safe to
run concurrently anyway.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections, connection
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_tasks import DEFAULT_TASK_QUEUE_NAME, TaskResultStatus
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from resolve.notifications import tasks

logger = logging.getLogger("resolve.notifications.worker")


def _enqueue_unless_waiting(task: Any) -> bool:
    path = f"{task.func.__module__}.{task.func.__qualname__}"
    waiting = DBTaskResult.objects.filter(
        task_path=path, status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING]
    ).exists()
    if waiting:
        return False
    task.enqueue()
    return True


class Clock:
    """Enqueues the sweep every ``sweep_every`` seconds, delivery every ``deliver_every``, digests daily."""

    def __init__(self, *, sweep_every: float, deliver_every: float, digest_hour: int) -> None:
        self.sweep_every, self.deliver_every, self.digest_hour = sweep_every, deliver_every, digest_hour
        self.stopped = threading.Event()
        self.last_sweep = self.last_delivery = -float("inf")
        self.last_digest_day: dt.date | None = None

    def tick(self) -> None:
        now = time.monotonic()
        if now - self.last_sweep >= self.sweep_every:
            _enqueue_unless_waiting(tasks.sweep_deadlines_task)
            self.last_sweep = self.last_delivery = now
        elif now - self.last_delivery >= self.deliver_every:
            _enqueue_unless_waiting(tasks.outbox_deliver_task)
            self.last_delivery = now
        local = timezone.localtime()
        if local.hour >= self.digest_hour and self.last_digest_day != local.date():
            _enqueue_unless_waiting(tasks.digests_send_task)
            _enqueue_unless_waiting(tasks.anchor_evidence_task)
            self.last_digest_day = local.date()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                close_old_connections()
                self.tick()
            except Exception:
                logger.exception("The worker's clock could not enqueue a task; trying again")
            finally:
                connection.close()
            self.stopped.wait(min(self.deliver_every, 10.0))


class Command(BaseCommand):
    help = "Run the background worker: deadline sweeps, email delivery and daily digests."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--sweep-every",
            type=float,
            default=settings.RESOLVE_SWEEP_INTERVAL_SECONDS,
            help="Seconds between sweeps.",
        )
        parser.add_argument(
            "--deliver-every",
            type=float,
            default=settings.RESOLVE_DELIVER_INTERVAL_SECONDS,
            help="Seconds between deliveries.",
        )
        parser.add_argument(
            "--interval", type=float, default=1.0, help="Seconds between polls of the task queue."
        )

    def handle(
        self, *args: Any, sweep_every: float, deliver_every: float, interval: float, **options: Any
    ) -> None:
        logging.getLogger("django_tasks_db").setLevel(logging.INFO)
        clock = Clock(
            sweep_every=sweep_every, deliver_every=deliver_every, digest_hour=settings.RESOLVE_DIGEST_HOUR
        )
        threading.Thread(target=clock.run, name="resolve-clock", daemon=True).start()
        self.stdout.write(
            f"Resolve worker: sweeping every {sweep_every:g} s, delivering every {deliver_every:g} s "
            f"(digests after {settings.RESOLVE_DIGEST_HOUR}:00). Ctrl-C to stop."
        )
        worker = Worker(
            queue_names=[DEFAULT_TASK_QUEUE_NAME],
            interval=interval,
            batch=False,
            backend_name="default",
            startup_delay=True,
            max_tasks=None,
            worker_id=get_random_string(32),
            excluded_queue_names=[],
        )
        worker.configure_signals()
        try:
            worker.run()
        finally:
            clock.stopped.set()
