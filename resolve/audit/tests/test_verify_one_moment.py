"""``verify_evidence`` on a live database: what people write while the evidence is checked is never
named as tampering. The check reads as of one moment (one snapshot), so a change committed half-way
through (a new challenge's chain after the heads were read, a list view's row after its index was
read) is either wholly seen or not at all.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from resolve.audit.verify import verify_all
from resolve.challenges.models import Event
from resolve.children.models import Child
from resolve.people.demo import Authority
from resolve.testing.challenges import raise_challenge

pytestmark = pytest.mark.django_db(transaction=True)


def _raise(authority: Authority, child: Child, concern: str) -> int:
    return raise_challenge(authority, child, concern=concern).pk


def test_checking_outside_a_transaction_leaves_none_open(authority: Authority, child: Child) -> None:
    _raise(authority, child, "The care plan has not been updated since the last review.")
    assert not connection.in_atomic_block
    assert list(verify_all()) == []
    assert connection.get_autocommit()
    assert not connection.in_atomic_block
    with connection.cursor() as cursor:  # no read transaction left behind: a write goes straight in
        cursor.execute("SELECT 1")
    if connection.vendor == "sqlite":
        assert not connection.connection.in_transaction


def test_stopping_a_check_half_way_ends_its_transaction(authority: Authority, child: Child) -> None:
    first = _raise(authority, child, "The care plan has not been updated since the last review.")
    Event._base_manager.filter(challenge_id=first, sequence=1).update(stage_key="edited")
    found = verify_all()
    assert next(found).chain == f"challenge:{first}"
    found.close()
    if connection.vendor == "sqlite":
        assert not connection.connection.in_transaction
    else:
        assert connection.get_autocommit()


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs a second writer committing during the check: run on PostgreSQL (scripts/with_postgres.py)",
)
def test_a_challenge_raised_while_the_evidence_is_checked_is_not_tampering(
    authority: Authority, child: Child
) -> None:
    first = _raise(authority, child, "The care plan has not been updated since the last review.")
    # A real break, so the check stops at a known place with its reads under way.
    Event._base_manager.filter(challenge_id=first, sequence=1).update(stage_key="edited")
    found = verify_all()
    planted = next(found)
    assert planted.chain == f"challenge:{first}"

    def raise_elsewhere() -> None:
        try:
            _raise(authority, child, "Statutory visits are overdue.")
        finally:
            connections.close_all()

    writer = threading.Thread(target=raise_elsewhere)
    writer.start()
    writer.join()
    assert list(found) == []
    # Checked again, the new challenge's evidence holds and the planted break is still the only one.
    assert [b.chain for b in verify_all()] == [f"challenge:{first}"]
