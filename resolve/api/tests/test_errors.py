"""Every error is {"error": {"code", "message", "field"?}} with the documented status, and changes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from resolve.api.models import ApiToken, api_token_create
from resolve.api.tests.helpers import (
    COMPLETE_BRIEFING,
    agree,
    assert_error,
    challenge_counts,
    escalate_to,
    raise_body,
    raise_challenge,
    refused,
    unchanged,
)
from resolve.children.models import CaseNote
from resolve.notifications.models import Kind, OutboxMessage

TODAY = "2026-06-10 10:00"  # Wednesday 10 June 2026


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(TODAY, tick=False):
        yield


@pytest.fixture
def open_challenge(api_as, child) -> dict[str, Any]:
    """An IRO-track challenge under the national procedure, raised on Monday 8 June with one action."""
    return raise_challenge(
        api_as("iro"),
        child.case_number,
        on="2026-06-08",
        actions=[{"action": "Visit Amelia", "owner": "social_worker", "due": "2026-06-19"}],
    )


def transition_paths(challenge: dict[str, Any]) -> list[str]:
    cid = challenge["id"]
    return [
        f"/challenges/{cid}/responses",
        f"/challenges/{cid}/escalations",
        f"/challenges/{cid}/resolution",
        f"/challenges/{cid}/reopening",
        f"/challenges/{cid}/cafcass-referral",
        f"/challenges/{cid}/actions/{challenge['actions'][0]['id']}",
        f"/challenges/{cid}/withdrawal",
        f"/challenges/{cid}/meetings",
        f"/challenges/{cid}/final-comments",
    ]


def post_paths(challenge: dict[str, Any]) -> list[str]:
    return ["/children", "/challenges", *transition_paths(challenge)]


# -- 400: malformed ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "raw",
    ["{not json", '{"concern": ', "", "[]", '[{"child": "LCS100001"}]', "null", "42", '"text"', "\xff\xfe"],
    ids=["broken", "truncated", "empty", "array", "array-of-objects", "null", "number", "string", "not-utf8"],
)
def test_malformed_bodies_are_400_on_every_post(api_as, open_challenge, raw):
    for path in post_paths(open_challenge):
        who = "admin" if path == "/children" else "iro"
        error = refused(lambda path=path, who=who: api_as(who).post(path, raw), 400, "malformed")
        assert "field" not in error or error["field"] is None


def test_no_body_at_all_is_400(api_as, open_challenge):
    client = api_as("iro")
    for path in post_paths(open_challenge):
        refused(
            lambda path=path: client.client.post(f"/api/v1{path}", headers=client._headers()),
            400,
            "malformed",
        )


# -- 401: authentication -------------------------------------------------------------------------
GETS = [
    "/policies",
    "/policies/national",
    "/challenges",
    "/children/LCS100001",
    "/children/LCS100001/chronology",
    "/calendar/add-working-days?start=2026-06-10&days=1",
]


def _call(client: Client, method: str, path: str, headers: Any) -> Any:
    if method == "get":
        return client.get(f"/api/v1{path}", **headers)
    return client.post(f"/api/v1{path}", json.dumps({}), content_type="application/json", **headers)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer",
        "Bearer ",
        "Bearer rsv_not-a-real-token",
        "Basic aXJvOnBhc3N3b3Jk",
        "rsv_token-without-scheme",
    ],
    ids=["none", "scheme-only", "empty-token", "unknown-token", "basic", "no-scheme"],
)
def test_no_or_bad_token_is_401_everywhere(authority, open_challenge, header):
    client = Client()
    headers: Any = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    for path in GETS:
        assert_error(_call(client, "get", path, headers), 401, "unauthenticated")
    for path in post_paths(open_challenge):
        refused(lambda path=path: _call(client, "post", path, headers), 401, "unauthenticated")


def test_revoked_token_is_401(authority, open_challenge):
    token = api_token_create(user=authority.staff["iro"])
    client = Client()
    headers: Any = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert client.get("/api/v1/challenges", **headers).status_code == 200
    ApiToken.objects.filter(user=authority.staff["iro"]).update(revoked_at=timezone.now())
    assert_error(client.get("/api/v1/challenges", **headers), 401, "unauthenticated")
    cid = open_challenge["id"]
    refused(
        lambda: client.post(
            f"/api/v1/challenges/{cid}/withdrawal",
            json.dumps({"reason": "x"}),
            content_type="application/json",
            **headers,
        ),
        401,
        "unauthenticated",
    )


def test_token_of_a_deactivated_user_is_401(authority, open_challenge):
    token = api_token_create(user=authority.staff["iro"])
    user = authority.staff["iro"]
    user.is_active = False
    user.save()
    response = Client().get("/api/v1/challenges", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert_error(response, 401, "unauthenticated")


# -- 403: not allowed -----------------------------------------------------------------------------
def test_social_worker_cannot_escalate(api_as, open_challenge):
    refused(lambda: api_as("social_worker").post(f"/challenges/{open_challenge['id']}/escalations", {}), 403)


@pytest.mark.parametrize(
    "username", ["iro", "social_worker", "team_manager", "director", "iro_service_manager"]
)
def test_only_an_administrator_adds_children(api_as, username):
    body = {
        "case_number": "LCS300001",
        "first_name": "Ann",
        "last_name": "Lee",
        "date_of_birth": "2016-02-02",
        "social_worker": "social_worker",
    }
    refused(lambda: api_as(username).post("/children", body), 403, "not_allowed")


@pytest.mark.parametrize(
    "username", ["iro", "team_manager", "service_manager", "director", "iro_service_manager"]
)
def test_only_the_stage_recipient_responds(api_as, open_challenge, username):
    # The national informal stage is sent to the social worker.
    path = f"/challenges/{open_challenge['id']}/responses"
    refused(lambda: api_as(username).post(path, {"response": "agree"}), 403, "not_allowed")


def test_after_escalation_the_previous_recipient_may_no_longer_respond(api_as, open_challenge):
    escalate_to(api_as("iro"), open_challenge, "stage_1")
    path = f"/challenges/{open_challenge['id']}/responses"
    refused(lambda: api_as("social_worker").post(path, {"response": "agree"}), 403)
    assert api_as("team_manager").post(path, {"response": "agree"}).status_code == 200


@pytest.mark.parametrize(
    ("suffix", "body"),
    [
        ("resolution", {"outcome": "Done"}),
        ("withdrawal", {"reason": "Done"}),
        ("cafcass-referral", {"reason": "Acute"}),
        ("meetings", {"summary": "Met"}),
    ],
)
def test_people_outside_the_challenge_are_refused(api_as, open_challenge, suffix, body):
    # The director can see every child but is neither chair, recipient nor the chair's manager here.
    path = f"/challenges/{open_challenge['id']}/{suffix}"
    refused(lambda: api_as("director").post(path, body), 403, "not_allowed")


def test_only_the_childs_chair_raises(api_as, child):
    for username in ("social_worker", "team_manager", "iro_service_manager", "cp_chair"):
        refused(
            lambda username=username: api_as(username).post("/challenges", raise_body(child.case_number)), 403
        )


def test_final_comments_only_by_the_procedures_role(api_as, child):
    made = raise_challenge(api_as("iro"), child.case_number, "challenge_and_resolution")
    api_as("iro").post(f"/challenges/{made['id']}/resolution", {"outcome": "Visited"})
    for username in ("iro", "iro_team_manager", "director"):
        refused(
            lambda username=username: api_as(username).post(
                f"/challenges/{made['id']}/final-comments", {"comments": "x"}
            ),
            403,
        )


# -- 404: no such thing, or not visible -----------------------------------------------------------
def test_unknown_and_invisible_children_look_the_same(api_as, child):
    other = api_as("social_worker_2")  # a social worker of another team
    for path in (f"/children/{child.case_number}", f"/children/{child.case_number}/chronology"):
        invisible = other.get(path)
        missing = other.get(path.replace(child.case_number, "LCS999999"))
        assert_error(invisible, 404, "not_found")
        assert_error(missing, 404, "not_found")
        assert invisible.json() == missing.json()


def test_unknown_and_invisible_challenges_look_the_same(api_as, open_challenge):
    other = api_as("social_worker_2")
    cid = open_challenge["id"]
    invisible = other.get(f"/challenges/{cid}")
    missing = other.get("/challenges/987654")
    assert_error(invisible, 404, "not_found")
    assert invisible.json() == missing.json()
    bodies = [
        {"response": "agree"},
        {},
        {"outcome": "x"},
        {"reason": "x"},
        {"reason": "x"},
        {"status": "done"},
        {"reason": "x"},
        {"summary": "x"},
        {"comments": "x"},
    ]
    for path, body in zip(transition_paths(open_challenge), bodies, strict=True):
        invisible_post = refused(lambda path=path, body=body: other.post(path, body), 404, "not_found")
        missing_path = path.replace(f"/challenges/{cid}/", "/challenges/987654/")
        missing_post = refused(lambda p=missing_path, body=body: other.post(p, body), 404, "not_found")
        assert invisible_post == missing_post
    listing = other.get("/challenges").json()
    assert listing["count"] == 0 and listing["results"] == []
    assert other.get("/challenges", child="LCS100001").json()["results"] == []


def test_raising_for_an_unknown_or_invisible_child_is_404(api_as, authority, child):
    refused(lambda: api_as("iro").post("/challenges", raise_body("LCS999999")), 404, "not_found")
    refused(lambda: api_as("social_worker_2").post("/challenges", raise_body(child.case_number)), 404)


def test_unknown_policy_is_404(api_as):
    assert_error(api_as("iro").get("/policies/no_such_policy"), 404, "not_found")


def test_unknown_paths_under_the_api_are_not_500(api_as):
    response = api_as("iro").get("/no-such-endpoint")
    assert response.status_code == 404


def test_unknown_action_is_404(api_as, open_challenge):
    refused(
        lambda: api_as("iro").post(f"/challenges/{open_challenge['id']}/actions/999999", {"status": "done"}),
        404,
    )


# -- 409: conflicts --------------------------------------------------------------------------------
def test_duplicate_case_number_is_409(api_as, child):
    body = {
        "case_number": child.case_number,
        "first_name": "Other",
        "last_name": "Child",
        "date_of_birth": "2015-05-05",
        "social_worker": "social_worker",
    }
    refused(lambda: api_as("admin").post("/children", body), 409, "duplicate_case_number", "case_number")
    padded = {**body, "case_number": f"  {child.case_number} "}
    refused(lambda: api_as("admin").post("/children", padded), 409, "duplicate_case_number")


CAFCASS_BODY: dict[str, Any] = {
    "reason": "Care plan drift that the process cannot fix in the child's timescale",
    "urgent": True,
    "checklist": {
        "care_order_and_care_plan": True,
        "guardian_report": False,
        "review_records": True,
        "iro_report": True,
        "wishes_and_feelings": False,
        "professional_contacts": True,
        "recent_care_plan": True,
    },
    "preconditions": {
        "service_manager_approval": "iro_service_manager",
        "hos_safeguarding_approval": "head_of_safeguarding",
    },
}


STALE_CASES: list[tuple[str, str, dict[str, Any], str]] = [
    ("responses", "social_worker", {"response": "agree"}, "open"),
    ("escalations", "iro", {"reason": "x"}, "open"),
    ("resolution", "iro", {"outcome": "x"}, "open"),
    ("reopening", "iro", {"reason": "x"}, "resolved"),
    ("cafcass-referral", "iro", CAFCASS_BODY, "open"),
    ("actions", "iro", {"status": "done"}, "open"),
    ("withdrawal", "iro", {"reason": "x"}, "open"),
    ("meetings", "iro", {"summary": "x"}, "open"),
    ("final-comments", "iro_service_manager", {"comments": "x"}, "resolved"),
]


@pytest.mark.parametrize(("suffix", "who", "body", "state"), STALE_CASES, ids=[c[0] for c in STALE_CASES])
def test_stale_version_is_409_and_current_version_is_accepted(api_as, child, suffix, who, body, state):
    made = raise_challenge(
        api_as("iro"),
        child.case_number,
        "challenge_and_resolution",
        actions=[{"action": "Visit", "owner": "social_worker", "due": "2026-06-19"}],
    )
    cid = made["id"]
    current = made
    if state == "resolved":
        current = api_as("iro").post(f"/challenges/{cid}/resolution", {"outcome": "Visited"}).json()
    if suffix == "cafcass-referral":
        agree(api_as, cid, "service_manager_approval", "iro_service_manager")
        current = agree(api_as, cid, "hos_safeguarding_approval", "head_of_safeguarding")
    path = (
        f"/challenges/{cid}/actions/{made['actions'][0]['id']}"
        if suffix == "actions"
        else f"/challenges/{cid}/{suffix}"
    )
    version = current["version"]
    for stale in (version - 1, version + 1, 0):
        refused(
            lambda stale=stale: api_as(who).post(path, {**body, "version": stale}),
            409,
            "stale_version",
            "version",
        )
    response = api_as(who).post(path, {**body, "version": version})
    assert response.status_code == 200, response.content
    assert response.json()["version"] == version + 1


def test_transitions_not_allowed_now_are_409(api_as, child, open_challenge):
    iro = api_as("iro")
    cid = open_challenge["id"]
    refused(lambda: iro.post(f"/challenges/{cid}/reopening", {"reason": "x"}), 409, "not_resolved")
    manager = api_as("iro_service_manager")
    refused(lambda: manager.post(f"/challenges/{cid}/final-comments", {"comments": "x"}), 409)
    # The IRO's role never adds final comments: the write chokepoint refuses before the engine is asked.
    refused(lambda: iro.post(f"/challenges/{cid}/final-comments", {"comments": "x"}), 403, "not_allowed")
    assert iro.post(f"/challenges/{cid}/resolution", {"outcome": "Visited"}).status_code == 200
    refused(lambda: iro.post(f"/challenges/{cid}/escalations", {}), 409, "not_open")
    refused(lambda: iro.post(f"/challenges/{cid}/resolution", {"outcome": "again"}), 409, "not_open")
    refused(lambda: iro.post(f"/challenges/{cid}/withdrawal", {"reason": "x"}), 409, "not_open")
    refused(lambda: api_as("social_worker").post(f"/challenges/{cid}/responses", {"response": "agree"}), 409)
    refused(lambda: iro.post(f"/challenges/{cid}/meetings", {"summary": "x"}), 409)
    # Seed 004: "Should the IRO/CP Chair be dissatisfied by the outcome a referral to CAFCASS can be
    # made": a resolved challenge can still be referred; a withdrawn one cannot.
    referred = iro.post(f"/challenges/{cid}/cafcass-referral", {"reason": "Dissatisfied by the outcome"})
    assert referred.status_code == 200, referred.content
    assert referred.json()["status"] == "resolved" and referred.json()["cafcass_referred_on"] is not None
    # national has no final comments step
    refused(
        lambda: manager.post(f"/challenges/{cid}/final-comments", {"comments": "x"}), 409, "no_final_comments"
    )
    assert iro.post(f"/challenges/{cid}/reopening", {"reason": "Not delivered"}).status_code == 200
    assert iro.post(f"/challenges/{cid}/withdrawal", {"reason": "Moved away"}).status_code == 200
    refused(lambda: iro.post(f"/challenges/{cid}/reopening", {"reason": "x"}), 409, "not_resolved")
    refused(lambda: iro.post(f"/challenges/{cid}/withdrawal", {"reason": "x"}), 409, "not_open")
    refused(lambda: iro.post(f"/challenges/{cid}/cafcass-referral", {"reason": "x"}), 409, "not_open")
    action = open_challenge["actions"][0]["id"]
    refused(lambda: iro.post(f"/challenges/{cid}/actions/{action}", {"status": "done"}), 409, "not_open")


def test_escalating_past_the_last_stage_is_409(api_as, open_challenge):
    last = escalate_to(api_as("iro"), open_challenge, "stage_4")
    refused(lambda: api_as("iro").post(f"/challenges/{last['id']}/escalations", {}), 409, "last_stage")


def test_second_cafcass_referral_is_409(api_as, open_challenge):
    path = f"/challenges/{open_challenge['id']}/cafcass-referral"
    assert api_as("iro").post(path, {"reason": "Acute"}).status_code == 200
    refused(lambda: api_as("iro").post(path, {"reason": "Again"}), 409, "already_referred")


def test_cafcass_on_a_cp_track_challenge_is_409(api_as, child):
    made = raise_challenge(api_as("cp_chair"), child.case_number, "challenge_and_resolution", track="cpc")
    path = f"/challenges/{made['id']}/cafcass-referral"
    # A CP Chair's role never refers to Cafcass: the write chokepoint refuses before the engine is asked.
    refused(lambda: api_as("cp_chair").post(path, {"reason": "Acute"}), 403, "not_allowed")
    # The child's IRO may refer, but not a challenge on the CP track (Children Act 1989 s25B(3)).
    refused(lambda: api_as("iro").post(path, {"reason": "Acute"}), 409, "cafcass_iro_only")


def test_cafcass_too_early_is_409(api_as, child):
    made = raise_challenge(api_as("iro"), child.case_number, "cla_dispute_resolution")
    path = f"/challenges/{made['id']}/cafcass-referral"
    body = {
        "reason": "Acute",
        "checklist": {"previous_forms_released": True},
        "preconditions": {
            "cpru_service_manager_agrees": "iro_service_manager",
            "service_director_meeting_requested": "service_director",
        },
    }
    # Seed 001: "the CPRU Service Manager will complete the Form CLA Resolution Stage 4".
    refused(lambda: api_as("iro").post(path, body), 403, "not_allowed")
    refused(lambda: api_as("iro_service_manager").post(path, body), 409, "cafcass_too_early")


def test_resolving_without_the_required_meeting_is_409(api_as, child):
    made = raise_challenge(api_as("iro"), child.case_number, "challenge_and_resolution")
    at_four = escalate_to(api_as("iro"), made, "stage_4")
    refused(
        lambda: api_as("iro").post(f"/challenges/{at_four['id']}/resolution", {"outcome": "x"}),
        409,
        "meeting_required",
    )


def test_raising_without_an_allocated_chair_is_409(api_as, authority):
    api_as("admin").post(
        "/children",
        {
            "case_number": "LCS400001",
            "first_name": "No",
            "last_name": "Chair",
            "date_of_birth": "2016-01-01",
            "social_worker": "social_worker",
            "iro": "iro",
        },
    )
    refused(
        lambda: api_as("iro").post("/challenges", raise_body("LCS400001", track="cpc")),
        409,
        "no_chair",
        "track",
    )


# -- 422: well-formed but invalid -----------------------------------------------------------------
RAISE_INVALID: list[tuple[str, dict[str, Any], str, str | None]] = [
    ("missing-concern", {"concern": None}, "concern", None),
    ("blank-concern", {"concern": "   "}, "concern", "required"),
    ("missing-impact", {"impact_on_child": None}, "impact_on_child", None),
    ("blank-impact", {"impact_on_child": ""}, "impact_on_child", "required"),
    ("concern-not-text", {"concern": 5}, "concern", None),
    ("unknown-theme", {"themes": ["astrology"]}, "themes", "unknown_theme"),
    ("duplicate-theme", {"themes": ["placement", "placement"]}, "themes", "duplicate_theme"),
    ("themes-not-list", {"themes": "placement"}, "themes", None),
    ("unknown-stage", {"stage": "stage_9", "bypass_reason": "x"}, "stage", "unknown_stage"),
    ("impossible-date", {"on": "2026-02-30"}, "on", None),
    ("word-date", {"on": "tomorrow"}, "on", None),
    ("uk-date", {"on": "10/06/2026"}, "on", None),
    ("datetime", {"on": "2026-06-10T10:00:00"}, "on", None),
    ("number-date", {"on": 20260610}, "on", None),
    ("future-date", {"on": "2026-06-11"}, "on", "date_in_future"),
    ("extra-field", {"severity": "high"}, "severity", None),
    ("unknown-track", {"track": "social_work"}, "track", None),
    ("unknown-policy", {"policy": "no_such_policy"}, "policy", "unknown_policy"),
    (
        "track-not-in-policy",
        {"policy": "cla_dispute_resolution", "track": "cpc"},
        "track",
        "track_not_in_policy",
    ),
    (
        "bypass-without-reason",
        {"policy": "qa_issue_resolution", "stage": "stage_2"},
        "bypass_reason",
        "bypass_reason_required",
    ),
    (
        "action-due-before",
        {"actions": [{"action": "Visit", "owner": "sw", "due": "2026-06-01"}]},
        "actions[0].due",
        "action_due_before_raised",
    ),
    (
        "action-bad-date",
        {"actions": [{"action": "Visit", "owner": "sw", "due": "2026-13-01"}]},
        "actions[0].due",
        None,
    ),
    (
        "action-missing-owner",
        {"actions": [{"action": "Visit", "due": "2026-06-20"}]},
        "actions[0].owner",
        None,
    ),
    (
        "action-blank",
        {"actions": [{"action": " ", "owner": "sw", "due": "2026-06-20"}]},
        "actions[0].action",
        "required",
    ),
    (
        "action-extra",
        {"actions": [{"action": "V", "owner": "sw", "due": "2026-06-20", "x": 1}]},
        "actions[0].x",
        None,
    ),
    ("briefing-unknown-field", {"directors_briefing": {"mood": "x"}}, "directors_briefing.mood", None),
]


@pytest.mark.parametrize(
    ("name", "change", "field", "code"), RAISE_INVALID, ids=[c[0] for c in RAISE_INVALID]
)
def test_invalid_raise_is_422_naming_the_field(api_as, child, name, change, field, code):
    body = raise_body(child.case_number)
    for key, value in change.items():
        if value is None:
            body.pop(key)
        else:
            body[key] = value
    refused(lambda: api_as("iro").post("/challenges", body), 422, code, field)


@pytest.mark.parametrize("procedure_key", ["cla_dispute_resolution", "challenge_and_resolution"])
def test_bypass_needs_the_iro_service_managers_agreement_when_raising(api_as, child, procedure_key):
    body = raise_body(child.case_number, procedure_key, stage="stage_2", bypass_reason="Serious and urgent")
    iro = api_as("iro")
    refused(lambda: iro.post("/challenges", body), 422, "bypass_agreement_required", "bypass_agreed_by")
    for wrong in ("team_manager", "iro_team_manager", "service_manager"):
        refused(
            lambda wrong=wrong: iro.post("/challenges", {**body, "bypass_agreed_by": wrong}),
            422,
            "bypass_agreement_wrong_role",
            "bypass_agreed_by",
        )
    refused(
        lambda: iro.post("/challenges", {**body, "bypass_agreed_by": "nobody"}),
        422,
        "unknown_user",
        "bypass_agreed_by",
    )
    refused(
        lambda: iro.post("/challenges", {**body, "bypass_reason": ""}),
        422,
        "bypass_reason_required",
        "bypass_reason",
    )
    response = iro.post("/challenges", {**body, "bypass_agreed_by": "iro_service_manager"})
    assert response.status_code == 201, response.content
    assert response.json()["stage"]["key"] == "stage_2"
    # The person named is asked to confirm it in Resolve.
    (asked,) = response.json()["agreements"]
    assert (asked["purpose"], asked["key"], asked["person"], asked["status"]) == (
        "bypass",
        "stage_2",
        "iro_service_manager",
        "pending",
    )


@pytest.mark.parametrize("procedure_key", ["cla_dispute_resolution", "challenge_and_resolution"])
def test_bypass_needs_the_iro_service_managers_agreement_when_escalating(api_as, child, procedure_key):
    made = raise_challenge(api_as("iro"), child.case_number, procedure_key)
    path = f"/challenges/{made['id']}/escalations"
    asking = f"/challenges/{made['id']}/agreement-requests"
    iro = api_as("iro")
    refused(
        lambda: iro.post(path, {"to_stage": "stage_2", "reason": "Urgent"}),
        409,
        "bypass_agreement_not_confirmed",
        "bypass_agreed_by",
    )
    request = {"purpose": "bypass", "key": "stage_2", "person": "head_of_service", "note": "Urgent"}
    refused(lambda: iro.post(asking, request), 422, "wrong_role", "person")
    refused(lambda: iro.post(asking, {**request, "key": "stage_1"}), 422, "not_a_bypass", "key")
    refused(lambda: iro.post(asking, {**request, "person": "ghost"}), 422, "unknown_user", "person")
    asked = iro.post(asking, {**request, "person": "iro_service_manager"})
    assert asked.status_code == 200, asked.content
    refused(lambda: iro.post(asking, {**request, "person": "iro_service_manager"}), 409, "already_asked")
    # Asked is not agreed: escalation waits for the confirmation.
    refused(
        lambda: iro.post(path, {"to_stage": "stage_2", "reason": "Urgent"}),
        409,
        "bypass_agreement_not_confirmed",
        "bypass_agreed_by",
    )
    answer = f"{asking}/1/answer"
    refused(lambda: iro.post(answer, {"answer": "confirmed"}), 403, "not_asked")
    manager = api_as("iro_service_manager")
    refused(lambda: manager.post(answer, {"answer": "declined"}), 422, "required", "comments")
    confirmed = manager.post(answer, {"answer": "confirmed", "comments": "Agreed by phone"})
    assert confirmed.status_code == 200, confirmed.content
    (row,) = confirmed.json()["agreements"]
    assert row["status"] == "confirmed" and row["answered_at"] is not None
    refused(lambda: manager.post(answer, {"answer": "declined", "comments": "No"}), 403, "not_asked")
    refused(
        lambda: iro.post(path, {"to_stage": "stage_2", "bypass_agreed_by": "iro_service_manager"}),
        422,
        "bypass_reason_required",
        "reason",
    )
    ok = iro.post(path, {"to_stage": "stage_2", "reason": "Urgent"})
    assert ok.status_code == 200, ok.content
    assert ok.json()["events"][-1]["detail"]["bypass_agreed_by"] == "iro_service_manager"


def test_escalation_invalid_input_is_422(api_as, open_challenge):
    iro = api_as("iro")
    path = f"/challenges/{open_challenge['id']}/escalations"
    refused(lambda: iro.post(path, {"to_stage": "stage_9"}), 422, "unknown_stage", "to_stage")
    refused(lambda: iro.post(path, {"to_stage": "informal"}), 422, "not_a_later_stage", "to_stage")
    refused(lambda: iro.post(path, {"to_stage": "stage_3"}), 422, "bypass_reason_required", "reason")
    refused(
        lambda: iro.post(path, {"to_stage": "stage_3", "reason": "   "}),
        422,
        "bypass_reason_required",
        "reason",
    )
    refused(lambda: iro.post(path, {"to_stage": 3}), 422, None, "to_stage")
    refused(lambda: iro.post(path, {"urgent": True}), 422, None, "urgent")


@pytest.mark.parametrize(
    ("suffix", "who", "body"),
    [
        ("responses", "social_worker", {"response": "agree"}),
        ("escalations", "iro", {}),
        ("resolution", "iro", {"outcome": "x"}),
        ("cafcass-referral", "iro", {"reason": "x"}),
        ("withdrawal", "iro", {"reason": "x"}),
        ("meetings", "iro", {"summary": "x"}),
        ("actions", "iro", {"status": "done"}),
    ],
)
def test_event_dates_are_checked_on_every_transition(api_as, open_challenge, suffix, who, body):
    cid = open_challenge["id"]
    path = (
        f"/challenges/{cid}/actions/{open_challenge['actions'][0]['id']}"
        if suffix == "actions"
        else f"/challenges/{cid}/{suffix}"
    )
    client = api_as(who)
    refused(lambda: client.post(path, {**body, "on": "2026-06-11"}), 422, "date_in_future", "on")
    refused(lambda: client.post(path, {**body, "on": "2026-06-05"}), 422, "date_before_previous_event", "on")
    refused(lambda: client.post(path, {**body, "on": "2026-02-30"}), 422, None, "on")
    refused(lambda: client.post(path, {**body, "on": "tomorrow"}), 422, None, "on")
    refused(lambda: client.post(path, {**body, "surprise": 1}), 422, None, "surprise")
    ok = client.post(path, {**body, "on": "2026-06-08"})  # same day as the previous event is fine
    assert ok.status_code == 200, ok.content
    assert ok.json()["events"][-1]["on"] == "2026-06-08"


def test_reopen_and_final_comment_dates_are_checked(api_as, child):
    made = raise_challenge(api_as("iro"), child.case_number, "challenge_and_resolution", on="2026-06-01")
    cid = made["id"]
    api_as("iro").post(f"/challenges/{cid}/resolution", {"outcome": "Visited", "on": "2026-06-05"})
    refused(
        lambda: api_as("iro").post(f"/challenges/{cid}/reopening", {"reason": "x", "on": "2026-06-04"}),
        422,
        "date_before_previous_event",
        "on",
    )
    refused(
        lambda: api_as("iro").post(f"/challenges/{cid}/reopening", {"reason": "x", "on": "2026-06-12"}),
        422,
        "date_in_future",
        "on",
    )
    refused(
        lambda: api_as("iro_service_manager").post(
            f"/challenges/{cid}/final-comments", {"comments": "x", "on": "2026-06-04"}
        ),
        422,
        None,
        "on",
    )


def test_other_transition_bodies_are_validated(api_as, child, open_challenge):
    cid = open_challenge["id"]
    sw, iro = api_as("social_worker"), api_as("iro")
    refused(lambda: sw.post(f"/challenges/{cid}/responses", {"response": "maybe"}), 422, None, "response")
    refused(lambda: sw.post(f"/challenges/{cid}/responses", {}), 422, None, "response")
    refused(
        lambda: sw.post(f"/challenges/{cid}/responses", {"response": "agree", "version": "one"}),
        422,
        None,
        "version",
    )
    refused(lambda: iro.post(f"/challenges/{cid}/resolution", {}), 422, None, "outcome")
    refused(lambda: iro.post(f"/challenges/{cid}/resolution", {"outcome": "  "}), 422, "required", "outcome")
    refused(lambda: iro.post(f"/challenges/{cid}/withdrawal", {}), 422, None, "reason")
    refused(lambda: iro.post(f"/challenges/{cid}/withdrawal", {"reason": ""}), 422, "required", "reason")
    refused(lambda: iro.post(f"/challenges/{cid}/meetings", {"summary": " "}), 422, "required", "summary")
    action = open_challenge["actions"][0]["id"]
    refused(lambda: iro.post(f"/challenges/{cid}/actions/{action}", {"status": "open"}), 422, None, "status")
    refused(lambda: iro.post(f"/challenges/{cid}/actions/{action}", {}), 422, None, "status")
    refused(
        lambda: iro.post(f"/challenges/{cid}/cafcass-referral", {"reason": " "}), 422, "required", "reason"
    )
    refused(
        lambda: iro.post(f"/challenges/{cid}/cafcass-referral", {"reason": "x", "urgent": "yes"}),
        422,
        None,
        "urgent",
    )
    refused(
        lambda: iro.post(f"/challenges/{cid}/cafcass-referral", {"reason": "x", "checklist": {"a": "yes"}}),
        422,
        None,
    )
    assert iro.post(f"/challenges/{cid}/resolution", {"outcome": "Visited"}).status_code == 200
    refused(lambda: iro.post(f"/challenges/{cid}/reopening", {"reason": "  "}), 422, "required", "reason")


def test_learning_points_required_by_qa_issue_resolution(api_as, child):
    made = raise_challenge(api_as("iro"), child.case_number, "qa_issue_resolution")
    path = f"/challenges/{made['id']}/resolution"
    refused(lambda: api_as("iro").post(path, {"outcome": "Visited"}), 422, "required", "learning_points")
    assert (
        api_as("iro").post(path, {"outcome": "Visited", "learning_points": "Visit on time"}).status_code
        == 200
    )


def test_cafcass_checklist_and_preconditions_are_checked(api_as, child):
    made = raise_challenge(api_as("iro"), child.case_number, "challenge_and_resolution")
    path = f"/challenges/{made['id']}/cafcass-referral"
    iro = api_as("iro")
    # "Such a step would require the oversight and approval of the Service Manager and HoS for
    # Safeguarding": asked, not yet approved, is refused.
    refused(lambda: iro.post(path, CAFCASS_BODY), 409, "cafcass_precondition_missing")
    agree(api_as, made["id"], "service_manager_approval", "iro_service_manager")
    agree(api_as, made["id"], "hos_safeguarding_approval", "head_of_safeguarding", answer="declined")
    refused(
        lambda: iro.post(path, CAFCASS_BODY),
        409,
        "cafcass_precondition_missing",
        "preconditions.hos_safeguarding_approval",
    )
    agree(api_as, made["id"], "hos_safeguarding_approval", "head_of_safeguarding")

    def without(section: str, key: str) -> dict[str, Any]:
        return {**CAFCASS_BODY, section: {k: v for k, v in CAFCASS_BODY[section].items() if k != key}}

    refused(
        lambda: iro.post(path, without("checklist", "review_records")),
        422,
        "checklist_incomplete",
        "checklist.review_records",
    )
    refused(
        lambda: iro.post(path, without("checklist", "guardian_report")),
        422,
        "checklist_incomplete",
        "checklist.guardian_report",
    )
    refused(
        lambda: iro.post(
            path, {**CAFCASS_BODY, "checklist": {**CAFCASS_BODY["checklist"], "iro_report": False}}
        ),
        422,
        "checklist_item_required",
        "checklist.iro_report",
    )
    refused(
        lambda: iro.post(
            path, {**CAFCASS_BODY, "checklist": {**CAFCASS_BODY["checklist"], "horoscope": True}}
        ),
        422,
        "unknown_checklist_item",
        "checklist",
    )
    wrong = {**CAFCASS_BODY["preconditions"], "service_manager_approval": "service_manager"}
    refused(
        lambda: iro.post(path, {**CAFCASS_BODY, "preconditions": wrong}),
        422,
        "cafcass_precondition_other_person",
        "preconditions.service_manager_approval",
    )
    unknown = {**CAFCASS_BODY["preconditions"], "service_manager_approval": "ghost"}
    refused(
        lambda: iro.post(path, {**CAFCASS_BODY, "preconditions": unknown}),
        422,
        "unknown_user",
        "preconditions.service_manager_approval",
    )
    refused(
        lambda: iro.post(path, {**CAFCASS_BODY, "urgent": False}), 422, "cafcass_urgency_required", "urgent"
    )
    assert iro.post(path, CAFCASS_BODY).status_code == 200


def test_cafcass_precondition_for_qa_issue_resolution(api_as, child):
    made = raise_challenge(api_as("iro"), child.case_number, "qa_issue_resolution")
    path = f"/challenges/{made['id']}/cafcass-referral"
    body = {"reason": "Acute", "checklist": {"iro_report": True, "court_reference": False}}
    refused(
        lambda: api_as("iro").post(path, body),
        409,
        "cafcass_precondition_missing",
        "preconditions.deputy_director_informed",
    )
    asking = f"/challenges/{made['id']}/agreement-requests"
    request = {"purpose": "cafcass", "key": "deputy_director_informed", "person": "director", "note": "Why"}
    refused(lambda: api_as("iro").post(asking, request), 422, "wrong_role", "person")
    refused(
        lambda: api_as("iro").post(asking, {**request, "key": "nope"}), 422, "unknown_precondition", "key"
    )
    # "prior to making a referral, the IRO must inform the Deputy Director": the message is sent
    # (outbox) when they are told, before the referral is recorded; no answer is needed.
    told = api_as("iro").post(asking, {**request, "person": "deputy_director"})
    assert told.status_code == 200, told.content
    message = OutboxMessage.objects.get(kind=Kind.AGREEMENT_REQUESTED, recipient__username="deputy_director")
    assert "before it is made" in message.body and message.challenge_id == made["id"]
    refused(
        lambda: api_as("iro").post(path, {**body, "preconditions": {"deputy_director_informed": "director"}}),
        422,
        "cafcass_precondition_other_person",
        "preconditions.deputy_director_informed",
    )
    referred = api_as("iro").post(path, body)
    assert referred.status_code == 200, referred.content
    assert referred.json()["events"][-1]["detail"]["preconditions"] == {
        "deputy_director_informed": "deputy_director"
    }


def test_directors_briefing_needed_for_the_qa_dcs_stage(api_as, child):
    made = raise_challenge(api_as("iro"), child.case_number, "qa_issue_resolution")
    at_level_3 = escalate_to(api_as("iro"), made, "stage_3_level_3")
    path = f"/challenges/{at_level_3['id']}/escalations"
    iro = api_as("iro")
    refused(lambda: iro.post(path, {}), 422, "document_required", "directors_briefing")
    refused(
        lambda: iro.post(path, {"to_stage": "stage_3_level_4"}),
        422,
        "document_required",
        "directors_briefing",
    )
    for field in (
        "author",
        "legal_status",
        "parents",
        "family_address",
        "date_opened_to_csc",
        "incident",
        "background",
        "interventions",
        "current_plan",
    ):
        briefing = {**COMPLETE_BRIEFING, field: "  "}
        refused(
            lambda briefing=briefing: iro.post(path, {"directors_briefing": briefing}),
            422,
            "required",
            f"directors_briefing.{field}",
        )
    partial = {k: v for k, v in COMPLETE_BRIEFING.items() if k != "incident"}
    refused(
        lambda: iro.post(path, {"directors_briefing": partial}),
        422,
        "required",
        "directors_briefing.incident",
    )
    refused(
        lambda: iro.post(path, {"directors_briefing": {**COMPLETE_BRIEFING, "mood": "x"}}),
        422,
        None,
        "directors_briefing.mood",
    )
    refused(
        lambda: iro.post(path, {"directors_briefing": {**COMPLETE_BRIEFING, "author": 7}}),
        422,
        None,
        "directors_briefing.author",
    )
    refused(
        lambda: iro.post(path, {"directors_briefing": ["not", "an", "object"]}),
        422,
        None,
        "directors_briefing",
    )
    ok = iro.post(path, {"directors_briefing": {**COMPLETE_BRIEFING, "siblings": ""}})
    assert ok.status_code == 200, ok.content
    assert ok.json()["stage"]["key"] == "stage_3_level_4"


def test_raising_straight_at_the_qa_dcs_stage_needs_the_briefing(api_as, child):
    body = raise_body(
        child.case_number, "qa_issue_resolution", stage="stage_3_level_4", bypass_reason="Very serious"
    )
    refused(lambda: api_as("iro").post("/challenges", body), 422, "document_required", "directors_briefing")
    ok = api_as("iro").post("/challenges", {**body, "directors_briefing": COMPLETE_BRIEFING})
    assert ok.status_code == 201, ok.content


CHILD = {
    "case_number": "LCS500001",
    "first_name": "Ann",
    "last_name": "Lee",
    "date_of_birth": "2016-02-02",
    "social_worker": "social_worker",
}


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"case_number": None}, "case_number", None),
        ({"case_number": "   "}, "case_number", "required"),
        ({"first_name": ""}, "first_name", None),
        ({"last_name": None}, "last_name", None),
        ({"date_of_birth": "2016-02-30"}, "date_of_birth", None),
        ({"date_of_birth": "yesterday"}, "date_of_birth", None),
        ({"date_of_birth": "2026-06-11"}, "date_of_birth", "date_in_future"),
        ({"social_worker": None}, "social_worker", None),
        ({"social_worker": "ghost"}, "social_worker", "unknown_user"),
        ({"social_worker": "team_manager"}, "social_worker", "wrong_role"),
        ({"iro": "cp_chair"}, "iro", "wrong_role"),
        ({"cp_chair": "iro"}, "cp_chair", "wrong_role"),
        ({"nickname": "Annie"}, "nickname", None),
    ],
)
def test_invalid_child_is_422_naming_the_field(api_as, authority, change, field, code):
    body = dict(CHILD)
    for key, value in change.items():
        if value is None:
            body.pop(key)
        else:
            body[key] = value
    refused(lambda: api_as("admin").post("/children", body), 422, code, field)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "2026-06-10", "days": -1}, "days"),
        ({"start": "2026-06-10", "days": 367}, "days"),
        ({"start": "2026-06-10", "days": "five"}, "days"),
        ({"start": "2026-06-10"}, "days"),
        ({"days": 5}, "start"),
        ({"start": "2026-02-30", "days": 5}, "start"),
        ({"start": "tomorrow", "days": 5}, "start"),
        ({"start": "2026-06-10", "days": 5, "nation": "wales"}, "nation"),
        ({"start": "1999-12-31", "days": 5}, "start"),
        ({"start": "2060-12-30", "days": 5}, "start"),
    ],
)
def test_calendar_invalid_query_is_422(api_as, params, field):
    assert_error(api_as("iro").get("/calendar/add-working-days", **params), 422, None, field)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "closed"}, "status"),
        ({"page": 0}, "page"),
        ({"page": "two"}, "page"),
        ({"overdue": "perhaps"}, "overdue"),
    ],
)
def test_list_invalid_filters_are_422(api_as, params, field):
    assert_error(api_as("iro").get("/challenges", **params), 422, None, field)


def test_path_ids_that_are_not_numbers_are_refused_without_500(api_as, open_challenge):
    for path in ("/challenges/abc", "/challenges/1.5"):
        assert api_as("iro").get(path).status_code in {404, 422}
    refused(
        lambda: api_as("iro").post(f"/challenges/{open_challenge['id']}/actions/abc", {"status": "done"}), 422
    )


def test_refusals_leave_counts_unchanged(api_as, open_challenge):
    """The helper-level check, spelled out on one case: version, events and case notes stay put."""
    before = challenge_counts(open_challenge["id"])
    api_as("social_worker").post(f"/challenges/{open_challenge['id']}/escalations", {})
    api_as("iro").post(f"/challenges/{open_challenge['id']}/escalations", {"to_stage": "nope"})
    api_as("iro").post(f"/challenges/{open_challenge['id']}/withdrawal", {"reason": "x", "version": 99})
    assert challenge_counts(open_challenge["id"]) == before


# -- bad input that once yielded a 500 -------------------------------------------------------------
def test_raise_dated_before_the_calendar_is_422(api_as, child):
    refused(
        lambda: api_as("iro").post("/challenges", raise_body(child.case_number, on="1999-12-31")),
        422,
        None,
        "on",
    )


def test_huge_page_number_is_not_500(api_as, open_challenge):
    response = api_as("iro").get("/challenges", page=10**19)
    assert response.status_code in {200, 422}, response.content
    if response.status_code == 200:
        assert response.json()["results"] == []


def test_a_page_past_the_end_is_empty(api_as, open_challenge):
    body = api_as("iro").get("/challenges", page=5).json()
    assert body["results"] == [] and body["count"] == 1 and body["page"] == 5


def test_an_actions_owner_marks_it_whatever_their_role(api_as, child):
    """The owner named on an agreed action may mark it, though their role has no update_action
    permission (a Principal Social Worker who took an action at a meeting); others of that role may not."""
    made = raise_challenge(
        api_as("iro"),
        child.case_number,
        on="2026-06-08",
        actions=[{"action": "Audit the plan", "owner": "principal_social_worker", "due": "2026-06-19"}],
    )
    path = f"/challenges/{made['id']}/actions/{made['actions'][0]['id']}"
    refused(lambda: api_as("service_director").post(path, {"status": "done"}), 403, "not_allowed")
    response = api_as("principal_social_worker").post(path, {"status": "done"})
    assert response.status_code == 200, response.content
    assert response.json()["actions"][0]["status"] == "done"


def test_a_second_response_at_a_stage_is_409_unless_it_is_a_further_response(api_as, open_challenge):
    """API.md: a duplicate is 409. One response per stage; a further one must say so, and is recorded
    as a further response in the case note."""
    path = f"/challenges/{open_challenge['id']}/responses"
    social_worker = api_as("social_worker")
    assert social_worker.post(path, {"response": "agree"}).status_code == 200
    with unchanged():
        refused(lambda: social_worker.post(path, {"response": "agree"}), 409, "already_responded")
    assert social_worker.post(path, {"response": "disagree", "further": True}).status_code == 200
    note = CaseNote.objects.filter(challenge_id=open_challenge["id"]).order_by("-id").first()
    assert note is not None and note.body.startswith("Further response at")
