"""Writes the database does itself, as part of the notifications' write path: the in-app copy of
each message (both databases), and a change's deadline schedule in one statement (SQLite).

The in-app copy of each message is written by the database from the outbox row itself.

Every message written to the outbox (``OutboxMessage``), but a daily digest, has one in-app copy
(``Notification``) for its recipient, created with it. That rule is part of the write path of
``resolve/notifications/services.py`` (``messages_put_many``, ``message_put``): the outbox insert is
the one write, and this trigger, created by migration ``notifications.0014``, writes the copy in the
same statement, on SQLite and PostgreSQL alike. A change to a challenge then writes its messages in
one statement on both databases (SQLite has no data-modifying ``WITH`` to do it otherwise), and a
message skipped as already written (the insert's ``ON CONFLICT DO NOTHING``) gets no second copy.

On PostgreSQL the trigger runs once per statement over the rows it inserted (a transition table),
so a sweep's batch of thousands of messages writes their copies in one ``INSERT ... SELECT``.
"""

from __future__ import annotations

from typing import Any

NAME = "notifications_outbox_in_app_copy"

# Written out in full: the outbox and notification tables, their columns, and Kind.DIGEST ('digest':
# a digest gathers messages already copied, so it has no copy of its own).
_CREATE = {
    "sqlite": [
        "CREATE TRIGGER notifications_outbox_in_app_copy AFTER INSERT ON notifications_outboxmessage "
        "FOR EACH ROW WHEN NEW.kind <> 'digest' "
        "BEGIN INSERT INTO notifications_notification (user_id, message_id, created_at, read_at) "
        "VALUES (NEW.recipient_id, NEW.id, NEW.created_at, NULL); END"
    ],
    "postgresql": [
        "CREATE FUNCTION notifications_outbox_in_app_copy() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "INSERT INTO notifications_notification (user_id, message_id, created_at, read_at) "
        "SELECT recipient_id, id, created_at, NULL FROM added WHERE kind <> 'digest' ORDER BY id; "
        "RETURN NULL; END $$",
        "CREATE TRIGGER notifications_outbox_in_app_copy AFTER INSERT ON notifications_outboxmessage "
        "REFERENCING NEW TABLE AS added "
        "FOR EACH STATEMENT EXECUTE FUNCTION notifications_outbox_in_app_copy()",
    ],
}
_DROP = {
    "sqlite": ["DROP TRIGGER IF EXISTS notifications_outbox_in_app_copy"],
    "postgresql": [
        "DROP TRIGGER IF EXISTS notifications_outbox_in_app_copy ON notifications_outboxmessage",
        "DROP FUNCTION IF EXISTS notifications_outbox_in_app_copy()",
    ],
}


# -- the deadline schedule on SQLite ----------------------------------------------------------------
# A change's deadline schedule is two writes to one table: the unfired deadlines the challenge's state
# no longer has removed, and the new ones inserted (``services._deadlines_write``). PostgreSQL does
# both in one statement (a data-modifying ``WITH``); SQLite has none, so there the write path inserts
# the schedule, as JSON, into a view whose trigger does the two writes: the same rows, one statement.
# Created by migration ``notifications.0015`` on SQLite only; the view holds no row.
SCHEDULE = "notifications_deadline_schedule"
_SCHEDULE_CREATE = [
    "CREATE VIEW notifications_deadline_schedule (challenge_id, remove, rows) AS "
    "SELECT NULL, NULL, NULL WHERE 0",
    # Each row of ``rows``: [key, trigger, action_id, stage_key, meeting_id, due_on, fire_on]. A key
    # already there (fired or not) is kept as it is: the insert skips it.
    "CREATE TRIGGER notifications_deadline_schedule_write INSTEAD OF INSERT "
    "ON notifications_deadline_schedule BEGIN "
    'DELETE FROM notifications_deadline WHERE NEW.remove AND "challenge_id" = NEW.challenge_id '
    'AND "fired_at" IS NULL AND "key" NOT IN (SELECT json_extract(value, \'$[0]\') '
    "FROM json_each(NEW.rows)); "
    'INSERT INTO notifications_deadline ("key", "trigger", "challenge_id", "action_id", "stage_key", '
    '"meeting_id", "due_on", "fire_on", "fired_at", "outcome") '
    "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), NEW.challenge_id, "
    "json_extract(value, '$[2]'), json_extract(value, '$[3]'), json_extract(value, '$[4]'), "
    "json_extract(value, '$[5]'), json_extract(value, '$[6]'), NULL, '' "
    "FROM json_each(NEW.rows) WHERE 1 ON CONFLICT DO NOTHING; END",
]
_SCHEDULE_DROP = [
    "DROP TRIGGER IF EXISTS notifications_deadline_schedule_write",
    "DROP VIEW IF EXISTS notifications_deadline_schedule",
]


def schedule_create(apps: Any, schema_editor: Any) -> None:
    """Create the schedule's view and trigger on SQLite (a migration's forward step)."""
    if schema_editor.connection.vendor == "sqlite":
        for sql in _SCHEDULE_CREATE:
            schema_editor.execute(sql)


def schedule_drop(apps: Any, schema_editor: Any) -> None:
    """Remove them (the migration's backward step)."""
    if schema_editor.connection.vendor == "sqlite":
        for sql in _SCHEDULE_DROP:
            schema_editor.execute(sql)


def in_app_copy_create(apps: Any, schema_editor: Any) -> None:
    """Create the trigger (a migration's forward step); another database gets none."""
    for sql in _CREATE.get(schema_editor.connection.vendor, []):
        schema_editor.execute(sql)


def in_app_copy_drop(apps: Any, schema_editor: Any) -> None:
    """Remove it (the migration's backward step)."""
    for sql in _DROP.get(schema_editor.connection.vendor, []):
        schema_editor.execute(sql)
