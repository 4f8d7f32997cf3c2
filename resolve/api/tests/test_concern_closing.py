"""Closing a concern without a challenge, through the API: the closing and its case note, the concern
no longer raised as a challenge, and each refusal a clear 4xx that changes nothing.

Seed 001: "Any concerns will be identified by IRO in telephone call/email to SW or TM": a concern put
right there needs no challenge.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import time_machine

from resolve.api.tests.helpers import raise_body, refused
from resolve.challenges.models import ConcernClosure
from resolve.children.models import CaseNote, Child


@pytest.fixture(autouse=True)
def _today() -> Iterator[None]:
    with time_machine.travel("2027-03-01 10:00", tick=False):
        yield


def _concern(api: Any, child: Child) -> dict[str, Any]:
    response = api.post(
        f"/children/{child.case_number}/concerns",
        {
            "track": "iro",
            "concern": "Pathway plan not updated",
            "review": "cla_review",
            "review_on": "2027-02-26",
        },
    )
    assert response.status_code == 201, response.content
    return dict(response.json())


def test_the_chair_closes_a_concern_and_no_challenge_can_carry_it(api_as: Any, child: Child) -> None:
    iro = api_as("iro")
    concern = _concern(iro, child)
    path = f"/children/{child.case_number}/concerns/{concern['id']}/closing"
    refused(lambda: iro.post(path, {"reason": " "}), 422, "required", "reason")
    refused(lambda: iro.post(path, {"reason": "x", "on": "2027-03-02"}), 422, "date_in_future", "on")
    refused(lambda: api_as("social_worker").post(path, {"reason": "x"}), 403)
    refused(lambda: iro.post(f"/children/{child.case_number}/concerns/999999/closing", {"reason": "x"}), 404)
    response = iro.post(path, {"reason": "The team manager updated the plan the same day."})
    assert response.status_code == 200, response.content
    answer = response.json()
    assert (answer["closed_on"], answer["closed_by"]) == ("2027-03-01", "iro")
    assert answer["closed_reason"] == "The team manager updated the plan the same day."
    note = CaseNote.objects.filter(child=child).order_by("-id").first()
    assert note is not None and "closed without a challenge" in note.body
    refused(lambda: iro.post(path, {"reason": "again"}), 409, "concern_closed")
    refused(
        lambda: iro.post("/challenges", raise_body(child.case_number, concern_id=concern["id"])),
        409,
        "concern_closed",
        "concern_id",
    )
    assert ConcernClosure.objects.count() == 1
    listed = iro.get(f"/children/{child.case_number}/concerns").json()
    assert listed[0]["closed_on"] == "2027-03-01"


def test_a_concern_that_became_a_challenge_is_not_closed(api_as: Any, child: Child) -> None:
    iro = api_as("iro")
    concern = _concern(iro, child)
    raised = iro.post("/challenges", raise_body(child.case_number, concern="", concern_id=concern["id"]))
    assert raised.status_code == 201, raised.content
    refused(
        lambda: iro.post(f"/children/{child.case_number}/concerns/{concern['id']}/closing", {"reason": "x"}),
        409,
        "concern_carried",
    )
