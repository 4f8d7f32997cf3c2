"""``manage.py load_bulk``: how fast it builds a large database, each way against a named baseline in
the same run.

On SQLite (the default): ``LOAD_BULK_BENCH_CHALLENGES`` challenges (default 20,000) are loaded into
fresh migrated database files (a file, not memory: the journal and the disk are what is measured),
twice each way, alternately: as the command runs (the journal in memory, no waiting for the disk, a
large cache, secondary indexes created after the load) against SQLite's ordinary settings with the
indexes in place (the baseline). Then the evidence links: sealing events one by one through
``chain.link_seal`` (as the command does) against the same rule written out inline (as it was before).

On PostgreSQL, the writes with ``COPY ... FROM STDIN`` (as it runs) against the multi-row INSERTs it
used before, the same rows built the same way, in the same run::

    scripts/with_postgres.py -- env RESOLVE_BENCH_POSTGRES=1 .venv/bin/python bench/run.py load_bulk
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import resource
import subprocess  # nosec B404: our own manage.py and this file, no shell
import sys
import tempfile
import time
from io import StringIO
from pathlib import Path
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
    if connection.vendor != "postgresql":
        _sqlite()
        _links()
        return
    _postgresql()


ROOT = Path(__file__).resolve().parent.parent


def _sqlite() -> None:
    """The load into a database file as shipped against SQLite's ordinary settings, alternately."""
    spent: dict[str, list[float]] = {"shipped": [], "ordinary": []}
    cpu: dict[str, list[float]] = {"shipped": [], "ordinary": []}
    for round_ in range(1, ROUNDS + 1):
        for kind in spent:
            with tempfile.TemporaryDirectory() as folder:
                env = {
                    **os.environ,
                    "DATABASE_URL": f"sqlite:///{folder}/bulk.sqlite3",
                    "DJANGO_SETTINGS_MODULE": "config.settings_test",
                }
                manage = [sys.executable, str(ROOT / "manage.py")]
                subprocess.run([*manage, "migrate", "-v0"], check=True, env=env, cwd=ROOT)  # noqa: S603  # nosec B603
                here = (
                    "import django; django.setup(); "
                    f"from bench.load_bulk_bench import _here; _here({kind!r}, {CHALLENGES})"
                )
                answer = subprocess.run(  # noqa: S603  # nosec B603
                    [sys.executable, "-c", here],
                    check=True,
                    env=env,
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                )
            took = json.loads(answer.stdout.splitlines()[-1])
            spent[kind].append(took["seconds"])
            cpu[kind].append(took["cpu"])
            print(
                f"  round {round_}, {kind}: {CHALLENGES:,} challenges in {took['seconds']:.1f} s "
                f"({took['cpu']:.1f} s CPU)"
            )
    shipped, ordinary = min(spent["shipped"]), min(spent["ordinary"])
    print(
        f"Loading {CHALLENGES:,} challenges into a SQLite file, best of {ROUNDS}: as shipped {shipped:.1f} s "
        f"({min(cpu['shipped']):.1f} s CPU), with SQLite's ordinary settings and the indexes in place "
        f"{ordinary:.1f} s ({min(cpu['ordinary']):.1f} s CPU)"
    )
    print(f"  ratio ordinary / shipped: {ordinary / shipped:.2f}")


def _here(kind: str, count: int) -> None:
    """In a process of its own (Django set up there), on the database file its environment names: one
    load, timed; its figures as a JSON line."""
    from resolve.challenges.management.commands import load_bulk as command

    if kind == "ordinary":
        command._sqlite_for_loading = contextlib.nullcontext  # type: ignore[assignment]
        command._sqlite_indexes_after = lambda written: contextlib.nullcontext()  # type: ignore[assignment,return-value]
    began, used = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    call_command("load_bulk", str(count), "--today", "2026-06-01", stdout=StringIO())
    after = resource.getrusage(resource.RUSAGE_SELF)
    seconds = time.perf_counter() - began
    cpu = after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime
    print(json.dumps({"seconds": seconds, "cpu": cpu}))


LINKS = 200_000


def _links() -> None:
    """Sealing links through ``chain.link_seal`` against the same rule written inline, alternately."""
    from django.utils import timezone

    from resolve.audit.chain import event_fields, link_hash, link_seal
    from resolve.audit.models import EvidenceHead
    from resolve.audit.sealing import current_key_id
    from resolve.challenges.models import Event

    key_id, now = current_key_id(), timezone.now()
    detail = {"response": "agree", "comments": "", "on_time": True}
    events = [
        load_bulk._row(
            Event,
            pk=index,
            challenge_id=index // 3,
            sequence=index % 3 + 1,
            type="response_recorded",
            stage_key="stage_1",
            on=dt.date(2026, 1, 5),
            by_id=1,
            detail=detail,
            created_at=now,
        )
        for index in range(LINKS)
    ]

    def through_function() -> list[str]:
        head = EvidenceHead(chain="challenge:1")
        for event in events:
            link_seal(event, head, event_fields, key_id)
        return [event.hash for event in events]

    def inline() -> list[str]:
        head = EvidenceHead(chain="challenge:1")
        for event in events:
            event.previous_hash = head.hash
            event.key_id = key_id
            event.hash = link_hash(event_fields(event), head.hash, key_id)
            head.length += 1
            head.hash = event.hash
        return [event.hash for event in events]

    spent = {"link_seal": 0.0, "inline": 0.0}
    answers = {}
    for _ in range(ROUNDS):
        for kind, seal in (("link_seal", through_function), ("inline", inline)):
            began = time.perf_counter()
            answers[kind] = seal()
            spent[kind] += time.perf_counter() - began
    if answers["link_seal"] != answers["inline"]:
        raise RuntimeError("chain.link_seal and the rule inline sealed different links")
    print(
        f"Sealing {LINKS:,} event links, {ROUNDS} rounds each: chain.link_seal {spent['link_seal']:.2f} s, "
        f"the rule inline {spent['inline']:.2f} s"
    )
    print(f"  ratio link_seal / inline: {spent['link_seal'] / spent['inline']:.2f}")


def _postgresql() -> None:
    kinds = [("COPY", load_bulk._write), ("INSERT", _insert)]
    shipped = load_bulk._write
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
