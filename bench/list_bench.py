"""The lists at scale: each list page and API list with many challenges against the same request with
1,000, on SQLite and on PostgreSQL; the ratio and the statements each request runs.

Each size is built in its own throwaway database by ``manage.py load_bulk`` (challenges with their
stage visits, events, case notes and sealed evidence), in a child process, which then times the
requests through Django's test client (the whole stack: middleware, scope, template or serialiser),
as the IRO (who sees the children allocated to them), a team manager (who sees their team's
children: half of the bulk ones) and the Director (who sees everything). On SQLite a file per size;
on PostgreSQL a database per size on one throwaway server (``scripts/with_postgres.py``), skipped
when its binaries are missing or ``RESOLVE_BENCH_LIST_POSTGRES=0``.

The machine is shared, so the two sizes are measured in turns (small, large, small, large...,
``ROUNDS`` of them), each request's figure being the best of its rounds' medians; both the elapsed
time and the CPU time of the process serving the requests are compared (on SQLite the database's
own work is in that process; on PostgreSQL it is in the server's, so there the elapsed time counts).

The large size is ``RESOLVE_BENCH_LIST_SIZE`` (default 100,000; 1,000,000 is the issue's goal and
takes several minutes to build on SQLite), on PostgreSQL ``RESOLVE_BENCH_LIST_POSTGRES_SIZE``
(default: the same). To measure databases built once (``load_bulk 1000`` and ``load_bulk N``, each
migrated first) as often as wanted: ``RESOLVE_BENCH_LIST_SIZE=N .venv/bin/python bench/list_bench.py
--existing SMALL_URL LARGE_URL``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SMALL = 1_000
REPEATS = 7
ROUNDS = 3
REQUESTS = [
    ("iro", "page", "/challenges/"),
    ("iro", "page", "/challenges/?status=open&sort=due"),
    ("iro", "page", "/children/"),
    ("iro", "page", "/notifications/"),
    ("iro", "api", "/api/v1/challenges"),
    ("iro", "api", "/api/v1/challenges?status=open"),
    ("team_manager", "page", "/challenges/"),
    ("team_manager", "api", "/api/v1/challenges"),
    ("director", "page", "/challenges/"),
    ("director", "api", "/api/v1/challenges"),
    # The home page's queues, each its first rows and a count bounded like the lists'.
    ("iro", "page", "/"),
    ("team_manager", "page", "/"),
    ("director", "page", "/"),
    # "See all" of a queue: a page of 20 rows, and the page numbers to the bound.
    ("iro", "page", "/?queue=decide"),
    ("team_manager", "page", "/?queue=mine"),
    ("team_manager", "page", "/?queue=people"),
    ("director", "page", "/?queue=people"),
]


def _measure() -> dict[str, Any]:
    """Time each request against the database in DATABASE_URL (run in the child process)."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from resolve.api.models import api_token_create

    users = get_user_model().objects
    answers: dict[str, Any] = {}
    for username, kind, path in REQUESTS:
        user = users.get(username=username)
        client = Client()
        headers: dict[str, str] = {}
        if kind == "api":
            headers = {"Authorization": f"Bearer {api_token_create(user=user)}"}
        else:
            client.force_login(user)
        times, cpu, database = [], [], []
        statements = 0
        client.get(path, headers=headers)  # warm: templates, caches
        for _ in range(REPEATS):
            waited = [0.0]

            def timed(
                execute: Any, sql: str, params: Any, many: bool, context: Any, waited: list[float] = waited
            ) -> Any:
                started = time.perf_counter()
                try:
                    return execute(sql, params, many, context)
                finally:
                    waited[0] += time.perf_counter() - started

            with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(timed):
                started, started_cpu = time.perf_counter(), time.process_time()
                response = client.get(path, headers=headers)
                times.append(time.perf_counter() - started)
                cpu.append(time.process_time() - started_cpu)
            database.append(waited[0])
            if response.status_code != 200:
                raise RuntimeError(f"{path} as {username} answered {response.status_code}")
            statements = len(captured.captured_queries)
        answers[f"{username} {path}"] = {
            "ms": statistics.median(times) * 1000,
            "cpu_ms": statistics.median(cpu) * 1000,
            # Waiting on the database's answers (on PostgreSQL the server's work; on SQLite the rows
            # are read after, so its work is in the CPU time).
            "db_ms": statistics.median(database) * 1000,
            "statements": statements,
        }
    return answers


def _env(database_url: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "config.settings_test"}


def _build(count: int, database_url: str) -> float:
    """Migrate the empty database at ``database_url`` and add ``count`` challenges; the seconds taken."""
    manage = [sys.executable, str(ROOT / "manage.py")]
    env = _env(database_url)
    subprocess.run([*manage, "migrate", "-v0"], check=True, env=env, cwd=ROOT)  # noqa: S603
    started = time.perf_counter()
    subprocess.run(  # noqa: S603
        [*manage, "load_bulk", str(count)], check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL
    )
    return time.perf_counter() - started


