"""Statements built once per shape and kept: for the reads that run on every page or change, where
Django building the statement costs more than the database takes to run it.

A caller names everything a statement is built from in its ``key``, except the values that change on
every call (``slots``: a challenge's id, the moment break-glass access is asked about). On the first
call the statement is built with a stand-in for each slot, a value no real row has; where the
stand-ins come out among its parameters, the slots' values of each call are put in their place. The
rows are read every time: only the text and the fixed values are kept. A slot is a value the
statement compares for equality (an id equals it; a grant expires after the moment): an id no
database column can hold (past a 64-bit integer) matches no row, so the answer is empty without
asking, as the ORM answers such a lookup.

Django has no way to reuse a compiled query with new values, and rebuilding one costs a millisecond or
more; the write path writes its hot statements as SQL for the same reason (``challenges.services``).
Here the ORM still builds each statement, once; model instances are made from its rows exactly as a
queryset makes them (``instances``: the compiler's own converters, ``from_db``, the related rows
``select_related`` read and the annotations).

On PostgreSQL, a statement read with ``prepared`` (the reads of one challenge by its id, whose text
costs the server several times more to plan than to run) is prepared on the connection the first
time it runs there, and the server runs it with the plan it kept for it from then on (``_fetched``).

With the setting ``RESOLVE_KEPT_STATEMENTS_CHECKED`` (on in the tests) every kept statement is built
again on every call with the slots' own values and must be the same: an input a caller's key leaves
out fails a test instead of reading with a statement built for someone else.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection, models
from django.db.models.query import get_related_populators

from resolve.core import limits
from resolve.core.conf import conf

# A stand-in for each kind of slot: values no row of ours holds (ids are positive; no grant or
# deadline is dated in the year 2000 at this microsecond).
STAND_IN_ID = -7_340_019_266_044
STAND_IN_MOMENT = dt.datetime(2000, 1, 1, 0, 0, 0, 987_653, tzinfo=dt.UTC)

# What a build answers: a queryset, or the text and values of a statement.
Built = models.QuerySet[Any] | tuple[str, list[Any]]

KEPT = 1024  # statements kept at most, the least recently used dropped first


@dataclass(frozen=True)
class _Statement:
    sql: str  # empty: nothing can match (the ORM answers no rows without asking)
    params: tuple[Any, ...]
    slots: tuple[tuple[str, tuple[int, ...]], ...]  # each slot's places among the parameters
    compiler: Any = None  # for ``instances``: the compiler that built it, which knows its columns


_KEPT: OrderedDict[tuple[Any, ...], _Statement] = OrderedDict()
_KEEPING = threading.Lock()  # a threaded server's requests share the kept statements


def _matches_nothing(slots: Mapping[str, Any]) -> bool:
    """Whether an id among ``slots`` is one no column can hold (the ORM answers no row for it)."""
    return any(
        isinstance(value, int) and not isinstance(value, bool) and not limits.row_id_held(value)
        for value in slots.values()
    )


def _adapted(value: Any) -> Any:
    """``value`` as the database driver is given it in a statement's parameters."""
    if isinstance(value, dt.datetime):
        return connection.ops.adapt_datetimefield_value(value)
    return value


def _build(
    build: Callable[[Mapping[str, Any]], Built], values: Mapping[str, Any], *, compiled: bool
) -> _Statement:
    try:
        built = build(values)
        compiler = None
        params: Sequence[Any]
        if isinstance(built, tuple):
            sql, params = built
        elif compiled:
            compiler = built.query.get_compiler(using=built.db)
            sql, params = compiler.as_sql()
        else:
            sql, params = built.query.sql_with_params()
    except EmptyResultSet:
        return _Statement("", (), ())
    places = tuple(
        (name, tuple(index for index, param in enumerate(params) if param == _adapted(value)))
        for name, value in values.items()
    )
    return _Statement(sql, tuple(params), places, compiler)


