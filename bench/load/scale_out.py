"""What the scale-out run (``make bench-scale-out``, ``bench/load_run.py``) reads and writes inside
the benchmark's database, run through ``manage.py shell`` with the servers' own settings. Each
function prints one line of JSON (or a word) for ``load_run.py`` to read.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter

from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from resolve.challenges.events import EventType
from resolve.challenges.models import Challenge, Event
from resolve.notifications.models import AgencyMessage, Deadline, OutboxMessage
from resolve.notifications.services import deadlines_schedule
from resolve.procedures.selectors import procedure_version_model


def schedule(*, skip: int, count: int) -> None:
    """Schedule the deadlines of ``count`` open bulk challenges (after the first ``skip``, which the
    escalations race over) with the write path's own function. They were raised in the past, so most
    of their deadlines are already due: the sweeps have work while the load runs."""
    rows = Challenge.objects.filter(status="open", track="iro").select_related("policy").order_by("pk")
    for challenge in rows[skip : skip + count]:
        deadlines_schedule(challenge=challenge, procedure=procedure_version_model(challenge.policy))
    print("scheduled")


def _due() -> int:
    return Deadline.objects.filter(fired_at__isnull=True, fire_on__lte=timezone.localdate()).count()


def waiting() -> None:
    """Messages not yet sent and deadlines due but not yet fired."""
    waiting = [OutboxMessage.Status.PENDING, OutboxMessage.Status.SENDING]
    unsent = (
        OutboxMessage.objects.filter(status__in=waiting).count()
        + AgencyMessage.objects.filter(status__in=waiting).count()
    )
    print(json.dumps({"waiting": unsent, "due": _due()}))


def found() -> None:
    """What the checks need: the outbox rows marked sent, those left over, escalations per challenge
    and stage left from, deadlines fired and still due, the sweeps and tasks each worker ran, and how
    many sweeps began before the one before them had finished."""
    # Message-IDs as delivery writes them: <outbox-N@resolve>, and <agency-N@resolve> for the emails to
    # partner agencies' contacts.
    sent = [
        f"<outbox-{pk}@resolve>"
        for pk in OutboxMessage.objects.filter(status=OutboxMessage.Status.SENT).values_list("pk", flat=True)
    ] + [
        f"<agency-{pk}@resolve>"
        for pk in AgencyMessage.objects.filter(status=AgencyMessage.Status.SENT).values_list("pk", flat=True)
    ]
    done = [OutboxMessage.Status.SENT, OutboxMessage.Status.HELD, OutboxMessage.Status.DIGESTED]
    left = Counter(OutboxMessage.objects.exclude(status__in=done).values_list("status", flat=True))
    outside = AgencyMessage.objects.exclude(status=AgencyMessage.Status.SENT)
    left.update(outside.values_list("status", flat=True))
    escalations = Counter(
        Event.objects.filter(type=EventType.ESCALATED).values_list("challenge_id", "detail__from_stage")
    )
    reopened = set(Event.objects.filter(type=EventType.REOPENED).values_list("challenge_id", flat=True))
    # A challenge re-opened may leave the same stage again; one that was not may not.
    twice = sorted(key for key, times in escalations.items() if times > 1 and key[0] not in reopened)
    finished = DBTaskResult.objects.filter(status="SUCCESSFUL")
    swept = finished.filter(task_path__endswith="sweep_deadlines_task")
    sweeps = Counter(ids[-1] for ids in swept.values_list("worker_ids", flat=True) if ids)
    tasks = Counter(ids[-1] for ids in finished.values_list("worker_ids", flat=True) if ids)
    # The sweep's lease lets one sweep run at a time: no two sweeps' runs may overlap.
    runs = sorted(
        (began, ended)
        for began, ended in swept.values_list("started_at", "finished_at")
        if began is not None and ended is not None
    )
    overlapping = sum(1 for (_, ended), (began, _) in itertools.pairwise(runs) if began < ended)
    print(
        json.dumps(
            {
                "sent": sent,
                "left": dict(left),
                "escalations": sum(escalations.values()),
                "twice": twice[:20],
                "fired": Deadline.objects.filter(fired_at__isnull=False).count(),
                "due": _due(),
                "sweeps": sorted(sweeps.values()),
                "tasks": sorted(tasks.values()),
                "overlapping": overlapping,
            }
        )
    )
