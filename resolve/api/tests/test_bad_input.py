"""Issue 10 items 7 and 8: input past the documented limits, or that no column can hold, is a 4xx in the
error shape, names the field where one is at fault, and changes nothing (resolve.core.limits)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import time_machine

from resolve.api.tests.helpers import assert_error, raise_challenge, refused, unchanged
from resolve.audit.models import BreakGlassGrant
from resolve.children.models import CaseNote
from resolve.core import limits

TODAY = "2026-06-10 10:00"
SURROGATE = "\ud800"

pytestmark = pytest.mark.usefixtures("_frozen")


@pytest.fixture
def _frozen():
    with time_machine.travel(TODAY, tick=False):
        yield


def _post_raw(api: Any, path: str, body: dict[str, Any]) -> Any:
    """JSON as a client would send it: a lone surrogate written as the escape ``\\ud800``."""
    return api.client.post(
        f"/api/v1{path}",
        json.dumps(body),  # ensure_ascii keeps the surrogate as an escape, as JSON allows
        content_type="application/json",
        headers={"Authorization": f"Bearer {api.token}"},
    )


CHILD = {
    "case_number": "LCS300300",
    "first_name": "Ann",
    "last_name": "Lee",
    "date_of_birth": "2016-02-02",
    "social_worker": "social_worker",
}


# -- item 8: lone surrogates in any text field ----------------------------------------------------
@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/challenges/{id}/responses", {"response": "agree", "comments": SURROGATE}, "comments"),
        ("/challenges/{id}/escalations", {"reason": f"Late {SURROGATE}"}, "reason"),
        ("/challenges/{id}/resolution", {"outcome": SURROGATE}, "outcome"),
        ("/challenges/{id}/withdrawal", {"reason": SURROGATE}, "reason"),
        ("/challenges/{id}/meetings", {"summary": SURROGATE}, "summary"),
        ("/challenges/{id}/final-comments", {"comments": SURROGATE}, "comments"),
        ("/challenges/{id}/cafcass-referral", {"reason": SURROGATE}, "reason"),
    ],
)
def test_a_lone_surrogate_in_a_transition_is_422_naming_the_field(api_as, child, path, body, field):
    api = api_as("iro")
    challenge = raise_challenge(api, child.case_number)
    refused(lambda: _post_raw(api, path.format(id=challenge["id"]), body), 422, field=field)


@pytest.mark.parametrize(
    "field", ["concern", "impact_on_child", "desired_outcome", "bypass_reason", "themes", "child"]
)
def test_a_lone_surrogate_when_raising_is_422_naming_the_field(api_as, child, field):
    body = {
        "child": child.case_number,
        "track": "iro",
        "policy": "national",
        "concern": "No visit",
        "impact_on_child": "Unsafe",
    }
    body[field] = [SURROGATE] if field == "themes" else SURROGATE
    error = refused(lambda: _post_raw(api_as("iro"), "/challenges", body), 422)
    assert error["field"].startswith(field), error


def test_a_lone_surrogate_in_an_action_is_422_naming_it(api_as, child):
    body = {
        "child": child.case_number,
        "track": "iro",
        "concern": "No visit",
        "impact_on_child": "Unsafe",
        "actions": [{"action": SURROGATE, "owner": "social_worker", "due": "2026-06-20"}],
    }
    refused(lambda: _post_raw(api_as("iro"), "/challenges", body), 422, field="actions[0].action")


@pytest.mark.parametrize("field", ["case_number", "first_name", "last_name", "social_worker"])
def test_a_lone_surrogate_in_a_new_child_is_422(api_as, authority, field):
    refused(lambda: _post_raw(api_as("admin"), "/children", {**CHILD, field: SURROGATE}), 422, field=field)


def test_a_lone_surrogate_in_a_correction_is_422(api_as, child):
    raise_challenge(api_as("iro"), child.case_number)
    note = CaseNote.objects.filter(child=child).get()
    refused(
        lambda: _post_raw(api_as("iro"), f"/case-notes/{note.pk}/corrections", {"body": SURROGATE}),
        422,
        field="body",
    )


# -- item 8: NUL in the break-glass case number and the access-log filter ---------------------------
@pytest.mark.parametrize(
    "body",
    [
        {"case_number": "LCS100001\x00", "reason": "Child at risk, the allocated team is away today"},
        {"case_number": "LCS100001", "reason": f"Child at risk {SURROGATE} the team is away today"},
    ],
)
def test_break_glass_with_a_bad_character_is_422(api_as, child, body):
    with unchanged():
        response = _post_raw(api_as("cp_chair"), "/break-glass", body)
    assert_error(response, 422)
    assert BreakGlassGrant.objects.count() == 0


def test_nul_in_the_access_log_filter_is_400(api_as, child):
    with unchanged():
        response = api_as("iro_service_manager").get("/access-log", case_number="LCS100001\x00")
    assert_error(response, 400, "bad_character")


@pytest.mark.parametrize("path", ["/children/%00", "/children/%00/chronology", "/policies/%00"])
def test_nul_in_an_api_path_is_400(api_as, child, path):
    api = api_as("iro")
    with unchanged():
        response = api.client.get(f"/api/v1{path}", headers={"Authorization": f"Bearer {api.token}"})
    assert_error(response, 400, "bad_character")


# -- item 8 and 7: a body past the limit is 413 in the error shape ----------------------------------
@pytest.mark.parametrize("size", [limits.MAX_BODY_BYTES + 1, 2_500_000])
def test_a_body_past_the_limit_is_413(api_as, child, size):
    body = {"child": child.case_number, "track": "iro", "concern": "x" * size, "impact_on_child": "x"}
    refused(lambda: api_as("iro").post("/challenges", body), 413, "too_large")


# -- item 7: bounds on text and lists ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"concern": "x" * (limits.MAX_TEXT + 1)}, "concern"),
        ({"impact_on_child": "x" * (limits.MAX_TEXT + 1)}, "impact_on_child"),
        ({"desired_outcome": "x" * (limits.MAX_TEXT + 1)}, "desired_outcome"),
        ({"themes": ["voice_of_child"] * (limits.MAX_CHOICES + 1)}, "themes"),
        (
            {"actions": [{"action": "Visit", "owner": "social_worker", "due": "2026-06-20"}] * 3000},
            "actions",
        ),
        ({"actions": [{"action": "x" * (limits.MAX_TEXT + 1), "owner": "o", "due": "2026-06-20"}]}, None),
    ],
)
def test_raising_past_a_limit_is_422_naming_the_field(api_as, child, over, field):
    body = {"child": child.case_number, "track": "iro", "concern": "c", "impact_on_child": "i", **over}
    error = refused(lambda: api_as("iro").post("/challenges", body), 422, field=field)
    assert error["field"]


def test_fifty_actions_are_accepted(api_as, child):
    actions = [{"action": "Visit", "owner": "social_worker", "due": "2026-06-20"}]
    body = raise_challenge(api_as("iro"), child.case_number, actions=actions * limits.MAX_ACTIONS)
    assert len(body["actions"]) == limits.MAX_ACTIONS


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/challenges/{id}/responses", {"response": "agree", "comments": "x" * 10_001}, "comments"),
        ("/challenges/{id}/escalations", {"reason": "x" * 10_001}, "reason"),
        ("/challenges/{id}/resolution", {"outcome": "x" * 10_001}, "outcome"),
        ("/challenges/{id}/withdrawal", {"reason": "x" * 10_001}, "reason"),
    ],
)
def test_a_transition_past_a_limit_is_422(api_as, child, path, body, field):
    api = api_as("iro")
    challenge = raise_challenge(api, child.case_number)
    refused(lambda: api.post(path.format(id=challenge["id"]), body), 422, field=field)


def test_a_correction_past_the_limit_is_422(api_as, child):
    raise_challenge(api_as("iro"), child.case_number)
    note = CaseNote.objects.filter(child=child).get()
    body = {"body": "x" * (limits.MAX_TEXT + 1)}
    refused(lambda: api_as("iro").post(f"/case-notes/{note.pk}/corrections", body), 422, field="body")


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"case_number": "AB/12"}, "case_number", "invalid"),
        ({"case_number": "AB"}, "case_number", "invalid"),
        ({"case_number": "LCS--1"}, "case_number", "invalid"),
        ({"case_number": "-LCS1"}, "case_number", "invalid"),
        ({"case_number": "A" * 21}, "case_number", "invalid"),
        ({"first_name": "Ann\r\nBcc: everyone@example.org"}, "first_name", "invalid"),
        ({"last_name": "Lee\n"}, "last_name", "invalid"),
        ({"first_name": "x" * (limits.MAX_NAME + 1)}, "first_name", "invalid"),
        ({"date_of_birth": "0001-01-01"}, "date_of_birth", "implausible_date"),
        ({"date_of_birth": "1899-12-31"}, "date_of_birth", "implausible_date"),
        ({"date_of_birth": "2026-06-11"}, "date_of_birth", "date_in_future"),
    ],
)
def test_a_child_past_a_limit_is_422(api_as, authority, change, field, code):
    refused(lambda: api_as("admin").post("/children", {**CHILD, **change}), 422, code, field)


def test_a_case_number_is_normalised(api_as, authority):
    response = api_as("admin").post("/children", {**CHILD, "case_number": " lcs200100 "})
    assert response.status_code == 201, response.content
    assert response.json()["case_number"] == "LCS200100"
    again = api_as("admin").post("/children", {**CHILD, "case_number": "LCS200100"})
    assert_error(again, 409, "duplicate_case_number", "case_number")


def test_the_openapi_document_states_the_limits(api_as):
    doc = api_as("iro").get("/openapi.json").json()
    schemas = doc["components"]["schemas"]
    assert schemas["ChallengeIn"]["properties"]["concern"]["maxLength"] == limits.MAX_TEXT
    assert schemas["ChallengeIn"]["properties"]["actions"]["maxItems"] == limits.MAX_ACTIONS
    assert schemas["ChildIn"]["properties"]["first_name"]["maxLength"] == limits.MAX_NAME
    assert schemas["ChildIn"]["properties"]["case_number"]["pattern"] == limits.CASE_NUMBER_PATTERN
    assert schemas["CorrectionIn"]["properties"]["body"]["maxLength"] == limits.MAX_TEXT


# -- item 13: no caching, no docs page --------------------------------------------------------------
@pytest.mark.parametrize("path", ["/children/LCS100001", "/challenges", "/children/nobody", "/openapi.json"])
def test_api_answers_are_not_stored(api_as, child, path):
    response = api_as("iro").get(path)
    assert "no-store" in response["Cache-Control"], response["Cache-Control"]


def test_no_store_on_refusals_too(client):
    assert "no-store" in client.get("/api/v1/challenges")["Cache-Control"]


def test_there_is_no_swagger_ui_page(client, api_as, authority):
    assert client.get("/api/v1/docs").status_code == 404
    client.force_login(authority.staff["iro"])
    assert client.get("/api/v1/docs").status_code == 404