def _statement(
    key: tuple[Any, ...] | None,
    build: Callable[[Mapping[str, Any]], Built],
    slots: Mapping[str, Any],
    *,
    compiled: bool = False,
) -> tuple[_Statement, list[Any]]:
    """The kept statement for ``key`` (built now if it is not kept) and its parameters for ``slots``;
    for no key, built now with the slots' own values and not kept."""
    if key is None:
        fresh = _build(build, slots, compiled=compiled)
        return fresh, list(fresh.params)
    full = (connection.alias, connection.vendor, compiled, *key)
    with _KEEPING:
        kept = _KEPT.get(full)
        if kept is not None:
            _KEPT.move_to_end(full)
    if kept is None:
        stand_ins = {
            name: STAND_IN_MOMENT if isinstance(value, dt.datetime) else STAND_IN_ID
            for name, value in slots.items()
        }
        kept = _build(build, stand_ins, compiled=compiled)
        with _KEEPING:
            _KEPT[full] = kept
            while len(_KEPT) > KEPT:
                _KEPT.popitem(last=False)
    params = list(kept.params)
    for name, places in kept.slots:
        for index in places:
            params[index] = _adapted(slots[name])
    if kept.sql and conf.kept_statements_checked:
        fresh = _build(build, slots, compiled=compiled)
        if (fresh.sql, list(fresh.params)) != (kept.sql, params):
            raise RuntimeError(
                f"A kept statement differs from one built now: {key}\n"
                f"same text: {kept.sql == fresh.sql}; values that differ: "
                f"{[(i, a, b) for i, (a, b) in enumerate(zip(params, fresh.params, strict=False)) if a != b]}"
            )
    return kept, params


def _prepares() -> bool:
    """Whether the connection can prepare a statement: PostgreSQL bound on the server (psycopg
    prepares nothing it binds itself; ``DATABASE_PREPARED_STATEMENTS`` in the settings)."""
    return (
        connection.vendor == "postgresql"
        and connection.settings_dict.get("OPTIONS", {}).get("server_side_binding") is True
    )


@contextmanager
def preparing() -> Iterator[None]:
    """Statements run inside are prepared on their first run on this connection (psycopg's threshold
    at 0), and those prepared already run as prepared; outside, psycopg prepares nothing (Django's
    default, kept for every other statement: a plan made for one person's values can be a poor one
    for a list of another's). psycopg drops them all when a whole transaction is rolled back (not
    to a savepoint); they are prepared again when next run."""
    driver = connection.connection
    before = driver.prepare_threshold
    driver.prepare_threshold = 0
    try:
        yield
    finally:
        driver.prepare_threshold = before


def _fetched(sql: str, params: list[Any], *, prepared: bool) -> list[Any]:
    """The rows of ``sql`` run with ``params``; ``prepared``: on PostgreSQL, run as a prepared
    statement (``preparing``)."""
    with connection.cursor() as cursor:
        if prepared and _prepares():
            with preparing():
                cursor.execute(sql, params)
        else:
            cursor.execute(sql, params)
        return cursor.fetchall()


def rows(
    key: tuple[Any, ...] | None,
    build: Callable[[Mapping[str, Any]], Built],
    slots: Mapping[str, Any] | None = None,
    *,
    empty: tuple[tuple[Any, ...], ...] = (),
) -> list[tuple[Any, ...]]:
    """The rows of the statement ``build`` answers for ``slots``, built once for ``key``; ``empty``
    where nothing can match. ``build`` is given the slots' values (or their stand-ins)."""
    if _matches_nothing(slots or {}):
        return list(empty)
    kept, params = _statement(key, build, slots or {})
    if not kept.sql:
        return list(empty)
    return [tuple(row) for row in _fetched(kept.sql, params, prepared=False)]


def instances(
    key: tuple[Any, ...] | None,
    build: Callable[[Mapping[str, Any]], models.QuerySet[Any]],
    slots: Mapping[str, Any] | None = None,
    *,
    prepared: bool = False,
) -> list[Any]:
    """The model instances the queryset ``build`` answers for ``slots``, built once for ``key``, made
    from its rows as iterating the queryset makes them (with what it ``select_related`` and its
    annotations). Not for a queryset with ``prefetch_related`` (its prefetches are not run).
    ``prepared``: run as a prepared statement on PostgreSQL, for a statement whose best plan is the
    same for every value of its slots (a row by its id)."""
    if _matches_nothing(slots or {}):
        return []
    kept, params = _statement(key, build, slots or {}, compiled=True)
    if not kept.sql:
        return []
    compiler = kept.compiler
    fetched = _fetched(kept.sql, params, prepared=prepared and key is not None)
    if compiler.has_extra_select:
        fetched = [row[: compiler.col_count] for row in fetched]
    select, klass_info, annotation_col_map = compiler.select, compiler.klass_info, compiler.annotation_col_map
    model = klass_info["model"]
    first, last = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
    names = [column[0].target.attname for column in select[first:last]]
    # Django 5.2's signature (the type stubs follow a later Django, which adds a fetch mode).
    related = get_related_populators(klass_info, select, connection.alias)  # type: ignore[call-arg]
    made = []
    for row in compiler.results_iter([fetched]):
        instance = model.from_db(connection.alias, names, row[first:last])
        for populator in related:
            populator.populate(row, instance)
        for name, place in (annotation_col_map or {}).items():
            setattr(instance, name, row[place])
        made.append(instance)
    return made
