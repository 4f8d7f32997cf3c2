"""The report's figures as JSON, for an authority's data warehouse (mounted on /api/v1/ by config/urls.py).

The same figures as the dashboard, from the same selectors, scoped to the token's user in the same
way; a role without ``view_reports`` is refused with 403.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from resolve.access.log import access_record_many
from resolve.api.schemas import ErrorOut, SafeStr
from resolve.core.clock import today
from resolve.core.errors import ServiceError
from resolve.reports.periods import period_parse
from resolve.reports.selectors import filters_parse, report_for, report_names
from resolve.reports.tables import MAX_LEARNING_ROWS, TABLE_KEYS, Table, learning_entries, report_tables

router = Router(tags=["reports"])


class ReportQuery(Schema):
    year: SafeStr | None = None
    quarter: SafeStr | None = None
    month: SafeStr | None = None
    # "from" is a Python keyword: the query parameter is "from", the attribute from_.
    from_: SafeStr | None = Field(None, alias="from")
    to: SafeStr | None = None
    track: SafeStr | None = None
    procedure: SafeStr | None = None
    team: SafeStr | None = None
    chair: SafeStr | None = None
    theme: SafeStr | None = None
    q: SafeStr | None = None


class PeriodOut(Schema):
    kind: str
    start: dt.date
    end: dt.date
    label: str


class TableOut(Schema):
    key: str
    title: str
    description: str
    columns: list[str]
    rows: list[list[str | int | float | None]]
    figures: list[list[str | None]]  # for each cell, the key of the figure it counts (see "figures")
    total_rows: int  # the rows there are: the learning lists its newest 1,000 (the CSV export has all)


class ReportOut(Schema):
    period: PeriodOut
    as_at: dt.date
    figures: dict[str, int]
    tables: list[TableOut]


def _errors() -> dict[int, Any]:
    return dict.fromkeys((400, 401, 403, 404, 422), ErrorOut)


def _params(query: ReportQuery) -> dict[str, str]:
    values = query.dict()
    values["from"] = values.pop("from_", None)
    return {key: value for key, value in values.items() if value}


def _table_out(table: Table) -> dict[str, Any]:
    return {
        "key": table.key,
        "title": table.title,
        "description": table.description,
        "columns": list(table.columns),
        "rows": [[cell.value for cell in row] for row in table.rows],
        "figures": [[cell.figure for cell in row] for row in table.rows],
        "total_rows": table.rows_total,
    }


def _report(request: HttpRequest, query: ReportQuery, only: str | None) -> dict[str, Any]:
    params = _params(query)
    words = (params.get("q") or "").lower().split()
    period = period_parse(params, today=today())
    report = report_for(user=request.user, period=period, filters=filters_parse(params), today=today())
    tables = report_tables(report, report_names(report=report), words=words, learning_limit=MAX_LEARNING_ROWS)
    if only is None or only == "learning":
        # The outcomes and learning are the words of each challenge's record: each look is logged.
        looked = learning_entries(report, words)[:MAX_LEARNING_ROWS]
        access_record_many(
            user=request.user, records=[(entry.child_id, entry.challenge_id) for entry in looked]
        )
    chosen = [tables[only]] if only else list(tables.values())
    return {
        "period": {"kind": period.kind, "start": period.start, "end": period.end, "label": period.label},
        "as_at": report.as_at,
        "figures": report.figures(),
        "tables": [_table_out(table) for table in chosen],
    }


@router.get("/reports", response={200: ReportOut, **_errors()})
def report_all(request: HttpRequest, query: Query[ReportQuery]) -> Any:
    """Every figure and table of the report for a period (default: this financial year, April to March).

    Choose the period with `year` (the year it starts in) and `quarter` (1-4), or `month` (YYYY-MM),
    or `from` and `to` (YYYY-MM-DD); narrow it with `track` (iro, cpc), `procedure` (key), `team`
    (id; 0 for no team), `chair` (username) and `theme` (key); search the learning with `q`.
    `figures` maps each figure's key to the number of challenges behind it.
    """
    return _report(request, query, None)


@router.get("/reports/{table}", response={200: ReportOut, **_errors()})
def report_table(request: HttpRequest, table: str, query: Query[ReportQuery]) -> Any:
    """One table of the report: summary, funnel, timeliness, themes, themes_by_team, repeats, teams,
    managers, cafcass or learning. The same parameters as /reports."""
    if table not in TABLE_KEYS:
        raise ServiceError(
            "not_found",
            "no_such_table",
            f"There is no table {table[:50]!r}; choose one of " + ", ".join(TABLE_KEYS) + ".",
            "table",
        )
    return _report(request, query, table)
