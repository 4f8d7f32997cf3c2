"""The load benchmark (``make bench-load``): 100 people using the API at once, against gunicorn and
PostgreSQL on this machine, loopback only, for a bounded time.

Run it inside ``scripts/with_postgres.py`` (the Makefile target does), which gives it a throwaway
PostgreSQL in ``DATABASE_URL``. It migrates, builds 2,000 challenges with ``load_bulk``, makes an API
token for the IRO, starts gunicorn on 127.0.0.1 (``RESOLVE_LOAD_PORT``, default 8170) with the
production settings and the production server settings (``gunicorn.conf.py``: workers sized to the
cores), runs locust headless (100 users, 1 to 3 s between requests, eight requests in ten reads;
``bench/load/locustfile.py``) for ``RESOLVE_LOAD_SECONDS`` (default 60), then stops gunicorn and
prints the errors, the median and 99th percentile response times, the requests per second, and the
server's CPU time: per request of all kinds (read from /proc for gunicorn's processes) and per kind
of request (each request's own thread, noted by ``bench/load/gunicorn_cpu.conf.py``), with the
number of cores, the CPU PostgreSQL and locust used beside it, and the machine's load average.
Goals (issue 14): 0 errors, p50 under 100 ms, p99 under 10x p50, a read under 10 ms of server CPU.

To try another sizing: ``RESOLVE_LOAD_WORKERS`` (workers), ``RESOLVE_LOAD_WORKER_CLASS=gthread`` with
``RESOLVE_LOAD_THREADS``. ``python -m bench.load.profile_api`` measures (or profiles) the CPU of one
read in-process against a database built the same way.

With ``RESOLVE_LOAD_NODES=2`` (``make bench-scale-out``) it tries the scale-out of docs/deploying.md
on this machine: two gunicorn servers (the cores shared between them) and two ``run_worker``
processes against the one PostgreSQL, the workers sweeping every few seconds and sending email to a
real SMTP server (aiosmtpd) started here (``RESOLVE_LOAD_MAIL_PORT``, default ``RESOLVE_LOAD_PORT``
plus 20). Before the load it schedules the deadlines of a few hundred of the bulk challenges,
raised in the past, so both workers' sweeps have overdue deadlines to act on while the load runs;
the users spread over both servers, and one in ten requests asks to escalate one of a few
challenges, so escalations race each other across the two servers. When the load stops it waits for
the outbox to drain, stops the workers and checks, from the database and the mail server: every
message the outbox marks sent arrived exactly once (by its Message-ID) and none is left unsent,
every due deadline fired once, and no challenge was escalated twice from the same stage. It exits
non-zero if any check fails.
"""

from __future__ import annotations

