"""Each way of quietly rewriting the evidence, on each evidence table, is reported by verify_evidence.

The forger has the database (raw SQL, or a query set's ``update`` past the append-only guard) and
the code, but not the evidence key nor the anchor folder. The world is written on 1 December and
anchored on 2 December, as the worker does each day; then one table is tampered with one way.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection, models, transaction

from resolve.access.log import access_record, access_record_list
from resolve.access.tests.world import World, world_build
from resolve.audit.anchor import anchor_write
from resolve.audit.chain import case_note_fields, event_fields, seal_fields
from resolve.audit.models import AccessLogEntry, BreakGlassGrant, EvidenceHead, EvidenceSeal, ListViewEntry
from resolve.audit.sealing import ROW_SEAL_COLUMNS, canonical, link_hash, row_digest, row_fields
from resolve.audit.services import break_glass_open
from resolve.audit.verify import verify_all
from resolve.challenges import services
from resolve.challenges.models import (
    Action,
    CafcassReferral,
    Challenge,
    Document,
    Event,
    Meeting,
    Response,
    StageVisit,
)
from resolve.children.models import CaseNote

pytestmark = pytest.mark.django_db

WRITTEN = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)
ANCHORED = dt.datetime(2026, 12, 2, 2, 0, tzinfo=dt.UTC)


def evidence_build(authority: Any) -> World:
    """Some of every kind of evidence, written through the services."""
    world = world_build(authority)
    iro = world.user("iro")
    challenge = world.challenge(world.a)
    services.challenge_record_meeting(user=iro, challenge_id=challenge.pk, summary="Met", on=WRITTEN.date())
    services.challenge_escalate(user=iro, challenge_id=challenge.pk, reason="No visit", on=WRITTEN.date())
    other = world.challenge(world.b)
    services.challenge_respond(
        user=world.user("social_worker_2"), challenge_id=other.pk, response="disagree", comments="Not yet"
    )
    services.challenge_respond(
        user=world.user("social_worker_2"),
        challenge_id=other.pk,
        response="agree",
        comments="Will visit",
        further=True,
    )
    referred = services.challenge_raise(
        user=iro,
        child=world.a,
        track="iro",
        procedure_key="informal_challenge_dispute_resolution",
        concern="No visit",
        impact_on_child="Unseen",
    )
    services.challenge_refer_to_cafcass(
        user=iro, challenge_id=referred.pk, reason="Rights at risk", checklist={}
    )
    for kind in ("directors_briefing", "chronology"):
        Document.objects.create(
            challenge=challenge, kind=kind, content={"summary": kind}, on=WRITTEN.date(), by=iro
        )
    for username in ("iro", "social_worker", "team_manager"):
        access_record(user=world.user(username), child_id=world.a.pk, challenge_id=challenge.pk)
    for username in ("iro", "team_manager"):
        access_record_list(user=world.user(username), children=[world.a, world.b])
    for username in ("social_worker", "team_manager"):
        break_glass_open(
            user=world.user(username),
            case_number="LCS-B",
            reason_category="duty_cover",
            reason="Duty cover tonight for the team's children",
        )
    return world


@pytest.fixture
def anchored(authority: Any, settings: Any, tmp_path: Path) -> World:
    settings.RESOLVE_EVIDENCE_ANCHOR_DIR = str(tmp_path)
    with time_machine.travel(WRITTEN, tick=False):
        world = evidence_build(authority)
    with time_machine.travel(ANCHORED, tick=False):
        anchor_write()
    return world


# -- the tables -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Table:
    """One evidence table, how its rows are sealed ("chain", "records" or "row"), and a column to forge."""

    model: type[models.Model]
    how: str
    column: str
    forged: Any

    def __str__(self) -> str:
        return self.model.__name__

    def newest(self) -> Any:
        return self.model._base_manager.order_by("pk").last()

    def rows(self) -> list[Any]:
        """The rows of the newest row's chain, oldest first."""
        newest = self.newest()
        if self.model is Event:
            return list(Event.objects.filter(challenge_id=newest.challenge_id).order_by("sequence"))
        if self.model is CaseNote:
            return list(CaseNote.objects.filter(child_id=newest.child_id).order_by("id"))
        if self.how == "records":
            key = "pk" if self.model is Challenge else "challenge_id"
            return list(self.model._base_manager.filter(**{key: newest.evidence_challenge_id}).order_by("pk"))
        return list(self.model._base_manager.order_by("pk"))

    def chain(self) -> str:
        newest = self.newest()
        if self.model is Event:
            return f"challenge:{newest.challenge_id}"
        if self.model is CaseNote:
            return f"child:{newest.child_id}"
        if self.how == "records":
            return str(newest.evidence_chain)
        day: dict[type[models.Model], str] = {
            AccessLogEntry: "access-log",
            BreakGlassGrant: "break-glass",
            ListViewEntry: "list-views",
        }
        return f"{day[self.model]}:2026-12-01"


