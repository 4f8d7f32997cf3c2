"""The load benchmark (``make bench-load``): 100 people using the API at once, against gunicorn and
PostgreSQL on this machine, loopback only, for a bounded time.

Run it inside ``scripts/with_postgres.py`` (the Makefile target does), which gives it a throwaway
PostgreSQL in ``DATABASE_URL``. It migrates, builds 2,000 challenges with ``load_bulk``, makes an API
token for the IRO, starts gunicorn on 127.0.0.1 (``RESOLVE_LOAD_PORT``, default 8170) with the
production settings, runs locust headless (100 users, 1 to 3 s between requests, eight requests in
ten reads; ``bench/load/locustfile.py``) for ``RESOLVE_LOAD_SECONDS`` (default 60), then stops
gunicorn and prints the errors, the median and 99th percentile response times, the requests per
second, and the server's CPU time per request (read from /proc for gunicorn's processes), with the
number of cores. Goals (issue 14): 0 errors, p50 under 100 ms, p99 under 10x p50, a read under 10 ms
of server CPU.
"""

from __future__ import annotations

import csv
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(PYTHON).parent
USERS = 100
CHALLENGES = 2_000


def _clock_ticks(pid: int) -> int:
    """User + system CPU of ``pid`` and its reaped children, in clock ticks."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15])


def _tree(pid: int) -> list[int]:
    found = [pid]
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        found.extend(_tree(int(child)))
    return found


def _cpu_seconds(pid: int) -> float:
    return sum(_clock_ticks(each) for each in _tree(pid)) / os.sysconf("SC_CLK_TCK")


def _environment() -> dict[str, str]:
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("Run inside scripts/with_postgres.py: make bench-load does.")
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "RESOLVE_EVIDENCE_KEY": secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_HSTS_PRELOAD": "false",
    }


def main() -> int:
    env = _environment()
    port = int(os.environ.get("RESOLVE_LOAD_PORT", "8170"))
    seconds = int(os.environ.get("RESOLVE_LOAD_SECONDS", "60"))
    cores = os.cpu_count() or 1
    workers = int(os.environ.get("RESOLVE_LOAD_WORKERS", str(2 * cores)))
    threads = int(os.environ.get("RESOLVE_LOAD_THREADS", "2"))
    manage = [PYTHON, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], check=True, env=env, cwd=ROOT)  # noqa: S603
    subprocess.run(  # noqa: S603
        [*manage, "load_bulk", str(CHALLENGES)], check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL
    )
    token = subprocess.run(  # noqa: S603
        [*manage, "create_api_token", "iro"], check=True, env=env, cwd=ROOT, capture_output=True, text=True
    ).stdout.split()[-1]
    ids = subprocess.run(  # noqa: S603
        [
            *manage,
            "shell",
            "-c",
            "from resolve.challenges.models import Challenge as C; "
            "open_ids = C.objects.filter(status='open').values_list('pk', flat=True)[:500]; "
            "print(','.join(str(p) for p in open_ids)); "
            "from resolve.children.models import Child; "
            "bulk = Child.objects.filter(first_name='Bulk').values_list('case_number', flat=True)[:200]; "
            "print(','.join(bulk))",
        ],
        check=True,
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.split()[-2:]  # after what the shell says about its imports
    server = subprocess.Popen(  # noqa: S603
        [
            str(BIN / "gunicorn"),
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--worker-class",
            "gthread",
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=ROOT,
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except OSError as error:
                if getattr(error, "code", None):  # an HTTP answer (503 while no sweep ran) is up
                    break
                time.sleep(0.2)
        before = _cpu_seconds(server.pid)
        with tempfile.TemporaryDirectory(prefix="resolve-load-") as folder:
            started = time.perf_counter()
            subprocess.run(  # noqa: S603
                [
                    str(BIN / "locust"),
                    "-f",
                    str(ROOT / "bench" / "load" / "locustfile.py"),
                    "--headless",
                    "--users",
                    str(USERS),
                    "--spawn-rate",
                    "25",
                    "--run-time",
                    f"{seconds}s",
                    "--host",
                    f"http://127.0.0.1:{port}",
                    "--csv",
                    f"{folder}/load",
                    "--only-summary",
                    "--loglevel",
                    "WARNING",
                ],
                check=False,
                cwd=ROOT,
                env={
                    **os.environ,
                    "RESOLVE_LOAD_TOKEN": token,
                    "RESOLVE_LOAD_CHALLENGES": ids[0],
                    "RESOLVE_LOAD_CHILDREN": ids[1],
                },
                stdout=subprocess.DEVNULL,
            )
            elapsed = time.perf_counter() - started
            cpu = _cpu_seconds(server.pid) - before
            with open(f"{folder}/load_stats.csv", newline="") as handle:
                rows = list(csv.DictReader(handle))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    total = next(row for row in rows if row["Name"] == "Aggregated")
    requests = int(total["Request Count"])
    failures = int(total["Failure Count"])
    p50, p99 = float(total["50%"]), float(total["99%"])
    print(f"{cores} cores; gunicorn {workers} workers x {threads} threads; {USERS} users for {elapsed:.0f} s")
    for row in rows:
        print(
            f"  {row['Type']:<5} {row['Name']:<42} {int(row['Request Count']):6d} requests "
            f"{int(row['Failure Count']):4d} errors  p50 {float(row['50%']):6.0f} ms  "
            f"p99 {float(row['99%']):6.0f} ms"
        )
    print(
        f"Errors {failures} of {requests}; {requests / elapsed:.1f} requests/s; p50 {p50:.0f} ms, "
        f"p99 {p99:.0f} ms ({p99 / max(p50, 1):.1f}x p50); server CPU {cpu / max(requests, 1) * 1000:.1f} ms "
        "per request (all kinds)"
    )
    print("Goals: 0 errors, p50 under 100 ms, p99 under 10x p50, a read under 10 ms of server CPU.")
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
