"""A look at a record writes its access-log row sealed, in one INSERT where the database allows it.

Every read of a child's record writes one of these rows, so what it costs is paid on every read: on
PostgreSQL the id is taken from the table's sequence first and the row goes in with its seal (no
UPDATE of a row just written, no transaction of its own). Either way the seal covers the id and
``verify_evidence`` finds nothing wrong; an edit after the fact is still found.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from resolve.access.log import ShownChild, access_record, access_record_list, access_record_many
from resolve.access.tests.world import World, world_build
from resolve.audit.models import AccessLogEntry, ListViewEntry
from resolve.audit.sealing import row_seal
from resolve.audit.services import break_glass_open
from resolve.audit.verify import verify_all

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 12, 1, 10, 0)


@pytest.fixture
def world(authority: Any) -> World:
    with time_machine.travel(NOW, tick=False):
        return world_build(authority)


def _statements(captured: CaptureQueriesContext, table: str) -> list[str]:
    return [
        query["sql"].split(" ", 1)[0].upper() for query in captured.captured_queries if table in query["sql"]
    ]


def test_a_look_is_logged_sealed_and_verifies(world: World) -> None:
    iro = world.user("iro")
    with CaptureQueriesContext(connection) as captured:
        entry = access_record(user=iro, child_id=world.a.pk)
    assert entry is not None
    stored = AccessLogEntry.objects.get(pk=entry.pk)
    assert stored.seal and stored.seal == row_seal(stored, stored.key_id)
    written = _statements(captured, "audit_accesslogentry")
    if connection.vendor == "postgresql":
        assert written == ["SELECT", "INSERT"]  # the id from the sequence, then the sealed row
    else:
        assert written == ["INSERT", "UPDATE"]  # SQLite knows the id only after the insert
    assert list(verify_all()) == []


def test_a_list_view_is_logged_sealed_and_verifies(world: World) -> None:
    iro = world.user("iro")
    shown = [ShownChild(pk=world.a.pk, case_number=world.a.case_number)]
    with CaptureQueriesContext(connection) as captured:
        entry = access_record_list(user=iro, children=shown)
    assert entry is not None
    stored = ListViewEntry.objects.get(pk=entry.pk)
    assert stored.seal == row_seal(stored, stored.key_id)
    if connection.vendor == "postgresql":
        assert "UPDATE" not in _statements(captured, "audit_listviewentry")
    assert list(verify_all()) == []


def test_an_edited_row_written_in_one_insert_is_still_found(world: World) -> None:
    entry = access_record(user=world.user("iro"), child_id=world.a.pk)
    assert entry is not None
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_accesslogentry SET path = %s WHERE id = %s", ["/elsewhere", entry.pk])
    found = [each for each in verify_all() if each.row == f"accesslogentry {entry.pk}"]
    assert found and "edited" in found[0].problem


def test_many_looks_are_logged_sealed_each_against_its_grant_in_the_same_statements(world: World) -> None:
    """A step that reads many records at once (a leaver's hand-over, a report's learning) logs each
    look as ``access_record`` would, once each, in three statements however many."""
    manager = world.user("team_manager")
    with time_machine.travel(NOW, tick=False):
        first, second = world.challenge(world.a), world.challenge(world.b)
        grant = break_glass_open(
            user=manager,
            case_number=world.b.case_number,
            reason_category="agency_request",
            reason="Police called about Ben tonight",
        )
        looks = [
            (world.a.pk, None),
            (world.b.pk, None),
            (world.a.pk, first.pk),
            (world.b.pk, second.pk),
            (world.b.pk, None),  # the same look again: logged once
        ]
        with CaptureQueriesContext(connection) as captured:
            entries = access_record_many(user=manager, records=looks)
    assert [(entry.child_id, entry.challenge_id) for entry in entries] == looks[:4]
    for entry in entries:
        stored = AccessLogEntry.objects.get(pk=entry.pk)
        assert stored.seal == row_seal(stored, stored.key_id)
        # Logged against the break-glass grant running for that child, and only that child.
        assert stored.break_glass_id == (grant.pk if stored.child_id == world.b.pk else None)
    # The grants read, then (PostgreSQL) the ids and the sealed rows, or (SQLite) the rows and seals.
    assert len(captured.captured_queries) == 3
    assert list(verify_all()) == []
