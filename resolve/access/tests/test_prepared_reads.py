"""The chokepoint's reads of one challenge run as prepared statements on PostgreSQL.

Planning the read a change locks its challenge with (eight tables and six lists of the challenge's
rows) costs PostgreSQL several times the reading, so the chokepoint's two reads of one challenge by
its id are prepared on a connection the first time they run there and reused from then on
(``resolve.core.kept``, ``DATABASE_PREPARED_STATEMENTS``). Each read must still answer the
challenge it is asked for, and a statement prepared for one person is never answered for another.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.db import connection

from resolve.access.scoping import NotVisible, challenge_get_for_user
from resolve.access.tests.world import TODAY, World, world_build
from resolve.challenges import services

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's"),
]


@pytest.fixture
def world(authority: Any) -> Any:
    with time_machine.travel(dt.datetime(2026, 12, 1, 10, 0), tick=False):
        yield world_build(authority)


def _prepared() -> dict[str, dt.datetime]:
    """The statements this connection holds prepared on the server, each with when it was prepared."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, prepare_time FROM pg_prepared_statements")
        return dict(cursor.fetchall())


def test_a_read_of_a_challenge_is_prepared_once_and_answers_each_challenge(world: World) -> None:
    first, second = world.challenge(world.a), world.challenge(world.a)
    iro = world.user("iro")
    before = _prepared()
    assert challenge_get_for_user(user=iro, challenge_id=first.pk).pk == first.pk
    prepared = {text: at for text, at in _prepared().items() if text not in before}
    assert len(prepared) == 1
    (text,) = prepared
    assert '"challenges_challenge"' in text and "$1" in text  # bound on the server
    # The same statement, not prepared again, answers the other challenge.
    assert challenge_get_for_user(user=iro, challenge_id=second.pk).pk == second.pk
    assert _prepared()[text] == prepared[text]
    assert len(_prepared()) == len(before) + 1


def test_a_statement_prepared_for_one_person_never_reads_for_another(world: World) -> None:
    theirs = world.challenge(world.b)
    # iro_2 chairs child B: their read is prepared with their scope.
    iro_2 = get_user_model().objects.get(username="iro_2")
    assert challenge_get_for_user(user=iro_2, challenge_id=theirs.pk).pk == theirs.pk
    # The demo IRO, whose scope does not hold it, is refused it whatever was prepared before; and
    # iro_2 still reads it after.
    with pytest.raises(NotVisible):
        challenge_get_for_user(user=world.user("iro"), challenge_id=theirs.pk)
    assert challenge_get_for_user(user=iro_2, challenge_id=theirs.pk).pk == theirs.pk


def test_changes_lock_their_challenge_with_one_prepared_statement(world: World) -> None:
    first, second = world.challenge(world.a), world.challenge(world.a)
    iro = world.user("iro")
    before = _prepared()
    services.challenge_escalate(user=iro, challenge_id=first.pk, reason="No visit yet", on=TODAY)
    locked = [text for text in _prepared() if text not in before and "FOR UPDATE" in text]
    assert len(locked) == 1
    at = _prepared()[locked[0]]
    services.challenge_escalate(user=iro, challenge_id=second.pk, reason="No visit yet", on=TODAY)
    assert _prepared()[locked[0]] == at
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.stage_key, second.stage_key) == ("stage_1", "stage_1")


def test_with_prepared_statements_off_nothing_is_prepared(world: World, monkeypatch: Any) -> None:
    monkeypatch.setitem(connection.settings_dict["OPTIONS"], "server_side_binding", False)
    challenge = world.challenge(world.a)
    before = _prepared()
    assert challenge_get_for_user(user=world.user("iro"), challenge_id=challenge.pk).pk == challenge.pk
    services.challenge_escalate(
        user=world.user("iro"), challenge_id=challenge.pk, reason="No visit yet", on=TODAY
    )
    assert _prepared() == before
