"""Every message written to the outbox, but a daily digest, has one in-app copy, written with it.

The copy is written by the database from the outbox row (``resolve/notifications/triggers.py``), so
every writer of the outbox (a change to a challenge, the sweep, a single message) gets it in the same
statement, and a message skipped as already written gets no second one. These tests go through the
real writers and the real trigger, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import pytest

from resolve.notifications.models import Kind, Notification, OutboxMessage
from resolve.notifications.services import Message, message_put, messages_put_many
from resolve.people.demo import Authority

pytestmark = pytest.mark.django_db


def _copies() -> list[tuple[str, str]]:
    return sorted(Notification.objects.values_list("user__username", "message__dedupe_key").order_by("id"))


def test_each_message_of_a_change_has_one_copy_for_its_recipient(authority: Authority) -> None:
    worker, manager = authority.staff["social_worker"], authority.staff["team_manager"]
    message = Message(Kind.STAGE_SENT, "stage:1:v1", "A challenge", "Please respond")
    assert messages_put_many(messages=[(worker, message), (manager, message)]) == 2
    assert _copies() == [
        ("social_worker", "stage_sent|stage:1:v1"),
        ("team_manager", "stage_sent|stage:1:v1"),
    ]
    copy = Notification.objects.get(user=worker)
    assert copy.read_at is None
    assert copy.created_at == copy.message.created_at


def test_a_message_already_written_gets_no_second_copy(authority: Authority) -> None:
    worker = authority.staff["social_worker"]
    message = Message(Kind.ACTION_OVERDUE, "a1:2026-12-01", "An action is overdue", "Please act")
    assert messages_put_many(messages=[(worker, message)]) == 1
    assert messages_put_many(messages=[(worker, message)]) == 0
    assert messages_put_many(messages=[(worker, message)], racing=True) == 0
    assert message_put(recipient=worker, message=message) is None
    assert OutboxMessage.objects.count() == 1 and Notification.objects.count() == 1


def test_the_sweeps_writer_counts_and_copies_only_what_it_wrote(authority: Authority) -> None:
    worker, manager = authority.staff["social_worker"], authority.staff["team_manager"]
    first = Message(Kind.ACTION_REMINDER, "a1:2026-12-01", "A reminder", "Due soon")
    second = Message(Kind.ACTION_REMINDER, "a2:2026-12-01", "A reminder", "Due soon")
    assert messages_put_many(messages=[(worker, first)]) == 1
    written = messages_put_many(messages=[(worker, first), (worker, second), (manager, second)], racing=True)
    assert written == 2
    assert _copies() == [
        ("social_worker", "action_reminder|a1:2026-12-01"),
        ("social_worker", "action_reminder|a2:2026-12-01"),
        ("team_manager", "action_reminder|a2:2026-12-01"),
    ]


def test_a_daily_digest_has_no_copy(authority: Authority) -> None:
    worker = authority.staff["social_worker"]
    digest = Message(Kind.DIGEST, "2026-12-01", "Your day in Resolve", "Three messages")
    row = message_put(recipient=worker, message=digest)
    assert row is not None and row.kind == Kind.DIGEST
    assert not Notification.objects.exists()
    single = message_put(recipient=worker, message=Message(Kind.STAGE_SENT, "stage:2:v1", "A", "B"))
    assert single is not None and Notification.objects.get().message_id == single.pk
