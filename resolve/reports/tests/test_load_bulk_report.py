"""The histories ``manage.py load_bulk`` writes give every section of the reports dashboard figures
to count, so that measuring the dashboard at scale measures real work."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from resolve.reports.periods import financial_year
from resolve.reports.selectors import ReportFilters, report_for, report_names
from resolve.reports.tables import report_tables

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 6, 1)


def _load(count: int) -> None:
    call_command("load_bulk", str(count), "--today", TODAY.isoformat(), stdout=StringIO())


def test_every_section_of_the_dashboard_has_figures_for_bulk_data(authority: Any) -> None:
    _load(600)
    reader = authority.staff["iro_service_manager"]
    report = report_for(user=reader, period=financial_year(2025), filters=ReportFilters(), today=TODAY)
    tables = report_tables(report, report_names(report=report))
    for key, table in tables.items():
        assert table.rows, key
    for figure in (
        "raised",
        "status:open",
        "status:resolved",
        "status:withdrawn",
        "kind:informal",
        "kind:formal",
        "track:iro",
        "track:cpc",
        "reopened",
        "past_cap",
        "cafcass",
        "cafcass:urgent",
        "repeat:child",
        "repeat:theme",
    ):
        assert report.count(figure) > 0, figure
    for stage in report.funnel:
        assert stage.reached and stage.resolved_at, stage
    for timing in report.timeliness:
        assert timing.counts["on_time"] and timing.counts["late"] and timing.counts["missing"], timing
    assert sum(timing.counts["extended"] for timing in report.timeliness) > 0
    assert len(report.managers) >= 4 and all(row.on_time for row in report.managers)
    assert len(report.teams) == 2 and report.themes
    assert report.cafcass_median_working_days is not None
    assert report.learning
