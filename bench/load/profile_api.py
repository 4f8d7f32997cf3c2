"""Server CPU of one API read, measured in-process: ``python -m bench.load.profile_api``.

Calls the real WSGI application (``config.wsgi``, every middleware, the production settings) the way
gunicorn does, with a bearer token, for the load benchmark's read requests, and prints the CPU time
(``time.process_time``) per request of each kind, the median of several rounds. ``--profile KIND``
prints a cProfile of that kind instead (``list_open``, ``list_all``, ``read_one``), timed by this
process's CPU (``--sort tottime`` for the functions that spend it themselves).

It needs a database built as ``bench/load_run.py`` builds it (migrate, ``load_bulk 2000``) and the
environment that run uses (``DJANGO_SETTINGS_MODULE=config.settings_production``, ``DATABASE_URL``,
``ALLOWED_HOSTS=127.0.0.1``), plus ``RESOLVE_LOAD_TOKEN`` (``create_api_token iro``). The CPU is this
process's alone: PostgreSQL's own work is not in it, as it is not in the load benchmark's figure.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_production")


def _call(application: Any, path: str, token: str) -> int:
    query = ""
    if "?" in path:
        path, query = path.split("?", 1)
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8150",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "HTTP_X_FORWARDED_PROTO": "https",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    answer: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> None:
        answer.append(status)

    body = application(environ, start_response)
    try:
        for _chunk in body:
            pass
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()  # as a WSGI server does: request_finished, connection cleanup
    return int(answer[0].split()[0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=200, help="requests per kind per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", choices=["list_open", "list_all", "read_one"], default=None)
    parser.add_argument("--sort", default="cumulative", help="the profile's order: cumulative, tottime...")
    parser.add_argument("--lines", type=int, default=60, help="how many of the profile's lines to print")
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.wsgi import get_wsgi_application

    from resolve.challenges.models import Challenge

    application = get_wsgi_application()
    token = os.environ["RESOLVE_LOAD_TOKEN"]
    ids = list(Challenge.objects.filter(status="open").order_by("pk").values_list("pk", flat=True)[:500])
    counter = iter(range(10**9))
    kinds: dict[str, Callable[[], str]] = {
        "list_open": lambda: "/api/v1/challenges?status=open",
        "list_all": lambda: "/api/v1/challenges",
        "read_one": lambda: f"/api/v1/challenges/{ids[next(counter) % len(ids)]}",
    }
    for path in kinds.values():  # warm: imports, URL resolver, the connection
        status = _call(application, path(), token)
        if status != 200:
            raise SystemExit(f"{path()} answered {status}: check RESOLVE_LOAD_TOKEN and the data")
    if args.profile:
        path = kinds[args.profile]
        # This process's CPU, not the wall clock: time spent waiting for PostgreSQL is not the server's.
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        for _ in range(args.requests):
            _call(application, path(), token)
        profiler.disable()
        pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.lines)
        return 0
    for name, path in kinds.items():
        rounds = []
        for _ in range(args.rounds):
            started = time.process_time()
            for _ in range(args.requests):
                _call(application, path(), token)
            rounds.append((time.process_time() - started) / args.requests * 1000)
        print(
            f"{name:<10} {statistics.median(rounds):6.2f} ms CPU per request (rounds: "
            + ", ".join(f"{each:.2f}" for each in rounds)
            + ")"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
