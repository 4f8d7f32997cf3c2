"""The report's tables as files: CSV, XLSX (openpyxl) and the annual IRO report's challenge section
as a Word document (python-docx).

The Word document carries the figures as tables, not pictures of the charts: Word does not show SVG
reliably, and turning our SVG into PNG would need a rasteriser that is not a dependency (WeasyPrint
draws SVG only into PDF). Each chart's figures are in the table beside it, so nothing is lost, and
an authority can chart them in its own house style after pasting.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from docx import Document
from docx.shared import Pt
from openpyxl import Workbook
from openpyxl.styles import Font

from resolve.reports.figures import Report
from resolve.reports.tables import MAX_LEARNING_ROWS, Table

# Text a spreadsheet would run as a formula if a cell started with it (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def table_csv(table: Table) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow([_safe(cell.value) if cell.value is not None else "" for cell in row])
    # With a byte-order mark, Excel opens the file as UTF-8.
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def tables_xlsx(tables: Iterable[Table]) -> bytes:
    """One sheet per table, headings in bold."""
    workbook = Workbook()
    first = True
    for table in tables:
        sheet = workbook.active if first else workbook.create_sheet()
        assert sheet is not None
        first = False
        sheet.title = table.title[:31].replace("/", " ")
        sheet.append(list(table.columns))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in table.rows:
            sheet.append([_safe(cell.value) for cell in row])
        for index, heading in enumerate(table.columns, start=1):
            width = max([len(heading), *(len(row[index - 1].text) for row in table.rows)])
            sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = min(
                max(width, 8) + 2, 60
            )
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _docx_table(document: Document, table: Table) -> None:  # type: ignore[valid-type]
    grid = document.add_table(rows=1, cols=len(table.columns))  # type: ignore[attr-defined]
    grid.style = "Table Grid"
    for cell, heading in zip(grid.rows[0].cells, table.columns, strict=True):
        cell.text = heading
        for run in cell.paragraphs[0].runs:
            run.bold = True
    for row in table.rows:
        cells = grid.add_row().cells
        for cell, value in zip(cells, row, strict=True):
            cell.text = value.text


def annual_report_docx(*, report: Report, tables: dict[str, Table], authority: str = "") -> bytes:
    """The challenge section of the annual IRO report for the period, ready to paste."""
    document = Document()
    style = document.styles["Normal"]
    style.font.name = "Arial"
    style.font.size = Pt(11)
    period = report.period
    document.add_heading(f"Challenge and dispute resolution: {period.label}", level=1)
    raised = report.count("raised")
    resolved = report.count("status:resolved")
    formal = report.count("kind:formal")
    document.add_paragraph(
        f"{authority + ': ' if authority else ''}from {period.start:%-d %B %Y} to {period.end:%-d %B %Y}, "
        f"Independent Reviewing Officers and Child Protection Chairs raised {raised} "
        f"challenge{'s' if raised != 1 else ''}. {resolved} {'were' if resolved != 1 else 'was'} resolved, "
        f"{report.count('status:withdrawn')} withdrawn and {report.count('status:open')} still open on "
        f"{report.as_at:%-d %B %Y}. {formal} reached a formal stage; {report.count('past_cap')} went past "
        f"the formal limit; {report.count('cafcass')} {'were' if report.count('cafcass') != 1 else 'was'} "
        f"referred to Cafcass. {_without_challenge_words(report.cafcass_without_challenge)}"
    )
    for key in ("summary", "funnel", "timeliness", "themes", "repeats", "teams", "cafcass"):
        table = tables[key]
        document.add_heading(table.title, level=2)
        document.add_paragraph(table.description)
        _docx_table(document, table)
    learning = tables["learning"]
    document.add_heading("Outcomes and key learning points", level=2)
    if not learning.rows:
        document.add_paragraph("No challenge raised in the period has been resolved yet.")
    shown = learning.rows[:MAX_LEARNING_ROWS]
    if learning.rows_total > len(shown):
        document.add_paragraph(
            f"The newest {len(shown):,} of {learning.rows_total:,} are listed; the learning export "
            "(CSV or Excel) has them all."
        )
    for row in shown:
        values = {heading: cell.text for heading, cell in zip(learning.columns, row, strict=True)}
        document.add_paragraph(
            f"Challenge {values['Challenge']} ({values['Case number']}), resolved {values['Resolved on']} "
            f"at {values['Stage']}",
            style="List Bullet",
        )
        for heading in ("Outcome", "Key learning points", "Final comments"):
            if values[heading]:
                paragraph = document.add_paragraph()
                paragraph.add_run(f"{heading}: ").bold = True
                paragraph.add_run(values[heading])
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _without_challenge_words(count: int) -> str:
    """Referrals to Cafcass of a child's case with no challenge (seed 000), made in the period."""
    if count == 1:
        return "1 referral of a child's case to Cafcass with no challenge was made in the period."
    return f"{count} referrals of a child's case to Cafcass with no challenge were made in the period."
