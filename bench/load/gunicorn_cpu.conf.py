"""The load benchmark's gunicorn settings: the production ones (``gunicorn.conf.py``), unchanged, plus
a note of each request's CPU time, so ``bench/load_run.py`` can say what a read costs apart from a write.

Each worker appends one line per request to ``$RESOLVE_LOAD_CPU_LOG.<pid>``: the kind of request
(method and path, with numbers as ``{id}`` and the query string kept), the CPU time its thread
spent from the first hook to the last and the time that took on the clock, in seconds (the clock's
time less the CPU's is what the request waited for in the server: PostgreSQL, a lock, the cores).
The per-process figure from /proc, which load_run.py also prints, includes everything else (the
arbiter, idle workers, starting workers).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

_PRODUCTION = Path(__file__).resolve().parent.parent.parent / "gunicorn.conf.py"
exec(compile(_PRODUCTION.read_text(), str(_PRODUCTION), "exec"))  # noqa: S102 # nosec B102: our own file

_LOG = os.environ.get("RESOLVE_LOAD_CPU_LOG", "")
_NUMBER = re.compile(r"/[0-9]+(?=/|$)")
_started: dict[int, tuple[float, float]] = {}
_out: list[Any] = []


def pre_request(worker: Any, req: Any) -> None:
    _started[id(req)] = (time.thread_time(), time.perf_counter())


def post_request(worker: Any, req: Any, environ: dict[str, Any], resp: Any) -> None:
    started = _started.pop(id(req), None)
    if started is None or not _LOG:
        return
    cpu = time.thread_time() - started[0]
    wall = time.perf_counter() - started[1]
    path = _NUMBER.sub("/{id}", req.path or "")
    kind = f"{req.method} {path}{'?' + req.query if req.query else ''}"
    if not _out:
        _out.append(open(f"{_LOG}.{os.getpid()}", "a", buffering=1))  # noqa: SIM115
    _out[0].write(f"{kind}\t{cpu:.6f}\t{wall:.6f}\n")
