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
from contextlib import contextmanager
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from resolve.audit.verify import verify_all
from resolve.challenges import services
from resolve.challenges.models import Action, Challenge, Event
from resolve.children.models import CaseNote, Child
from resolve.notifications.models import Kind, Notification, OutboxMessage
from resolve.notifications.tests.conftest import automatic_procedure  # noqa: F401  (a fixture)
from resolve.people.demo import Authority

pytestmark = pytest.mark.django_db(transaction=True)

# The most statements each transition may run, counted from BEGIN to COMMIT and the delivery task
# queued after it: loading and locking, the child's line (one query), the state, the visits, the
# records sealed, the event and case note, the chain heads (locked and moved on in one statement
# each), the outbox rows and notifications (in one statement each, however many recipients), and
# the deadline schedule. Before the rows were written in sets the same changes ran 47 to 105.
MOST = {
    # A challenge's requests for agreement and its meetings are read (two statements, and one more
    # for the deadline schedule's requested meetings) only under a procedure that can have them
    # (``Procedure.asks_agreement``, ``holds_meetings``). Changed and new stage visits are written
    # in one statement; raising creates its new chains' heads before locking them (two statements)
    # and has no deadlines to remove yet.
    # A change that moves nothing the deadline schedule reads (learning points, final comments, a
    # Cafcass referral) leaves the schedule alone: two statements fewer. What a change sets on the
    # challenge itself (an outcome, learning points) goes in the change's one update of it. The
    # person's own posts (their scope) are read with the child's line, in one query; the outbox
    # insert skips the messages already written and asks who reads a digest itself.
    "raise": 22,
    "respond": 19,
    "escalate": 18,
    "escalate to stage 3": 21,
    "automatic escalation": 18,
    "resolve": 18,
    "reopen": 18,
    "withdraw": 17,
    "refer_to_cafcass": 17,
    "mark_action": 19,
    "record_meeting": 17,
    "learning_points": 12,
    "final_comments": 14,
}
DAY = dt.date(2026, 12, 1)  # a Tuesday


@contextmanager
def _at(day: dt.date) -> Iterator[None]:
    with time_machine.travel(dt.datetime(day.year, day.month, day.day, 10, 0), tick=False):
        yield


@contextmanager
def _counted(kind: str) -> Iterator[None]:
    """At most MOST[kind] statements inside; they are printed when there are more."""
    with CaptureQueriesContext(connection) as captured:
        yield
    run = len(captured.captured_queries)
    listing = "\n".join(query["sql"][:200] for query in captured.captured_queries)
    assert run <= MOST[kind], f"{kind} ran {run} queries (at most {MOST[kind]}):\n{listing}"


def _raise(authority: Authority, child: Child, **kwargs: Any) -> Challenge:
    arguments: dict[str, Any] = {
        "user": authority.staff["iro"],
        "child": child,
        "track": "iro",
        "concern": "The care plan has not been updated since the last review.",
        "impact_on_child": "Amelia's move to her grandparents is delayed.",
        "procedure_key": "national",
        **kwargs,
    }
    return services.challenge_raise(**arguments)


def _written(challenge: Challenge) -> tuple[int, int]:
    return Event.objects.filter(challenge=challenge).count(), CaseNote.objects.filter(
        challenge=challenge
    ).count()


def _evidence_holds() -> None:
    assert list(verify_all()) == []


def test_raising_with_an_action_and_two_people_told(authority: Authority, child: Child) -> None:
    with _at(DAY), _counted("raise"):
        challenge = _raise(
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
            lambda staff, challenge: services.challenge_respond(
                user=staff["social_worker"], challenge_id=challenge.pk, response="agree", comments="Will do"
            ),
        ),
        (
            "escalate",
            lambda staff, challenge: services.challenge_escalate(
                user=staff["iro"], challenge_id=challenge.pk, reason="No plan yet"
            ),
        ),
        (
            "resolve",
            lambda staff, challenge: services.challenge_resolve(
                user=staff["iro"], challenge_id=challenge.pk, outcome="Plan agreed", learning_points="Earlier"
            ),
        ),
        (
            "withdraw",
            lambda staff, challenge: services.challenge_withdraw(
                user=staff["iro"], challenge_id=challenge.pk, reason="Sorted in supervision"
            ),
        ),
        (
            "record_meeting",
            lambda staff, challenge: services.challenge_record_meeting(
                user=staff["iro"], challenge_id=challenge.pk, summary="Met the team manager"
            ),
        ),
        (
            "mark_action",
            lambda staff, challenge: services.challenge_action_mark(
                user=staff["iro"],
                challenge_id=challenge.pk,
                action_id=Action.objects.get(challenge=challenge).pk,
                status="done",
            ),
        ),
        (
            "learning_points",
            lambda staff, challenge: services.challenge_add_learning_points(
                user=staff["iro"], challenge_id=challenge.pk, learning_points="Plan earlier"
            ),
        ),
    ],
)
def test_each_change_to_an_open_challenge(
    authority: Authority, child: Child, kind: str, act: Callable[[dict[str, Any], Challenge], Any]
) -> None:
    with _at(DAY):
        challenge = _raise(
            authority,
            child,
            actions=[services.ActionInput(action="Update the plan", owner="social_worker", due=DAY)],
        )
        before = _written(challenge)
        with _counted(kind):
            act(authority.staff, challenge)
    assert _written(challenge) == (before[0] + 1, before[1] + 1)
    _evidence_holds()


def test_escalating_to_a_stage_with_people_copied_and_told(authority: Authority, child: Child) -> None:
    """Seed 001, stage 3: "Principal Social Worker and Service Director to be notified"."""
    with _at(DAY):
        challenge = _raise(
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
        challenge = _raise(authority, child, procedure_key="automatic")
    with _at(dt.date(2024, 6, 11)), _counted("automatic escalation"):
        services.challenge_escalate_overdue(challenge_id=challenge.pk, reason="Overdue")
    assert OutboxMessage.objects.filter(kind=Kind.AUTO_ESCALATED).count() == 1
    _evidence_holds()


def test_re_opening_a_resolved_challenge(authority: Authority, child: Child) -> None:
    with _at(DAY):
        challenge = _raise(authority, child)
        services.challenge_resolve(user=authority.staff["iro"], challenge_id=challenge.pk, outcome="Agreed")
        with _counted("reopen"):
            services.challenge_reopen(
                user=authority.staff["iro"], challenge_id=challenge.pk, reason="Plan not delivered"
            )
    _evidence_holds()


def test_final_comments_on_a_resolved_challenge(authority: Authority, child: Child) -> None:
    with _at(DAY):
        challenge = _raise(authority, child, procedure_key="challenge_and_resolution")
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
        challenge = _raise(authority, child, procedure_key="informal_challenge_dispute_resolution")
        with _counted("refer_to_cafcass"):
            services.challenge_refer_to_cafcass(
                user=authority.staff["iro"], challenge_id=challenge.pk, reason="Rights at risk", checklist={}
            )
    assert OutboxMessage.objects.filter(kind=Kind.CAFCASS_REFERRED).exists()
    _evidence_holds()
