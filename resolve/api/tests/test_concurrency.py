"""Concurrent writes on one child on PostgreSQL: no deadlock surfaces, no 500, no duplicate from a key.

Each request runs in its own thread with its own database connection, through the whole HTTP stack.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import time_machine
from django.db import connection, connections
from django.test import Client

from resolve.api.idempotency import HEADER
from resolve.api.tests.helpers import raise_challenge
from resolve.audit.verify import verify_all
from resolve.challenges.models import Event
from resolve.children.models import CaseNote
from resolve.testing.fixtures import Api

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs row locks and concurrent connections: run on PostgreSQL (scripts/with_postgres.py)",
    ),
    pytest.mark.django_db(transaction=True),
]

TODAY = "2027-01-04 10:00"
CALLS = 50


def together(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run every call at once, each in its own thread (and so its own connection)."""
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        try:
            start.wait()
            return call()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def poster(api: Api, path: str, body: dict[str, Any], key: str | None = None) -> Callable[[], Any]:
    headers = {"Authorization": f"Bearer {api.token}"}
    if key is not None:
        headers[HEADER] = key

    def post() -> Any:
        return Client().post(
            f"/api/v1{path}", json.dumps(body), content_type="application/json", headers=headers
        )

    return post


@time_machine.travel(TODAY, tick=False)
def test_corrections_meetings_and_responses_on_one_child_never_deadlock(api_as, child, caplog):
    iro = api_as("iro")
    first = raise_challenge(iro, child.case_number)
    second = raise_challenge(api_as("cp_chair"), child.case_number, track="cpc")
    note = CaseNote.objects.filter(challenge_id=first["id"]).first()
    assert note is not None
    events, notes = Event.objects.count(), CaseNote.objects.count()
    calls = []
    for index in range(CALLS):
        match index % 4:
            case 0:
                calls.append(
                    poster(iro, f"/case-notes/{note.pk}/corrections", {"body": f"Correction {index}"})
                )
            case 1:
                calls.append(poster(iro, f"/challenges/{first['id']}/meetings", {"summary": f"Met {index}"}))
            case 2:
                calls.append(
                    poster(
                        api_as("cp_chair"),
                        f"/challenges/{second['id']}/meetings",
                        {"summary": f"Met {index}"},
                    )
                )
            case _:
                calls.append(
                    poster(
                        api_as("social_worker"), f"/challenges/{first['id']}/responses", {"response": "agree"}
                    )
                )
    answers = together(calls)
    statuses = Counter(answer.status_code for answer in answers)
    assert set(statuses) <= {200, 201, 409}, [
        (a.status_code, a.content) for a in answers if a.status_code >= 500
    ]
    assert all(a.json()["error"]["code"] != "server_error" for a in answers if a.status_code >= 400)
    # Every answer tells the truth: each success wrote its event and case note, each refusal nothing.
    assert CaseNote.objects.count() == notes + statuses[200] + statuses[201]
    assert Event.objects.count() == events + statuses[200]
    assert list(verify_all()) == []
    # The lock order (docs/architecture.md, "Locks") leaves no deadlock even for the retry to absorb.
    assert not [record for record in caplog.records if "lost a lock conflict" in record.getMessage()]


@time_machine.travel(TODAY, tick=False)
def test_concurrent_retries_with_one_key_are_carried_out_once(api_as, child):
    made = raise_challenge(api_as("iro"), child.case_number)
    events = Event.objects.count()
    call = poster(api_as("iro"), f"/challenges/{made['id']}/meetings", {"summary": "Met"}, key="meeting-1")
    answers = together([call] * 20)
    assert {answer.status_code for answer in answers} == {200}
    assert len({answer.content for answer in answers}) == 1
    assert Event.objects.count() == events + 1


@time_machine.travel(TODAY, tick=False)
def test_identical_responses_without_a_key_make_only_what_the_engine_allows(api_as, child):
    made = raise_challenge(api_as("iro"), child.case_number)
    events = Event.objects.count()
    call = poster(api_as("social_worker"), f"/challenges/{made['id']}/responses", {"response": "agree"})
    answers = together([call] * CALLS)
    statuses = Counter(answer.status_code for answer in answers)
    assert set(statuses) <= {200, 409}, statuses
    assert statuses[200] >= 1
    # One event per accepted response and none for a refused one: however many the engine accepts.
    assert Event.objects.count() == events + statuses[200]