TABLES = [
    Table(Event, "chain", "detail", {"reason": "none"}),
    Table(CaseNote, "chain", "body", "Nothing happened"),
    Table(Challenge, "records", "concern", "Nothing to worry about"),
    Table(StageVisit, "records", "due_on", dt.date(2027, 6, 1)),
    Table(Action, "records", "owner", "Nobody"),
    Table(Response, "records", "comments", "Agreed at once"),
    Table(Meeting, "records", "summary", "Never met"),
    Table(Document, "records", "content", {"summary": "rewritten"}),
    Table(CafcassReferral, "records", "reason", "No reason"),
    Table(AccessLogEntry, "row", "path", "/elsewhere"),
    Table(BreakGlassGrant, "row", "reason", "Routine"),
    Table(ListViewEntry, "row", "children", [[1, "LCS-Z"]]),
]


def _update(row: Any, **values: Any) -> None:
    """Past the append-only guard, as raw SQL would."""
    type(row)._base_manager.filter(pk=row.pk).update(**values)


def _delete(model: type[models.Model], pks: list[Any]) -> None:
    """Raw SQL: no cascade, no guard (foreign keys are checked only at a commit that never comes)."""
    if pks:
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)} "
                f"WHERE id IN ({', '.join(['%s'] * len(pks))})",
                pks,
            )


def _reseal_chain(chain: str, rows: list[Any], fields: Callable[[Any], dict[str, Any]]) -> None:
    """Recompute every link of ``chain`` with the public, unkeyed algorithm, and its head."""
    previous = ""
    for row in rows:
        row.refresh_from_db()
        digest = link_hash(fields(row), previous, "")
        _update(row, previous_hash=previous, hash=digest, key_id="")
        previous = digest
    EvidenceHead.objects.filter(chain=chain).update(length=len(rows), hash=previous)


def _seals(chain: str) -> list[EvidenceSeal]:
    return list(EvidenceSeal.objects.filter(chain=chain).order_by("sequence"))


def _head_to_last(chain: str) -> None:
    """Move the head back to what is left of the chain, as a careful forger would."""
    if chain.startswith("records:"):
        left: list[Any] = _seals(chain)
    elif chain.startswith("challenge:"):
        left = list(Event.objects.filter(challenge_id=int(chain.split(":")[1])).order_by("sequence"))
    else:
        left = list(CaseNote.objects.filter(child_id=int(chain.split(":")[1])).order_by("id"))
    EvidenceHead.objects.filter(chain=chain).update(length=len(left), hash=left[-1].hash if left else "")


def edit(table: Table) -> None:
    _update(table.newest(), **{table.column: table.forged})


def delete_newest(table: Table) -> None:
    newest, chain = table.newest(), table.chain()
    _delete(table.model, [newest.pk])
    if table.how == "records":
        seals = EvidenceSeal.objects.filter(record=newest._meta.label_lower, record_id=newest.pk)
        _delete(EvidenceSeal, list(seals.values_list("pk", flat=True)))
    if table.how != "row":
        _head_to_last(chain)


