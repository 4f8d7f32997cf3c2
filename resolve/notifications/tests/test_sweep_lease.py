"""The sweep's lease, takeover after a dead worker, the health check and the stale alert (issue 10)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from resolve.notifications import tasks
from resolve.notifications.management.commands.run_worker import Clock, _waiting
from resolve.notifications.models import DEADLINE_SWEEP, Deadline, Kind, OutboxMessage, SweepLease
from resolve.notifications.selectors import sweep_health_get
from resolve.notifications.sweep import (
    deadlines_sweep,
    lease_acquire,
    lease_release,
    lease_renew,
    sweep_run,
    sweep_stale_alert,
)
from resolve.notifications.tests.conftest import LONDON, at

D = dt.date
T0 = dt.datetime(2024, 6, 11, 7, tzinfo=LONDON)


def _after(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


@pytest.mark.django_db
def test_a_live_lease_is_not_taken_over() -> None:
    assert lease_acquire(name=DEADLINE_SWEEP, holder="a", seconds=60, now=T0)
    assert not lease_acquire(name=DEADLINE_SWEEP, holder="b", seconds=60, now=_after(59))
    # Renewed by its holder (the heartbeat after each batch), it lives on.
    assert lease_renew(name=DEADLINE_SWEEP, holder="a", seconds=60, now=_after(50))
    assert not lease_acquire(name=DEADLINE_SWEEP, holder="b", seconds=60, now=_after(100))
    assert SweepLease.objects.get().holder == "a"


@pytest.mark.django_db
def test_an_expired_lease_is_taken_over_and_the_old_holder_cannot_renew_it() -> None:
    assert lease_acquire(name=DEADLINE_SWEEP, holder="a", seconds=60, now=T0)
    assert lease_acquire(name=DEADLINE_SWEEP, holder="b", seconds=60, now=_after(61))
    assert not lease_renew(name=DEADLINE_SWEEP, holder="a", seconds=60, now=_after(62))
    assert not lease_release(name=DEADLINE_SWEEP, holder="a", completed=True, now=_after(63))
    lease = SweepLease.objects.get()
    assert (lease.holder, lease.last_completed_at) == ("b", None)
    assert lease_release(name=DEADLINE_SWEEP, holder="b", completed=True, now=_after(64))
    lease.refresh_from_db()
    assert (lease.holder, lease.expires_at, lease.last_completed_at) == ("", None, _after(64))
    # Free again: anyone may take it.
    assert lease_acquire(name=DEADLINE_SWEEP, holder="c", seconds=60, now=_after(65))


@pytest.mark.django_db
def test_sweep_run_records_its_completion_and_waits_for_a_live_holder(raise_on: Any, settings: Any) -> None:
    settings.RESOLVE_SWEEP_LEASE_SECONDS = 60
    raise_on(D(2024, 6, 3))
    with time_machine.travel(T0, tick=False):
        assert lease_acquire(name=DEADLINE_SWEEP, holder="dead worker", seconds=60)
        assert sweep_run() is None  # a live holder: nothing done
        assert Deadline.objects.filter(fired_at__isnull=False).count() == 0
    with time_machine.travel(_after(61), tick=False):
        result = sweep_run()  # the holder stopped renewing: taken over
    assert result is not None and result.fired > 0 and not result.lease_lost
    lease = SweepLease.objects.get()
    assert (lease.holder, lease.last_completed_at) == ("", _after(61))


@pytest.mark.django_db
def test_a_sweep_that_lost_its_lease_stops_after_the_batch_in_hand(raise_on: Any) -> None:
    for _ in range(3):
        raise_on(D(2024, 6, 3))
    with at(D(2024, 6, 11), hour=7):
        result = deadlines_sweep(batch_size=1, heartbeat=lambda: False)
    assert result.lease_lost
    assert Deadline.objects.filter(fired_at__isnull=False).count() == 1


@pytest.mark.django_db
def test_a_running_sweep_row_left_by_a_killed_worker_does_not_stop_the_next_sweep(
    settings: Any,
) -> None:
    settings.RESOLVE_SWEEP_LEASE_SECONDS = 60
    result = tasks.sweep_deadlines_task.enqueue()
    row = DBTaskResult.objects.get(pk=result.id)
    row.status, row.started_at = TaskResultStatus.RUNNING, timezone.now() - dt.timedelta(seconds=30)
    row.save()
    # Younger than a lease: the sweep may be taking its lease right now.
    assert _waiting(tasks.sweep_deadlines_task)
    DBTaskResult.objects.filter(pk=row.pk).update(started_at=timezone.now() - dt.timedelta(seconds=61))
    # A live lease: a sweep is running.
    assert lease_acquire(name=DEADLINE_SWEEP, holder="alive", seconds=60)
    assert _waiting(tasks.sweep_deadlines_task)
    # Its lease expired and nobody renewed it: the row is taken over, and the sweep may run.
    SweepLease.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert not _waiting(tasks.sweep_deadlines_task)
    row.refresh_from_db()
    assert row.status == TaskResultStatus.FAILED


@pytest.mark.django_db
def test_health_is_stale_when_no_sweep_completed_in_time(settings: Any) -> None:
    settings.RESOLVE_SWEEP_STALE_MINUTES = 15
    assert sweep_health_get().stale  # no worker has ever run
    with pytest.raises(CommandError, match="no deadline sweep has completed in 15 minutes"):
        call_command("sweep_health")
    lease_acquire(name=DEADLINE_SWEEP, holder="a", seconds=60, now=T0)
    lease_release(name=DEADLINE_SWEEP, holder="a", completed=True, now=T0)
    assert not sweep_health_get(now=T0 + dt.timedelta(minutes=14)).stale
    assert sweep_health_get(now=T0 + dt.timedelta(minutes=16)).stale
    with time_machine.travel(T0 + dt.timedelta(minutes=5), tick=False):
        call_command("sweep_health")  # exit status 0


@pytest.mark.django_db
def test_healthz_answers_without_signing_in_and_says_nothing_personal(settings: Any) -> None:
    settings.RESOLVE_SWEEP_STALE_MINUTES = 15
    response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "stale",
        "sweep": {"last_completed_at": None, "stale_after_minutes": 15},
    }
    lease_acquire(name=DEADLINE_SWEEP, holder="a", seconds=60)
    lease_release(name=DEADLINE_SWEEP, holder="a", completed=True)
    response = Client().get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body) == {"status", "sweep"}
    assert set(body["sweep"]) == {"last_completed_at", "stale_after_minutes"}
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_the_service_managers_are_told_once_per_stale_period(authority: Any, settings: Any) -> None:
    settings.RESOLVE_SWEEP_STALE_MINUTES = 15
    with time_machine.travel(T0, tick=False):
        assert sweep_stale_alert() == 0  # the worker's first look: not stale yet
        lease_acquire(name=DEADLINE_SWEEP, holder="a", seconds=60)
        lease_release(name=DEADLINE_SWEEP, holder="a", completed=True)
    with time_machine.travel(T0 + dt.timedelta(minutes=16), tick=False):
        assert sweep_stale_alert() == 1
        assert sweep_stale_alert() == 0  # other workers and monitors, same period
    with time_machine.travel(T0 + dt.timedelta(minutes=30), tick=False):
        assert sweep_stale_alert() == 0
    with time_machine.travel(T0 + dt.timedelta(minutes=32), tick=False):
        assert sweep_stale_alert() == 1
    alerts = OutboxMessage.objects.filter(kind=Kind.SWEEP_STALE)
    assert {message.recipient.username for message in alerts} == {"iro_service_manager"}
    assert alerts.count() == 2
    assert "not checking deadlines" in alerts.first().subject  # type: ignore[union-attr]


@pytest.mark.django_db
def test_the_worker_clock_raises_the_alert_whatever_its_intervals(authority: Any, settings: Any) -> None:
    settings.RESOLVE_SWEEP_STALE_MINUTES = 15
    with time_machine.travel(T0, tick=False):
        SweepLease.objects.create(name=DEADLINE_SWEEP)
    with time_machine.travel(T0 + dt.timedelta(minutes=16), tick=False):
        # Sweeping more often than delivering: every tick enqueues a sweep, and still checks health.
        Clock(sweep_every=1, deliver_every=60, digest_hour=25).tick()
    assert OutboxMessage.objects.filter(kind=Kind.SWEEP_STALE).count() == 1
