"""Meetings through the API (issue 9, section 3): request, refusals that change nothing, minutes."""

from __future__ import annotations

import json
from typing import Any

import pytest
import time_machine

from resolve.api.tests.helpers import raise_challenge, refused
from resolve.notifications.models import Kind, OutboxMessage

pytestmark = pytest.mark.django_db


@time_machine.travel("2026-06-01 10:00", tick=False)
def test_request_a_meeting_and_record_its_minutes(api_as, child):
    """Seed 001: "This meeting should be chaired by CPRU Service Manager. Actions from Meeting to be
    recorded within 24 hours on DRP Stage 2 Form by CPRU Service Manager"."""
    made = raise_challenge(
        api_as("iro"),
        child.case_number,
        "cla_dispute_resolution",
        stage="stage_2",
        bypass_reason="Drift",
        bypass_agreed_by="iro_service_manager",
    )
    path = f"/challenges/{made['id']}/meeting-requests"
    iro = api_as("iro")
    body = {"scheduled_for": "2026-06-03", "chair": "iro_service_manager", "attendees": ["team_manager"]}
    refused(lambda: iro.post(path, {**body, "chair": "team_manager"}), 422, "wrong_role", "chair")
    refused(lambda: iro.post(path, {**body, "chair": None}), 422, "required", "chair")
    refused(lambda: iro.post(path, {**body, "key": "nope"}), 422, "unknown_meeting", "key")
    refused(lambda: iro.post(path, {**body, "scheduled_for": "2026-05-29"}), 422, "meeting_in_the_past")
    refused(lambda: iro.post(path, {**body, "attendees": ["ghost"]}), 422, "unknown_user", "attendees")
    refused(lambda: iro.post(path, {**body, "outsiders": ["x" * 101]}), 422, None, "outsiders[0]")
    full = json.dumps({**body, "outsiders": ["Dr A. Patel (school nurse)"]})
    headers = {"Authorization": f"Bearer {iro.token}", "Idempotency-Key": "meet-1"}

    def send() -> Any:
        return iro.client.post(f"/api/v1{path}", full, content_type="application/json", headers=headers)

    asked = send()
    assert asked.status_code == 200, asked.content
    replay = send()
    assert replay.status_code == 200 and replay["Idempotent-Replayed"] == "true"
    (meeting,) = asked.json()["meetings"]
    assert (meeting["number"], meeting["requested"], meeting["chair"], meeting["outsiders"]) == (
        1,
        True,
        "iro_service_manager",
        ["Dr A. Patel (school nurse)"],
    )
    minutes = f"/challenges/{made['id']}/meetings"
    record = {
        "number": 1,
        "summary": "Plan agreed",
        "held_on": "2026-06-01",
        "actions": [{"action": "Book the planning meeting", "owner": "team_manager", "due": "2026-06-12"}],
    }
    refused(lambda: iro.post(minutes, record), 403, "not_the_meeting_chair")
    manager = api_as("iro_service_manager")
    refused(lambda: manager.post(minutes, {**record, "number": 9}), 404, "unknown_meeting", "number")
    done = manager.post(minutes, record)
    assert done.status_code == 200, done.content
    answer = done.json()
    held = answer["meetings"][-1]
    assert (held["requested"], held["held_on"], held["actions_on_time"]) == (False, "2026-06-01", True)
    assert held["attendees"] == ["team_manager"]  # those invited, when not said otherwise
    assert any(action["action"] == "Book the planning meeting" for action in answer["actions"])
    assert answer["events"][-1]["detail"]["actions_due_by"] == "2026-06-02"
    sent = {m.recipient.username for m in OutboxMessage.objects.filter(kind=Kind.MEETING_MINUTES)}
    assert sent == {"team_manager", "iro"}
    refused(lambda: manager.post(minutes, record), 409, "meeting_recorded")


def test_the_policy_shows_the_meetings_and_the_procedures_words(api_as):
    policy = api_as("iro").get("/policies/cla_dispute_resolution").json()
    stage_3 = next(stage for stage in policy["stages"] if stage["key"] == "stage_3")
    assert stage_3["further_meetings"][0]["key"] == "service_director"
    assert policy["cafcass"]["form_completed_by"] == "iro_service_manager"
    outcome = api_as("iro").get("/policies/outcome_resolution").json()
    assert outcome["response_labels"]["disagree"] == "Don't agree & will not implement"
    assert outcome["stages"][-1]["optional_notify_roles"] == ["chief_executive"]
