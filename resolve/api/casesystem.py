"""Bulk import from the case system in the JSON API (mounted on /api/v1/ by config/urls.py)."""

from __future__ import annotations

import base64
import binascii
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from resolve.api.idempotency import idempotent
from resolve.api.schemas import ErrorOut, Key, _In
from resolve.casesystem.mapping import MappingError, mapping_keys, mapping_load
from resolve.casesystem.services import ImportReport, records_import
from resolve.core import limits
from resolve.core.errors import ServiceError

router = Router(tags=["case system"])

MAX_FILES = 10
MAX_ROWS_SHOWN = 1000


class ExportFileIn(_In):
    name: Key = Field(
        min_length=1, description="The file's name: the mapping's file patterns match it (CSV)."
    )
    content: str | None = Field(
        default=None, max_length=limits.MAX_BODY_BYTES, description="The CSV text (UTF-8)."
    )
    content_base64: str | None = Field(
        default=None,
        max_length=limits.MAX_BODY_BYTES,
        description="An XLSX workbook (or CSV), base64-encoded.",
    )


class ImportIn(_In):
    mapping: Key = Field(description="A mapping Resolve holds (shipped: " + ", ".join(mapping_keys()) + ").")
    apply: bool = Field(default=False, description="Import; otherwise a dry run that writes nothing.")
    files: list[ExportFileIn] = Field(min_length=1, max_length=MAX_FILES)


class ProblemOut(Schema):
    column: str
    message: str


class RowOut(Schema):
    source: str
    row: int
    kind: str
    key: str
    action: Literal["create", "change", "unchanged", "refuse"]
    changes: list[str]
    problems: list[ProblemOut]


class ImportOut(Schema):
    applied: bool
    refused: bool
    summary: str
    counts: dict[str, int]
    file_problems: list[str]
    rows: list[RowOut]
    rows_left_off: int
    report: str


class ImportRefusedOut(Schema):
    error: dict[str, str]
    report: ImportOut


def _report_out(report: ImportReport) -> dict[str, Any]:
    rows = [row for row in report.rows if row.action != "unchanged"]
    return {
        "applied": report.applied,
        "refused": report.refused,
        "summary": report.summary(),
        "counts": {action: report.count(action) for action in ("create", "change", "unchanged", "refuse")},
        "file_problems": [str(problem) for problem in report.file_problems],
        "rows": [
            {
                "source": row.source,
                "row": row.row,
                "kind": row.kind,
                "key": row.key,
                "action": row.action,
                "changes": row.changes,
                "problems": [{"column": column, "message": message} for column, message in row.problems],
            }
            for row in rows[:MAX_ROWS_SHOWN]
        ],
        "rows_left_off": max(0, len(rows) - MAX_ROWS_SHOWN),
        "report": "\n".join(report.lines(changes_only=True)[: MAX_ROWS_SHOWN + 3]),
    }


@router.post(
    "/imports",
    response={200: ImportOut, 422: ImportRefusedOut, **dict.fromkeys((400, 401, 403, 404, 409), ErrorOut)},
)
@idempotent
def imports(request: HttpRequest, payload: ImportIn) -> Any:
    """Import teams, staff, posts, children and allocations from a case system's export (administrators).

    Without `apply` it is a dry run. With `apply` the export is imported whole or not at all: when any
    row or file is refused the answer is 422 `import_refused` with the report, and nothing is written.
    Unchanged rows are counted, not listed. The request body is bounded (1 MB): larger exports go
    through `manage.py import_records`.
    """
    try:
        mapping = mapping_load(payload.mapping) if payload.mapping in mapping_keys() else None
    except MappingError as problem:
        raise ServiceError("invalid", "bad_mapping", str(problem), "mapping") from None
    if mapping is None:
        raise ServiceError(
            "invalid",
            "unknown_mapping",
            f"There is no mapping called {payload.mapping!r}; Resolve holds {', '.join(mapping_keys())}.",
            "mapping",
        )
    files: list[tuple[str, bytes]] = []
    for index, given in enumerate(payload.files):
        field = f"files[{index}]"
        if (given.content is None) == (given.content_base64 is None):
            raise ServiceError(
                "invalid", "content", f"{field}: give either content or content_base64.", field
            )
        if given.content is not None:
            files.append((given.name, given.content.encode()))
            continue
        try:
            files.append((given.name, base64.b64decode(given.content_base64 or "", validate=True)))
        except (binascii.Error, ValueError):
            raise ServiceError(
                "invalid", "bad_base64", f"{field}.content_base64: is not base64.", f"{field}.content_base64"
            ) from None
    report = records_import(
        user=request.user,  # type: ignore[arg-type]
        mapping=mapping,
        files=files,
        apply=payload.apply,
    )
    body = _report_out(report)
    if payload.apply and report.refused:
        message = f"{report.summary()} Put right every refused row and file problem, then send it again."
        return Status(
            422, {"error": {"code": "import_refused", "message": message, "field": "files"}, "report": body}
        )
    return Status(200, body)
