"""No 5xx for any request schemathesis generates from the app's own OpenAPI document.

Runs in-process through Django's WSGI handler, as a real user with a valid bearer token, against a
database holding a child with open challenges, so the generated requests reach the services and
the engine rather than stopping at 404. Positive (schema-valid) and negative (schema-violating)
cases for every operation; bounded so the whole file runs in well under a minute.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import schemathesis
import time_machine
from django.core.wsgi import get_wsgi_application
from django.db import connection
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from resolve.api.models import api_token_create
from resolve.api.tests.helpers import raise_challenge

TODAY = "2026-06-10 10:00"
EXAMPLES = {GenerationMode.POSITIVE: 8, GenerationMode.NEGATIVE: 6}


def _known_bug(case: Any, status: int) -> bool:
    """500s already pinned by strict xfail tests in test_errors.py; skip them here so the fuzz stays green
    and keeps looking for new ones. Remove an entry once its bug is fixed."""
    if status != 500:
        return False
    query = case.query or {}
    page = query.get("page")
    if isinstance(page, int) and not isinstance(page, bool) and page > 10**15:
        return True  # test_huge_page_number_is_not_500
    body = case.body if isinstance(case.body, dict) else {}
    on = body.get("on")
    if isinstance(on, str):
        try:
            if dt.date.fromisoformat(on) < dt.date(2000, 1, 1):
                return True  # test_raise_dated_before_the_calendar_is_422
        except ValueError:
            pass
    return False


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
        if _known_bug(case, response.status_code):
            return
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
def test_no_server_errors_for_generated_requests(world):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
    schema.config.generation.update(allow_x00=False)  # NUL is covered by test_nul_characters_are_not_500
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
@pytest.mark.xfail(
    condition=connection.vendor == "postgresql",
    strict=True,
    reason="BUG: PostgreSQL text cannot hold NUL; a JSON string with \\u0000 reaches the INSERT and "
    "answers 500 (schemas.py accepts any str; services.py writes it). Refuse NUL in input strings with 422.",
)
def test_nul_characters_are_not_500(api_as, child):
    body = {
        "child": child.case_number,
        "track": "iro",
        "policy": "national",
        "concern": "No visit\x00",
        "impact_on_child": "Unsafe",
    }
    response = api_as("iro").post("/challenges", body)
    assert response.status_code in {201, 422}, response.content
