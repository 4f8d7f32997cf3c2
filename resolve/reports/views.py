"""The reports pages and exports. Each view parses, calls the selectors, renders."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.safestring import mark_safe

from resolve.access import Perm, user_has_perm
from resolve.access.log import access_record_many
from resolve.core.clock import today
from resolve.core.errors import ServiceError
from resolve.reports import charts
from resolve.reports.exports import annual_report_docx, table_csv, tables_xlsx
from resolve.reports.figures import LearningEntry, Report
from resolve.reports.periods import Period, financial_year, financial_year_of, period_parse
from resolve.reports.selectors import (
    Names,
    ReportFilters,
    filters_parse,
    report_filter_choices,
    report_for,
    report_names,
)
from resolve.reports.tables import MAX_LEARNING_ROWS, TABLE_KEYS, Table, learning_entries, report_tables

LEARNING_SHOWN = 50
MAX_SEARCH = 200


def _search_words(request: HttpRequest) -> list[str]:
    query = (request.GET.get("q") or "").strip()
    if len(query) > MAX_SEARCH or "\x00" in query:
        raise ServiceError("invalid", "invalid_search", f"Search with {MAX_SEARCH} characters or fewer.", "q")
    return query.lower().split()


@dataclass
class Chart:
    svg: str
    table: Table


def _charts(report: Report, names: Names, tables: dict[str, Table]) -> dict[str, Chart]:
    funnel = report.funnel
    several = len({row.procedure for row in funnel}) > 1

    def label(procedure: str, stage: str) -> str:
        # The procedure's name only when there is more than one to tell apart.
        return f"{names.procedures.get(procedure, procedure)}: {stage}" if several else stage

    stage_labels = [label(r.procedure, r.name) for r in funnel]
    timeliness = report.timeliness
    return {
        "funnel": Chart(
            charts.stacked_bar_chart(
                title="Where challenges were resolved, withdrawn or still are, by stage",
                labels=stage_labels,
                series=[
                    charts.Series("Resolved at", charts.GREEN, [r.resolved_at for r in funnel]),
                    charts.Series("Withdrawn at", charts.DARK_GREY, [r.withdrawn_at for r in funnel]),
                    charts.Series("Still open at", charts.BLUE, [r.open_at for r in funnel]),
                ],
            ),
            tables["funnel"],
        ),
        "timeliness": Chart(
            charts.stacked_bar_chart(
                title="Responses at each stage: on time, late, missing, extended",
                labels=[label(r.procedure, r.name) for r in timeliness],
                series=[
                    charts.Series("On time", charts.GREEN, [r.counts["on_time"] for r in timeliness]),
                    charts.Series("Late", charts.ORANGE, [r.counts["late"] for r in timeliness]),
                    charts.Series("Missing", charts.RED, [r.counts["missing"] for r in timeliness]),
                    charts.Series("Extended", charts.PURPLE, [r.counts["extended"] for r in timeliness]),
                ],
            ),
            tables["timeliness"],
        ),
        "themes": Chart(
            charts.bar_chart(
                title="Challenges by theme",
                labels=[names.theme(theme) for theme in report.themes],
                values=[report.count(f"theme:{theme}") for theme in report.themes],
            ),
            tables["themes"],
        ),
        "trend": Chart(
            charts.bar_chart(
                title="Challenges raised in each part of the period",
                labels=[part.label for part in report.trend_periods],
                values=[report.count(f"raised:{index}") for index in range(len(report.trend_periods))],
                colour=charts.BLUE,
            ),
            tables["themes"],
        ),
    }


def _query(period: Period, filters: ReportFilters, **extra: str) -> str:
    return urlencode({**period.query(), **filters.query(), **{k: v for k, v in extra.items() if v}})


def _log_learning(user: Any, entries: Sequence[LearningEntry]) -> None:
    """The outcomes and learning quoted are the words of each challenge's record: log each look."""
    access_record_many(user=user, records=[(entry.child_id, entry.challenge_id) for entry in entries])


def _refused(request: HttpRequest, error: ServiceError, status: int) -> HttpResponse:
    return render(request, "reports/refused.html", {"error": error}, status=status)


