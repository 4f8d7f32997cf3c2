"""The shapes API.md promises: every answer has at least the fields it names, with the right types.

More fields are allowed (API.md: "Add to it freely"); renaming or dropping one is not.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
import time_machine

from resolve.api.tests.helpers import ISO_DATE, PROCEDURES, raise_body, raise_challenge

TODAY = "2026-06-10 10:00"  # a Wednesday


# -- type checks ---------------------------------------------------------------------------------
def is_date(value: Any) -> bool:
    if not isinstance(value, str) or not ISO_DATE.match(value):
        return False
    dt.date.fromisoformat(value)
    return True


def is_date_or_null(value: Any) -> bool:
    return value is None or is_date(value)


def is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def has_fields(obj: Any, fields: set[str]) -> None:
    assert isinstance(obj, dict), obj
    missing = fields - set(obj)
    assert not missing, f"missing {sorted(missing)} in {sorted(obj)}"


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_policy_summary(item: dict[str, Any]) -> None:
    has_fields(item, {"key", "name", "authority", "nation"})
    for key in ("key", "name", "authority", "nation"):
        assert isinstance(item[key], str) and item[key], (key, item)


def check_challenge_summary(item: dict[str, Any]) -> None:
    assert is_int(item["id"])
    assert item["status"] in {"open", "resolved", "withdrawn"}


def check_challenge(body: dict[str, Any]) -> None:
    has_fields(
        body,
        {
            "id",
            "child",
            "track",
            "policy",
            "status",
            "cafcass_referred_on",
            "stage",
            "formal_started_on",
            "formal_due_on",
            "themes",
            "actions",
            "events",
            "version",
        },
    )
    assert is_int(body["id"]) and is_int(body["version"])
    has_fields(body["child"], {"case_number"})
    assert isinstance(body["child"]["case_number"], str)
    assert body["track"] in {"iro", "cpc"}
    assert isinstance(body["policy"], str)
    assert body["status"] in {"open", "resolved", "withdrawn"}
    assert is_date_or_null(body["cafcass_referred_on"])
    assert is_date_or_null(body["formal_started_on"])
    assert is_date_or_null(body["formal_due_on"])
    assert is_str_list(body["themes"])
    if body["status"] == "open":
        stage = body["stage"]
        has_fields(stage, {"key", "name", "entered_on", "due_on", "to_role", "cc_roles", "overdue"})
        assert isinstance(stage["key"], str) and isinstance(stage["name"], str)
        assert is_date(stage["entered_on"]) and is_date_or_null(stage["due_on"])
        assert isinstance(stage["to_role"], str) and is_str_list(stage["cc_roles"])
        assert isinstance(stage["overdue"], bool)
    else:
        assert body["stage"] is None
    assert isinstance(body["actions"], list)
    for action in body["actions"]:
        has_fields(action, {"id", "action", "owner", "due", "status"})
        assert is_int(action["id"]) and isinstance(action["action"], str) and isinstance(action["owner"], str)
        assert is_date(action["due"]) and isinstance(action["status"], str)
    assert isinstance(body["events"], list) and body["events"]
    for event in body["events"]:
        check_event(event)


def check_event(event: dict[str, Any]) -> None:
    has_fields(event, {"type", "stage", "on", "by", "detail"})
    assert isinstance(event["type"], str)
    assert event["stage"] is None or isinstance(event["stage"], str)
    assert is_date(event["on"])
    assert event["by"] is None or isinstance(event["by"], str)
    assert isinstance(event["detail"], dict)


def check_child(body: dict[str, Any]) -> None:
    has_fields(
        body, {"case_number", "first_name", "last_name", "date_of_birth", "social_worker", "iro", "cp_chair"}
    )
    for key in ("case_number", "first_name", "last_name", "social_worker"):
        assert isinstance(body[key], str)
    assert is_date(body["date_of_birth"])
    assert body["iro"] is None or isinstance(body["iro"], str)
    assert body["cp_chair"] is None or isinstance(body["cp_chair"], str)
    assert isinstance(body["challenges"], list)
    for item in body["challenges"]:
        check_challenge_summary(item)


# -- OpenAPI ---------------------------------------------------------------------------------------
API_MD_PATHS = {
    ("get", "/api/v1/policies"),
    ("get", "/api/v1/policies/{key}"),
    ("get", "/api/v1/calendar/add-working-days"),
    ("post", "/api/v1/children"),
    ("get", "/api/v1/children/{case_number}"),
    ("get", "/api/v1/children/{case_number}/chronology"),
    ("post", "/api/v1/challenges"),
    ("get", "/api/v1/challenges"),
    ("get", "/api/v1/challenges/{id}"),
    ("post", "/api/v1/challenges/{id}/responses"),
    ("post", "/api/v1/challenges/{id}/escalations"),
    ("post", "/api/v1/challenges/{id}/resolution"),
    ("post", "/api/v1/challenges/{id}/reopening"),
    ("post", "/api/v1/challenges/{id}/cafcass-referral"),
    ("post", "/api/v1/challenges/{id}/actions/{action_id}"),
    ("post", "/api/v1/challenges/{id}/withdrawal"),
    # Not in API.md, but served and documented.
    ("post", "/api/v1/challenges/{id}/meetings"),
    ("post", "/api/v1/challenges/{id}/final-comments"),
}


def _template(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


@pytest.mark.django_db
def test_openapi_document_is_served_without_a_token_and_is_openapi_3(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    doc = response.json()
    assert doc["openapi"].startswith("3."), doc["openapi"]
    assert doc["info"]["version"]


@pytest.mark.django_db
def test_openapi_lists_every_path_of_api_md(client):
    doc = client.get("/api/v1/openapi.json").json()
    served = {(method, _template(path)) for path, ops in doc["paths"].items() for method in ops}
    wanted = {(method, _template(path)) for method, path in API_MD_PATHS}
    assert wanted <= served, sorted(wanted - served)


@pytest.mark.django_db
def test_openapi_declares_bearer_auth_and_the_error_shape(client):
    doc = client.get("/api/v1/openapi.json").json()
    schemes = doc["components"]["securitySchemes"]
    assert any(s.get("type") == "http" and s.get("scheme", "").lower() == "bearer" for s in schemes.values())
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert op.get("security"), (method, path)
            for status in ("401", "404", "422"):
                assert status in op["responses"], (method, path, status)


# -- policies and the calendar -------------------------------------------------------------------
def test_policies_list_shape(api_as):
    response = api_as("social_worker").get("/policies")
    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, list)
    for item in body:
        check_policy_summary(item)
    assert set(PROCEDURES) <= {item["key"] for item in body}


@pytest.mark.parametrize("key", PROCEDURES)
def test_policy_detail_shape(api_as, key):
    response = api_as("iro").get(f"/policies/{key}")
    assert response.status_code == 200
    body = response.json()
    check_policy_summary(body)
    assert body["key"] == key
    has_fields(body, {"formal_cap_working_days", "themes", "stages", "cafcass"})
    assert body["formal_cap_working_days"] is None or is_int(body["formal_cap_working_days"])
    for theme in body["themes"]:
        has_fields(theme, {"key", "label"})
        assert isinstance(theme["key"], str) and isinstance(theme["label"], str)
    keys = [stage["key"] for stage in body["stages"]]
    assert len(keys) == len(set(keys)) >= 2
    for position, stage in enumerate(body["stages"], start=1):
        has_fields(
            stage,
            {
                "key",
                "name",
                "kind",
                "order",
                "to_role",
                "cc_roles",
                "response_working_days",
                "bypass_requires",
                "reentry_stage",
            },
        )
        assert stage["kind"] in {"informal", "formal"}
        assert stage["order"] == position
        assert isinstance(stage["to_role"], str) and is_str_list(stage["cc_roles"])
        assert stage["response_working_days"] is None or is_int(stage["response_working_days"])
        assert stage["bypass_requires"] is None or isinstance(stage["bypass_requires"], str)
        assert stage["reentry_stage"] is None or stage["reentry_stage"] in keys
    cafcass = body["cafcass"]
    has_fields(cafcass, {"tracks", "requires", "checklist"})
    assert cafcass["tracks"] == ["iro"]
    assert isinstance(cafcass["requires"], list)
    for item in cafcass["checklist"]:
        has_fields(item, {"key", "label"})


def test_policy_detail_agreement_and_reentry_rules(api_as):
    body = api_as("iro").get("/policies/challenge_and_resolution").json()
    stages = {stage["key"]: stage for stage in body["stages"]}
    assert stages["stage_2"]["bypass_requires"] == "iro_service_manager"
    assert stages["stage_4"]["reentry_stage"] == "stage_3"
    assert stages["stage_2"]["reentry_stage"] == "stage_2"
    cla = api_as("iro").get("/policies/cla_dispute_resolution").json()
    assert {stage["bypass_requires"] for stage in cla["stages"][1:]} == {"iro_service_manager"}
    knowsley = api_as("iro").get("/policies/informal_challenge_dispute_resolution").json()
    assert knowsley["formal_cap_working_days"] == 20


def test_calendar_shape(api_as):
    response = api_as("iro").get("/calendar/add-working-days", start="2026-10-07", days=3, nation="scotland")
    assert response.status_code == 200
    body = response.json()
    has_fields(body, {"start", "days", "nation", "date"})
    assert body["start"] == "2026-10-07" and body["days"] == 3 and body["nation"] == "scotland"
    assert body["date"] == "2026-10-12"


def test_calendar_nation_defaults_to_england_and_wales(api_as):
    body = api_as("iro").get("/calendar/add-working-days", start="2026-12-24", days=1).json()
    assert body["nation"] == "england-and-wales"
    assert body["date"] == "2026-12-29"  # Christmas Day, then Boxing Day's substitute Monday


# -- children ------------------------------------------------------------------------------------
@time_machine.travel(TODAY, tick=False)
def test_child_create_shape(api_as):
    response = api_as("admin").post(
        "/children",
        {
            "case_number": "LCS200001",
            "first_name": "Ben",
            "last_name": "Hughes",
            "date_of_birth": "2015-01-31",
            "social_worker": "social_worker",
            "iro": "iro",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    check_child(body)
    assert body["case_number"] == "LCS200001"
    assert body["date_of_birth"] == "2015-01-31"
    assert body["social_worker"] == "social_worker"
    assert body["iro"] == "iro" and body["cp_chair"] is None
    assert body["challenges"] == []


@time_machine.travel(TODAY, tick=False)
def test_child_get_shape_lists_its_challenges(api_as, child):
    made = raise_challenge(api_as("iro"), child.case_number)
    body = api_as("social_worker").get(f"/children/{child.case_number}").json()
    check_child(body)
    assert [item["id"] for item in body["challenges"]] == [made["id"]]


@time_machine.travel(TODAY, tick=False)
def test_chronology_shape_oldest_first(api_as, child):
    iro = api_as("iro")
    first = raise_challenge(iro, child.case_number, on="2026-06-01")
    second = raise_challenge(api_as("cp_chair"), child.case_number, track="cpc", on="2026-05-20")
    iro.post(f"/challenges/{first['id']}/escalations", {"on": "2026-06-05"})
    response = iro.get(f"/children/{child.case_number}/chronology")
    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, list)
    for entry in body:
        check_event(entry)
        assert is_int(entry["challenge"])
    days = [entry["on"] for entry in body]
    assert days == sorted(days)
    assert {entry["challenge"] for entry in body} == {first["id"], second["id"]}


# -- challenges ----------------------------------------------------------------------------------
@time_machine.travel(TODAY, tick=False)
def test_challenge_create_and_get_shape(api_as, child):
    iro = api_as("iro")
    response = iro.post(
        "/challenges",
        raise_body(
            child.case_number,
            "challenge_and_resolution",
            themes=["placement", "voice_of_child"],
            desired_outcome="A visit this week",
            actions=[{"action": "Visit Amelia", "owner": "social_worker", "due": "2026-06-17"}],
            on="2026-06-08",
        ),
    )
    assert response.status_code == 201, response.content
    created = response.json()
    check_challenge(created)
    assert created["child"]["case_number"] == child.case_number
    assert created["track"] == "iro" and created["policy"] == "challenge_and_resolution"
    assert created["status"] == "open" and created["version"] >= 1
    assert created["themes"] == ["placement", "voice_of_child"]
    assert created["stage"]["key"] == "informal" and created["stage"]["entered_on"] == "2026-06-08"
    assert created["stage"]["to_role"] == "social_worker" and created["stage"]["cc_roles"] == ["team_manager"]
    assert created["stage"]["overdue"] is False
    assert created["cafcass_referred_on"] is None and created["formal_started_on"] is None
    assert [a["status"] for a in created["actions"]] == ["open"]
    assert created["actions"][0]["due"] == "2026-06-17"
    assert [(e["type"], e["stage"], e["on"], e["by"]) for e in created["events"]] == [
        ("raised", "informal", "2026-06-08", "iro")
    ]
    fetched = api_as("social_worker").get(f"/challenges/{created['id']}")
    assert fetched.status_code == 200
    check_challenge(fetched.json())
    assert fetched.json()["id"] == created["id"] and fetched.json()["version"] == created["version"]


@time_machine.travel(TODAY, tick=False)
def test_default_policy_and_first_stage(api_as, child, settings):
    body = raise_challenge(api_as("iro"), child.case_number, procedure_key=None)
    assert body["policy"] == settings.RESOLVE_DEFAULT_POLICY
    first = api_as("iro").get(f"/policies/{body['policy']}").json()["stages"][0]["key"]
    assert body["stage"]["key"] == first


@time_machine.travel(TODAY, tick=False)
def test_formal_dates_when_raised_at_a_formal_stage(api_as, child):
    body = raise_challenge(
        api_as("iro"),
        child.case_number,
        "informal_challenge_dispute_resolution",
        stage="stage_2",
        bypass_reason="Serious drift",
        on="2026-06-08",
    )
    assert body["formal_started_on"] == "2026-06-08"
    assert body["formal_due_on"] == "2026-07-06"  # 20 working days
    assert body["stage"]["due_on"] == "2026-06-15"


@time_machine.travel(TODAY, tick=False)
def test_list_shape(api_as, child):
    made = raise_challenge(api_as("iro"), child.case_number)
    response = api_as("iro").get("/challenges")
    assert response.status_code == 200
    body = response.json()
    has_fields(body, {"count", "page", "pages", "results"})
    assert body["count"] == 1 and body["page"] == 1 and body["pages"] == 1
    (item,) = body["results"]
    check_challenge_summary(item)
    assert item["id"] == made["id"]


@time_machine.travel(TODAY, tick=False)
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("responses", {"response": "agree", "comments": "Will visit"}),
        ("escalations", {"reason": "No answer"}),
        ("resolution", {"outcome": "Visited"}),
        ("withdrawal", {"reason": "Raised in error"}),
        ("meetings", {"summary": "Met the team manager"}),
        ("cafcass-referral", {"reason": "Acute"}),
    ],
)
def test_every_transition_answers_with_the_challenge(api_as, child, path, body):
    made = raise_challenge(api_as("iro"), child.case_number)
    who = "social_worker" if path == "responses" else "iro"
    response = api_as(who).post(f"/challenges/{made['id']}/{path}", body)
    assert response.status_code == 200, response.content
    answer = response.json()
    check_challenge(answer)
    assert answer["id"] == made["id"]
    assert answer["version"] == made["version"] + 1
    assert len(answer["events"]) == len(made["events"]) + 1


@time_machine.travel(TODAY, tick=False)
def test_action_and_reopen_and_final_comments_answer_with_the_challenge(api_as, child):
    iro = api_as("iro")
    made = raise_challenge(
        iro,
        child.case_number,
        "challenge_and_resolution",
        actions=[{"action": "Visit", "owner": "social_worker", "due": "2026-06-12"}],
    )
    action_id = made["actions"][0]["id"]
    marked = iro.post(f"/challenges/{made['id']}/actions/{action_id}", {"status": "done"})
    assert marked.status_code == 200
    check_challenge(marked.json())
    assert marked.json()["actions"][0]["status"] == "done"
    resolved = iro.post(f"/challenges/{made['id']}/resolution", {"outcome": "Visited"}).json()
    check_challenge(resolved)
    commented = api_as("iro_service_manager").post(
        f"/challenges/{made['id']}/final-comments", {"comments": "Good"}
    )
    assert commented.status_code == 200, commented.content
    check_challenge(commented.json())
    reopened = iro.post(f"/challenges/{made['id']}/reopening", {"reason": "Visits stopped"})
    assert reopened.status_code == 200
    check_challenge(reopened.json())
    assert reopened.json()["status"] == "open"


def test_a_stage_due_on_friday_is_neither_late_nor_overdue_that_weekend(api_as, child):
    """On time and overdue are the same rule, counted in working days: overdue from the first working
    day after the due date, and not "late" before then (one answer once said both on_time: false and
    overdue: false on the Saturday after a Friday due date)."""
    with time_machine.travel("2026-05-29 10:00", tick=False):  # a Friday
        made = raise_challenge(api_as("iro"), child.case_number)
    assert made["stage"]["due_on"] == "2026-06-05"  # five working days later, a Friday
    with time_machine.travel("2026-06-06 10:00", tick=False):  # the Saturday after
        body = api_as("iro").get(f"/challenges/{made['id']}").json()
        assert body["stage"]["overdue"] is False
        assert body["visits"][-1]["on_time"] is None
    with time_machine.travel("2026-06-08 10:00", tick=False):  # the Monday after
        body = api_as("iro").get(f"/challenges/{made['id']}").json()
        assert body["stage"]["overdue"] is True
        assert body["visits"][-1]["on_time"] is False


def test_past_cap_is_a_field_and_a_filter(api_as, child):
    """Seed 004: "STAGE 2 - 4 cannot take longer than 20 working days to resolve". A challenge past its
    formal cap says so in the API (``past_cap``), and ``?past_cap=true`` finds it."""
    with time_machine.travel("2026-05-29 10:00", tick=False):
        made = raise_challenge(
            api_as("iro"), child.case_number, stage="stage_1", bypass_reason="Placement at risk tonight"
        )
    cap = dt.date.fromisoformat(made["formal_due_on"])
    assert made["past_cap"] is False
    with time_machine.travel(f"{cap + dt.timedelta(days=7)} 10:00", tick=False):
        iro = api_as("iro")
        assert iro.get(f"/challenges/{made['id']}").json()["past_cap"] is True
        assert [c["id"] for c in iro.get("/challenges", past_cap="true").json()["results"]] == [made["id"]]
        assert iro.get("/challenges", past_cap="false").json()["results"] == []
        assert iro.get("/challenges").json()["results"][0]["past_cap"] is True
