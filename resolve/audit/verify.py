"""Checking all the evidence (``verify_evidence``): every chain, every sealed row, and the anchor.

- challenges' events (``challenge:<id>``) and children's case notes (``child:<id>``): keyed chains;
- each challenge's records (``records:<id>``): the challenge row, its stage visits, actions,
  responses, meetings, documents and Cafcass referral, each matching the newest seal of it;
- the access log and break-glass grants: each row's own keyed seal;
- the newest anchor outside the database (``resolve/audit/anchor.py``), when one is configured.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings

from resolve.audit.anchor import DAY_CHAINS, Anchor, anchor_check, anchor_latest, day_hashes
from resolve.audit.chain import Break, SealedModel, case_note_fields, event_fields, seal_fields, verify_links
from resolve.audit.models import EvidenceHead, EvidenceSeal
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


def _records_break(challenge_id: int, chain: str, seals: list[EvidenceSeal]) -> Break | None:
    """The first record of the challenge that does not match its newest seal (or has none)."""
    latest = {(seal.record, seal.record_id): seal.digest for seal in seals}
    for model in SEALED_RECORDS:
        rows = model._base_manager.filter(**{"pk" if model is Challenge else "challenge_id": challenge_id})
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


def verify_all(*, anchor_dir: str | None = None) -> Iterator[Break]:
    """Every chain's first break: events, case notes, records, the row-sealed logs, then the anchor."""
    heads = {head.chain: (head.length, head.hash) for head in EvidenceHead.objects.all()}
    walked: dict[str, list[str]] = {}
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
        )
        if found:
            yield found
    for challenge_id in _ids(
        "records:",
        heads,
        Challenge.objects.values_list("id", flat=True),
        (int(c.split(":", 1)[1]) for c in EvidenceSeal.objects.values_list("chain", flat=True).distinct()),
    ):
        chain = f"records:{challenge_id}"
        seals = list(EvidenceSeal.objects.filter(chain=chain).order_by("sequence", "id"))
        found = verify_links(
            chain,
            seals,
            seal_fields,
            lambda s: f"seal {s.sequence}",
            heads,
            True,
            walked.setdefault(chain, []),
        ) or _records_break(challenge_id, chain, seals)
        if found:
            yield found
    for chain in sorted(heads):
        yield Break(chain, "(head)", "the chain's head names a chain of an unknown kind")
    yield from _row_seal_breaks()
    folder = settings.RESOLVE_EVIDENCE_ANCHOR_DIR if anchor_dir is None else anchor_dir
    if folder:
        latest = anchor_latest(Path(folder))
        if isinstance(latest, Break):
            yield latest
        elif isinstance(latest, Anchor):
            yield from anchor_check(latest, lambda chain: _hashes_of(chain, walked))


def _hashes_of(chain: str, walked: dict[str, list[str]]) -> list[str]:
    kind, _, day = chain.partition(":")
    if kind in DAY_CHAINS:
        return day_hashes(kind, dt.date.fromisoformat(day))
    return walked.get(chain, [])