import csv
import json
import os
import resource
import runpy
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(PYTHON).parent
USERS = 100
CHALLENGES = 2_000
SCHEDULED = 300  # bulk challenges whose deadlines the scale-out run schedules for its sweeps
RACED = 40  # challenges the scale-out run's escalations race over
DRAIN_SECONDS = 180


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
    production = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    cores = int(production["cores"])
    workers = int(os.environ.get("RESOLVE_LOAD_WORKERS", production["workers"]))
    worker_class = os.environ.get("RESOLVE_LOAD_WORKER_CLASS", production["worker_class"])
    threads = int(os.environ.get("RESOLVE_LOAD_THREADS", "1"))
    server_options = ["--worker-class", worker_class]
    if worker_class == "gthread":
        # Longer than a user's pause: the client, not the server, closes an idle connection, so no
        # request races the server's close (which showed as "connection reset by peer").
        server_options += ["--threads", str(threads), "--keep-alive", "65"]
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
            # The IRO's track only: the IRO's token may not change a CP Chair's challenge.
            "open_ids = C.objects.filter(status='open', track='iro')"
            ".order_by('pk').values_list('pk', flat=True)[:500]; "
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
    nodes = int(os.environ.get("RESOLVE_LOAD_NODES", "1"))
    if nodes > 1:
        workers = max(1, workers // nodes)
    ports = [port + index for index in range(nodes)]
    mail_port = int(os.environ.get("RESOLVE_LOAD_MAIL_PORT", str(port + 20)))
    mail = _MailServer(mail_port) if nodes > 1 else None
    background: list[subprocess.Popen[bytes]] = []
    if mail is not None:
        env = {
            **env,
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(mail.port),
        }
        _schedule_deadlines(manage, env)
        background = [
            subprocess.Popen(  # noqa: S603
                [*manage, "run_worker", "--sweep-every", "5", "--deliver-every", "1", "--quiet"],
                env=env,
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
            )
            for _ in range(nodes)
        ]
    cpu_log = Path(tempfile.mkdtemp(prefix="resolve-load-cpu-")) / "cpu"
    servers = [
        subprocess.Popen(  # noqa: S603
            [
                str(BIN / "gunicorn"),
                # The production settings (gunicorn.conf.py) and a note of each request's CPU time.
                "--config",
                str(ROOT / "bench" / "load" / "gunicorn_cpu.conf.py"),
                "--bind",
                f"127.0.0.1:{each}",
                "--workers",
                str(workers),
                *server_options,
                "--log-level",
                "warning",
            ],
            env={**env, "RESOLVE_LOAD_CPU_LOG": str(cpu_log)},
            cwd=ROOT,
        )
        for each in ports
    ]
    try:
        for each in ports:
            _wait_until_up(each)
        before = sum(_cpu_seconds(server.pid) for server in servers)
        database = _postgres_pid()
        database_before = _cpu_seconds(database) if database else 0.0
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        load_before = os.getloadavg()[0]
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
                    "RESOLVE_LOAD_HOSTS": ",".join(f"http://127.0.0.1:{each}" for each in ports),
                    "RESOLVE_LOAD_ESCALATE": "1" if nodes > 1 else "",
                    "RESOLVE_LOAD_RACED": ",".join(ids[0].split(",")[:RACED]),
                },
                stdout=subprocess.DEVNULL,
            )
            elapsed = time.perf_counter() - started
            load_after = os.getloadavg()[0]
            cpu = sum(_cpu_seconds(server.pid) for server in servers) - before
            database_cpu = _cpu_seconds(database) - database_before if database else None
            children = resource.getrusage(resource.RUSAGE_CHILDREN)
            locust_cpu = (children.ru_utime + children.ru_stime) - (
                children_before.ru_utime + children_before.ru_stime
            )
            with open(f"{folder}/load_stats.csv", newline="") as handle:
                rows = list(csv.DictReader(handle))
        if mail is not None:
            _drain(manage, env)
    finally:
        for process in [*servers, *background]:
            process.send_signal(signal.SIGTERM)
        for process in [*servers, *background]:
            process.wait(timeout=60)
        if mail is not None:
            mail.stop()
    times = _server_times(cpu_log)
    by_kind = {kind: [cpu for cpu, _, _ in values] for kind, values in times.items()}
    shutil.rmtree(cpu_log.parent, ignore_errors=True)
    total = next(row for row in rows if row["Name"] == "Aggregated")
    requests = int(total["Request Count"])
    failures = int(total["Failure Count"])
    p50, p99 = float(total["50%"]), float(total["99%"])
    print(
        f"{cores} cores; {nodes} gunicorn server(s) of {workers} {worker_class} workers"
        f"{f' x {threads} threads' if worker_class == 'gthread' else ''}"
        f"{f' and {nodes} run_worker processes' if nodes > 1 else ''}; {USERS} users for {elapsed:.0f} s; "
        f"gc.freeze() before fork {'on' if os.environ.get('RESOLVE_GC_FREEZE', '1') != '0' else 'off'}"
    )
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
    reads = [value for kind, values in by_kind.items() if kind.startswith("GET ") for value in values]
    for kind, values in sorted(by_kind.items()):
        mean = sum(values) / len(values) * 1000
        print(f"  server CPU {kind:<44} {mean:6.1f} ms per request ({len(values)})")
    if reads:
        mean = sum(reads) / len(reads) * 1000
        print(f"Server CPU per read request {mean:.1f} ms (its own thread's CPU, {len(reads)} reads)")
    _print_slow_tail(times, p99)
    database_share = (
        f"{database_cpu / max(requests, 1) * 1000:.1f} ms CPU per request"
        if database_cpu is not None
        else "(its process not found)"
    )
    print(
        f"Besides the server, on the same {cores} cores: PostgreSQL {database_share}, locust (the users) "
        f"{locust_cpu / elapsed * 100:.0f}% of a core "
        f"({locust_cpu / max(requests, 1) * 1000:.1f} ms per request)"
    )
    print(
        f"The machine's load average (1 min) was {load_before:.1f} as the users started and "
        f"{load_after:.1f} as they stopped: above {cores} the server waited for the cores, so its times "
        "say as much about the machine as about Resolve."
    )
    print("Goals: 0 errors, p50 under 100 ms, p99 under 10x p50, a read under 10 ms of server CPU.")
    sound = True
    if mail is not None:
        sound = _scale_out_checks(manage, env, mail.message_ids())
    return 0 if failures == 0 and sound else 1


