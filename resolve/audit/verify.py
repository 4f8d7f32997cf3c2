"""Checking all the evidence (``verify_evidence``): every chain, every sealed row, and the anchor.

- challenges' events (``challenge:<id>``) and children's case notes (``child:<id>``): keyed chains;
- each challenge's records (``records:<id>``): the challenge row, its stage visits, actions,
  responses, meetings, documents and Cafcass referral, each matching the newest seal of it;
- each child's records with no challenge (``child-records:<id>``): a Cafcass referral of the child's
  case and the requests for agreement it needed, likewise;
- redactions (personal data removed under the retention schedule): each row's own keyed seal, and the
  event or case note it names checked against the hash it vouches for instead of its content;
- the access log, break-glass grants and list views: each row's own keyed seal, and the index of the
  children each list view showed (``ListViewChild``) against the list its seal covers;
- the newest anchor outside the database (``resolve/audit/anchor.py``), when one is configured.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from resolve.audit.anchor import DAY_CHAINS, Anchor, anchor_check, anchor_latest, day_hashes
from resolve.audit.chain import Break, SealedModel, case_note_fields, event_fields, seal_fields, verify_links
from resolve.audit.models import EvidenceHead, EvidenceSeal, ListViewChild, ListViewEntry, Redaction
from resolve.audit.sealing import LEGACY_KEY_ID, UnknownKey, row_digest, row_seal
from resolve.challenges.models import (
    Action,
    Agreement,
    CafcassReferral,
    Challenge,
    Document,
    Event,
    Meeting,
    Response,
    StageVisit,
)
from resolve.children.models import CaseNote

# Every record of a challenge that is sealed into its records chain.
SEALED_RECORDS: tuple[type[SealedModel], ...] = (
    Challenge,
    StageVisit,
    Action,
    Response,
    Meeting,
    Document,
    CafcassReferral,
    Agreement,
)


def _ids(prefix: str, heads: dict[str, tuple[int, str]], *found: Any) -> list[int]:
    ids = {int(key.split(":", 1)[1]) for key in heads if key.startswith(prefix)}
    for values in found:
        ids |= set(values)
    return sorted(ids)


# What is recorded on a child with no challenge, sealed into its records chain (``child-records:<id>``).
CHILD_SEALED_RECORDS: tuple[type[SealedModel], ...] = (CafcassReferral, Agreement)


def _records_break(challenge_id: int, chain: str, seals: list[EvidenceSeal]) -> Break | None:
    """The first record of the challenge that does not match its newest seal (or has none)."""
    return _sealed_rows_break(
        chain,
        seals,
        (
            (
                model,
                model._base_manager.filter(**{"pk" if model is Challenge else "challenge_id": challenge_id}),
            )
            for model in SEALED_RECORDS
        ),
    )


def _child_records_break(child_id: int, chain: str, seals: list[EvidenceSeal]) -> Break | None:
    """The first record on the child with no challenge that does not match its newest seal."""
    on_child: dict[str, Any] = {"child_id": child_id, "challenge_id__isnull": True}
    return _sealed_rows_break(
        chain, seals, ((model, model._base_manager.filter(**on_child)) for model in CHILD_SEALED_RECORDS)
    )


def _sealed_rows_break(chain: str, seals: list[EvidenceSeal], tables: Any) -> Break | None:
    latest = {(seal.record, seal.record_id): seal.digest for seal in seals}
    for model, rows in tables:
        for row in rows.order_by("pk"):
            key = (row._meta.label_lower, row.pk)
            name = f"{row._meta.model_name} {row.pk}"
            sealed = latest.pop(key, None)
            if sealed is None:
                return Break(chain, name, "has no seal: it was written outside Resolve")
            if row_digest(row, model.evidence_exclude) != sealed:
                return Break(chain, name, "does not match its seal (the row was edited)")
    for record, record_id in sorted(latest):
        return Break(
            chain, f"{record.split('.')[-1]} {record_id}", "is sealed but gone (the row was removed)"
        )
    return None


def _row_seal_breaks() -> Iterator[Break]:
    for kind, (model, column) in DAY_CHAINS.items():
        for row in model._base_manager.order_by("id").iterator():
            chain = f"{kind}:{getattr(row, column).astimezone(dt.UTC).date().isoformat()}"
            name = f"{row._meta.model_name} {row.pk}"
            if row.key_id == LEGACY_KEY_ID:
                yield Break(chain, name, "has no keyed seal (written or re-sealed outside Resolve)")
                continue
            try:
                expected = row_seal(row, row.key_id)
            except UnknownKey as error:
                yield Break(chain, name, f"{error}: it was re-sealed outside Resolve")
                continue
            if expected != row.seal:
                yield Break(chain, name, "does not match its seal (the row was edited)")


def _redactions() -> tuple[dict[str, dict[int, str]], list[Break]]:
    """The hashes vouched for by redaction records (by model, then row id), and the records whose own
    seal does not hold (those vouch for nothing)."""
    vouched: dict[str, dict[int, str]] = {}
    breaks: list[Break] = []
    for row in Redaction._base_manager.order_by("id").iterator():
        name = f"redaction {row.pk} ({row.record} {row.record_id})"
        try:
            sealed = row.key_id != LEGACY_KEY_ID and row_seal(row, row.key_id) == row.seal
        except UnknownKey:
            sealed = False
        if not sealed:
            breaks.append(
                Break(row.chain, name, "does not match its seal (written or edited outside Resolve)")
            )
            continue
        vouched.setdefault(row.record, {})[row.record_id] = row.hash
    return vouched, breaks


def _shown_ids(children: Any) -> list[int]:
    """The child ids a list view's sealed ``children`` names (a malformed value names none)."""
    if not isinstance(children, list):
        return []
    return sorted(
        pair[0] for pair in children if isinstance(pair, list) and pair and isinstance(pair[0], int)
    )


