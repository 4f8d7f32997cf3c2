"""Every kind of transition is written in a handful of SQL queries, however many people it involves.

The state, the stage visit, the event, the case note on the child's record, the outbox rows and the
in-app notifications are written together, in one transaction, with the evidence chains kept. These
tests count the queries (they do not time anything): a change must not go back to one query per
recipient, per role looked up or per row written.

They run with real transactions (``transaction=True``) so that the count is what a request runs in
production, without the savepoints a test's own wrapping transaction would add.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest
import time_machine

from resolve.audit.verify import verify_all
from resolve.calendars.services import working_calendar
from resolve.calendars.types import Nation
from resolve.challenges import services
from resolve.challenges.models import Action, Challenge, Event
from resolve.children.models import CaseNote, Child
from resolve.notifications.models import Kind, Notification, OutboxMessage
from resolve.notifications.tests.conftest import automatic_procedure  # noqa: F401  (a fixture)
from resolve.people.demo import Authority
from resolve.procedures.selectors import procedure_get, procedure_version_model
from resolve.testing.challenges import raise_challenge
from resolve.testing.statements import statements_exactly

pytestmark = pytest.mark.django_db(transaction=True)

# The statements each transition runs, counted from BEGIN to COMMIT (both are in the count: SQLite's
# ``BEGIN IMMEDIATE`` and PostgreSQL's ``BEGIN`` are logged by the backends), on SQLite and on
# PostgreSQL. An escalation's 10, on either:
#   1 BEGIN
#   2 the person's posts and the child's line (``challenge_change_people``)
#   3 the challenge locked through the chokepoint, with its child, its visits, its actions, its
#     requests for agreement, its meetings and the heads of the chains it extends (JSON arrays)
#   4 the visits (one upsert)             5 the challenge (one UPDATE)
#   6 the heads moved on (from the length they were read at)
#   7 the records' seals, the event and the case note (PostgreSQL: a data-modifying WITH; SQLite:
#     through the links' view and its trigger, resolve/audit/links_write.py)
#   8 the outbox rows, each with its in-app notification (written by the outbox's trigger)
#   9 the deadline schedule: the unfired deadlines the state no longer has removed and the new ones
#     added (PostgreSQL: a data-modifying WITH; SQLite: through the schedule's view and its trigger)
#  10 COMMIT
# No task is queued after COMMIT: the worker's clock finds the messages waiting. Before the rows were
# written in sets the same changes ran 47 to 105; before the rows were read with the lock, 12 to 22;
# before the seals, events and case notes went in together, 9 to 13.
COUNTS = {
    # BEGIN; the person's posts, the child's line and the person named as owning the action
    # (``child_raise_people``); the child through the chokepoint with its chain's head and the
    # procedure's version (``_raise_rows_sql``); the challenge; its visit and its action (one
    # statement on PostgreSQL, a data-modifying WITH; two on SQLite); the heads (new chains created,
    # the child's moved on, in one upsert); the seals, the event and the case note together; the
    # outbox rows with their notifications; the deadlines (nothing to remove yet); COMMIT. The
    # procedure is parsed once per process (warm here, as the working calendar is). Raising with no
    # action on SQLite: 10.
    "raise": {"sqlite": 11, "postgresql": 10},
    # An escalation's statements and the response: on PostgreSQL inserted in the visits' statement
    # (a data-modifying WITH), on SQLite a statement of its own.
    "respond": {"sqlite": 11, "postgresql": 10},
    "escalate": {"sqlite": 10, "postgresql": 10},
    # A procedure with requests for agreement and meetings: read with the lock, like the visits, and
    # the schedule's pending meetings taken from them: the same count as any escalation.
    "escalate to stage 3": {"sqlite": 10, "postgresql": 10},
    "automatic escalation": {"sqlite": 10, "postgresql": 10},
    "resolve": {"sqlite": 10, "postgresql": 10},
    "reopen": {"sqlite": 10, "postgresql": 10},
    # Withdrawing leaves no deadline to add: the schedule is its removal alone.
    "withdraw": {"sqlite": 10, "postgresql": 10},
    # A Cafcass referral's schedule is unchanged, as is final comments' and learning points'.
    "refer_to_cafcass": {"sqlite": 9, "postgresql": 9},
    # The action is updated from the row read with the lock (one UPDATE); nobody is told.
    "mark_action": {"sqlite": 9, "postgresql": 9},
    # The meeting is a row of its own; nobody is told.
    "record_meeting": {"sqlite": 10, "postgresql": 10},
    "learning_points": {"sqlite": 7, "postgresql": 7},
    "final_comments": {"sqlite": 7, "postgresql": 7},
}
DAY = dt.date(2026, 12, 1)  # a Tuesday


@contextmanager
def _at(day: dt.date) -> Iterator[None]:
    with time_machine.travel(dt.datetime(day.year, day.month, day.day, 10, 0), tick=False):
        yield


def _counted(kind: str) -> AbstractContextManager[None]:
    """Exactly COUNTS[kind] statements inside on this database; they are printed when not."""
    return statements_exactly(COUNTS, kind)


def _written(challenge: Challenge) -> tuple[int, int]:
    return Event.objects.filter(challenge=challenge).count(), CaseNote.objects.filter(
        challenge=challenge
    ).count()


def _evidence_holds() -> None:
    assert list(verify_all()) == []


def test_raising_with_an_action_and_two_people_told(authority: Authority, child: Child) -> None:
    working_calendar(Nation.ENGLAND_AND_WALES)  # read once per process, not per change
    procedure_version_model(procedure_get(key="national"))  # parsed once per process, not per change
    with _at(DAY), _counted("raise"):
        challenge = raise_challenge(
            authority,
            child,
            actions=[services.ActionInput(action="Update the plan", owner="social_worker", due=DAY)],
        )
    assert _written(challenge) == (1, 1)
    assert sorted(OutboxMessage.objects.values_list("kind", "recipient__username")) == [
        (Kind.STAGE_COPIED, "team_manager"),
        (Kind.STAGE_SENT, "social_worker"),
    ]
    assert Notification.objects.count() == 2
    _evidence_holds()


@pytest.mark.parametrize(
    ("kind", "act"),
    [
        (
            "respond",
            lambda staff, challenge, action_id: services.challenge_respond(
                user=staff["social_worker"], challenge_id=challenge.pk, response="agree", comments="Will do"
            ),
        ),
        (
            "escalate",
            lambda staff, challenge, action_id: services.challenge_escalate(
                user=staff["iro"], challenge_id=challenge.pk, reason="No plan yet"
            ),
        ),
        (
            "resolve",
            lambda staff, challenge, action_id: services.challenge_resolve(
                user=staff["iro"], challenge_id=challenge.pk, outcome="Plan agreed", learning_points="Earlier"
            ),
        ),
        (
            "withdraw",
            lambda staff, challenge, action_id: services.challenge_withdraw(
                user=staff["iro"], challenge_id=challenge.pk, reason="Sorted in supervision"
            ),
        ),
        (
            "record_meeting",
            lambda staff, challenge, action_id: services.challenge_record_meeting(
                user=staff["iro"], challenge_id=challenge.pk, summary="Met the team manager"
            ),
        ),
        (
            "mark_action",
            lambda staff, challenge, action_id: services.challenge_action_mark(
                user=staff["iro"],
                challenge_id=challenge.pk,
                action_id=action_id,
                status="done",
            ),
        ),
        (
            "learning_points",
            lambda staff, challenge, action_id: services.challenge_add_learning_points(
                user=staff["iro"], challenge_id=challenge.pk, learning_points="Plan earlier"
            ),
        ),
    ],
)
def test_each_change_to_an_open_challenge(
    authority: Authority, child: Child, kind: str, act: Callable[[dict[str, Any], Challenge, int], Any]
) -> None:
    with _at(DAY):
        challenge = raise_challenge(
            authority,
            child,
            actions=[services.ActionInput(action="Update the plan", owner="social_worker", due=DAY)],
        )
        before = _written(challenge)
        action_id = Action.objects.get(challenge=challenge).pk  # read before counting
        with _counted(kind):
            act(authority.staff, challenge, action_id)
    assert _written(challenge) == (before[0] + 1, before[1] + 1)
    _evidence_holds()


def test_escalating_to_a_stage_with_people_copied_and_told(authority: Authority, child: Child) -> None:
    """Seed 001, stage 3: "Principal Social Worker and Service Director to be notified"."""
    with _at(DAY):
        challenge = raise_challenge(
            authority,
            child,
            procedure_key="cla_dispute_resolution",
            stage="stage_2",
            bypass_reason="Serious",
            bypass_agreed_by="iro_service_manager",
        )
        with _counted("escalate to stage 3"):
            services.challenge_escalate(
                user=authority.staff["iro"], challenge_id=challenge.pk, reason="Stuck"
            )
    told = set(
        OutboxMessage.objects.filter(challenge=challenge, kind=Kind.STAGE_NOTIFIED).values_list(
            "recipient__username", flat=True
        )
    )
    assert told == {"principal_social_worker", "service_director"}
    _evidence_holds()


def test_escalating_automatically(authority: Authority, child: Child, automatic_procedure: Any) -> None:  # noqa: F811
    with _at(dt.date(2024, 6, 3)):
        challenge = raise_challenge(authority, child, procedure_key="automatic")
    with _at(dt.date(2024, 6, 11)), _counted("automatic escalation"):
        services.challenge_escalate_overdue(challenge_id=challenge.pk, reason="Overdue")
    assert OutboxMessage.objects.filter(kind=Kind.AUTO_ESCALATED).count() == 1
    _evidence_holds()


def test_re_opening_a_resolved_challenge(authority: Authority, child: Child) -> None:
    with _at(DAY):
        challenge = raise_challenge(authority, child)
        services.challenge_resolve(user=authority.staff["iro"], challenge_id=challenge.pk, outcome="Agreed")
        with _counted("reopen"):
            services.challenge_reopen(
                user=authority.staff["iro"], challenge_id=challenge.pk, reason="Plan not delivered"
            )
    _evidence_holds()


def test_final_comments_on_a_resolved_challenge(authority: Authority, child: Child) -> None:
    with _at(DAY):
        challenge = raise_challenge(authority, child, procedure_key="challenge_and_resolution")
        services.challenge_resolve(user=authority.staff["iro"], challenge_id=challenge.pk, outcome="Agreed")
        with _counted("final_comments"):
            services.challenge_add_final_comments(
                user=authority.staff["iro_service_manager"],
                challenge_id=challenge.pk,
                comments="Well handled",
            )
    _evidence_holds()


def test_referring_to_cafcass(authority: Authority, child: Child) -> None:
    with _at(DAY):
        challenge = raise_challenge(authority, child, procedure_key="informal_challenge_dispute_resolution")
        with _counted("refer_to_cafcass"):
            services.challenge_refer_to_cafcass(
                user=authority.staff["iro"], challenge_id=challenge.pk, reason="Rights at risk", checklist={}
            )
    assert OutboxMessage.objects.filter(kind=Kind.CAFCASS_REFERRED).exists()
    _evidence_holds()
