"""The report's figures in the JSON API: the same numbers as the dashboard, the same scope."""

from __future__ import annotations

import pytest

from resolve.audit.models import AccessLogEntry

pytestmark = pytest.mark.django_db


def test_the_api_answers_every_figure_and_table(api_as, authority, histories):
    answer = api_as("iro_service_manager").get("/reports", year="2025")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["period"] == {
        "kind": "year",
        "start": "2025-04-01",
        "end": "2026-03-31",
        "label": "2025 to 2026",
    }
    assert body["as_at"] == "2026-03-31"
    figures = body["figures"]
    assert (figures["raised"], figures["status:open"], figures["past_cap"], figures["repeat:theme"]) == (
        4,
        2,
        1,
        1,
    )
    assert [table["key"] for table in body["tables"]][:3] == ["summary", "funnel", "timeliness"]
    learning = next(table for table in body["tables"] if table["key"] == "learning")
    assert learning["total_rows"] == len(learning["rows"]) == 1
    assert "no-store" in answer["Cache-Control"]
    assert AccessLogEntry.objects.filter(challenge_id=histories["h1"], channel="api").exists()


def test_one_table_and_the_scope(api_as, authority, histories):
    summary = api_as("team_manager_2").get("/reports/summary", year="2025").json()
    assert summary["figures"]["raised"] == 1  # only the second team's child
    assert summary["tables"][0]["rows"][0] == ["Raised in the period", 1]
    assert summary["tables"][0]["figures"][0] == [None, "raised"]


def test_refusals_are_in_the_error_shape(api_as, authority, histories):
    assert api_as("iro").get("/reports", year="2025").status_code == 403
    bad = api_as("iro_service_manager").get("/reports", month="2025-13")
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "month"
    custom = api_as("iro_service_manager").get("/reports", **{"from": "2025-04-01", "to": "2025-06-30"})
    assert custom.status_code == 200 and custom.json()["figures"]["raised"] == 2
    assert api_as("iro_service_manager").get("/reports/nonsense").status_code == 404


def test_the_openapi_document_describes_the_reports(api_as, authority):
    document = api_as("iro_service_manager").get("/openapi.json").json()
    assert "/api/v1/reports" in document["paths"]
    assert "/api/v1/reports/{table}" in document["paths"]
    names = {parameter["name"] for parameter in document["paths"]["/api/v1/reports"]["get"]["parameters"]}
    assert {
        "year",
        "quarter",
        "month",
        "from",
        "to",
        "track",
        "procedure",
        "team",
        "chair",
        "theme",
        "q",
    } <= names
