"""Challenges to partner agencies through the JSON API (issue 9, section 8; seed 000 section 2): add-only
fields and one new route, bad input answered 422 naming the field, and only those who may see the
child see the challenge."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine

from resolve.challenges.models import Challenge
from resolve.notifications.models import AgencyMessage

pytestmark = pytest.mark.django_db

CONTACT = {"name": "Ann Hale", "role": "Designated safeguarding lead", "email": "ann.hale@school.example"}


@pytest.fixture(autouse=True)
def _frozen() -> Any:
    with time_machine.travel(dt.datetime(2026, 11, 2, 10, 0), tick=False):
        yield


def body(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "child": "LCS100001",
        "track": "cpc",
        "policy": "multi_agency_escalation",
        "concern": "The school sent no report to the conference",
        "impact_on_child": "The conference could not weigh her attendance",
        "desired_outcome": "Send the school's report a week before each conference",
        "agency": {"name": "Brampton Primary School", "kind": "education"},
        "contact": CONTACT,
        "themes": ["information"],
    }
    data.update(overrides)
    return data


def test_raise_read_and_list_a_challenge_to_a_partner_agency(api_as: Any, child: Any) -> None:
    """Seed 000: "external challenge should be logged via a case note on the child's record"."""
    chair = api_as("cp_chair")
    answer = chair.post("/challenges", body())
    assert answer.status_code == 201, answer.content
    made = answer.json()
    assert made["agency"] == {
        "name": "Brampton Primary School",
        "kind": "education",
        "kind_label": "Education (school, college, early years)",
    }
    assert made["stage"]["to_role"] is None and made["stage"]["contact"] == CONTACT
    assert made["visits"][0]["contact"] == CONTACT
    assert [event["type"] for event in made["events"]] == ["raised", "agency_asked"]
    notes = chair.get("/children/LCS100001/case-notes").json()
    assert any(note["note_type"].startswith("External challenge to partner agency") for note in notes)
    listed = chair.get("/challenges", agency_kind="education").json()
    assert [row["id"] for row in listed["results"]] == [made["id"]]
    assert listed["results"][0]["agency"] == "Brampton Primary School"
    assert chair.get("/challenges", agency_kind="none").json()["count"] == 0
    assert chair.get("/challenges", policy="multi_agency_escalation").json()["count"] == 1
    policy = chair.get("/policies/multi_agency_escalation").json()
    assert policy["partner_agency"] is True
    assert [stage["agency_level"] for stage in policy["stages"]] == [
        "practitioner",
        "manager",
        "safeguarding lead",
        "partnership",
    ]
    assert "/api/v1/challenges/{challenge_id}/agency-contact" in chair.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"agency": None}, "agency.name"),
        ({"agency": {"name": "Brampton Primary School", "kind": "bakery"}}, "agency.kind"),
        ({"agency": {"name": "", "kind": "education"}}, "agency.name"),
        ({"contact": None}, "contact.name"),
        ({"contact": {**CONTACT, "email": "ann.hale"}}, "contact.email"),
        ({"contact": {**CONTACT, "role": ""}}, "contact.role"),
        ({"contact": {**CONTACT, "name": "x" * 101}}, "contact.name"),
        ({"desired_outcome": ""}, "desired_outcome"),
    ],
)
def test_bad_input_is_422_naming_the_field_and_changes_nothing(
    api_as: Any, child: Any, change: dict[str, Any], field: str
) -> None:
    answer = api_as("cp_chair").post("/challenges", body(**change))
    assert answer.status_code == 422, answer.content
    assert answer.json()["error"]["field"] == field
    assert not Challenge.objects.exists() and not AgencyMessage.objects.exists()


def test_an_agency_under_the_authoritys_own_policy_is_refused(api_as: Any, child: Any) -> None:
    answer = api_as("iro").post("/challenges", body(track="iro", policy="national"))
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "not_a_partner_agency_procedure"


def test_escalate_change_the_contact_and_record_the_reply(api_as: Any, child: Any) -> None:
    chair = api_as("cp_chair")
    cid = chair.post("/challenges", body()).json()["id"]
    refused = chair.post(f"/challenges/{cid}/escalations", {"reason": "No report"})
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "contact.name"
    head = {"name": "Joe Park", "role": "Headteacher", "email": "head@school.example"}
    escalated = chair.post(f"/challenges/{cid}/escalations", {"reason": "No report", "contact": head})
    assert escalated.status_code == 200 and escalated.json()["stage"]["contact"] == head
    same = chair.post(f"/challenges/{cid}/agency-contact", {"contact": head})
    assert same.status_code == 409 and same.json()["error"]["code"] == "same_contact"
    deputy = {"name": "Kim Ward", "role": "Deputy headteacher", "email": "deputy@school.example"}
    changed = chair.post(f"/challenges/{cid}/agency-contact", {"contact": deputy})
    assert changed.status_code == 200 and changed.json()["stage"]["contact"] == deputy
    assert (
        api_as("social_worker").post(f"/challenges/{cid}/responses", {"response": "agree"}).status_code == 403
    )
    replied = chair.post(f"/challenges/{cid}/responses", {"response": "agree", "comments": "Will send it"})
    assert replied.status_code == 200
    detail = replied.json()["events"][-1]["detail"]
    assert detail["on_behalf_of"].startswith("Kim Ward, Deputy headteacher, Brampton Primary School")
    assert AgencyMessage.objects.count() == 3


def test_only_those_who_may_see_the_child_see_it(api_as: Any, child: Any) -> None:
    cid = api_as("cp_chair").post("/challenges", body()).json()["id"]
    assert api_as("social_worker_2").get(f"/challenges/{cid}").status_code == 404
    assert api_as("social_worker_2").get("/challenges", agency_kind="any").json()["count"] == 0
    other = api_as("social_worker_2").post(f"/challenges/{cid}/agency-contact", {"contact": CONTACT})
    assert other.status_code == 404
    assert api_as("social_worker").get(f"/challenges/{cid}").status_code == 200
