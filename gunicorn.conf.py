"""The production web server's settings: gunicorn reads this file when started from the project folder
(or name it with ``-c gunicorn.conf.py``); docs/deploying.md explains each choice and ``make bench-load``
serves its load with exactly these settings.

Sized to the cores this process may run on: Resolve's requests are short and spend most of their time
on the CPU (a read is about 10 ms of CPU and a few ms waiting for PostgreSQL), so a worker per core
keeps the cores busy and one more per core covers the waits. Each worker is one process serving one
request at a time (``sync``): a waiting request goes to whichever worker is free, so one slow request
never holds up another behind it. That needs a buffering proxy in front (nginx), which ends TLS, keeps
the browsers' connections open and serves the static files; the proxy talks to gunicorn over loopback.

Every value can be changed without editing this file: ``WEB_CONCURRENCY`` for the number of workers,
or any option on the command line or in ``GUNICORN_CMD_ARGS`` (those win over this file).
"""

from __future__ import annotations

import gc
import os
from typing import Any


def _cores() -> int:
    """The cores this process may use (a container's or a cgroup's CPU set, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


cores = _cores()
bind = os.environ.get("RESOLVE_BIND", "127.0.0.1:8000")
wsgi_app = "config.wsgi:application"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_production")
worker_class = "sync"
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * cores + 1)
# A request that takes longer than this is stuck (the longest, a Word or PDF document, takes a few
# seconds): the worker is replaced so that it serves others again.
timeout = 30
graceful_timeout = 30
# A worker is replaced after this many requests (spread, so they are not all replaced at once): it
# bounds what any slow leak can grow to, at the cost of one start every few thousand requests.
max_requests = 2000
max_requests_jitter = 200
# Loaded once in the arbiter and shared by the workers: less memory, and a worker replaced after
# max_requests starts at once, not after importing Django again.
preload_app = True
# The control socket (gunicornc) is not used; off, so two servers on one machine never share it.
control_socket_disable = True

# Everything loaded before the fork (Django, the URL map, the templates' modules: several hundred
# thousand objects) is moved out of the garbage collector's reach just before each worker starts. A
# worker's full (generation 2) collection then walks only what it made itself, so it no longer pauses
# a request for the whole heap, and no collection writes to the shared pages (which copied them into
# every worker). docs/performance.md, "The garbage collector under load", has the figures.
# ``RESOLVE_GC_FREEZE=0`` turns it off, to measure the difference.
_freeze = os.environ.get("RESOLVE_GC_FREEZE", "1") != "0"


def pre_fork(server: Any, worker: Any) -> None:
    if _freeze:
        gc.freeze()
