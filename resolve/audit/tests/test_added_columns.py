"""Columns added to sealed records after rows were sealed (an action's owner as a person, a stage's
extension, a challenge's triggering review) count in a row's seal only once they hold a value, so a
row sealed before they existed still verifies; the new records themselves verify like any other."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine

from resolve.audit.sealing import row_digest
from resolve.audit.verify import verify_all
from resolve.challenges.models import Action, Challenge, StageVisit
from resolve.children.models import Child


@pytest.fixture(autouse=True)
def _today() -> Iterator[None]:
    with time_machine.travel("2027-03-01 10:00", tick=False):
        yield


def raise_challenge(api: Any, case_number: str, **over: Any) -> dict[str, Any]:
    body = {
        "child": case_number,
        "track": "iro",
        "policy": "national",
        "concern": "No statutory visit for twelve weeks",
        "impact_on_child": "Not seen alone",
        **over,
    }
    response = api.post("/challenges", body)
    assert response.status_code == 201, response.content
    return dict(response.json())


def test_an_empty_added_column_leaves_the_digest_as_it_was(api_as: Any, child: Child) -> None:
    raised = raise_challenge(
        api_as("iro"), child.case_number, actions=[{"action": "Visit", "owner": "Team", "due": "2027-03-05"}]
    )
    for row in (
        Action.objects.get(challenge_id=raised["id"]),
        StageVisit.objects.get(challenge_id=raised["id"]),
        Challenge.objects.get(pk=raised["id"]),
    ):
        later = type(row).evidence_added_later
        exclude = set(getattr(row, "evidence_exclude", ()))
        # As a row sealed before the columns existed was digested: without them.
        assert row_digest(row, exclude) == row_digest(row, exclude | set(later)), type(row).__name__


def test_a_filled_added_column_is_sealed_and_every_chain_holds(api_as: Any, child: Child) -> None:
    api = api_as("iro")
    raised = raise_challenge(api, child.case_number, review="cla_review", review_on="2027-02-26")
    cid = raised["id"]
    assert (
        api.post(
            f"/challenges/{cid}/actions",
            {"action": "Visit", "due": "2027-03-05", "owner_user": "social_worker"},
        ).status_code
        == 200
    )
    assert (
        api.post(
            f"/challenges/{cid}/extensions",
            {"due": "2027-03-12", "reason": "Court", "agreed_by": "iro_service_manager"},
        ).status_code
        == 200
    )
    action = Action.objects.get(challenge_id=cid)
    assert row_digest(action) != row_digest(action, {"owner_user_id"})
    visit = StageVisit.objects.get(challenge_id=cid)
    assert visit.extended_from == dt.date(2027, 3, 8)
    assert list(verify_all()) == []
