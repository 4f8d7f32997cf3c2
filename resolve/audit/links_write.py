"""A change's links (its records' seals, its events, its case notes) inserted in one statement.

A change adds rows to three tables of linked evidence: the seals of the records it wrote
(``EvidenceSeal``), its events (``Event``) and their case notes on the child's record (``CaseNote``).
Inserted one table at a time that is three statements in every change. They go in as one:

- on PostgreSQL, a data-modifying ``WITH`` inserts each table's rows and answers their ids;
- on SQLite, which has no data-modifying ``WITH``, the rows go as JSON (one object per row, its
  values by column) into a view, ``audit_change_links``, whose ``INSTEAD OF`` trigger
  inserts each table's rows in their order. The view holds no row. Nothing after the change uses the
  ids of these rows (seals, events and case notes are only ever read back from the database), so
  they are not answered: the rows are marked saved with no id.

The view and its trigger are created by migration ``audit.0008`` on SQLite only, from the models'
columns as they stood then; a later change to one of the three tables' columns must create them again
(``tests/test_links_write.py`` compares the trigger with the models).
"""

from __future__ import annotations

import json
from typing import Any

from django.db import models

VIEW = "audit_change_links"
# The tables whose rows go in together, as (app label, model name): the view's columns are their
# tables' names, in this order, and its trigger inserts them in this order.
LINKED = (("audit", "EvidenceSeal"), ("challenges", "Event"), ("children", "CaseNote"))
TRIGGER = "audit_change_links_write"


def columns(model: type[models.Model]) -> list[str]:
    """The columns written for each row of ``model``: every concrete one but the id, in order."""
    return [str(field.column) for field in model._meta.concrete_fields if not field.primary_key]


def view_sql(linked: list[type[models.Model]]) -> list[str]:
    """The view and its trigger for the ``linked`` models (SQLite)."""
    tables = [str(model._meta.db_table) for model in linked]
    inserts = []
    for model, table in zip(linked, tables, strict=True):
        names = columns(model)
        values = ", ".join(f"json_extract(value, '$.{name}')" for name in names)
        quoted = ", ".join(f'"{name}"' for name in names)
        # The model's own table and columns, from its definition: no value of a row is in the text.
        inserts.append(
            f'INSERT INTO "{table}" ({quoted}) SELECT {values} '  # noqa: S608  # nosec B608
            f'FROM json_each(NEW."{table}") ORDER BY key;'
        )
    nulls = ", ".join("NULL" for _ in tables)
    view_columns = ", ".join(f'"{table}"' for table in tables)
    return [
        f"CREATE VIEW {VIEW} ({view_columns}) AS SELECT {nulls} WHERE 0",
        f"CREATE TRIGGER {TRIGGER} INSTEAD OF INSERT ON {VIEW} BEGIN {' '.join(inserts)} END",
    ]


def view_create(apps: Any, schema_editor: Any) -> None:
    """Create the view and its trigger on SQLite from the models as the migration sees them."""
    if schema_editor.connection.vendor != "sqlite":
        return
    linked = [apps.get_model(app, name) for app, name in LINKED]
    for sql in view_sql(linked):
        schema_editor.execute(sql)


def view_drop(apps: Any, schema_editor: Any) -> None:
    """Remove them (the migration's backward step)."""
    if schema_editor.connection.vendor != "sqlite":
        return
    schema_editor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER}")
    schema_editor.execute(f"DROP VIEW IF EXISTS {VIEW}")


# (model, rows) of each table, in LINKED's order -> PostgreSQL's statement for that shape.
_TOGETHER: dict[tuple[tuple[type[models.Model], int], ...], str] = {}


def links_insert(db: Any, by_model: dict[type[models.Model], list[Any]]) -> bool:
    """Insert the rows of ``by_model`` (tables of ``LINKED`` only) in one statement and mark each
    saved, as ``bulk_create`` does (each value through its field's ``pre_save`` and
    ``get_db_prep_save``). Answers False, writing nothing, for a database or a set of tables it does
    not do (the caller then inserts table by table)."""
    order = {(model._meta.app_label, model.__name__): model for model in by_model}
    if db.vendor not in ("sqlite", "postgresql") or len(order) < 2 or not set(order) <= set(LINKED):
        return False
    parts = [(order[key], by_model[order[key]]) for key in LINKED if key in order]
    if db.vendor == "sqlite":
        _sqlite_insert(db, parts)
    else:
        _postgresql_insert(db, parts)
    return True


def _prepared(db: Any, model: type[models.Model], row: Any) -> list[Any]:
    return [
        field.get_db_prep_save(field.pre_save(row, True), db)
        for field in model._meta.concrete_fields
        if not field.primary_key
    ]


def _sqlite_insert(db: Any, parts: list[tuple[type[models.Model], list[Any]]]) -> None:
    tables = [str(model._meta.db_table) for model, _ in parts]
    # Each table's rows as one JSON parameter; the view's columns are the tables' names.
    sql = (
        f"INSERT INTO {VIEW} ({', '.join(db.ops.quote_name(table) for table in tables)}) "  # noqa: S608  # nosec B608
        f"VALUES ({', '.join(['%s'] * len(tables))})"
    )
    params = []
    for model, rows in parts:
        names = columns(model)
        params.append(json.dumps([dict(zip(names, _prepared(db, model, row), strict=True)) for row in rows]))
    with db.cursor() as cursor:
        cursor.execute(sql, params)
    for _, rows in parts:
        for row in rows:
            row._state.adding = False
            row._state.db = db.alias


def _postgresql_insert(db: Any, parts: list[tuple[type[models.Model], list[Any]]]) -> None:
    shape = tuple((model, len(rows)) for model, rows in parts)
    sql = _TOGETHER.get(shape)
    if sql is None:
        quote = db.ops.quote_name
        withs, answers = [], []
        for index, (model, count) in enumerate(shape):
            names = columns(model)
            marks = f"({', '.join(['%s'] * len(names))})"
            ident = quote(str(model._meta.pk.column))
            withs.append(
                f"t{index} AS (INSERT INTO {quote(model._meta.db_table)} "  # noqa: S608  # nosec B608
                f"({', '.join(quote(name) for name in names)}) VALUES {', '.join([marks] * count)} "
                f"RETURNING {ident})"
            )
            answers.append(f"SELECT {index}, {ident} FROM t{index}")  # noqa: S608  # nosec B608
        sql = f"WITH {', '.join(withs)} {' UNION ALL '.join(answers)}"
        if sum(count for _, count in shape) <= 32:  # the sizes a change writes
            _TOGETHER[shape] = sql
    params = [value for model, rows in parts for row in rows for value in _prepared(db, model, row)]
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        answered = cursor.fetchall()
    ids: list[list[Any]] = [[] for _ in parts]
    for index, pk in answered:
        ids[index].append(pk)
    for (_, rows), pks in zip(parts, ids, strict=True):
        for row, pk in zip(rows, pks, strict=True):
            row.pk = pk
            row._state.adding = False
            row._state.db = db.alias
