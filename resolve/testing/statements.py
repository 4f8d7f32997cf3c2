"""Tests that hold a change to its exact number of SQL statements, on each database."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from django.db import connection
from django.test.utils import CaptureQueriesContext


@contextmanager
def statements_exactly(counts: Mapping[str, Mapping[str, int]], kind: str) -> Iterator[None]:
    """Exactly ``counts[kind]`` statements inside, on this database (by vendor); they are printed
    when not."""
    expected = counts[kind][connection.vendor]
    with CaptureQueriesContext(connection) as captured:
        yield
    run = len(captured.captured_queries)
    listing = "\n".join(query["sql"][:200] for query in captured.captured_queries)
    assert run == expected, f"{kind} ran {run} statements (expected {expected}):\n{listing}"