def _postgres_pid() -> int | None:
    """The PostgreSQL server of ``scripts/with_postgres.py`` (its data folder is beside the socket's)."""
    socket_dir = Path(urllib.parse.unquote(os.environ["DATABASE_URL"].split("@", 1)[1].split("/", 1)[0]))
    try:
        return int((socket_dir.parent / "data" / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _server_times(cpu_log: Path) -> dict[str, list[tuple[float, float, float]]]:
    """Each API request's CPU time, time on the clock in the server and time paused by the garbage
    collector, by kind, from the lines ``gunicorn_cpu.conf.py`` wrote."""
    found: dict[str, list[tuple[float, float, float]]] = {}
    for path in cpu_log.parent.glob(f"{cpu_log.name}.*"):
        for line in path.read_text().splitlines():
            kind, cpu, wall, collecting = line.rsplit("\t", 3)
            if kind.split(" ", 1)[-1].startswith("/api/"):
                found.setdefault(kind, []).append((float(cpu), float(wall), float(collecting)))
    return found


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def _print_slow_tail(times: dict[str, list[tuple[float, float, float]]], p99: float) -> None:
    """Where the slowest requests spent their time: in the server (its CPU, and its clock, which
    counts waiting for PostgreSQL, a lock or the cores) or before it (the rest of what the users
    measured: waiting for a free worker)."""
    walls = [wall for values in times.values() for _, wall, _ in values]
    if not walls:
        return
    print(
        f"In the server (from its first hook to its last): p50 {_percentile(walls, 0.5) * 1000:.0f} ms, "
        f"p99 {_percentile(walls, 0.99) * 1000:.0f} ms of the users' p99 {p99:.0f} ms; the rest is waiting "
        "for a free worker"
    )
    for kind, values in sorted(times.items()):
        kind_walls = [wall for _, wall, _ in values]
        print(
            f"  in the server {kind:<44} p50 {_percentile(kind_walls, 0.5) * 1000:5.0f} ms  "
            f"p99 {_percentile(kind_walls, 0.99) * 1000:5.0f} ms  max {max(kind_walls) * 1000:5.0f} ms"
        )
    everything = sorted(
        ((wall, cpu, collecting, kind) for kind, values in times.items() for cpu, wall, collecting in values),
        reverse=True,
    )
    slowest = everything[:5]
    print(
        "  slowest in the server: "
        + "; ".join(
            f"{kind} {wall * 1000:.0f} ms ({cpu * 1000:.0f} ms CPU, {collecting * 1000:.0f} ms GC)"
            for wall, cpu, collecting, kind in slowest
        )
    )
    tail = everything[: max(1, len(everything) // 100)]
    routes = Counter(kind for _, _, _, kind in tail)
    print(
        f"  the slowest 1% in the server ({len(tail)} requests): "
        + ", ".join(f"{kind} {count}" for kind, count in routes.most_common())
    )
    collected = sum(collecting for _, _, collecting, _ in everything)
    tail_collected = sum(collecting for _, _, collecting, _ in tail)
    paused = sum(1 for _, _, collecting, _ in tail if collecting > 0.001)
    print(
        f"  garbage collection: {collected * 1000:.0f} ms in all requests "
        f"({collected / max(len(everything), 1) * 1000:.2f} ms per request); in the slowest 1% "
        f"{tail_collected * 1000:.0f} ms, {paused} of them paused over 1 ms"
    )


def _wait_until_up(port: int) -> None:
    """Until the server answers /healthz, as the proxy would ask it: over loopback, saying it came over
    HTTPS (else the production settings redirect to https://, which this plain port cannot speak)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/healthz", headers={"X-Forwarded-Proto": "https"}
    )
    for _ in range(300):
        try:
            urllib.request.urlopen(request, timeout=2)  # noqa: S310 # nosec B310: our server, loopback
            return
        except urllib.error.HTTPError:  # an HTTP answer (503 while no sweep ran) is up
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"The server on port {port} did not answer /healthz within a minute.")


class _MailServer:
    """A real SMTP server on loopback that keeps the Message-ID of every message it receives."""

    def __init__(self, port: int) -> None:
        from aiosmtpd.controller import Controller

        self.port = port
        self.received: list[str] = []
        received = self.received

        class Handler:
            async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
                content = getattr(envelope, "content", b"") or b""
                for line in content.decode("utf-8", "replace").splitlines():
                    if line.lower().startswith("message-id:"):
                        received.append(line.split(":", 1)[1].strip())
                        break
                else:
                    received.append("")
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=port)
        self.controller.start()

    def message_ids(self) -> list[str]:
        return list(self.received)

    def stop(self) -> None:
        self.controller.stop()


def _shell(manage: list[str], env: dict[str, str], code: str) -> str:
    """Run ``code`` in ``manage.py shell`` against the benchmark's database; its last line of output."""
    output = subprocess.run(  # noqa: S603
        [*manage, "shell", "-c", code], check=True, env=env, cwd=ROOT, capture_output=True, text=True
    ).stdout.split("\n")
    return [line for line in output if line.strip()][-1]


def _schedule_deadlines(manage: list[str], env: dict[str, str]) -> None:
    """Give the sweeps work (``bench/load/scale_out.py``)."""
    code = f"from bench.load.scale_out import schedule; schedule(skip={RACED}, count={SCHEDULED})"
    _shell(manage, env, code)


def _drain(manage: list[str], env: dict[str, str]) -> None:
    """Wait (bounded) until the workers have sent every message and fired every due deadline."""
    deadline = time.monotonic() + DRAIN_SECONDS
    while time.monotonic() < deadline:
        counts = json.loads(_shell(manage, env, "from bench.load.scale_out import waiting; waiting()"))
        if counts["waiting"] == 0 and counts["due"] == 0:
            return
        time.sleep(3)


def _scale_out_checks(manage: list[str], env: dict[str, str], received: list[str]) -> bool:
    """What docs/deploying.md promises of two servers and two workers, checked after the run."""
    found = json.loads(_shell(manage, env, "from bench.load.scale_out import found; found()"))
    expected = set(found["sent"])
    arrived = Counter(received)
    duplicated = sorted(key for key, count in arrived.items() if count > 1)
    lost = sorted(expected - set(arrived))
    stray = sorted(set(arrived) - expected)
    checks = {
        "every message marked sent arrived": not lost,
        "no message arrived twice": not duplicated,
        "no message arrived that the outbox does not mark sent": not stray,
        "no message left unsent or failed": not found["left"],
        "every due deadline fired": found["due"] == 0,
        "no challenge escalated twice from the same stage": not found["twice"],
        # Each worker's clock queues the sweep when none is waiting, and the lease lets one run at a
        # time: which worker takes it is a race, so what is checked is that both workers worked and
        # no two sweeps ran at once (two workers sweeping at the same moment is tested in
        # resolve/notifications/tests/test_two_workers.py).
        "both workers ran tasks": len(found["tasks"]) >= 2,
        "sweeps ran, never two at once": bool(found["sweeps"]) and found["overlapping"] == 0,
    }
    print(
        f"Scale-out: {len(received)} emails received for {len(expected)} messages marked sent; "
        f"{found['fired']} deadlines fired; {found['escalations']} escalations; "
        f"sweeps per worker {found['sweeps']}, tasks per worker {found['tasks']}"
    )
    for name, ok in checks.items():
        print(f"  {'ok  ' if ok else 'FAIL'} {name}")
    if not all(checks.values()):
        print(f"  lost {lost[:5]} duplicated {duplicated[:5]} stray {stray[:5]} left {found['left']}")
        print(f"  escalated twice (challenge, from stage): {found['twice']}")
    return all(checks.values())


if __name__ == "__main__":
    sys.exit(main())
