"""The anchor: a signed digest of every chain head, kept where the database cannot rewrite it.

``anchor_write`` appends one JSON line to ``<RESOLVE_EVIDENCE_ANCHOR_DIR>/evidence-<date>.jsonl`` (one
file a day, only ever appended to): when, which key signed it, each chain's length and last hash, and
an HMAC of all that under the evidence key. Besides the chains of ``EvidenceHead``, it records each
closed day of the access log, of break-glass grants and of list views (``access-log:<date>``,
``break-glass:<date>``, ``list-views:<date>``):
the number of rows and a running digest of their seals. ``verify_evidence`` compares the database
with the newest anchor, so deleting the newest rows of a chain together with its head, or a whole
chain, is caught once an anchor has seen them. The operator points the folder at storage with
retention (a WORM volume, an object store with object lock) that the database's users cannot write.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db.models.functions import TruncDate
from django.utils import timezone

from resolve.audit.chain import Break
from resolve.audit.models import AccessLogEntry, BreakGlassGrant, EvidenceHead, ListViewEntry
from resolve.audit.sealing import UnknownKey, canonical, current_key_id, mac

# A row-sealed table's days: its name in the anchor, its model and the column that dates a row.
DAY_CHAINS: dict[str, tuple[type[AccessLogEntry] | type[BreakGlassGrant] | type[ListViewEntry], str]] = {
    "access-log": (AccessLogEntry, "at"),
    "break-glass": (BreakGlassGrant, "granted_at"),
    "list-views": (ListViewEntry, "at"),
}


class AnchorNotConfigured(Exception):
    """RESOLVE_EVIDENCE_ANCHOR_DIR is not set."""


def anchor_dir() -> Path:
    if not settings.RESOLVE_EVIDENCE_ANCHOR_DIR:
        raise AnchorNotConfigured(
            "Set RESOLVE_EVIDENCE_ANCHOR_DIR to a folder on append-only storage for the evidence anchor."
        )
    return Path(settings.RESOLVE_EVIDENCE_ANCHOR_DIR)


def day_hashes(kind: str, day: dt.date) -> list[str]:
    """The running digest after each row of one day of a row-sealed table, oldest (lowest id) first."""
    model, column = DAY_CHAINS[kind]
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    rows = (
        model._base_manager.filter(**{f"{column}__gte": start, f"{column}__lt": start + dt.timedelta(days=1)})
        .order_by("id")
        .values_list("id", "seal")
    )
    running, hashes = "", []
    for row_id, seal in rows.iterator():
        running = hashlib.sha256(canonical({"previous": running, "id": row_id, "seal": seal})).hexdigest()
        hashes.append(running)
    return hashes


def anchor_heads(*, today: dt.date) -> dict[str, tuple[int, str]]:
    """Every chain's (length, last hash): the heads, and each closed day (before ``today``, UTC) of
    the access log and break-glass grants."""
    heads = {head.chain: (head.length, head.hash) for head in EvidenceHead.objects.all()}
    for kind, (model, column) in DAY_CHAINS.items():
        days = (
            model._base_manager.filter(
                **{f"{column}__lt": dt.datetime.combine(today, dt.time(), tzinfo=dt.UTC)}
            )
            .annotate(day=TruncDate(column, tzinfo=dt.UTC))
            .values_list("day", flat=True)
            .distinct()
        )
        for day in sorted(set(days)):
            hashes = day_hashes(kind, day)
            heads[f"{kind}:{day.isoformat()}"] = (len(hashes), hashes[-1] if hashes else "")
    return heads


def _body(at: str, key_id: str, chains: Mapping[str, list[object]]) -> bytes:
    return canonical({"at": at, "key_id": key_id, "chains": dict(chains)})


def anchor_write(*, directory: Path | None = None, now: dt.datetime | None = None) -> Path:
    """Append a signed digest of every chain head to today's anchor file; returns the file."""
    folder = directory or anchor_dir()
    now = now or timezone.now()
    at = now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    key_id = current_key_id()
    chains = {
        name: [length, digest]
        for name, (length, digest) in anchor_heads(today=now.astimezone(dt.UTC).date()).items()
    }
    line = {"at": at, "key_id": key_id, "chains": chains, "mac": mac(_body(at, key_id, chains), key_id)}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"evidence-{now.astimezone(dt.UTC):%Y-%m-%d}.jsonl"
    # O_APPEND: earlier lines are never rewritten, whatever else writes the file.
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(descriptor, json.dumps(line, sort_keys=True).encode() + b"\n")
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    return path


@dataclass(frozen=True)
class Anchor:
    file: str
    at: str
    chains: dict[str, tuple[int, str]]


def anchor_latest(directory: Path) -> Anchor | Break | None:
    """The newest anchor, a ``Break`` if it does not bear the evidence key's signature, or None."""
    files = sorted(directory.glob("evidence-*.jsonl"))
    if not files:
        return None
    lines = [line for line in files[-1].read_text().splitlines() if line.strip()]
    if not lines:
        return Break("anchor", files[-1].name, "the newest anchor file is empty: it was truncated")
    try:
        line = json.loads(lines[-1])
        chains = {name: (int(length), str(digest)) for name, (length, digest) in line["chains"].items()}
        expected = mac(_body(line["at"], line["key_id"], line["chains"]), line["key_id"])
        signed = hmac.compare_digest(expected, str(line["mac"]))
    except (ValueError, KeyError, TypeError, AttributeError, UnknownKey) as error:
        return Break("anchor", files[-1].name, f"the newest anchor cannot be read ({error})")
    if not signed:
        return Break("anchor", files[-1].name, "the newest anchor's signature does not match: it was altered")
    return Anchor(file=files[-1].name, at=line["at"], chains=chains)


def anchor_check(anchor: Anchor, hashes_of: Callable[[str], list[str]]) -> Iterator[Break]:
    """Each chain that no longer holds what the anchor saw: shorter, different, or gone.

    ``hashes_of(chain)`` gives the hash of each link of the chain as the database holds it now.
    """
    for chain, (length, digest) in sorted(anchor.chains.items()):
        if length == 0:
            continue
        hashes = hashes_of(chain)
        where = f"anchored at {anchor.at} in {anchor.file}"
        if not hashes:
            yield Break(chain, "(whole chain)", f"the chain is missing, but had {length} links when {where}")
        elif len(hashes) < length:
            yield Break(
                chain,
                f"(link {len(hashes)})",
                f"the chain has {len(hashes)} links, but had {length} when {where}: rows were removed",
            )
        elif hashes[length - 1] != digest:
            yield Break(
                chain,
                f"(link {length})",
                f"link {length} differs from the one {where}: the chain was rewritten",
            )
