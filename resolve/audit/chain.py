"""Keyed hash chains that make the evidence tamper-evident.

Each event of a challenge (and each case note of a child) carries ``hash`` = HMAC-SHA256, under the
evidence key named by its ``key_id`` (``resolve/audit/sealing.py``), over a canonical JSON of its own
fields and the ``previous_hash`` of the link before it in the same chain. Every other record of a
challenge (the challenge row itself, its stage visits, actions, responses, meetings, documents and
Cafcass referral) is sealed at each save as a link of the challenge's records chain
(``EvidenceSeal``, 'records:<challenge id>'). Changing, removing or reordering a row breaks the chain
from that row on; ``EvidenceHead`` keeps each chain's length and last hash, so removing the newest
rows is caught as well, and the daily anchor (``resolve/audit/anchor.py``) keeps those heads outside
the database, so removing rows together with the head is caught too.
``python manage.py verify_evidence`` recomputes every chain.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from django.db import models, transaction
from django.utils import timezone

from resolve.audit.links_write import links_insert
from resolve.audit.models import EvidenceHead, EvidenceSeal, Redaction
from resolve.audit.sealing import (
    LEGACY_KEY_ID,
    UnknownKey,
    canonical,
    current_key_id,
    link_hash,
    row_digest,
)
from resolve.core.retry import RowMoved

__all__ = [
    "Break",
    "EvidenceBatch",
    "SealedModel",
    "canonical",
    "case_note_fields",
    "event_fields",
    "evidence_batch",
    "evidence_seal",
    "link_hash",
    "link_seal",
    "record_seal",
    "redact_link",
    "seal_fields",
    "sealed_insert",
    "verify_links",
]


class Sealable(Protocol):
    pk: Any
    previous_hash: str
    hash: str
    key_id: str


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


def seal_fields(seal: Any) -> dict[str, Any]:
    return {
        "chain": seal.chain,
        "sequence": seal.sequence,
        "record": seal.record,
        "record_id": seal.record_id,
        "digest": seal.digest,
        "created_at": seal.created_at,
    }


class Head(Protocol):
    length: int
    hash: str


def link_seal(row: Sealable, head: Head, fields: Callable[[Any], dict[str, Any]], key_id: str) -> None:
    """Seal ``row`` as the next link after ``head`` (its ``fields``: ``event_fields``, ``case_note_fields``
    or ``seal_fields``; under the key ``key_id``) and move ``head`` on to it, in memory: the one rule by
    which every writer of a chain (a save, a change's batch, ``manage.py load_bulk``) adds a link."""
    row.previous_hash = head.hash
    row.key_id = key_id
    row.hash = head.hash = link_hash(fields(row), head.hash, key_id)
    head.length += 1


def sealed_insert(
    row: Sealable,
    *,
    chain: str,
    fields: Callable[[Any], dict[str, Any]],
    save: Callable[[], None],
    before: Callable[[int], None] | None = None,
) -> None:
    """Insert ``row`` as the next link of ``chain``, sealed with the current key; the chain's head is
    locked until the transaction ends. ``before`` is given the chain's length first (to number the row)."""
    with transaction.atomic(savepoint=False):
        head, _ = EvidenceHead.objects.select_for_update().get_or_create(chain=chain)
        if before is not None:
            before(head.length)
        link_seal(row, head, fields, current_key_id())
        save()
        head.save(update_fields=["length", "hash", "updated_at"])


def record_seal(row: models.Model, *, chain: str, exclude: Iterable[str] = ()) -> EvidenceSeal:
    """Append the digest of ``row`` as now stored (read back, so it matches what verifying reads).

    Inside ``evidence_batch()`` the seal is added to the batch and written when the batch ends."""
    stored = type(row)._base_manager.get(pk=row.pk)
    batch = _current_batch.get()
    if batch is not None:
        return batch.seal(stored, chain=chain, exclude=exclude)
    seal = EvidenceSeal(
        chain=chain, record=row._meta.label_lower, record_id=row.pk, digest=row_digest(stored, set(exclude))
    )

    def number(length: int) -> None:
        seal.sequence = length + 1

    sealed_insert(seal, chain=chain, fields=seal_fields, save=seal.save, before=number)
    return seal


class SealedQuerySet(models.QuerySet["SealedModel"]):
    """``update()`` re-seals each row it changed, so that a bulk change is a link like any save."""

    def update(self, **kwargs: Any) -> int:
        with transaction.atomic(using=self.db, savepoint=False):
            pks = list(self.values_list("pk", flat=True))
            count = super().update(**kwargs)
            batch = _current_batch.get()
            for row in self.model._base_manager.filter(pk__in=pks).order_by("pk"):
                if batch is not None:  # read back just now: sealed as stored
                    batch.seal(row, chain=row.evidence_chain, exclude=row.evidence_exclude)
                else:
                    record_seal(row, chain=row.evidence_chain, exclude=row.evidence_exclude)
            return count


class SealedModel(models.Model):
    """A record of a challenge: each save appends the row's digest to the challenge's records chain."""

    objects = SealedQuerySet.as_manager()

    # Columns the seal leaves out: those Django rewrites on every save (``auto_now``).
    evidence_exclude: ClassVar[tuple[str, ...]] = ()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        batch = _current_batch.get()
        if batch is not None:
            # The row as saved is the row as stored: sealed from memory, written with the batch.
            super().save(*args, **kwargs)
            batch.seal(self, chain=self.evidence_chain, exclude=self.evidence_exclude)
            return
        with transaction.atomic(savepoint=False):
            super().save(*args, **kwargs)
            record_seal(self, chain=self.evidence_chain, exclude=self.evidence_exclude)

    @property
    def evidence_chain(self) -> str:
        return f"records:{self.evidence_challenge_id}"

    @property
    def evidence_challenge_id(self) -> int:
        return int(self.challenge_id)  # type: ignore[attr-defined]


def redact_link(row: Any, *, chain: str, fields: Callable[[Any], dict[str, Any]], reason: str) -> Any:
    """Vouch for the hash of a chained row (an event, a case note) before its personal data is removed.

    The row must still match its hash (a row that no longer verifies is not redacted: that would hide
    the tampering). Writes a ``Redaction``, sealed with the evidence key; the caller then removes the
    data, in the same transaction.
    """
    if row.key_id == LEGACY_KEY_ID or link_hash(fields(row), row.previous_hash, row.key_id) != row.hash:
        raise ValueError(f"{row._meta.label_lower} {row.pk} does not match its hash: it is not redacted.")
    redaction = Redaction(
        chain=chain, record=row._meta.label_lower, record_id=row.pk, hash=row.hash, reason=reason
    )
    redaction.save()
    return redaction


# -- many links at once ---------------------------------------------------------------------------
@dataclass
class _Link:
    chain: str
    row: Any
    fields: Callable[[Any], dict[str, Any]]
    before: Callable[[int], None] | None


@dataclass
class EvidenceBatch:
    """The links one change adds to its chains, sealed and written together when the change ends.

    Each link is sealed exactly as ``sealed_insert`` and ``record_seal`` seal it, in the order it was
    added; ``flush`` locks every head the batch touches in one statement (after the challenge row, as
    the lock order in docs/architecture.md says), inserts each model's rows in one statement, and
    moves the heads on in one more. The rows it writes are the rows a one-by-one write would write.

    Heads the change already read in its transaction (``heads_read``, with the challenge's row) are
    not locked first: the statement that moves them on (before the rows are inserted) moves each only
    from the length it was read at; one that another transaction moved on in between is then locked,
    read again and its links sealed again after it, so the change never runs twice for it.
    """

    links: list[_Link] = field(default_factory=list)
    # Set when the batch starts the chains of a new record (raising a challenge): their heads cannot
    # exist yet, so ``flush`` creates the heads first (keeping those already there), then locks them.
    new_chains: bool = False
    # Heads read without a lock earlier in the transaction, by chain: moved on only from what they were.
    heads_read: dict[str, EvidenceHead] = field(default_factory=dict)

    def link(
        self,
        row: Sealable,
        *,
        chain: str,
        fields: Callable[[Any], dict[str, Any]],
        before: Callable[[int], None] | None = None,
    ) -> None:
        """Add ``row`` (not yet saved) as the next link of ``chain``; ``before`` numbers it."""
        self.links.append(_Link(chain, row, fields, before))

    def seal(self, row: models.Model, *, chain: str, exclude: Iterable[str] = ()) -> EvidenceSeal:
        """Add the digest of ``row`` (as stored now) as the next link of its records chain."""
        seal = EvidenceSeal(
            chain=chain,
            record=row._meta.label_lower,
            record_id=row.pk,
            digest=row_digest(row, set(exclude)),
        )

        def number(length: int) -> None:
            seal.sequence = length + 1

        self.link(seal, chain=chain, fields=seal_fields, before=number)
        return seal

    def flush(self) -> None:
        """Seal and insert every link added so far, then empty the batch."""
        links, self.links = self.links, []
        if not links:
            return
        chains = sorted({link.chain for link in links})
        if self.new_chains:
            self._flush_new_chains(links, chains)
            return
        # Copies: a change run again (a deadlock's victim) starts from the heads as read.
        read = {
            chain: EvidenceHead(pk=head.pk, chain=chain, length=head.length, hash=head.hash)
            for chain, head in self.heads_read.items()
            if chain in chains
        }
        unread = [chain for chain in chains if chain not in read]
        heads = dict(read)
        if unread:
            heads.update(
                (head.chain, head)
                for head in EvidenceHead.objects.select_for_update()
                .filter(chain__in=unread)
                .order_by("chain")
            )
        missing = [chain for chain in chains if chain not in heads]
        if missing:
            EvidenceHead.objects.bulk_create(
                [EvidenceHead(chain=chain) for chain in missing], ignore_conflicts=True
            )
            heads.update(
                (head.chain, head)
                for head in EvidenceHead.objects.select_for_update().filter(chain__in=missing)
            )
        key_id = current_key_id()
        added: dict[str, int] = {}
        for link in links:
            added[link.chain] = added.get(link.chain, 0) + 1
        _links_seal(links, heads, key_id)
        # The heads move first, then the rows go in: a head read without a lock that another writer
        # moved on meanwhile (another challenge of the same child, a case note on the child's chain)
        # is then locked and read again, and its links sealed again after it, before anything is
        # written (two statements more, only then).
        moved_on = _heads_move(
            [heads[chain] for chain in chains],
            read_at={read[chain].pk: read[chain].length - added[chain] for chain in read},
        )
        if moved_on:
            _links_seal_again(
                sorted(chain for chain in read if read[chain].pk in moved_on), links, heads, key_id
            )
        _links_write(links)
        # A later flush in the same transaction moves them on from here.
        self.heads_read.update((chain, heads[chain]) for chain in read)

    def _flush_new_chains(self, links: list[_Link], chains: list[str]) -> None:
        """``flush`` for a change that starts new chains (raising a challenge): each head is written
        with its new length and hash in one statement that creates the heads not there yet (the new
        chains' own) and moves on those read earlier (the child's) from what they were read at
        (``_heads_put``). A head that was there unread, or moved on since it was read, is then locked,
        read again and its links sealed again after it (two statements more, only then)."""
        heads = {
            chain: EvidenceHead(pk=head.pk, chain=chain, length=head.length, hash=head.hash)
            for chain, head in self.heads_read.items()
            if chain in chains
        }
        heads.update((chain, EvidenceHead(chain=chain)) for chain in chains if chain not in heads)
        read_at = {chain: heads[chain].length for chain in chains}
        key_id = current_key_id()
        _links_seal(links, heads, key_id)
        put = _heads_put([heads[chain] for chain in chains], read_at=read_at)
        for chain, pk in put.items():
            heads[chain].pk = pk
        again = [chain for chain in chains if chain not in put]
        if again:
            _links_seal_again(again, links, heads, key_id)
        _links_write(links)
        # A later flush in the same transaction moves them on from here.
        self.heads_read.update((chain, heads[chain]) for chain in chains)


def _links_seal_again(
    chains: list[str], links: list[_Link], heads: dict[str, EvidenceHead], key_id: str
) -> None:
    """The heads of ``chains`` moved on since they were read (another writer extended them): lock and
    read them again, seal their links again after them and move them on (two statements)."""
    fresh = {
        head.chain: head
        for head in EvidenceHead.objects.select_for_update().filter(chain__in=chains).order_by("chain")
    }
    _links_seal([link for link in links if link.chain in fresh], fresh, key_id)
    _heads_move([fresh[chain] for chain in chains])
    heads.update(fresh)


def _links_write(links: list[_Link]) -> None:
    """The linked rows inserted: the seals, events and case notes of a change in one statement
    (``resolve/audit/links_write.py``), a larger batch (a leaver's hand-over) one statement per table."""
    by_model: dict[type[models.Model], list[Any]] = {}
    for link in links:
        by_model.setdefault(type(link.row), []).append(link.row)
    values = sum(len(model._meta.concrete_fields) * len(rows) for model, rows in by_model.items())
    if values <= _MOST_VALUES and links_insert(transaction.get_connection(), by_model):
        return
    for model, rows in by_model.items():
        _rows_write(model, rows)


def _links_seal(links: list[_Link], heads: Mapping[str, EvidenceHead], key_id: str) -> None:
    """Number and seal each link after its chain's head, in order, moving the heads on in memory."""
    for link in links:
        head = heads[link.chain]
        if link.before is not None:
            link.before(head.length)
        link_seal(link.row, head, link.fields, key_id)


# (vendor, model, rows) -> the INSERT statement: the same text for every change of that shape.
_INSERTS: dict[tuple[str, type[models.Model], int], str] = {}
_KEPT_ROWS = 32
# Values in one statement at most: below SQLite's limit on parameters (32,766) and PostgreSQL's (65,535).
_MOST_VALUES = 30_000


def _rows_write(model: type[models.Model], rows: list[Any]) -> None:
    """Insert ``rows`` of ``model`` and give each its id, as ``bulk_create`` does (each value through
    its field's ``pre_save`` and ``get_db_prep_save``, in statements of at most ``_MOST_VALUES``
    values): one statement for the links of a change, its text built once per shape instead of by the
    ORM's compiler on every change."""
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    per = max(1, _MOST_VALUES // len(fields))
    for start in range(0, len(rows), per):
        _rows_insert(model, fields, rows[start : start + per])


def _rows_insert(model: type[models.Model], fields: list[Any], rows: list[Any]) -> None:
    db = transaction.get_connection()
    meta = model._meta
    shape = (db.vendor, model, len(rows))
    sql = _INSERTS.get(shape)
    if sql is None:
        quote = db.ops.quote_name
        names = ", ".join(quote(str(field.column)) for field in fields)
        marks = f"({', '.join(['%s'] * len(fields))})"
        # The model's own table and quoted columns; every value is a parameter.
        sql = (
            f"INSERT INTO {quote(meta.db_table)} ({names}) VALUES "  # noqa: S608  # nosec B608
            f"{', '.join([marks] * len(rows))} RETURNING {quote(str(meta.pk.column))}"
        )
        # Kept for the small batches a change writes; a larger one (a leaver's hand-over) is rare.
        if len(rows) <= _KEPT_ROWS:
            _INSERTS[shape] = sql
    rows_returning(db, sql, fields, rows)


def rows_returning(db: Any, sql: str, fields: list[Any], rows: list[Any]) -> None:
    """Run ``sql``, an INSERT of ``rows`` (``fields`` of each, in order) that answers their ids, and
    give each row its id and mark it saved, as ``bulk_create`` does: each value goes through its
    field's ``pre_save`` and ``get_db_prep_save``."""
    params = [field.get_db_prep_save(field.pre_save(row, True), db) for row in rows for field in fields]
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        ids = cursor.fetchall()
    for row, (pk,) in zip(rows, ids, strict=True):
        row.pk = pk
        row._state.adding = False
        row._state.db = db.alias


def _heads_move(heads: list[EvidenceHead], read_at: Mapping[Any, int] | None = None) -> set[Any]:
    """Move ``heads`` on to their new length and hash in one UPDATE (a CASE on the id for each).

    ``read_at``: the length each head read without a lock (by id) had then; such a head is moved only
    from that length. Answers the ids of those that had moved on (and so were left as they are); a
    locked head that does not move raises ``RowMoved`` (nothing may then be kept).

    Written as SQL rather than with ``Case``/``When`` expressions: the statement is the same, and
    building it this way costs a fraction of the CPU on every change.
    """
    read_at = read_at or {}
    db = transaction.get_connection()
    quote = db.ops.quote_name
    meta = EvidenceHead._meta
    column = {field.name: quote(str(field.column)) for field in meta.concrete_fields}
    ident, length, digest, updated = column["id"], column["length"], column["hash"], column["updated_at"]
    cases = " ".join(["WHEN %s THEN %s"] * len(heads))
    locked = [head.pk for head in heads if head.pk not in read_at]
    where = [f"{ident} IN ({', '.join(['%s'] * len(locked))})"] if locked else []
    where += [f"({ident} = %s AND {length} = %s)"] * len(read_at)
    # The model's own table and quoted columns; every value is a parameter.
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {length} = CASE {ident} {cases} END, "  # noqa: S608  # nosec B608
        f"{digest} = CASE {ident} {cases} END, {updated} = %s WHERE {' OR '.join(where)} "
        f"RETURNING {ident}"
    )
    params: list[Any] = [value for head in heads for value in (head.pk, head.length)]
    params += [value for head in heads for value in (head.pk, head.hash)]
    params.append(EvidenceHead._meta.get_field("updated_at").get_db_prep_save(timezone.now(), db))
    params += locked
    params += [value for pk, at in read_at.items() for value in (pk, at)]
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        moved = {pk for (pk,) in cursor.fetchall()}
    if any(pk not in moved for pk in locked):
        raise RowMoved("an evidence chain head held locked did not move on")
    return {pk for pk in read_at if pk not in moved}


def _heads_put(heads: list[EvidenceHead], read_at: Mapping[str, int]) -> dict[str, Any]:
    """Write ``heads`` (in chain order) with their new length and hash in one statement: an insert
    that creates a head not there yet and, for one already there, moves it on only from the length it
    was read at (``read_at``, by chain: 0 for one read as absent). Answers the id of each head
    written, by chain; one left out was there at another length, and is left as it is."""
    db = transaction.get_connection()
    quote = db.ops.quote_name
    meta = EvidenceHead._meta
    table = quote(meta.db_table)
    column = {field.name: quote(str(field.column)) for field in meta.concrete_fields}
    chain, length, digest, updated = column["chain"], column["length"], column["hash"], column["updated_at"]
    now = EvidenceHead._meta.get_field("updated_at").get_db_prep_save(timezone.now(), db)
    cases = " ".join(["WHEN %s THEN %s"] * len(heads))
    # The model's own table and quoted columns; every value is a parameter.
    sql = (
        f"INSERT INTO {table} ({chain}, {length}, {digest}, {updated}) VALUES "  # noqa: S608  # nosec B608
        f"{', '.join(['(%s, %s, %s, %s)'] * len(heads))} "
        f"ON CONFLICT ({chain}) DO UPDATE SET {length} = EXCLUDED.{length}, "
        f"{digest} = EXCLUDED.{digest}, {updated} = EXCLUDED.{updated} "
        f"WHERE {table}.{length} = CASE {table}.{chain} {cases} END "
        f"RETURNING {column['id']}, {chain}"
    )
    params: list[Any] = [value for head in heads for value in (head.chain, head.length, head.hash, now)]
    params += [value for head in heads for value in (head.chain, read_at[head.chain])]
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        return {name: pk for pk, name in cursor.fetchall()}


_current_batch: ContextVar[EvidenceBatch | None] = ContextVar("resolve_evidence_batch", default=None)


def evidence_seal(row: SealedModel) -> None:
    """Seal a row written without ``save()`` (by ``bulk_create``) into its challenge's records chain:
    into the current batch, or at once outside one."""
    batch = _current_batch.get()
    if batch is not None:
        batch.seal(row, chain=row.evidence_chain, exclude=row.evidence_exclude)
    else:
        record_seal(row, chain=row.evidence_chain, exclude=row.evidence_exclude)


@contextmanager
def evidence_batch() -> Iterator[EvidenceBatch]:
    """Collect the seals of every sealed save inside, and write them when the block ends.

    Use it inside the change's transaction; links added with ``EvidenceBatch.link`` go with them.
    A block that raises writes nothing of the batch (and its transaction rolls back).
    """
    outer = _current_batch.get()
    if outer is not None:
        yield outer
        return
    batch = EvidenceBatch()
    token = _current_batch.set(batch)
    try:
        yield batch
        batch.flush()
    finally:
        _current_batch.reset(token)


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
    hashes: list[str] | None = None,
    redacted: Mapping[Any, str] | None = None,
) -> Break | None:
    """The first break in ``chain``, or None; ``hashes`` collects each link's hash as it goes.

    ``redacted`` maps the id of a link whose personal data was removed (``Redaction``, sealed with the
    evidence key) to the hash it had then: such a link is checked against that hash, not its content.
    """
    length, head_hash = heads.pop(chain, (0, ""))  # taken even when a link breaks: the head is known
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
        if row.key_id == LEGACY_KEY_ID:
            return Break(chain, name(row), "sealed with the unkeyed, public algorithm, outside Resolve")
        vouched = redacted.get(row.pk) if redacted else None
        if vouched is not None:
            if vouched != row.hash:
                return Break(chain, name(row), "does not match the hash its redaction record vouches for")
            previous = row.hash
            last = row
            if hashes is not None:
                hashes.append(row.hash)
            continue
        try:
            expected = link_hash(fields(row), previous, row.key_id)
        except UnknownKey as error:
            return Break(chain, name(row), f"{error}: it was re-sealed outside Resolve")
        if expected != row.hash:
            return Break(chain, name(row), "its contents do not match its hash (the row was edited)")
        previous = row.hash
        last = row
        if hashes is not None:
            hashes.append(row.hash)
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
