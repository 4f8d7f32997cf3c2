"""Hash chains that make the evidence tamper-evident.

Each event of a challenge (and each case note of a child) carries ``hash`` = sha256 over a canonical
JSON of its own fields and the ``previous_hash`` of the link before it in the same chain. Changing,
removing or reordering a row breaks the chain from that row on; ``EvidenceHead`` keeps each chain's
length and last hash, so removing the newest rows is caught as well.
``python manage.py verify_evidence`` recomputes every chain.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from django.db import transaction

from resolve.audit.models import EvidenceHead

ALGORITHM = "sha256"


class Sealable(Protocol):
    pk: Any
    previous_hash: str
    hash: str


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"Cannot put {type(value).__name__} in an evidence hash.")


def canonical(fields: dict[str, Any]) -> bytes:
    """One byte string per set of values: sorted keys, no spaces, UTF-8, dates in ISO form."""
    return json.dumps(
        fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_jsonable
    ).encode()


def link_hash(fields: dict[str, Any], previous: str) -> str:
    return hashlib.sha256(canonical({"fields": fields, "previous": previous})).hexdigest()


def event_fields(event: Any) -> dict[str, Any]:
    return {
        "challenge": event.challenge_id,
        "sequence": event.sequence,
        "type": event.type,
        "stage_key": event.stage_key,
        "on": event.on,
        "by": event.by_id,
        "detail": event.detail,
        "created_at": event.created_at,
    }


def case_note_fields(note: Any) -> dict[str, Any]:
    return {
        "child": note.child_id,
        "challenge": note.challenge_id,
        "note_type": note.note_type,
        "body": note.body,
        "on": note.on,
        "author": note.author_id,
        "corrects": note.corrects_id,
        "created_at": note.created_at,
    }


def sealed_insert(
    row: Sealable, *, chain: str, fields: Callable[[Any], dict[str, Any]], save: Callable[[], None]
) -> None:
    """Insert ``row`` as the next link of ``chain``; the chain's head is locked until the transaction ends."""
    with transaction.atomic():
        head, _ = EvidenceHead.objects.select_for_update().get_or_create(chain=chain)
        row.previous_hash = head.hash
        row.hash = link_hash(fields(row), head.hash)
        save()
        head.length += 1
        head.hash = row.hash
        head.save(update_fields=["length", "hash", "updated_at"])


# -- verifying -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Break:
    """The first place a chain does not hold."""

    chain: str
    row: str
    problem: str

    def __str__(self) -> str:
        return f"{self.chain}: {self.row}: {self.problem}"


def verify_links(
    chain: str,
    rows: Iterable[Any],
    fields: Callable[[Any], dict[str, Any]],
    name: Callable[[Any], str],
    heads: dict[str, tuple[int, str]],
    sequence: bool,
) -> Break | None:
    previous = ""
    count = 0
    last: Any = None
    for count, row in enumerate(rows, start=1):
        if sequence and row.sequence != count:
            return Break(
                chain,
                name(row),
                f"expected sequence {count} here, found {row.sequence} (a row was removed or reordered)",
            )
        if row.previous_hash != previous:
            return Break(
                chain,
                name(row),
                "does not follow the link before it (a row before it was changed, removed or reordered)",
            )
        if link_hash(fields(row), previous) != row.hash:
            return Break(chain, name(row), "its contents do not match its hash (the row was edited)")
        previous = row.hash
        last = row
    length, head_hash = heads.pop(chain, (0, ""))
    if count != length or previous != head_hash:
        where = name(last) if last is not None else "(no rows)"
        return Break(
            chain,
            where,
            f"the chain has {count} links but its recorded head says {length}: rows were removed "
            "from its end, "
            "or the head was altered",
        )
    return None
