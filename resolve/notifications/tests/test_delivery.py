"""Delivery: a real SMTP server, crash after commit, retries with backoff, digests, two sweeps at once."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from smtplib import SMTPServerDisconnected
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection
from django.utils import timezone

from resolve.notifications.models import Kind, NotificationPreference, OutboxMessage
from resolve.notifications.services import (
    digests_send,
    outbox_backoff,
    outbox_deliver,
    outbox_retry_now,
    preference_set_email,
)
from resolve.notifications.sweep import deadlines_sweep
from resolve.notifications.tests.conftest import LONDON, at

D = dt.date


class BrokenBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Any) -> int:
        raise SMTPServerDisconnected("Connection unexpectedly closed")


@pytest.mark.django_db
def test_email_goes_through_a_real_smtp_server(raise_on: Any, smtp_server: Any) -> None:
    raise_on(D(2024, 6, 3))
    with at(D(2024, 6, 3), hour=11):
        result = outbox_deliver()
    assert result.sent == 2
    recipients = sorted(address for envelope in smtp_server.envelopes for address in envelope.rcpt_tos)
    assert recipients == ["social_worker@resolve.invalid", "team_manager@resolve.invalid"]
    content = smtp_server.envelopes[0].content.decode()
    assert "Message-ID: <outbox-" in content
    assert "Amelia Jones" in content
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {"sent"}
    # Delivering again sends nothing more.
    assert outbox_deliver().sent == 0
    assert len(smtp_server.envelopes) == 2


@pytest.mark.django_db
def test_messages_left_pending_by_a_crash_after_commit_go_with_the_next_run(raise_on: Any) -> None:
    raise_on(D(2024, 6, 3))  # committed; the process "dies" before any delivery
    assert OutboxMessage.objects.filter(status="pending").count() == 2
    # A worker that died mid-send leaves its row claimed: it goes again once the claim is stale.
    stuck = OutboxMessage.objects.first()
    assert stuck is not None
    OutboxMessage.objects.filter(pk=stuck.pk).update(
        status="sending", claimed_at=timezone.now() - dt.timedelta(hours=1), attempts=1
    )
    result = outbox_deliver()
    assert result.sent == 2 and result.recovered == 1
    assert len(mail.outbox) == 2


@pytest.mark.django_db
def test_failed_sends_retry_with_exponential_backoff_then_give_up(raise_on: Any, settings: Any) -> None:
    settings.RESOLVE_OUTBOX_MAX_ATTEMPTS = 3
    settings.EMAIL_BACKEND = "resolve.notifications.tests.test_delivery.BrokenBackend"
    raise_on(D(2024, 6, 3))
    start = dt.datetime(2024, 6, 3, 11, tzinfo=LONDON)
    with time_machine.travel(start, tick=False):
        assert outbox_deliver().retried == 2
    message = OutboxMessage.objects.filter(recipient__username="social_worker").get()
    assert (message.status, message.attempts) == ("pending", 1)
    assert message.next_attempt_at == start + dt.timedelta(seconds=60)
    assert "SMTPServerDisconnected" in message.last_error
    with time_machine.travel(start + dt.timedelta(seconds=30), tick=False):
        assert outbox_deliver().retried == 0  # not due yet
    with time_machine.travel(start + dt.timedelta(seconds=61), tick=False):
        assert outbox_deliver().retried == 2
    message.refresh_from_db()
    assert message.attempts == 2
    assert message.next_attempt_at == start + dt.timedelta(seconds=61 + 120)
    with time_machine.travel(start + dt.timedelta(seconds=61 + 121), tick=False):
        assert outbox_deliver().failed == 2
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", 3)
    # The admin's "retry now", once the mail server is back.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert outbox_retry_now(ids=[message.pk]) == 1
    assert outbox_deliver().sent == 1
    assert len(mail.outbox) == 1


def test_backoff_doubles_and_is_capped() -> None:
    assert [outbox_backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [60, 120, 240, 480]
    assert outbox_backoff(30).total_seconds() == 6 * 3600


@pytest.mark.django_db
def test_daily_digest_instead_of_single_emails(raise_on: Any, authority: Any) -> None:
    preference_set_email(
        user=authority.staff["social_worker"], email=NotificationPreference.Email.DAILY_DIGEST
    )
    raise_on(D(2024, 6, 3))
    with at(D(2024, 6, 7), hour=7):
        deadlines_sweep()
    outbox_deliver()
    assert [m.to for m in mail.outbox] == [["team_manager@resolve.invalid"]] * 2
    assert OutboxMessage.objects.filter(recipient__username="social_worker", status="held").count() == 2
    with at(D(2024, 6, 7), hour=8):
        assert digests_send() == 1
        assert digests_send() == 0  # once a day
    outbox_deliver()
    digest = mail.outbox[-1]
    assert digest.to == ["social_worker@resolve.invalid"]
    assert "2 notifications" in digest.subject
    assert "Response due 10 June 2024" in digest.body
    # The in-app list still has each message.
    assert authority.staff["social_worker"].notifications.count() == 2


def _in_memory_sqlite() -> bool:
    return connection.vendor == "sqlite" and bool(connection.is_in_memory_db())  # type: ignore[attr-defined]


@pytest.mark.django_db
def test_a_second_sweep_that_selected_the_same_rows_writes_nothing_more(raise_on: Any) -> None:
    """On SQLite the batches serialise on the write lock; should two ever select the same deadlines
    (the race this guards against), the outbox's unique key keeps one message each."""
    raise_on(D(2024, 6, 3))
    with at(D(2024, 6, 11), hour=7):
        deadlines_sweep()
        count = OutboxMessage.objects.count()
        from resolve.notifications.models import Deadline

        Deadline.objects.update(
            fired_at=None
        )  # as if a second worker had read them before the first marked them
        deadlines_sweep()
    assert OutboxMessage.objects.count() == count


@pytest.mark.skipif("_in_memory_sqlite()", reason="threads share no lock waits on in-memory SQLite")
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_write_each_message_once(raise_on: Any, child: Any) -> None:
    for _ in range(6):
        raise_on(D(2024, 6, 3))
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        try:
            barrier.wait()
            with at(D(2024, 6, 11), hour=7):
                deadlines_sweep(batch_size=2)
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    overdue = Counter(
        OutboxMessage.objects.filter(kind=Kind.RESPONSE_OVERDUE).values_list("recipient__username", flat=True)
    )
    assert overdue == {"social_worker": 6, "team_manager": 6}  # the IRO is prompted to escalate instead
    assert OutboxMessage.objects.filter(kind=Kind.RESPONSE_REMINDER).count() == 0  # missed: overdue took over
