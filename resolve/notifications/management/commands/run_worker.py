"""The background worker: the django-tasks database worker plus a clock that enqueues the periodic tasks.

Run it as its own process next to the web server (``make demo`` does). Several may run at once: each
periodic task is enqueued only when none is already waiting, one sweep at a time holds the sweep's
lease, and delivery is safe to run concurrently. A worker killed mid-sweep holds nothing for long:
its lease expires and the next worker's clock enqueues the sweep again (``_waiting``).
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

from resolve.core.conf import conf
from resolve.notifications import tasks
from resolve.notifications.selectors import outbox_waiting, sweep_lease_live
from resolve.notifications.sweep import sweep_stale_alert

logger = logging.getLogger("resolve.notifications.worker")


def _waiting(task: Any) -> bool:
    """Is a run of ``task`` queued, or running in a live worker?

    A worker killed with ``kill -9`` leaves its task row RUNNING for ever, so a RUNNING row alone is
    no reason to wait. A sweep is running only while its lease is live; a RUNNING sweep row older
    than a lease, with no live lease, is marked failed (its worker is gone) and the sweep is enqueued
    again. Other tasks are safe to overlap: a RUNNING row stops counting after the outbox's claim
    timeout.
    """
    path = f"{task.func.__module__}.{task.func.__qualname__}"
    rows = DBTaskResult.objects.filter(task_path=path)
    if rows.filter(status=TaskResultStatus.READY).exists():
        return True
    running = rows.filter(status=TaskResultStatus.RUNNING)
    now = timezone.now()
    if task is tasks.sweep_deadlines_task:
        if sweep_lease_live(now=now):
            return True
        abandoned = running.filter(started_at__lt=now - dt.timedelta(seconds=conf.sweep_lease_seconds))
        taken = abandoned.update(
            status=TaskResultStatus.FAILED,
            finished_at=now,
            exception_class_path="resolve.notifications.WorkerLost",
            traceback="The worker running this sweep stopped without finishing it; its lease expired.",
        )
        if taken:
            logger.warning("Took over from %s sweep(s) abandoned by a worker that stopped", taken)
        return running.exists()
    young = now - dt.timedelta(seconds=conf.outbox_claim_timeout_seconds)
    return running.filter(started_at__gte=young).exists()


def _enqueue_unless_waiting(task: Any) -> bool:
    if _waiting(task):
        return False
    task.enqueue()
    return True


# How often the clock looks for messages waiting to be sent (one indexed EXISTS per look): a change to a
# challenge writes its messages to the outbox and queues nothing, so this is how soon its email leaves.
OUTBOX_POLL_SECONDS = 2.0


class Clock:
    """Enqueues the sweep every ``sweep_every`` seconds, delivery every ``deliver_every`` and whenever
    messages are waiting (looked for every ``OUTBOX_POLL_SECONDS``), digests daily."""

    def __init__(self, *, sweep_every: float, deliver_every: float, digest_hour: int) -> None:
        self.sweep_every, self.deliver_every, self.digest_hour = sweep_every, deliver_every, digest_hour
        self.stopped = threading.Event()
        self.last_sweep = self.last_delivery = self.last_health_check = -float("inf")
        self.last_digest_day: dt.date | None = None

    def tick(self) -> None:
        now = time.monotonic()
        if now - self.last_sweep >= self.sweep_every:
            _enqueue_unless_waiting(tasks.sweep_deadlines_task)
            self.last_sweep = self.last_delivery = now
        elif now - self.last_delivery >= self.deliver_every or (
            # A waiting sweep delivers when it has swept.
            outbox_waiting() and not _waiting(tasks.sweep_deadlines_task)
        ):
            _enqueue_unless_waiting(tasks.outbox_deliver_task)
            self.last_delivery = now
        if now - self.last_health_check >= self.deliver_every:
            # Here, not in the sweep: a sweep that never completes cannot report itself.
            sweep_stale_alert()
            # The form as sent with each stage's case note, filed soon after the stage is entered.
            _enqueue_unless_waiting(tasks.file_sent_forms_task)
            self.last_health_check = now
        local = timezone.localtime()
        if local.hour >= self.digest_hour and self.last_digest_day != local.date():
            _enqueue_unless_waiting(tasks.digests_send_task)
            _enqueue_unless_waiting(tasks.anchor_evidence_task)
            _enqueue_unless_waiting(tasks.expire_idempotency_keys_task)
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
            self.stopped.wait(min(self.deliver_every, OUTBOX_POLL_SECONDS))


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
        parser.add_argument(
            "--quiet",
            action="store_true",
            help="Log only warnings and errors, not each task run (the demo runs it so).",
        )

    def handle(
        self,
        *args: Any,
        sweep_every: float,
        deliver_every: float,
        interval: float,
        quiet: bool = False,
        **options: Any,
    ) -> None:
        logging.getLogger("django_tasks_db").setLevel(logging.WARNING if quiet else logging.INFO)
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
