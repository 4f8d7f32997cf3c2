"""A change's deadline schedule is written in one statement: the unfired deadlines its state no longer
has removed, the new ones added, those already there (fired or not) kept as they are.

PostgreSQL does it with a data-modifying WITH; SQLite through the schedule's view and its trigger
(``resolve/notifications/triggers.py``). These tests go through real transitions on either database
and look at the rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import time_machine
from django.utils import timezone

from resolve.challenges import services
from resolve.challenges.models import Action, Challenge
from resolve.children.models import Child
from resolve.notifications.models import Deadline
from resolve.people.demo import Authority
from resolve.testing.challenges import raise_challenge

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 12, 1)  # a Tuesday


@pytest.fixture(autouse=True)
def _on_day() -> Iterator[None]:
    with time_machine.travel(dt.datetime(2026, 12, 1, 10, 0), tick=False):
        yield


def _raise(authority: Authority, child: Child) -> Challenge:
    return raise_challenge(
        authority,
        child,
        actions=[services.ActionInput(action="Update the plan", owner="social_worker", due=DAY)],
    )


def _rows(challenge: Challenge) -> dict[str, tuple[int, bool]]:
    """Each deadline's key: its id and whether it fired."""
    return {
        key: (pk, fired is not None)
        for pk, key, fired in Deadline.objects.filter(challenge=challenge).values_list(
            "pk", "key", "fired_at"
        )
    }


def test_escalating_moves_the_schedule_and_keeps_what_fired_and_what_stays(
    authority: Authority, child: Child
) -> None:
    challenge = _raise(authority, child)
    action = Action.objects.get(challenge=challenge)
    raised = _rows(challenge)
    c, a = f"c{challenge.pk}", f"a{action.pk}"
    assert set(raised) == {
        f"{c}:response_reminder:informal:2026-12-08",
        f"{c}:response_overdue:informal:2026-12-08",
        f"{a}:action_reminder:2026-12-01",
        f"{a}:action_overdue:2026-12-01",
    }
    reminded = f"{c}:response_reminder:informal:2026-12-08"
    Deadline.objects.filter(key=reminded).update(fired_at=timezone.now(), outcome="sent")

    services.challenge_escalate(user=authority.staff["iro"], challenge_id=challenge.pk, reason="No plan yet")
    escalated = _rows(challenge)
    # The informal stage's unfired deadline went; its fired one stays, as history.
    assert f"{c}:response_overdue:informal:2026-12-08" not in escalated
    assert escalated[reminded] == (raised[reminded][0], True)
    # The action's deadlines stay the same rows; the new stage's are added.
    for key in (f"{a}:action_reminder:2026-12-01", f"{a}:action_overdue:2026-12-01"):
        assert escalated[key] == raised[key]
    assert {key for key in escalated if ":stage_1:" in key} == {
        f"{c}:response_reminder:stage_1:2026-12-08",
        f"{c}:response_overdue:stage_1:2026-12-08",
    }
    added = Deadline.objects.get(key=f"{c}:response_overdue:stage_1:2026-12-08")
    assert (added.trigger, added.stage_key, added.action_id, added.meeting_id, added.outcome) == (
        "response_overdue",
        "stage_1",
        None,
        None,
        "",
    )
    assert (added.due_on, added.fire_on, added.fired_at) == (dt.date(2026, 12, 8), dt.date(2026, 12, 9), None)

    services.challenge_withdraw(user=authority.staff["iro"], challenge_id=challenge.pk, reason="Sorted")
    # Withdrawn: every unfired deadline goes; the fired one stays.
    assert _rows(challenge) == {reminded: (raised[reminded][0], True)}
