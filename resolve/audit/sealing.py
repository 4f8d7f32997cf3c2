"""The evidence key and the digests made with it; no models, so that every evidence model can use it.

A link of an evidence chain is sealed with HMAC-SHA256 under a key kept outside the database
(``RESOLVE_EVIDENCE_KEYS``, from ``RESOLVE_EVIDENCE_KEY`` or ``RESOLVE_EVIDENCE_KEY_FILE``). Each row
records the id of the key that sealed it, so keys can rotate: new rows use the current (first) key,
and a row is verified with the key its id names. Key id "" is the unkeyed sha256 of the first
version of the chains; the data migration ``audit.0005`` re-sealed those rows, so verifying refuses it.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import json
import operator
from collections.abc import Callable, Collection, Hashable
from typing import Any

from django.conf import settings
from django.db import models

LEGACY_KEY_ID = ""


class UnknownKey(Exception):
    """A row names a key Resolve does not hold (or the unkeyed, public algorithm)."""


def key_id_of(key: str) -> str:
    """A short public name for a key: it says which key sealed a row without revealing the key."""
    return hashlib.sha256(b"resolve-evidence-key-id\0" + key.encode()).hexdigest()[:16]


def evidence_keys() -> dict[str, bytes]:
    return {key_id_of(key): key.encode() for key in settings.RESOLVE_EVIDENCE_KEYS}


# Each key's HMAC, keyed once per setting (a test may change the setting): sealing a link asks for it
# every time, and naming a key is a sha256 of its own. A link's HMAC is a copy of it.
_MACS: dict[tuple[str, ...], dict[str, Any]] = {}


def _keyed_macs() -> dict[str, Any]:
    configured = tuple(settings.RESOLVE_EVIDENCE_KEYS)
    macs = _MACS.get(configured)
    if macs is None:
        macs = _MACS[configured] = {
            key_id: hmac.new(key, digestmod=hashlib.sha256) for key_id, key in evidence_keys().items()
        }
    return macs


def current_key_id() -> str:
    return key_id_of(settings.RESOLVE_EVIDENCE_KEYS[0])


# Dates and times recur (a day, a batch's "now"): each is written out once.
@functools.lru_cache(maxsize=4096)
def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"Cannot put {type(value).__name__} in an evidence hash.")


def _json_default(value: Any) -> Any:
    """``_jsonable`` for the encoder; a value its cache cannot take (a set) is refused as it refuses."""
    try:
        return _jsonable(value)
    except TypeError:
        if isinstance(value, Hashable):
            raise
        raise TypeError(f"Cannot put {type(value).__name__} in an evidence hash.") from None


# One encoder for every digest (``json.dumps`` with these options would build one per call).
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default)


def canonical(fields: dict[str, Any]) -> bytes:
    """One byte string per set of values: sorted keys, no spaces, UTF-8, dates in ISO form."""
    return _ENCODER.encode(fields).encode()


def mac(message: bytes, key_id: str) -> str:
    """HMAC-SHA256 of ``message`` under the key named ``key_id``; raises ``UnknownKey``."""
    if key_id == LEGACY_KEY_ID:
        raise UnknownKey("sealed with the unkeyed, public algorithm")
    keyed = _keyed_macs().get(key_id)
    if keyed is None:
        raise UnknownKey(f"sealed with key {key_id!r}, which Resolve does not hold")
    link = keyed.copy()
    link.update(message)
    return str(link.hexdigest())


def link_hash(fields: dict[str, Any], previous: str, key_id: str) -> str:
    """The seal of one link: its fields and the link before it, under the key ``key_id``.

    Key id "" gives the unkeyed sha256 of the first chains (for the migration that re-seals them).
    """
    message = canonical({"fields": fields, "previous": previous})
    if key_id == LEGACY_KEY_ID:
        return hashlib.sha256(message).hexdigest()
    return mac(message, key_id)


def row_fields(row: models.Model, exclude: Collection[str] = ()) -> dict[str, Any]:
    """Every stored column of ``row`` by its column attribute name, less ``exclude``.

    Columns a model names in ``evidence_added_later`` (added after rows were sealed) count only once
    they hold a value: empty, they are left out, so a row sealed before the column existed still
    matches its seal.
    """
    names, values_of, stored, later = _columns(type(row), frozenset(exclude))
    try:
        # The values as loaded (what each column's attribute answers), without a call per column.
        values = stored(row.__dict__)
    except KeyError:  # a column deferred: its attribute loads it
        values = values_of(row)
    fields = dict(zip(names, values, strict=True))
    for name in later:
        if fields[name] in (None, ""):
            del fields[name]
    return fields


@functools.lru_cache(maxsize=256)
def _columns(
    model: type[models.Model], exclude: frozenset[str]
) -> tuple[
    tuple[str, ...], Callable[[Any], tuple[Any, ...]], Callable[[Any], tuple[Any, ...]], tuple[str, ...]
]:
    """The columns ``row_fields`` reads of ``model``, getters of their values (from a row's attributes,
    and from the values it has loaded), and those of them added later."""
    names = tuple(str(field.attname) for field in model._meta.concrete_fields if field.attname not in exclude)
    later = frozenset(getattr(model, "evidence_added_later", ()))
    added_later = tuple(name for name in names if name in later)
    if len(names) == 1:  # the getters answer a tuple in every case
        return names, lambda row: (getattr(row, names[0]),), lambda row: (row[names[0]],), added_later
    return names, operator.attrgetter(*names), operator.itemgetter(*names), added_later


def row_digest(row: models.Model, exclude: Collection[str] = ()) -> str:
    """sha256 of a row's table and columns: what a link of a records chain vouches for."""
    return hashlib.sha256(
        canonical({"record": row._meta.label_lower, "fields": row_fields(row, exclude)})
    ).hexdigest()


# The columns a row-sealed model (the access log, break-glass grants) keeps its own seal in.
ROW_SEAL_COLUMNS = ("key_id", "seal")


def row_seal(row: models.Model, key_id: str) -> str:
    """The keyed seal of one standalone row (its id included, so rows cannot swap or be copied)."""
    return mac(
        canonical({"record": row._meta.label_lower, "fields": row_fields(row, ROW_SEAL_COLUMNS)}), key_id
    )
