"""Two delivery workers against a slow mail server: each message is sent once (issue 10, item 10)."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.db import connection

from resolve.notifications.models import Kind, OutboxMessage
from resolve.notifications.services import Message, message_put, outbox_deliver
from resolve.notifications.tests.conftest import Received, _free_port
from resolve.notifications.tests.test_delivery import _in_memory_sqlite  # noqa: F401 (read by skipif)
from resolve.people.demo import Authority

MESSAGES = 60


class SlowReceived(Received):
    """A mail server that takes its time over each message, as a busy relay does."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(0.1)
        return await super().handle_DATA(server, session, envelope)


@pytest.mark.skipif(
    "_in_memory_sqlite()",
    reason="in-memory SQLite (shared cache) refuses concurrent writers instead of waiting",
)
@pytest.mark.django_db(transaction=True)
def test_two_workers_and_a_slow_mail_server_send_each_message_once(
    authority: Authority, settings: Any
) -> None:
    handler = SlowReceived()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", controller.port, False
    settings.EMAIL_TIMEOUT = 5
    # A claim shorter than one worker's whole run (60 x 0.1 s over two workers): a worker that
    # claimed a batch up front and sent it slowly would see the other recover and resend its rows.
    settings.RESOLVE_OUTBOX_CLAIM_TIMEOUT_SECONDS = 2
    recipients = [authority.staff["social_worker"], authority.staff["team_manager"]]
    for number in range(MESSAGES):
        message_put(
            recipient=recipients[number % 2],
            message=Message(Kind.STAGE_SENT, f"load:{number}", f"Message {number}", "Body"),
        )
    assert OutboxMessage.objects.filter(status="pending").count() == MESSAGES
    errors: list[BaseException] = []
    sent: list[int] = []
    barrier = threading.Barrier(2)

    def worker() -> None:
        try:
            barrier.wait()
            for _ in range(50):
                sent.append(outbox_deliver(batch_size=20).sent)
                if not OutboxMessage.objects.exclude(status="sent").exists():
                    break
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        controller.stop()
    assert not errors
    message_ids = Counter(
        line.split(":", 1)[1].strip()
        for envelope in handler.envelopes
        for line in envelope.content.decode().splitlines()
        if line.lower().startswith("message-id:")
    )
    duplicates = {key: count for key, count in message_ids.items() if count > 1}
    assert duplicates == {}
    assert len(message_ids) == MESSAGES
    assert sum(sent) == MESSAGES
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {"sent"}
