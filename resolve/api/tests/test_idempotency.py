"""Retries are safe: an Idempotency-Key replays the first answer, and a failed try leaves nothing."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.db import OperationalError
from django.utils import timezone

from resolve.api import api as api_module
from resolve.api.idempotency import HEADER, REPLAYED_HEADER, _in_one_transaction
from resolve.api.models import IdempotencyKey
from resolve.api.tests.helpers import assert_error, raise_challenge
from resolve.challenges import services
from resolve.challenges.models import Event
from resolve.testing.fixtures import Api

TODAY = "2027-01-04 10:00"


def post(api: Api, path: str, body: Any, key: str | None) -> Any:
    headers = {"Authorization": f"Bearer {api.token}"}
    if key is not None:
        headers[HEADER] = key
    return api.client.post(
        f"/api/v1{path}", json.dumps(body), content_type="application/json", headers=headers
    )


@time_machine.travel(TODAY, tick=False)
def test_a_retry_after_success_replays_the_answer_and_does_nothing_again(api_as, child):
    made = raise_challenge(api_as("iro"), child.case_number)
    social_worker = api_as("social_worker")
    path = f"/challenges/{made['id']}/responses"
    first = post(social_worker, path, {"response": "agree", "comments": "Will visit"}, "answer-1")
    events = Event.objects.count()
    # The same JSON spaced differently is the same request.
    again = social_worker.client.post(
        f"/api/v1{path}",
        '{"comments":"Will visit",   "response":"agree"}',
        content_type="application/json",
        headers={"Authorization": f"Bearer {social_worker.token}", HEADER: "answer-1"},
    )
    assert first.status_code == again.status_code == 200, again.content
    assert again.json() == first.json()
    assert again[REPLAYED_HEADER] == "true" and REPLAYED_HEADER not in first
    assert Event.objects.count() == events


@time_machine.travel(TODAY, tick=False)
def test_a_refused_answer_is_replayed_too(api_as, child):
    made = raise_challenge(api_as("iro"), child.case_number)
    body = {"response": "agree", "version": made["version"] + 5}
    path = f"/challenges/{made['id']}/responses"
    first = post(api_as("social_worker"), path, body, "stale")
    again = post(api_as("social_worker"), path, body, "stale")
    assert_error(first, 409, "stale_version")
    assert again.status_code == 409 and again.json() == first.json()


@time_machine.travel(TODAY, tick=False)
def test_the_same_key_with_another_request_is_refused(api_as, child):
    made = raise_challenge(api_as("iro"), child.case_number)
    social_worker = api_as("social_worker")
    path = f"/challenges/{made['id']}/responses"
    assert post(social_worker, path, {"response": "agree"}, "k").status_code == 200
    events = Event.objects.count()
    assert_error(
        post(social_worker, path, {"response": "disagree"}, "k"), 422, "idempotency_key_reused", HEADER
    )
    assert_error(
        post(social_worker, f"/challenges/{made['id']}/meetings", {"summary": "Met"}, "k"),
        422,
        "idempotency_key_reused",
        HEADER,
    )
    assert Event.objects.count() == events


@time_machine.travel(TODAY, tick=False)
def test_keys_are_per_user(api_as, child):
    made = raise_challenge(api_as("iro"), child.case_number)
    events = Event.objects.count()
    meeting = post(api_as("iro"), f"/challenges/{made['id']}/meetings", {"summary": "Met"}, "same")
    response = post(
        api_as("social_worker"), f"/challenges/{made['id']}/responses", {"response": "agree"}, "same"
    )
    assert meeting.status_code == response.status_code == 200, response.content
    assert Event.objects.count() == events + 2


@time_machine.travel(TODAY, tick=False)
@pytest.mark.parametrize(("key", "ok"), [("k" * 200, True), ("k" * 201, False), ("", False), ("a\tb", False)])
def test_keys_are_one_to_200_printable_characters(api_as, child, key, ok):
    made = raise_challenge(api_as("iro"), child.case_number)
    events = Event.objects.count()
    answer = post(api_as("iro"), f"/challenges/{made['id']}/meetings", {"summary": "Met"}, key)
    if ok:
        assert answer.status_code == 200, answer.content
    else:
        assert_error(answer, 422, "invalid", HEADER)
        assert Event.objects.count() == events
        assert not IdempotencyKey.objects.exists()


def test_every_post_is_idempotent():
    posts = [
        operation
        for router in (api_module.api.default_router, *[r for _, r in api_module.api._routers])
        for view in router.path_operations.values()
        for operation in view.operations
        if "POST" in operation.methods
    ]
    assert len(posts) >= 13
    for operation in posts:
        assert _in_one_transaction in getattr(operation, "_run_decorators", []), operation.view_func


@pytest.mark.django_db
def test_the_openapi_document_names_the_header_on_every_post(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    posts = [operation for path in paths.values() for method, operation in path.items() if method == "post"]
    assert len(posts) >= 13
    for operation in posts:
        headers = [p for p in operation.get("parameters", []) if p["in"] == "header"]
        assert [p["name"] for p in headers] == [HEADER], operation["operationId"]


@pytest.mark.django_db
def test_keys_older_than_a_day_are_removed(authority):
    user = authority.staff["iro"]
    old = IdempotencyKey.objects.create(user=user, key="old", request_hash="x", status=200)
    IdempotencyKey.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(hours=25))
    IdempotencyKey.objects.create(user=user, key="new", request_hash="x", status=200)
    call_command("expire_idempotency_keys")
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]


# -- one transaction per request: a failed try leaves nothing ---------------------------------------
def deadlock() -> OperationalError:
    class Deadlock(Exception):
        sqlstate = "40P01"

    try:
        raise OperationalError("deadlock detected") from Deadlock()
    except OperationalError as exc:
        return exc


def losing(times: int, calls: list[int]) -> Any:
    """``challenge_record_meeting`` that writes, then loses a deadlock the first ``times`` times."""
    real = services.challenge_record_meeting

    def record(**kwargs: Any) -> Any:
        calls.append(1)
        written = real(**kwargs)
        if len(calls) <= times:
            raise deadlock()
        return written

    return record


@pytest.mark.django_db(transaction=True)
@time_machine.travel(TODAY, tick=False)
def test_a_lost_deadlock_is_tried_once_more(api_as, child, monkeypatch):
    made = raise_challenge(api_as("iro"), child.case_number)
    events = Event.objects.count()
    calls: list[int] = []
    monkeypatch.setattr(services, "challenge_record_meeting", losing(1, calls))
    answer = post(api_as("iro"), f"/challenges/{made['id']}/meetings", {"summary": "Met"}, "m")
    assert answer.status_code == 200, answer.content
    assert len(calls) == 2
    assert Event.objects.count() == events + 1
    assert IdempotencyKey.objects.get(key="m").status == 200


@pytest.mark.django_db(transaction=True)
@time_machine.travel(TODAY, tick=False)
def test_two_lost_deadlocks_answer_a_conflict_and_leave_nothing(api_as, child, monkeypatch):
    made = raise_challenge(api_as("iro"), child.case_number)
    events = Event.objects.count()
    calls: list[int] = []
    monkeypatch.setattr(services, "challenge_record_meeting", losing(2, calls))
    answer = post(api_as("iro"), f"/challenges/{made['id']}/meetings", {"summary": "Met"}, "m")
    error = assert_error(answer, 409, "conflict")
    assert "try again" in error["message"]
    assert len(calls) == 2
    assert Event.objects.count() == events
    assert not IdempotencyKey.objects.exists()


@pytest.mark.django_db(transaction=True)
@time_machine.travel(TODAY, tick=False)
def test_a_server_error_leaves_nothing_and_keeps_no_key(api_as, child, monkeypatch):
    made = raise_challenge(api_as("iro"), child.case_number)
    events = Event.objects.count()

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("serialising failed")

    monkeypatch.setattr(api_module, "_challenge_answer", broken)
    answer = post(api_as("iro"), f"/challenges/{made['id']}/meetings", {"summary": "Met"}, "m")
    assert_error(answer, 500, "server_error")
    assert Event.objects.count() == events
    assert not IdempotencyKey.objects.exists()


@pytest.mark.django_db
@time_machine.travel(TODAY, tick=False)
def test_without_a_key_nothing_is_kept(api_as, child):
    raise_challenge(api_as("iro"), child.case_number)
    assert not IdempotencyKey.objects.exists()