def _list_view_index_breaks() -> Iterator[Break]:
    """Each list view whose index rows (by child) differ from the children its sealed row names.

    The index answers "who saw this child"; removing a row of it would hide a view from that question
    while the sealed row stays intact. Both are walked in id order, side by side.
    """
    index = (
        ListViewChild._base_manager.order_by("entry_id", "child_id")
        .values_list("entry_id", "child_id")
        .iterator()
    )
    pending = next(index, None)
    for entry in ListViewEntry._base_manager.order_by("id").iterator():
        while pending is not None and pending[0] < entry.pk:
            yield Break(
                "list-views:index", f"list view {pending[0]}", "is indexed but gone (the row was removed)"
            )
            gone = pending[0]
            while pending is not None and pending[0] == gone:
                pending = next(index, None)
        indexed = []
        while pending is not None and pending[0] == entry.pk:
            indexed.append(pending[1])
            pending = next(index, None)
        if sorted(indexed) != _shown_ids(entry.children):
            day = entry.at.astimezone(dt.UTC).date().isoformat()
            yield Break(
                f"list-views:{day}",
                f"listviewentry {entry.pk}",
                "does not match its index of the children shown (the index was edited)",
            )
    while pending is not None:
        yield Break(
            "list-views:index", f"list view {pending[0]}", "is indexed but gone (the row was removed)"
        )
        gone = pending[0]
        while pending is not None and pending[0] == gone:
            pending = next(index, None)


@contextmanager
def _as_of_one_moment() -> Iterator[None]:
    """Read everything as the database stood at one moment, so what people write while the evidence is
    checked (a change extending a chain after its head was read, a list view's row and its index by
    child committed between the reads of the two) is either wholly seen or not at all, never named as
    tampering. Inside a transaction already open (a test's) its own view is used as it is.

    PostgreSQL: one read-only REPEATABLE READ transaction (one snapshot; writers are not held up).
    SQLite: one deferred read transaction, begun by hand because Django begins its transactions
    IMMEDIATE (``transaction_mode`` in settings), which would take the write lock and hold every writer
    up for the whole check; under WAL a reader sees one snapshot while writers go on."""
    if connection.in_atomic_block:
        yield
        return
    if connection.vendor == "postgresql":
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield
        return
    with connection.cursor() as cursor:
        cursor.execute("BEGIN DEFERRED")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ROLLBACK")  # it only read


