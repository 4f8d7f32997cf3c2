"""``manage.py load_bulk`` on PostgreSQL: its writes with ``COPY ... FROM STDIN`` (as it runs) against
the multi-row INSERTs it used before, the same rows built the same way, in the same run.

``LOAD_BULK_BENCH_CHALLENGES`` challenges (default 20,000) are loaded twice each way, alternately;
the time spent writing (preparing each table's values and sending them) is summed for each. On
SQLite, where the command writes with INSERTs, only the load's time is printed. On PostgreSQL::

    scripts/with_postgres.py -- env RESOLVE_BENCH_POSTGRES=1 .venv/bin/python bench/run.py load_bulk
"""

from __future__ import annotations

import os
import time
from io import StringIO
from typing import Any

from django.core.management import call_command
from django.db import connection

from resolve.challenges.management.commands import load_bulk

CHALLENGES = int(os.environ.get("LOAD_BULK_BENCH_CHALLENGES", "20000"))
ROUNDS = 2


def _insert(model: Any, rows: Any) -> None:
    """The baseline: multi-row INSERTs of the same prepared values (the command's SQLite path)."""
    if not rows:
        return
    columns, values = load_bulk._values(model, rows)
    table = connection.ops.quote_name(str(model._meta.db_table))
    names = ", ".join(connection.ops.quote_name(column) for column in columns)
    placeholders = ", ".join(["%s"] * len(columns))
    # The model's own table and column names; every value is a parameter.
    sql = f"INSERT INTO {table} ({names}) VALUES ({placeholders})"  # noqa: S608  # nosec B608
    with connection.cursor() as cursor:
        for start in range(0, len(values), load_bulk.CHUNK):
            cursor.executemany(sql, values[start : start + load_bulk.CHUNK])


def run() -> None:
    shipped = load_bulk._write
    kinds = [("COPY", shipped), ("INSERT", _insert)] if connection.vendor == "postgresql" else []
    if not kinds:
        began = time.perf_counter()
        call_command("load_bulk", str(CHALLENGES), "--today", "2026-06-01", stdout=StringIO())
        print(
            f"{CHALLENGES:,} challenges loaded in {time.perf_counter() - began:.1f} s ({connection.vendor})"
        )
        print("COPY is PostgreSQL's: run with RESOLVE_BENCH_POSTGRES=1 under scripts/with_postgres.py")
        return
    spent = {kind: 0.0 for kind, _ in kinds}

    def timed(kind: str, write: Any) -> Any:
        def write_timed(model: Any, rows: Any) -> None:
            began = time.perf_counter()
            write(model, rows)
            spent[kind] += time.perf_counter() - began

        return write_timed

    try:
        for round_ in range(1, ROUNDS + 1):
            for kind, write in kinds:
                load_bulk._write = timed(kind, write)
                began = time.perf_counter()
                call_command("load_bulk", str(CHALLENGES), "--today", "2026-06-01", stdout=StringIO())
                took = time.perf_counter() - began
                print(f"  round {round_}, {kind}: {CHALLENGES:,} challenges in {took:.1f} s")
    finally:
        load_bulk._write = shipped
    print(
        f"Writing, {ROUNDS} rounds each: COPY {spent['COPY']:.1f} s, multi-row INSERT {spent['INSERT']:.1f} s"
    )
    print(f"  ratio INSERT / COPY: {spent['INSERT'] / spent['COPY']:.2f}")
