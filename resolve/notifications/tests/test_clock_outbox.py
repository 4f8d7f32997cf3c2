"""A change to a challenge writes its messages to the outbox and queues nothing; the worker's clock
finds them waiting (every ``OUTBOX_POLL_SECONDS``) and queues one delivery, which sends them.

Real transactions (``transaction=True``): a change commits as in a request, so anything it would
queue after COMMIT would be there to see.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from resolve.challenges.services import challenge_escalate
from resolve.notifications import tasks
from resolve.notifications.management.commands.run_worker import Clock
from resolve.notifications.models import OutboxMessage
from resolve.notifications.selectors import outbox_waiting
from resolve.notifications.tests.conftest import at
from resolve.people.demo import Authority

pytestmark = pytest.mark.django_db(transaction=True)

D = dt.date
DELIVERY = f"{tasks.outbox_deliver_task.func.__module__}.{tasks.outbox_deliver_task.func.__qualname__}"


def _clock_between_sweeps() -> Clock:
    """A clock whose sweep and periodic delivery are not due: only waiting mail makes it deliver."""
    clock = Clock(sweep_every=300, deliver_every=60, digest_hour=25)
    clock.last_sweep = clock.last_delivery = clock.last_health_check = time.monotonic()
    return clock


def _queued() -> list[str]:
    return sorted(DBTaskResult.objects.values_list("task_path", flat=True))


def test_a_change_queues_nothing_and_the_clock_delivers_what_it_wrote(
    raise_on: Any, authority: Authority, monkeypatch: Any
) -> None:
    # The worker closes stale connections between tasks; inside a test that would end its connection.
    monkeypatch.setattr("django_tasks_db.management.commands.db_worker.close_old_connections", lambda: None)
    challenge = raise_on(D(2026, 12, 1))
    with at(D(2026, 12, 1)):
        OutboxMessage.objects.update(status=OutboxMessage.Status.SENT)  # the raising's, already sent
        assert not outbox_waiting()
        _clock_between_sweeps().tick()
        assert _queued() == []

        challenge_escalate(user=authority.staff["iro"], challenge_id=challenge.pk, reason="No plan yet")
        assert _queued() == []  # the change itself queued no task
        waiting = OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING).count()
        assert waiting > 0 and outbox_waiting()

        clock = _clock_between_sweeps()
        clock.tick()
        clock.tick()  # a delivery already queued is not queued twice
        assert _queued() == [DELIVERY]
        call_command("db_worker", batch=True, startup_delay=False, reload=False, verbosity=0)
    assert len(mail.outbox) == waiting
    assert not outbox_waiting()