def _timed(database_url: str) -> dict[str, Any]:
    answer = subprocess.run(  # noqa: S603
        [sys.executable, __file__, "--here"],
        check=True,
        env=_env(database_url),
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(answer.stdout.splitlines()[-1])
    return result


def _best(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Each request's best median over the rounds (the one least disturbed by the rest of the machine)."""
    return {
        key: {
            "ms": min(answer[key]["ms"] for answer in rounds),
            "cpu_ms": min(answer[key]["cpu_ms"] for answer in rounds),
            "db_ms": min(answer[key]["db_ms"] for answer in rounds),
            "statements": max(answer[key]["statements"] for answer in rounds),
        }
        for key in rounds[0]
    }


def _in_turns(large: int, small_url: str, large_url: str) -> dict[str, Any]:
    """Time both databases in turns, ``ROUNDS`` of them; each request's best figures at each size."""
    small_rounds, big_rounds = [], []
    for _ in range(ROUNDS):
        small_rounds.append(_timed(small_url))
        big_rounds.append(_timed(large_url))
    return {"large": large, "small": _best(small_rounds), "big": _best(big_rounds)}


def _both(large: int, small_url: str, large_url: str) -> dict[str, Any]:
    """Build both sizes, then time them in turns; the figures of each, and how long each took to build."""
    built = {"small": _build(SMALL, small_url), "big": _build(large, large_url)}
    return {**_in_turns(large, small_url, large_url), "built": built}


def _compare(engine: str, answer: dict[str, Any]) -> None:
    large, small, big = answer["large"], answer["small"], answer["big"]
    if "built" in answer:
        print(
            f"  {engine}: built {SMALL:,} challenges in {answer['built']['small']:.1f} s, "
            f"{large:,} in {answer['built']['big']:.1f} s"
        )
    print(f"  {'request':<50} {'elapsed':>24}  {'CPU':>24}  {'database':>24}  statements")
    worst, worst_cpu, worst_db = 0.0, 0.0, 0.0
    for key, at_small in small.items():
        at_large = big[key]
        cells = []
        for figure in ("ms", "cpu_ms", "db_ms"):
            ratio = at_large[figure] / at_small[figure]
            cells.append(f"{at_small[figure]:6.1f} {at_large[figure]:7.1f} ms {ratio:5.2f}x")
        worst = max(worst, at_large["ms"] / at_small["ms"])
        worst_cpu = max(worst_cpu, at_large["cpu_ms"] / at_small["cpu_ms"])
        worst_db = max(worst_db, at_large["db_ms"] / at_small["db_ms"])
        print(f"  {key:<50} {'  '.join(cells)}  {at_small['statements']:>3} -> {at_large['statements']}")
    print(
        f"  {engine} ({SMALL:,} -> {large:,}): worst ratio {worst:.2f}x elapsed, {worst_cpu:.2f}x CPU, "
        f"{worst_db:.2f}x waiting on the database"
    )


def _postgres_sizes() -> None:
    """Both sizes, each in its own database of the throwaway server this process was given (run by
    ``scripts/with_postgres.py``); prints the answer as JSON."""
    import psycopg

    large = int(
        os.environ.get(
            "RESOLVE_BENCH_LIST_POSTGRES_SIZE", os.environ.get("RESOLVE_BENCH_LIST_SIZE", "100000")
        )
    )
    base = os.environ["DATABASE_URL"]
    urls = []
    with psycopg.connect(base, autocommit=True) as admin:
        for count in (SMALL, large):
            name = f"resolve_list_{count}"
            # Our own name, made of digits: no one's value goes into the statement.
            admin.execute(f"CREATE DATABASE {name}")  # nosec B608
            urls.append(base.rsplit("/", 1)[0] + "/" + name)
    print(json.dumps(_both(large, urls[0], urls[1])))


def _postgres() -> dict[str, Any] | None:
    if os.environ.get("RESOLVE_BENCH_LIST_POSTGRES") == "0":
        return None
    from bench.postgres import figures_on_postgres

    return figures_on_postgres(__file__, "--postgres", indent="  ")


def run() -> None:
    large = int(os.environ.get("RESOLVE_BENCH_LIST_SIZE", "100000"))
    with tempfile.TemporaryDirectory(prefix="resolve-list-bench-") as folder:
        _compare(
            "SQLite", _both(large, f"sqlite:///{folder}/small.sqlite3", f"sqlite:///{folder}/large.sqlite3")
        )
    postgres = _postgres()
    if postgres is None:
        print("  PostgreSQL: not measured (RESOLVE_BENCH_LIST_POSTGRES=0, or no server binaries)")
    else:
        _compare("PostgreSQL", postgres)
    print("  Goal: every list within 1.5x of its time at 1,000, with the same statements.")


def _here() -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("SECRET_KEY", "bench")
    import django

    django.setup()
    print(json.dumps(_measure()))


def _existing(small_url: str, large_url: str) -> None:
    """Time the requests on two databases built already (``load_bulk`` 1,000 and N), in turns, and
    compare them as ``run`` does: for a size that takes long to build, built once and measured often
    (docs/performance.md, "Keeping a PostgreSQL database between runs")."""
    engine = "PostgreSQL" if large_url.startswith("postgres") else "SQLite"
    large = int(os.environ.get("RESOLVE_BENCH_LIST_SIZE", "100000"))  # the large one's size, as built
    print(f"  {engine}: {small_url} ({SMALL:,}) against {large_url} ({large:,}), built already")
    _compare(engine, _in_turns(large, small_url, large_url))


if __name__ == "__main__":
    if sys.argv[1:] == ["--here"]:
        _here()
    elif sys.argv[1:] == ["--postgres"]:
        _postgres_sizes()
    elif sys.argv[1:2] == ["--existing"] and len(sys.argv) == 4:
        _existing(sys.argv[2], sys.argv[3])
    else:
        print("Run through bench/run.py: .venv/bin/python bench/run.py lists")
