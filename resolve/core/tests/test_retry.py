"""A write that loses a deadlock runs once more, then answers a conflict; other failures go on."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import OperationalError, transaction

from resolve.core.errors import ServiceError
from resolve.core.retry import is_lock_conflict, retried


class DriverError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def database_error(sqlstate: str) -> OperationalError:
    try:
        raise OperationalError("from the database") from DriverError(sqlstate)
    except OperationalError as exc:
        return exc


def failing(times: int, sqlstate: str = "40P01") -> tuple[list[bool], Callable[[], str]]:
    calls: list[bool] = []

    @retried
    def write() -> str:
        calls.append(transaction.get_connection().in_atomic_block)
        if len(calls) <= times:
            raise database_error(sqlstate)
        return "written"

    return calls, write


def test_deadlocks_and_serialization_failures_are_lock_conflicts():
    assert is_lock_conflict(database_error("40P01"))
    assert is_lock_conflict(database_error("40001"))
    assert not is_lock_conflict(database_error("53300"))
    assert not is_lock_conflict(ValueError("40P01"))


@pytest.mark.django_db(transaction=True)
def test_a_lost_deadlock_is_run_again_in_a_fresh_transaction():
    calls, write = failing(1)
    assert write() == "written"
    assert calls == [True, True]


@pytest.mark.django_db(transaction=True)
def test_a_second_loss_is_a_conflict_to_retry():
    calls, write = failing(2, "40001")
    with pytest.raises(ServiceError) as refused:
        write()
    assert (refused.value.kind, refused.value.code) == ("conflict", "conflict")
    assert "try again" in refused.value.message
    assert len(calls) == 2


@pytest.mark.django_db(transaction=True)
def test_other_database_errors_are_not_retried():
    calls, write = failing(1, "53300")
    with pytest.raises(OperationalError):
        write()
    assert len(calls) == 1


@pytest.mark.django_db(transaction=True)
def test_inside_an_open_transaction_the_outer_one_decides():
    calls, write = failing(1)
    with pytest.raises(OperationalError), transaction.atomic():
        write()
    assert len(calls) == 1
