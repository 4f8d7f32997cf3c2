"""No 5xx for any request schemathesis generates from the app's own OpenAPI document.

Runs in-process through Django's WSGI handler, as a real user with a valid bearer token, against a
database holding a child with open challenges, so the generated requests reach the services and
the engine rather than stopping at 404. Positive (schema-valid) and negative (schema-violating)
cases for every operation; bounded so the whole file runs in well under a minute.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
import time_machine
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from resolve.api.models import api_token_create
from resolve.api.tests.helpers import raise_challenge

TODAY = "2026-06-10 10:00"
EXAMPLES = {GenerationMode.POSITIVE: 8, GenerationMode.NEGATIVE: 6}


@pytest.fixture
def keep_the_test_connection(world: dict[str, Any]) -> Any:
    """Calls go through the WSGI app, not Django's test client, so Django would close the database
    connection after each request (it sees the test's open transaction as a finished request's
    leftover) and PostgreSQL would lose the test's data. The test client avoids this the same way,
    and reconnects the handler after each of its own requests: so this runs after ``world``."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def world(api_as, authority, child) -> dict[str, Any]:
    iro = api_as("iro")
    open_ = raise_challenge(
        iro,
        child.case_number,
        "challenge_and_resolution",
        on="2026-06-01",
        actions=[{"action": "Visit", "owner": "social_worker", "due": "2026-06-20"}],
    )
    resolved = raise_challenge(iro, child.case_number, on="2026-06-01")
    iro.post(f"/challenges/{resolved['id']}/resolution", {"outcome": "Done"})
    return {
        "token": api_token_create(user=authority.staff["iro"]),
        "challenges": [open_["id"], resolved["id"]],
        "action": open_["actions"][0]["id"],
        "case_number": child.case_number,
    }


def _operations(schema: Any) -> list[Any]:
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 17
    return operations


def _fixed_path(operation: Any, world: dict[str, Any], challenge: int) -> dict[str, Any]:
    names = {param.name for param in operation.path_parameters}
    fixed: dict[str, Any] = {}
    if "challenge_id" in names:
        fixed["challenge_id"] = challenge
    if "action_id" in names:
        fixed["action_id"] = world["action"]
    if "case_number" in names:
        fixed["case_number"] = world["case_number"]
    if "key" in names:
        fixed["key"] = "challenge_and_resolution"
    return fixed


def _run(operation: Any, strategy: Any, token: str, examples: int, seen: list[str]) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def check(case: Any) -> None:
        response = case.call(headers={"Authorization": f"Bearer {token}"})
        seen.append(f"{operation.label} {response.status_code}")
        assert response.status_code < 500, (
            operation.label,
            case.path_parameters,
            case.query,
            case.body,
            response.text[:500],
        )
        if response.status_code >= 400:
            error = response.json()["error"]
            assert isinstance(error["code"], str) and isinstance(error["message"], str), response.text

    check()


@time_machine.travel(TODAY, tick=False)
def test_no_server_errors_for_generated_requests(keep_the_test_connection, world):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
    seen: list[str] = []
    for operation in _operations(schema):
        for mode, examples in EXAMPLES.items():
            # Generated path parameters (almost always unknown ids) ...
            _run(operation, operation.as_strategy(generation_mode=mode), world["token"], examples, seen)
            # ... and real ones, so bodies reach the services and the engine.
            for challenge in world["challenges"]:
                fixed = _fixed_path(operation, world, challenge)
                if fixed:
                    strategy = operation.as_strategy(generation_mode=mode, path_parameters=fixed)
                    _run(operation, strategy, world["token"], examples, seen)
    assert len(seen) > 200
    # The fuzz reached past validation: some generated writes were accepted.
    assert any(item.endswith((" 200", " 201")) and item.startswith("POST") for item in seen), seen[:50]


@time_machine.travel(TODAY, tick=False)
def test_nul_characters_are_not_500(api_as, child):
    body = {
        "child": child.case_number,
        "track": "iro",
        "policy": "national",
        "concern": "No visit\x00",
        "impact_on_child": "Unsafe",
    }
    response = api_as("iro").post("/challenges", body)
    assert response.status_code == 422, response.content
    assert response.json()["error"]["field"] == "concern"
