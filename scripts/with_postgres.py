#!/usr/bin/env python3
"""Run one command against a throwaway PostgreSQL server, then remove the server.

    scripts/with_postgres.py [--keep] -- COMMAND [ARG...]
    scripts/with_postgres.py --available

What it does, in order:

1. Finds the server binaries: ``$PG_BIN`` if set, else the newest ``/usr/lib/postgresql/<ver>/bin``
   (Debian's ``postgresql`` package), else ``initdb`` on ``$PATH``. ``--available`` only answers
   whether they were found (exit 0 or 1), so a caller can skip the PostgreSQL run loudly.
2. Creates a temporary directory and runs ``initdb`` into it: trust authentication, superuser
   ``resolve`` (pytest-django needs to create ``test_*`` databases), UTF-8, no fsync.
3. Starts ``postgres`` listening on a Unix socket inside that directory and on no TCP port, so
   several runs on one machine (other checkouts, other engineers) never collide. Durability is
   switched off (``fsync``, ``synchronous_commit``, ``full_page_writes``): the data is thrown away.
4. Waits until the server accepts connections, creates the database ``resolve`` and runs COMMAND
   with ``DATABASE_URL=postgres://resolve@<socket dir>/resolve`` (and ``PGHOST``/``PGUSER``/
   ``PGDATABASE`` for psql) added to its environment.
5. Stops the server and deletes the directory whatever happens: COMMAND failing, Ctrl-C, SIGTERM
   (a CI timeout) or this script failing. If this script is killed outright, the server is told
   to quit by the kernel (parent-death signal); only the temporary directory is left behind.
   ``--keep`` leaves the directory in place for a look at the server log.

PostgreSQL refuses to run as root. Run as root (as on CI), the server runs as the ``postgres``
system user that Debian's package creates (``resolve-pg`` is created if there is none) and the
temporary directory is handed to that user; COMMAND itself still runs as the caller.

Exit status: COMMAND's own, or 2 when the server could not be started (its log is printed).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import glob
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

ROLE = "resolve"
DATABASE = "resolve"
# Who runs the server when we are root and Debian's postgres user does not exist.
FALLBACK_USER = "resolve-pg"
READY_TIMEOUT_SECONDS = 60
# A Unix socket path must fit in sockaddr_un.sun_path (108 bytes on Linux), ".s.PGSQL.5432" included.
MAX_SOCKET_DIR_LENGTH = 80


class PostgresError(Exception):
    """The throwaway server could not be set up."""


@dataclass(frozen=True)
class RunAs:
    """Who the server runs as; ``None`` fields mean the current user."""

    uid: int | None = None
    gid: int | None = None
    name: str | None = None


def find_bin_dir() -> Path | None:
    if os.environ.get("PG_BIN"):
        candidate = Path(os.environ["PG_BIN"])
        return candidate if (candidate / "initdb").exists() else None

    def version(path: str) -> tuple[int, ...]:
        match = re.search(r"/postgresql/([\d.]+)/bin/", path)
        return tuple(int(part) for part in match.group(1).split(".")) if match else ()

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def server_user() -> RunAs:
    if os.geteuid() != 0:
        return RunAs()
    for name in ("postgres", FALLBACK_USER):
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(name)
            return RunAs(uid=entry.pw_uid, gid=entry.pw_gid, name=name)
    useradd = ["useradd", "--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin"]
    subprocess.run([*useradd, FALLBACK_USER], check=True)
    entry = pwd.getpwnam(FALLBACK_USER)
    return RunAs(uid=entry.pw_uid, gid=entry.pw_gid, name=FALLBACK_USER)


def _die_with_parent() -> None:
    # Runs in the server's process after it has switched user, where the setting survives:
    # if this script is killed outright, the postmaster gets SIGQUIT (immediate shutdown).
    pr_set_pdeathsig = 1
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGQUIT)


def run_as(cmd: list[str], who: RunAs, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd,
        check=False,
        user=who.uid,
        group=who.gid,
        extra_groups=[] if who.uid is not None else None,
        text=True,
        capture_output=True,
        **kwargs,  # type: ignore[call-overload]
    )


def make_base_dir() -> Path:
    base = Path(tempfile.mkdtemp(prefix="resolve-pg-"))
    if len(str(base / "socket")) > MAX_SOCKET_DIR_LENGTH:
        # A long $TMPDIR (macOS, some CI runners) would make the socket path too long.
        shutil.rmtree(base)
        base = Path(tempfile.mkdtemp(prefix="resolve-pg-", dir="/tmp"))
    return base


@contextlib.contextmanager
def throwaway_server(bin_dir: Path, keep: bool = False) -> Iterator[Path]:
    """Yield the socket directory of a fresh server; stop it and remove its files on exit."""
    who = server_user()
    base = make_base_dir()
    data, socket_dir, log_path = base / "data", base / "socket", base / "postgres.log"
    socket_dir.mkdir()
    if who.uid is not None:
        for path in (base, socket_dir):
            os.chown(path, who.uid, who.gid if who.gid is not None else -1)

    server: subprocess.Popen[bytes] | None = None
    try:
        initdb = run_as(
            [
                str(bin_dir / "initdb"),
                "--pgdata",
                str(data),
                "--username",
                ROLE,
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                "--locale",
                "C.UTF-8",
                "--no-sync",
                "--no-instructions",
            ],
            who,
            cwd=base,
        )
        if initdb.returncode != 0:
            raise PostgresError(f"initdb failed:\n{initdb.stdout}{initdb.stderr}")

        with open(log_path, "wb") as log:
            if who.uid is not None:
                os.chown(log_path, who.uid, who.gid if who.gid is not None else -1)
            server = subprocess.Popen(
                [
                    str(bin_dir / "postgres"),
                    "-D",
                    str(data),
                    "-c",
                    "listen_addresses=",
                    "-c",
                    f"unix_socket_directories={socket_dir}",
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "max_connections=200",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=base,
                user=who.uid,
                group=who.gid,
                extra_groups=[] if who.uid is not None else None,
                # Its own session: a Ctrl-C in the terminal reaches the command under test, not
                # the server, which this script stops after the command has finished.
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        wait_until_ready(bin_dir, socket_dir, server)
        created = subprocess.run(
            [str(bin_dir / "createdb"), "--host", str(socket_dir), "--username", ROLE, DATABASE],
            check=False,
            capture_output=True,
            text=True,
        )
        if created.returncode != 0:
            raise PostgresError(f"createdb failed:\n{created.stdout}{created.stderr}")
        yield socket_dir
    except PostgresError as error:
        raise PostgresError(f"{error}\n--- {log_path} ---\n{_tail(log_path)}") from None
    finally:
        if server is not None:
            stop(server)
        if keep:
            print(f"with_postgres: kept {base}", file=sys.stderr)
        else:
            shutil.rmtree(base, ignore_errors=True)


def wait_until_ready(bin_dir: Path, socket_dir: Path, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise PostgresError(f"postgres exited with status {server.returncode} while starting")
        probe = subprocess.run(
            [str(bin_dir / "pg_isready"), "--quiet", "--host", str(socket_dir), "--username", ROLE],
            check=False,
        )
        if probe.returncode == 0:
            return
        time.sleep(0.1)
    raise PostgresError(f"postgres did not accept connections within {READY_TIMEOUT_SECONDS}s")


def stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is not None:
        return
    # SIGINT is PostgreSQL's "fast" shutdown: it ends open sessions instead of waiting for them.
    server.send_signal(signal.SIGINT)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def database_url(socket_dir: Path) -> str:
    return f"postgres://{ROLE}@{quote(str(socket_dir), safe='')}/{DATABASE}"


def run_command(command: list[str], socket_dir: Path) -> int:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url(socket_dir), PGHOST=str(socket_dir), PGUSER=ROLE, PGDATABASE=DATABASE
    )
    child = subprocess.Popen(command, env=env)

    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signum)

    # SIGTERM/SIGHUP go on to the command; the server is stopped once the command has exited.
    # Ctrl-C reaches the command directly (same process group), so this script only waits.
    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGHUP)}
    previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        status = child.wait()
        # A command killed by a signal reports it the way a shell does.
        return 128 - status if status < 0 else status
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _exit_on_signal(signum: int, _frame: object) -> None:
    # Turns SIGTERM/SIGHUP into an exception so the server is stopped and its files removed.
    raise SystemExit(128 + signum)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--available", action="store_true", help="exit 0 if PostgreSQL binaries are found")
    parser.add_argument("--keep", action="store_true", help="keep the server's directory afterwards")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command to run, after --")
    args = parser.parse_args(argv)

    bin_dir = find_bin_dir()
    if args.available:
        if bin_dir is None:
            print("with_postgres: no PostgreSQL server binaries (initdb) found", file=sys.stderr)
            return 1
        print(f"with_postgres: using {bin_dir}")
        return 0

    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")
    if bin_dir is None:
        print(
            "with_postgres: no PostgreSQL server binaries found; install Debian's postgresql "
            "package (make setup does) or set PG_BIN",
            file=sys.stderr,
        )
        return 2

    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGHUP, _exit_on_signal)
    try:
        with throwaway_server(bin_dir, keep=args.keep) as socket_dir:
            print(f"with_postgres: PostgreSQL ready at {database_url(socket_dir)}", flush=True)
            return run_command(command, socket_dir)
    except PostgresError as error:
        print(f"with_postgres: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