def delete_chain(table: Table) -> None:
    chain = table.chain()
    _delete(table.model, [row.pk for row in table.rows()])
    if table.how == "records":
        _delete(EvidenceSeal, list(EvidenceSeal.objects.filter(chain=chain).values_list("pk", flat=True)))
    EvidenceHead.objects.filter(chain=chain).delete()


def reseal_publicly(table: Table) -> None:
    """Edit a row, then seal everything again with the algorithm anyone can run."""
    edit(table)
    newest, chain = table.newest(), table.chain()
    if table.model is Event:
        _reseal_chain(chain, table.rows(), event_fields)
    elif table.model is CaseNote:
        _reseal_chain(chain, table.rows(), case_note_fields)
    elif table.how == "records":
        seal = EvidenceSeal.objects.filter(record=newest._meta.label_lower, record_id=newest.pk).last()
        assert seal is not None
        _update(seal, digest=row_digest(newest, newest.evidence_exclude))
        _reseal_chain(chain, _seals(chain), seal_fields)
    else:
        message = canonical(
            {"record": newest._meta.label_lower, "fields": row_fields(newest, ROW_SEAL_COLUMNS)}
        )
        _update(newest, key_id="", seal=hashlib.sha256(message).hexdigest())


def reorder(table: Table) -> None:
    if table.model is Event:
        one, two = table.rows()[-2:]
        _update(one, sequence=999)
        _update(two, sequence=one.sequence)
        _update(one, sequence=two.sequence)
    elif table.how == "records":
        newest = table.newest()
        last = EvidenceSeal.objects.filter(record=newest._meta.label_lower, record_id=newest.pk).last()
        assert last is not None
        before = EvidenceSeal.objects.get(chain=last.chain, sequence=last.sequence - 1)
        _update(last, sequence=9999)
        _update(before, sequence=last.sequence)
        _update(last, sequence=before.sequence)
    elif table.model is CaseNote:
        one, two = table.rows()[-2:]
        _update(one, body=two.body)
        _update(two, body=one.body)
    else:  # two rows swap who they were about
        one, two = table.rows()[-2:]
        assert one.user_id != two.user_id
        _update(one, user_id=two.user_id)
        _update(two, user_id=one.user_id)


def forge(table: Table) -> None:
    """Insert a row that Resolve never wrote: a copy of the newest one, past ``save()``."""
    copy = table.newest()
    copy.pk = copy.id = None
    if table.model is Event:
        copy.sequence = len(table.rows()) + 1
    if table.model is StageVisit:
        copy.sequence = 99
    if table.model is CafcassReferral:
        copy.challenge_id = Challenge.objects.exclude(pk=copy.challenge_id).values_list("pk", flat=True)[0]
    table.model._base_manager.bulk_create([copy])


class _Undo(Exception):
    pass


TAMPERINGS = [edit, delete_newest, delete_chain, reseal_publicly, reorder, forge]


def test_untouched_evidence_verifies_against_its_anchor(anchored: World, capsys: Any) -> None:
    assert {str(table) for table in TABLES if not table.rows()} == set()
    assert list(verify_all()) == []
    call_command("verify_evidence")
    assert "Every evidence chain holds" in capsys.readouterr().out


@pytest.mark.parametrize("tamper", TAMPERINGS, ids=lambda tamper: tamper.__name__)
@pytest.mark.parametrize("table", TABLES, ids=str)
def test_tampering_is_reported(anchored: World, table: Table, tamper: Callable[[Table], None]) -> None:
    chain = table.chain()
    # In a savepoint rolled back at the end, so that no row is left pointing at a deleted one.
    with pytest.raises(_Undo), transaction.atomic():
        tamper(table)
        breaks = list(verify_all())
        assert breaks, f"{tamper.__name__} on {table} went unseen"
        prefix = "records:" if table.how == "records" and tamper is forge else chain
        assert any(found.chain.startswith(prefix) for found in breaks), breaks
        with pytest.raises(CommandError):
            call_command("verify_evidence")
        raise _Undo
