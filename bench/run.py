"""Run the benchmarks: ``.venv/bin/python bench/run.py [name ...]`` (what ``make bench`` calls).

Self-contained: Django is set up here against a throwaway in-memory SQLite database, migrated (which
seeds the calendar), so no local database or environment is needed. On PostgreSQL:
``scripts/with_postgres.py -- env RESOLVE_BENCH_POSTGRES=1 .venv/bin/python bench/run.py reports``
(a throwaway server too). To add a benchmark, write a
module in ``bench/`` with a ``run() -> None`` that prints its results, and list it in BENCHES.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# (name, "module:function"); imported after Django is set up, since they use models.
BENCHES: list[tuple[str, str]] = [
    ("calendar", "bench.calendar_bench:run"),
    ("sweep", "bench.sweep_bench:run"),
    ("import", "bench.import_bench:run"),
    ("reports", "bench.reports_bench:run"),
    ("documents", "bench.documents_bench:run"),
    ("lists", "bench.list_bench:run"),
    ("transition", "bench.transition_bench:run"),
    ("load_bulk", "bench.load_bulk_bench:run"),
]


def django_setup() -> None:
    # Always a private database: a benchmark must never touch real data. In memory, unless run by
    # scripts/with_postgres.py (a throwaway server) with RESOLVE_BENCH_POSTGRES=1.
    if not (os.environ.get("RESOLVE_BENCH_POSTGRES") == "1" and os.environ.get("PGHOST")):
        os.environ["DATABASE_URL"] = "sqlite://:memory:"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)


def main(argv: list[str]) -> int:
    wanted = set(argv)
    unknown = wanted - {name for name, _ in BENCHES}
    if unknown:
        print(
            f"Unknown benchmark(s): {', '.join(sorted(unknown))}; known: {', '.join(n for n, _ in BENCHES)}"
        )
        return 2
    started = time.perf_counter()
    django_setup()
    print(f"Django set up and migrated in {time.perf_counter() - started:.1f} s")
    for name, target in BENCHES:
        if wanted and name not in wanted:
            continue
        module_name, function_name = target.split(":")
        bench = getattr(importlib.import_module(module_name), function_name)
        print(f"\n=== {name} ===")
        bench_started = time.perf_counter()
        bench()
        print(f"({name} took {time.perf_counter() - bench_started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