def verify_all(*, anchor_dir: str | None = None) -> Generator[Break, None, None]:
    """Every chain's first break: events, case notes, records, the row-sealed logs, then the anchor,
    all read as of one moment (``_as_of_one_moment``)."""
    with _as_of_one_moment():
        yield from _breaks(anchor_dir)


def _breaks(anchor_dir: str | None) -> Iterator[Break]:
    heads = {head.chain: (head.length, head.hash) for head in EvidenceHead.objects.all()}
    walked: dict[str, list[str]] = {}
    redacted, broken_redactions = _redactions()
    yield from broken_redactions
    for challenge_id in _ids("challenge:", heads, Event.objects.values_list("challenge_id", flat=True)):
        chain = f"challenge:{challenge_id}"
        rows = Event.objects.filter(challenge_id=challenge_id).order_by("sequence", "id").iterator()
        found = verify_links(
            chain,
            rows,
            event_fields,
            lambda e: f"event {e.pk} (sequence {e.sequence})",
            heads,
            True,
            walked.setdefault(chain, []),
            redacted.get("challenges.event"),
        )
        if found:
            yield found
    for child_id in _ids("child:", heads, CaseNote.objects.values_list("child_id", flat=True)):
        chain = f"child:{child_id}"
        notes = CaseNote.objects.filter(child_id=child_id).order_by("id").iterator()
        found = verify_links(
            chain,
            notes,
            case_note_fields,
            lambda n: f"case note {n.pk}",
            heads,
            False,
            walked.setdefault(chain, []),
            redacted.get("children.casenote"),
        )
        if found:
            yield found
    for challenge_id in _ids(
        "records:", heads, Challenge.objects.values_list("id", flat=True), _sealed_ids("records:")
    ):
        found = _seals_break(f"records:{challenge_id}", heads, walked, partial(_records_break, challenge_id))
        if found:
            yield found
    for child_id in _ids(
        "child-records:",
        heads,
        CafcassReferral.objects.filter(challenge__isnull=True).values_list("child_id", flat=True),
        Agreement.objects.filter(challenge__isnull=True).values_list("child_id", flat=True),
        _sealed_ids("child-records:"),
    ):
        found = _seals_break(
            f"child-records:{child_id}", heads, walked, partial(_child_records_break, child_id)
        )
        if found:
            yield found
    for chain in sorted(heads):
        yield Break(chain, "(head)", "the chain's head names a chain of an unknown kind")
    yield from _row_seal_breaks()
    yield from _list_view_index_breaks()
    folder = settings.RESOLVE_EVIDENCE_ANCHOR_DIR if anchor_dir is None else anchor_dir
    if folder:
        latest = anchor_latest(Path(folder))
        if isinstance(latest, Break):
            yield latest
        elif isinstance(latest, Anchor):
            yield from anchor_check(latest, lambda chain: _hashes_of(chain, walked))


def _sealed_ids(prefix: str) -> Iterator[int]:
    """The ids in the names of the seal chains ``<prefix><id>`` that hold a seal."""
    chains = EvidenceSeal.objects.filter(chain__startswith=prefix).values_list("chain", flat=True).distinct()
    return (int(chain.split(":", 1)[1]) for chain in chains)


def _seals_break(
    chain: str,
    heads: dict[str, tuple[int, str]],
    walked: dict[str, list[str]],
    records_break: Callable[[str, list[EvidenceSeal]], Break | None],
) -> Break | None:
    """The seal chain's first break: a seal that does not link to the one before (or its head), else the
    first sealed record that does not match its newest seal (``records_break``)."""
    seals = list(EvidenceSeal.objects.filter(chain=chain).order_by("sequence", "id"))
    found = verify_links(
        chain, seals, seal_fields, lambda s: f"seal {s.sequence}", heads, True, walked.setdefault(chain, [])
    )
    return found or records_break(chain, seals)


def _hashes_of(chain: str, walked: dict[str, list[str]]) -> list[str]:
    kind, _, day = chain.partition(":")
    if kind in DAY_CHAINS:
        return day_hashes(kind, dt.date.fromisoformat(day))
    return walked.get(chain, [])
