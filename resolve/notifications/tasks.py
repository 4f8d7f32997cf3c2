"""Background tasks (Django's tasks API, through the django-tasks backport and its database backend).

``run_worker`` enqueues these on a schedule and runs them; the web app enqueues a delivery when a
change commits with messages to send.
"""

from __future__ import annotations

import io
from typing import Any

from django.core.management import call_command
from django_tasks import task

from resolve.audit.anchor import AnchorNotConfigured, anchor_write
from resolve.notifications.services import digests_send, outbox_deliver, outbox_deliver_task
from resolve.notifications.sweep import sweep_run

__all__ = [
    "anchor_evidence_task",
    "digests_send_task",
    "expire_idempotency_keys_task",
    "file_sent_forms_task",
    "outbox_deliver_task",
    "sweep_deadlines_task",
]


@task()
def sweep_deadlines_task() -> dict[str, Any]:
    """Act on the deadlines due today (unless another sweep holds the lease), then deliver."""
    sweep = sweep_run()
    delivery = outbox_deliver()
    if sweep is None:
        return {"skipped": True, "sent": delivery.sent}
    return {
        "fired": sweep.fired,
        "messages": sweep.messages,
        "escalated": sweep.escalated,
        "sent": delivery.sent,
    }


@task()
def digests_send_task() -> dict[str, int]:
    written = digests_send()
    delivery = outbox_deliver()
    return {"digests": written, "sent": delivery.sent}


@task()
def anchor_evidence_task() -> dict[str, str]:
    """The daily anchor of the evidence chains (``manage.py anchor_evidence``), when a folder is set."""
    try:
        return {"anchor": str(anchor_write())}
    except AnchorNotConfigured:
        return {"anchor": "not configured (RESOLVE_EVIDENCE_ANCHOR_DIR is empty)"}


@task()
def expire_idempotency_keys_task() -> dict[str, str]:
    """The API's daily clean-up of Idempotency-Keys past their 24 hours.

    Run by the command's name: the API is the layer above this worker, which never imports it.
    """
    out = io.StringIO()
    call_command("expire_idempotency_keys", stdout=out)
    return {"result": out.getvalue().strip()}


@task()
def file_sent_forms_task() -> dict[str, str]:
    """File the form as sent with each new stage case note (``manage.py file_sent_forms``).

    Run by the command's name: the documents app sits above this worker, which never imports it.
    """
    out = io.StringIO()
    call_command("file_sent_forms", stdout=out)
    return {"result": out.getvalue().strip()}
