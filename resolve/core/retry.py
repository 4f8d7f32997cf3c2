"""Run a write in its own transaction, once more if the database chose it as a deadlock's victim.

PostgreSQL breaks a deadlock by failing one of the transactions in it (SQLSTATE 40P01), and under
serializable isolation refuses a transaction it cannot order (40001). Both leave nothing written and
both usually succeed when run again, so the outermost write runs once more; a second failure is
answered as a conflict with a sentence telling the person to try again, never as a server error.
The lock order that keeps deadlocks rare is in docs/architecture.md ("Locks").
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from django.db import OperationalError, transaction

from resolve.core.errors import ServiceError

logger = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

# PostgreSQL's deadlock_detected and serialization_failure.
LOCK_CONFLICT_STATES = frozenset({"40P01", "40001"})

BUSY_MESSAGE = "Someone else was changing the same record at that moment, so nothing was changed: try again."


class RowMoved(OperationalError):
    """A row the write held or checked was not where it expected when it came to change it (an
    evidence chain's head: ``resolve.audit.chain``). Nothing of the write may stay, and running it
    again reads the row afresh, so it is retried like a deadlock."""


def is_lock_conflict(exc: BaseException) -> bool:
    """Whether ``exc`` is a deadlock or serialization failure (Django's wrapper around the driver's),
    or a row that moved on under an optimistic write (``RowMoved``)."""
    if isinstance(exc, RowMoved):
        return True
    if not isinstance(exc, OperationalError):
        return False
    cause = exc.__cause__
    state = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    return state in LOCK_CONFLICT_STATES


def busy() -> ServiceError:
    return ServiceError("conflict", "conflict", BUSY_MESSAGE)


def retried(fn: Callable[P, T]) -> Callable[P, T]:
    """Run ``fn`` in a transaction; on a deadlock or serialization failure run it once more.

    Only the outermost transaction can be run again (an inner one shares the outer one's locks), so
    inside a transaction already open ``fn`` runs once and the failure goes on to whoever opened it.
    Raises ``ServiceError(conflict)`` when the second try fails too: nothing of either try remains.
    """

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        if transaction.get_connection().in_atomic_block:
            with transaction.atomic():
                return fn(*args, **kwargs)
        for attempt in (1, 2):
            try:
                with transaction.atomic():
                    return fn(*args, **kwargs)
            except OperationalError as exc:
                if not is_lock_conflict(exc):
                    raise
                logger.warning("%s lost a lock conflict (try %d of 2): %s", fn.__qualname__, attempt, exc)
                if attempt == 2:
                    raise busy() from exc
        raise AssertionError("unreachable")  # pragma: no cover

    return run
