"""The lists at scale: each list page and API list with many challenges against the same request with
1,000, on SQLite; the ratio and the statements each request runs.

Each size is built in its own throwaway SQLite file by ``manage.py load_bulk`` (challenges with
their stage visits, events, case notes and sealed evidence), in a child process, which then times
the requests through Django's test client (the whole stack: middleware, scope, template or
serialiser), as the IRO (who sees the children allocated to them) and as the Director (who sees
everything). The large size is ``RESOLVE_BENCH_LIST_SIZE`` (default 100,000; 1,000,000 is the
issue's goal and takes several minutes to build).
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
REQUESTS = [
    ("iro", "page", "/challenges/"),
    ("iro", "page", "/challenges/?status=open&sort=due"),
    ("iro", "page", "/children/"),
    ("iro", "page", "/notifications/"),
    ("iro", "api", "/api/v1/challenges"),
    ("iro", "api", "/api/v1/challenges?status=open"),
    ("director", "page", "/challenges/"),
    ("director", "api", "/api/v1/challenges"),
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
        times = []
        statements = 0
        client.get(path, headers=headers)  # warm: templates, caches
        for _ in range(REPEATS):
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                response = client.get(path, headers=headers)
                times.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise RuntimeError(f"{path} as {username} answered {response.status_code}")
            statements = len(captured.captured_queries)
        answers[f"{username} {path}"] = {"ms": statistics.median(times) * 1000, "statements": statements}
    return answers


def _size(count: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="resolve-list-bench-") as folder:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{folder}/bench.sqlite3",
            "DJANGO_SETTINGS_MODULE": "config.settings_test",
        }
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "-v0"], check=True, env=env, cwd=ROOT)  # noqa: S603
        started = time.perf_counter()
        subprocess.run(  # noqa: S603
            [*manage, "load_bulk", str(count)], check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL
        )
        built = time.perf_counter() - started
        answer = subprocess.run(  # noqa: S603
            [sys.executable, __file__, "--here"],
            check=True,
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        result: dict[str, Any] = json.loads(answer.stdout.splitlines()[-1])
        result["built_seconds"] = built
        return result


def run() -> None:
    large = int(os.environ.get("RESOLVE_BENCH_LIST_SIZE", "100000"))
    small = _size(SMALL)
    big = _size(large)
    built = f"{small['built_seconds']:.1f} s, {large:,} in {big['built_seconds']:.1f} s"
    print(f"  Built {SMALL:,} challenges in {built}")
    print(f"  {'request':<52} {SMALL:>9,} {large:>11,}   ratio   statements")
    for key, at_small in small.items():
        if key == "built_seconds":
            continue
        at_large = big[key]
        ratio = at_large["ms"] / at_small["ms"]
        print(
            f"  {key:<52} {at_small['ms']:7.1f} ms {at_large['ms']:8.1f} ms {ratio:6.2f}x"
            f"   {at_small['statements']:>3} -> {at_large['statements']}"
        )
    print("  Goal: every list within 1.5x of its time at 1,000, with the same statements.")


def _here() -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("SECRET_KEY", "bench")
    import django

    django.setup()
    print(json.dumps(_measure()))


if __name__ == "__main__":
    if sys.argv[1:] == ["--here"]:
        _here()
    else:
        print("Run through bench/run.py: .venv/bin/python bench/run.py lists")
