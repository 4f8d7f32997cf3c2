"""Reliability: a worker killed with SIGKILL mid-sweep is taken over within the lease (issue 10, item 1).

Real processes: ``manage.py run_worker`` is started, killed with SIGKILL while it is sweeping, and a
second worker is started; the sweep must start again once the dead worker's lease expires, and
complete.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from resolve.notifications.models import Deadline, SweepLease

D = dt.date
LEASE_SECONDS = 4
DEADLINES = 600
# A sweep every second, so the second worker tries as soon as the dead worker's lease expires.
WORKER_ARGS = ("--sweep-every", "1", "--deliver-every", "1", "--interval", "0.2")
SWEEP_TASK = "resolve.notifications.tasks.sweep_deadlines_task"


def _test_database_url() -> str:
    """The test database, for the worker processes (the test's own connection points at it)."""
    url = urlsplit(os.environ["DATABASE_URL"])
    return url._replace(path="/" + str(connection.settings_dict["NAME"])).geturl()


def _wait_for(condition: Callable[[], bool], *, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"Timed out after {seconds} s waiting for {what}")


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[[str], subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": _test_database_url(),
        "RESOLVE_SWEEP_LEASE_SECONDS": str(LEASE_SECONDS),
        # One deadline per batch: a slow sweep with a heartbeat per deadline, easy to kill mid-way.
        "RESOLVE_SWEEP_BATCH_SIZE": "1",
        "RESOLVE_DELIVER_ON_COMMIT": "false",
    }

    def start(name: str) -> subprocess.Popen[bytes]:
        with (tmp_path / f"{name}.log").open("wb") as log:  # the child keeps its own copy
            process = subprocess.Popen(
                [sys.executable, "manage.py", "run_worker", *WORKER_ARGS],
                cwd=django_settings.BASE_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.mark.skipif(
    "connection.vendor != 'postgresql'",
    reason="the worker processes cannot reach the test run's in-memory SQLite database",
)
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_sweep_is_taken_over_within_the_lease(
    raise_on: Any, start_worker: Callable[[str], subprocess.Popen[bytes]]
) -> None:
    challenge = raise_on(D(2024, 6, 3))
    # Many due deadlines (stale ones: the challenge has moved on), so the sweep takes a while.
    Deadline.objects.bulk_create(
        Deadline(
            key=f"load:{number}",
            trigger=Deadline.Trigger.RESPONSE_OVERDUE,
            challenge=challenge,
            stage_key=challenge.stage_key,
            due_on=D(2024, 1, 1),
            fire_on=D(2024, 1, 1),
        )
        for number in range(DEADLINES)
    )
    unfired = Deadline.objects.filter(fired_at__isnull=True)
    total = unfired.count()

    first = start_worker("first")
    _wait_for(lambda: unfired.count() < total - 20, seconds=60, what="the first worker to start sweeping")
    first.send_signal(signal.SIGKILL)
    first.wait()
    killed_at = time.monotonic()
    left = unfired.count()
    assert 0 < left < total, "the worker was not killed mid-sweep"
    lease = SweepLease.objects.get()
    assert lease.holder and lease.last_completed_at is None  # the dead worker's lease, not yet expired
    assert DBTaskResult.objects.filter(task_path=SWEEP_TASK, status=TaskResultStatus.RUNNING).exists()

    start_worker("second")
    # The sweep starts again within the lease (plus the new worker's start-up and one clock tick)...
    _wait_for(
        lambda: SweepLease.objects.filter(last_started_at__gt=lease.last_started_at).exists(),
        seconds=LEASE_SECONDS + 15,
        what="a new sweep to take over the expired lease",
    )
    assert time.monotonic() - killed_at < LEASE_SECONDS + 15
    # ...and completes.
    _wait_for(
        lambda: SweepLease.objects.filter(last_completed_at__isnull=False).exists(),
        seconds=120,
        what="the new sweep to complete",
    )
    assert unfired.count() == 0
    # The dead worker's task row was taken over, not left RUNNING for ever.
    dead = DBTaskResult.objects.filter(task_path=SWEEP_TASK, status=TaskResultStatus.FAILED)
    assert dead.filter(exception_class_path="resolve.notifications.WorkerLost").count() == 1
