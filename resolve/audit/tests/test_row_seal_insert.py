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

from resolve.access.log import ShownChild, access_record, access_record_list
from resolve.access.tests.world import World, world_build
from resolve.audit.models import AccessLogEntry, ListViewEntry
from resolve.audit.sealing import row_seal
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
