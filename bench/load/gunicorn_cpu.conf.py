"""The load benchmark's gunicorn settings: the production ones (``gunicorn.conf.py``), unchanged, plus
a note of each request's CPU time, so ``bench/load_run.py`` can say what a read costs apart from a write.

Each worker appends one line per request to ``$RESOLVE_LOAD_CPU_LOG.<pid>``: the kind of request
(method and path, with numbers as ``{id}`` and the query string kept), the CPU time its thread
spent from the first hook to the last, the time that took on the clock and the time the garbage
collector paused it for, in seconds (the clock's time less the CPU's is what the request waited for
in the server: PostgreSQL, a lock, the cores).
The per-process figure from /proc, which load_run.py also prints, includes everything else (the
arbiter, idle workers, starting workers).
"""

from __future__ import annotations

import gc
import os
import re
import time
from pathlib import Path
from typing import Any

_PRODUCTION = Path(__file__).resolve().parent.parent.parent / "gunicorn.conf.py"
exec(compile(_PRODUCTION.read_text(), str(_PRODUCTION), "exec"))  # noqa: S102 # nosec B102: our own file

_LOG = os.environ.get("RESOLVE_LOAD_CPU_LOG", "")
_NUMBER = re.compile(r"/[0-9]+(?=/|$)")
_started: dict[int, tuple[float, float, float]] = {}
_out: list[Any] = []
_collecting: list[float] = []
_collected = [0.0]


def _time_collections(phase: str, info: dict[str, Any]) -> None:
    """Adds up the time the garbage collector held the worker (every generation; with threads, a
    collection counts against every request the worker had under way)."""
    if phase == "start":
        _collecting[:] = [time.perf_counter()]
    elif _collecting:
        _collected[0] += time.perf_counter() - _collecting.pop()


def post_fork(server: Any, worker: Any) -> None:
    gc.callbacks.append(_time_collections)


def pre_request(worker: Any, req: Any) -> None:
    _started[id(req)] = (time.thread_time(), time.perf_counter(), _collected[0])


def post_request(worker: Any, req: Any, environ: dict[str, Any], resp: Any) -> None:
    started = _started.pop(id(req), None)
    if started is None or not _LOG:
        return
    cpu = time.thread_time() - started[0]
    wall = time.perf_counter() - started[1]
    collecting = _collected[0] - started[2]
    path = _NUMBER.sub("/{id}", req.path or "")
    kind = f"{req.method} {path}{'?' + req.query if req.query else ''}"
    if not _out:
        _out.append(open(f"{_LOG}.{os.getpid()}", "a", buffering=1))  # noqa: SIM115
    _out[0].write(f"{kind}\t{cpu:.6f}\t{wall:.6f}\t{collecting:.6f}\n")
