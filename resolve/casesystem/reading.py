"""Reading a case system's export (CSV or XLSX) into rows of Resolve's fields, by its mapping."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from openpyxl import load_workbook

from resolve.casesystem.mapping import KINDS, Mapping, Section

# A bound on what one import reads: rows per sheet and characters per cell.
MAX_ROWS = 250_000
MAX_CELL = 10_000


@dataclass(frozen=True)
class Sheet:
    """The rows of one kind of record, as read from one file (or one sheet of a workbook)."""

    section: Section
    source: str  # "children.csv", or "export.xlsx, sheet Children"
    rows: list[tuple[int, dict[str, str]]]  # (row number as the spreadsheet counts it, field → text)


@dataclass(frozen=True)
class FileProblem:
    """A problem with a whole file: it cannot be read, or a column the mapping names is missing."""

    source: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.message}"


def _cell(value: Any, section: Section) -> str:
    """A spreadsheet cell as the text a CSV would hold (dates in the mapping's first date format)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime | dt.date):
        return value.strftime(section.date_formats[0])
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _rows(source: str, section: Section, table: list[list[Any]] | Any) -> Sheet | FileProblem:
    iterator = iter(table)
    try:
        header = [(_cell(value, section)).strip() for value in next(iterator)]
    except StopIteration:
        return FileProblem(source, "is empty: it has no heading row.")
    where = {heading.casefold(): index for index, heading in reversed(list(enumerate(header)))}
    missing = [heading for heading in section.columns.values() if heading.casefold() not in where]
    if missing:
        return FileProblem(
            source,
            "row 1 has no column "
            + ", ".join(repr(name) for name in missing)
            + f" (the mapping's columns for {section.kind}); the headings found are "
            + ", ".join(repr(name) for name in header if name)
            + ".",
        )
    positions = {name: where[heading.casefold()] for name, heading in section.columns.items()}
    rows: list[tuple[int, dict[str, str]]] = []
    for number, values in enumerate(iterator, start=2):
        cells = [_cell(value, section) for value in values]
        if not any(cell.strip() for cell in cells):
            continue  # blank lines at the end of an export
        if len(rows) >= MAX_ROWS:
            return FileProblem(source, f"has more than {MAX_ROWS:,} rows: split it into smaller files.")
        row = {name: (cells[index] if index < len(cells) else "") for name, index in positions.items()}
        for name, text in row.items():
            if len(text) > MAX_CELL:
                return FileProblem(
                    source,
                    f"row {number}, column {section.columns[name]!r}: longer than {MAX_CELL:,} characters.",
                )
        rows.append((number, row))
    return Sheet(section=section, source=source, rows=rows)


def _decode(content: bytes) -> str:
    # Case systems on Windows often export in Windows-1252; UTF-8 (with or without a BOM) first.
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return content.decode("cp1252", errors="replace")


def export_read(mapping: Mapping, files: list[tuple[str, bytes]]) -> tuple[list[Sheet], list[FileProblem]]:
    """Every sheet the files hold, in the order an import applies them, and the files' problems."""
    sheets: list[Sheet] = []
    problems: list[FileProblem] = []
    for name, content in files:
        lowered = name.casefold()
        if lowered.endswith(".xlsx"):
            try:
                workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
            except (zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
                problems.append(FileProblem(name, f"is not a readable XLSX workbook ({error})."))
                continue
            by_sheet = {title.casefold(): title for title in workbook.sheetnames}
            found = False
            for section in mapping.sections.values():
                title = by_sheet.get(section.sheet.casefold())
                if title is None:
                    continue
                found = True
                read = _rows(f"{name}, sheet {title}", section, workbook[title].iter_rows(values_only=True))
                (sheets if isinstance(read, Sheet) else problems).append(read)  # type: ignore[arg-type]
            workbook.close()
            if not found:
                names = ", ".join(section.sheet for section in mapping.sections.values())
                problems.append(FileProblem(name, f"has none of the sheets the mapping reads ({names})."))
            continue
        matched = next(
            (s for s in mapping.sections.values() if fnmatchcase(lowered, s.file.casefold())), None
        )
        if matched is None:
            patterns = ", ".join(section.file for section in mapping.sections.values())
            problems.append(
                FileProblem(
                    name, f"matches none of the mapping's file names ({patterns}); rename it to match."
                )
            )
            continue
        if not lowered.endswith(".csv"):
            problems.append(FileProblem(name, "is neither a CSV nor an XLSX file."))
            continue
        read = _rows(name, matched, csv.reader(io.StringIO(_decode(content), newline="")))
        (sheets if isinstance(read, Sheet) else problems).append(read)  # type: ignore[arg-type]
    sheets.sort(key=lambda sheet: KINDS.index(sheet.section.kind))
    return sheets, problems
