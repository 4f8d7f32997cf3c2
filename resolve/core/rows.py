"""Lists read in the statement that reads the row they belong to: each list as one JSON array.

A read of a row with its lists (a challenge's visits, actions and chain heads in the write path's
locked read; its visits, actions, events, meetings and requests for agreement in the API's answer; a
person's posts with their API token) costs one statement instead of one per list. Each list is a
subquery on the outer row answering its rows as a JSON array of arrays of columns, in a fixed order,
on SQLite or PostgreSQL; ``rows_from`` turns the text back into model instances, as the ORM would
have given them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import DateField, DateTimeField, JSONField
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init
from django.utils import timezone
from django.utils.dateparse import parse_datetime

VENDORS = ("sqlite", "postgresql")


def json_rows(
    db: Any,
    model: type[Any],
    where: str,
    order: Sequence[str],
    fields: Sequence[str] | None = None,
    *,
    exclude: Sequence[str] = (),
    extra: Sequence[str] = (),
) -> str:
    """A subquery answering ``model``'s rows matching ``where`` as one JSON array of arrays of its
    concrete columns in order (``fields``: only these, by name; ``exclude``: all but these), JSON
    columns as their text, on SQLite or PostgreSQL; ``extra``: expressions on the row ``r`` answered
    after the columns."""
    quote = db.ops.quote_name
    table = quote(model._meta.db_table)
    columns_of = [f for f in _fields(model, fields) if f.name not in exclude]
    order_by = ", ".join(f"r.{quote(str(model._meta.get_field(name).column))}" for name in order)
    if db.vendor == "postgresql":
        columns = ", ".join(
            [
                *(
                    f"r.{quote(str(f.column))}::text"
                    if isinstance(f, JSONField)
                    else f"r.{quote(str(f.column))}"
                    for f in columns_of
                ),
                *extra,
            ]
        )
        return (
            f"(SELECT json_agg(json_build_array({columns}) ORDER BY {order_by})::text "  # noqa: S608  # nosec B608
            f"FROM {table} r WHERE {where})"
        )
    named = [f"x{index}" for index in range(len(extra))]
    columns = ", ".join(
        [*(f"r.{quote(str(f.column))}" for f in columns_of), *(f"r.{name}" for name in named)]
    )
    inner = ", ".join(["r.*", *(f"{sql} AS {name}" for sql, name in zip(extra, named, strict=True))])
    return (
        f"(SELECT json_group_array(json_array({columns})) "  # noqa: S608  # nosec B608
        f"FROM (SELECT {inner} FROM {table} r WHERE {where} ORDER BY {order_by}) r)"
    )


def _fields(model: type[Any], names: Sequence[str] | None) -> list[Any]:
    """The columns read: every concrete field, or those named, in the model's order (``from_db``'s)."""
    if names is None:
        return list(model._meta.concrete_fields)
    return [f for f in model._meta.concrete_fields if f.name in names or f.attname in names]


def value_from_json(field: Any, value: Any) -> Any:
    """A column's value as the ORM gives it, from its JSON form in ``json_rows``."""
    if value is None:
        return None
    if isinstance(field, JSONField):
        return json.loads(value, cls=field.decoder) if isinstance(value, str) else value
    if isinstance(field, DateTimeField):
        moment = parse_datetime(value)
        return moment if moment is None or timezone.is_aware(moment) else timezone.make_aware(moment, dt.UTC)
    if isinstance(field, DateField):
        return dt.date.fromisoformat(value)
    return field.to_python(value)


def instance_from_db(model: type[Any], alias: str, names: Sequence[str], values: Sequence[Any]) -> Any:
    """``model.from_db(alias, names, values)`` for a whole row (``names``: every concrete field's
    attname, in order), built without ``Model.__init__``'s work per field: the same instance, its
    values in its ``__dict__`` as ``__init__`` puts them there (a new instance has no related row
    cached for a foreign key's setter to forget), marked saved. A model with ``pre_init`` or
    ``post_init`` receivers, or a row with columns left out, goes through ``from_db``."""
    if (
        len(names) != len(model._meta.concrete_fields)
        or pre_init.has_listeners(model)
        or post_init.has_listeners(model)
    ):
        return model.from_db(alias, names, values)
    row = object.__new__(model)
    state = ModelState()
    state.adding = False
    state.db = alias
    row._state = state
    row.__dict__.update(zip(names, values, strict=True))
    return row


def rows_from(
    model: type[Any], text: str | None, parent: Any = None, fields: Sequence[str] | None = None
) -> list[Any]:
    """The instances of ``model`` in ``text`` (a ``json_rows`` answer with the same ``fields``), each
    pointing at ``parent`` (its challenge: ``row.challenge``) when given. With ``fields``, the others
    are deferred."""
    columns = _fields(model, fields)
    names = [field.attname for field in columns]
    rows = []
    for values in json.loads(text) if text else []:
        row = instance_from_db(
            model,
            connection.alias,
            names,
            [value_from_json(f, v) for f, v in zip(columns, values, strict=True)],
        )
        if parent is not None:
            row.challenge = parent
        rows.append(row)
    return rows