def _prepare(
    request: HttpRequest, *, learning_limit: int | None = None
) -> tuple[Period, ReportFilters, Report, Names, dict[str, Table], list[str]]:
    user: User = request.user  # type: ignore[assignment]
    words = _search_words(request)
    period = period_parse(request.GET, today=today())
    filters = filters_parse(request.GET)
    report = report_for(user=user, period=period, filters=filters, today=today())
    names = report_names(report=report)
    tables = report_tables(report, names, words=words, learning_limit=learning_limit)
    return period, filters, report, names, tables, words


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    if not user_has_perm(user=request.user, perm=Perm.VIEW_REPORTS):
        return _refused(
            request,
            ServiceError("forbidden", "not_allowed", "Your role does not allow you to see the reports."),
            403,
        )
    try:
        period, filters, report, names, tables, words = _prepare(request, learning_limit=LEARNING_SHOWN)
    except ServiceError as error:
        return render(
            request,
            "reports/dashboard.html",
            {
                "errors": [{"text": error.message, "href": f"#{error.field or 'year'}"}],
                "choices": _choices(request),
            },
            status=400,
        )
    learning = tables["learning"]
    _log_learning(request.user, learning_entries(report, words)[:LEARNING_SHOWN])
    query = _query(period, filters)
    this_year = financial_year_of(today())
    return render(
        request,
        "reports/dashboard.html",
        {
            "period": period,
            "filters": filters,
            "report": report,
            "tables": tables,
            "charts": {
                # Built by our charts module, which escapes every text it draws.
                key: {"svg": mark_safe(chart.svg), "table": chart.table}  # noqa: S308  # nosec B308 B703
                for key, chart in _charts(report, names, tables).items()
            },
            "learning_rows": learning.rows[:LEARNING_SHOWN],
            # The same entries with their dates, for the page to write them the GOV.UK way.
            "learning_dates": [
                entry.resolved_on for entry in learning_entries(report, words)[:LEARNING_SHOWN]
            ],
            "learning_total": learning.rows_total,
            "learning_shown": LEARNING_SHOWN,
            "query": query,
            "q": " ".join(words),
            "list_url": reverse("web:challenge_list"),
            "table_keys": TABLE_KEYS,
            "choices": _choices(request),
            "years": [financial_year(year) for year in range(this_year, this_year - 4, -1)],
            "today": today(),
        },
    )


def _choices(request: HttpRequest) -> dict[str, Any]:
    found = report_filter_choices(user=request.user)
    this_year = financial_year_of(today())
    return {
        **found,
        "year": [(str(year), financial_year(year).label) for year in range(this_year, this_year - 6, -1)],
        "track": [
            ("iro", "IRO (looked-after child)"),
            ("cpc", "CP Chair (child protection or child in need)"),
        ],
        "selected": {
            key: request.GET.get(key, "")
            for key in (
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
            )
        },
    }


CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


def _file(content: bytes, kind: str, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type=CONTENT_TYPES[kind])
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
def export(request: HttpRequest, table: str, kind: str) -> HttpResponse:
    """One table as CSV or XLSX, ``all`` tables as one XLSX workbook, or ``annual-report`` as Word.

    The path holds ``/export``, so every record looked at while making it is logged as an export.
    """
    if table not in (*TABLE_KEYS, "all", "annual-report") or kind not in CONTENT_TYPES:
        raise Http404("No such export")
    if (table == "annual-report") != (kind == "docx") or (table == "all" and kind != "xlsx"):
        raise Http404("No such export")
    if not user_has_perm(user=request.user, perm=Perm.VIEW_REPORTS):
        return _refused(
            request,
            ServiceError("forbidden", "not_allowed", "Your role does not allow you to see the reports."),
            403,
        )
    try:
        # Only the learning's own exports list all of it; the rest show at most its newest.
        every = table in ("learning", "all")
        period, _filters, report, _names, tables, words = _prepare(
            request, learning_limit=None if every else MAX_LEARNING_ROWS
        )
    except ServiceError as error:
        return _refused(request, error, 400)
    stamp = f"{period.slug}-{today():%Y-%m-%d}"
    if table == "annual-report":
        _log_learning(request.user, learning_entries(report, words)[:MAX_LEARNING_ROWS])
        return _file(
            annual_report_docx(report=report, tables=tables),
            "docx",
            f"iro-annual-report-challenges-{stamp}.docx",
        )
    if table in ("learning", "all"):
        _log_learning(request.user, learning_entries(report, words))
    if table == "all":
        return _file(tables_xlsx(tables.values()), "xlsx", f"challenge-report-{stamp}.xlsx")
    if kind == "csv":
        return _file(table_csv(tables[table]), "csv", f"challenge-report-{table}-{stamp}.csv")
    return _file(tables_xlsx([tables[table]]), "xlsx", f"challenge-report-{table}-{stamp}.xlsx")
