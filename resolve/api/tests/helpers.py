"""Helpers for the API contract tests: the error shape, "nothing changed" snapshots, raising challenges."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from resolve.challenges.models import (
    Action,
    Agreement,
    CafcassReferral,
    Challenge,
    Document,
    Event,
    Meeting,
    Response,
    StageVisit,
)
from resolve.children.models import CaseNote, Child
from resolve.procedures.schema import Procedure
from resolve.procedures.selectors import procedure_get, procedure_version_model

SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# The procedures shipped with Resolve (seed 000-004 and the national default).
PROCEDURES = (
    "outcome_resolution",
    "cla_dispute_resolution",
    "qa_issue_resolution",
    "challenge_and_resolution",
    "informal_challenge_dispute_resolution",
    "national",
)

COMPLETE_BRIEFING = {
    "author": "Isla Reid, IRO, IRO and CP Chairs Service",
    "legal_status": "Care Order, 3 March 2024",
    "parents": "Mother and father, separated",
    "siblings": "",
    "extended_family": "",
    "family_address": "1 High Street",
    "other_agencies": "",
    "date_opened_to_csc": "2023-01-01",
    "incident": "No statutory visit for 12 weeks",
    "background": "Placement unstable",
    "interventions": "Two informal challenges",
    "current_plan": "Long-term fostering",
}


def procedure(key: str) -> Procedure:
    return procedure_version_model(procedure_get(key=key))


def assert_error(
    response: Any, status: int, code: str | None = None, field: str | None = None
) -> dict[str, Any]:
    """The response is the documented error shape with ``status`` (and ``code``/``field`` when given)."""
    assert response.status_code == status, (response.status_code, response.content)
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error, dict), body
    assert set(error) <= {"code", "message", "field"}, error
    assert isinstance(error["code"], str) and SNAKE.match(error["code"]), error
    assert isinstance(error["message"], str) and error["message"].strip(), error
    if "field" in error:
        assert error["field"] is None or isinstance(error["field"], str), error
    if code is not None:
        assert error["code"] == code, error
    if field is not None:
        assert error.get("field") == field, error
    return error


def db_state() -> dict[str, Any]:
    """Everything a write could change, in a comparable form."""
    return {
        "challenges": sorted(
            Challenge.objects.values_list(
                "id",
                "version",
                "status",
                "stage_key",
                "stage_due_on",
                "stage_responded_on",
                "last_event_on",
                "cafcass_referred_on",
                "final_comments",
                "outcome",
            )
        ),
        "events": Event.objects.count(),
        "case_notes": CaseNote.objects.count(),
        "children": sorted(
            Child.objects.values_list("case_number", "social_worker_id", "iro_id", "cp_chair_id")
        ),
        "visits": sorted(StageVisit.objects.values_list("id", "left_on", "left_how", "response", "meetings")),
        "actions": sorted(Action.objects.values_list("id", "status", "status_on")),
        "responses": Response.objects.count(),
        "meetings": Meeting.objects.count(),
        "referrals": CafcassReferral.objects.count(),
        "documents": Document.objects.count(),
        "agreements": sorted(Agreement.objects.values_list("id", "status", "answered_on")),
    }


def challenge_counts(challenge_id: int) -> tuple[int, int, int]:
    """(version, events, case notes on the child) of one challenge."""
    challenge = Challenge.objects.get(pk=challenge_id)
    return (
        challenge.version,
        Event.objects.filter(challenge=challenge).count(),
        CaseNote.objects.filter(child_id=challenge.child_id).count(),
    )


@contextmanager
def unchanged() -> Iterator[None]:
    """Assert that the block (a refused request) changed nothing at all."""
    before = db_state()
    yield
    after = db_state()
    assert after == before, {key: (before[key], after[key]) for key in before if before[key] != after[key]}


def refused(request: Any, status: int, code: str | None = None, field: str | None = None) -> dict[str, Any]:
    """Make a request that must be refused; check the error and that nothing changed."""
    with unchanged():
        response = request()
    return assert_error(response, status, code, field)


def raise_body(
    child: str, procedure_key: str | None = "national", track: str = "iro", **over: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "child": child,
        "track": track,
        "policy": procedure_key,
        "themes": [],
        "concern": "No statutory visit for twelve weeks",
        "impact_on_child": "Amelia has not been seen alone",
    }
    body.update(over)
    return body


def raise_challenge(
    api: Any, child: str, procedure_key: str | None = "national", track: str = "iro", **over: Any
) -> dict:
    response = api.post("/challenges", raise_body(child, procedure_key, track, **over))
    assert response.status_code == 201, response.content
    return response.json()


def escalate_to(api: Any, challenge: dict, stage: str, **extra: Any) -> dict:
    """Escalate one stage at a time until ``stage`` is reached (needs no bypass). Where a stage lets the
    chair choose whether to tell someone (seed 000's Chief Executive), the answer is no."""
    current = challenge
    extra = {"notify_optional": False, **extra}
    while current["stage"]["key"] != stage:
        response = api.post(f"/challenges/{current['id']}/escalations", {"reason": "Not resolved", **extra})
        assert response.status_code == 200, response.content
        current = response.json()
    return current


def iso(day: dt.date) -> str:
    return day.isoformat()


def agree(
    api_as: Any, challenge_id: int, key: str, person: str, purpose: str = "cafcass", answer: str = "confirmed"
) -> dict:
    """The chair asks ``person`` (for agreement, or to be told) and, unless ``answer`` is "", they answer."""
    asked = api_as("iro").post(
        f"/challenges/{challenge_id}/agreement-requests",
        {"purpose": purpose, "key": key, "person": person, "note": "The child's timetable cannot wait"},
    )
    assert asked.status_code == 200, asked.content
    if not answer:
        return asked.json()
    number = asked.json()["agreements"][-1]["number"]
    answered = api_as(person).post(
        f"/challenges/{challenge_id}/agreement-requests/{number}/answer",
        {"answer": answer, "comments": "" if answer == "confirmed" else "Not yet"},
    )
    assert answered.status_code == 200, answered.content
    return answered.json()
