"""Word documents (python-docx): the Challenge and Resolution form, the Director's briefing and the
draft of the child's wishes and feelings.

The look is set in one place, ``_styled``: Arial (as GOV.UK documents use where GDS Transport is not
licensed), black text, bold headings, tables with a light grid and shaded labels. An authority that
wants its own letterhead, fonts or colours writes this template out (``manage.py word_template``),
restyles it in Word and sets ``RESOLVE_WORD_TEMPLATE`` to it: its styles (``STYLES_USED``) and its
page header and footer are then used instead (see docs/documents.md). Column widths, the labels'
shading and the tick boxes' alignment are set on the tables themselves.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Emu, Pt, RGBColor
from docx.styles.style import _ParagraphStyle, _TableStyle
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

from resolve.challenges.case_notes import fmt_date
from resolve.core.conf import conf
from resolve.exports.selectors import Briefing, ChallengeForm, Pack

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
TICKED, UNTICKED = "☒", "☐"
FONT = "Arial"
GREY = RGBColor(0x50, 0x5A, 0x5F)


STYLES_USED = ("Normal", "Title", "Heading 2", "Table Grid", "Header", "Footer")
HEADER_FILL = "F3F2F1"  # GOV.UK light grey, as the PDFs' table headers
THEME_FONTS = ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme")


def _template() -> DocxDocument:
    if conf.word_template:
        return Document(conf.word_template)
    return _styled(Document())


def template_docx() -> bytes:
    """The built-in template, styled and empty, for an authority to restyle (``manage.py word_template``)."""
    out = io.BytesIO()
    _styled(Document()).save(out)
    return out.getvalue()


def template_missing_styles(path: str) -> list[str]:
    """The styles these documents use that a .docx lacks (``RESOLVE_WORD_TEMPLATE``'s start-up check)."""
    styles = Document(path).styles
    names = {style.name for style in styles}
    return [name for name in STYLES_USED if name not in names]


def _own_font(style: _ParagraphStyle | _TableStyle, *, size: float, bold: bool | None = None) -> None:
    """Arial in this style, whatever the theme says: a theme font named on the style wins over its
    font name in Word and LibreOffice, so headings would otherwise come out in the theme's font."""
    style.font.name = FONT
    style.font.size = Pt(size)
    if bold is not None:
        style.font.bold = bold
    fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
    for attribute in THEME_FONTS:
        fonts.attrib.pop(qn(attribute), None)
    fonts.set(qn("w:eastAsia"), FONT)  # East Asian text would otherwise fall back to the theme font


def _styled(document: DocxDocument) -> DocxDocument:
    """The built-in look: Arial, black headings with space above, small grey header and footer, and
    tables in 10 pt. (An authority's template brings its own.)"""
    styles = document.styles
    _own_font(styles["Normal"], size=11)
    styles["Normal"].paragraph_format.space_after = Pt(4)
    for name, size, before in (("Title", 22, 0), ("Heading 1", 16, 14), ("Heading 2", 13, 12)):
        style = styles[name]
        _own_font(style, size=size, bold=True)
        style.font.color.rgb = RGBColor(0x0B, 0x0C, 0x0C)
        style.paragraph_format.space_before = Pt(before)
        style.paragraph_format.space_after = Pt(4)
        style.paragraph_format.keep_with_next = True
    for name in ("Header", "Footer"):
        _own_font(styles[name], size=9)
        styles[name].font.color.rgb = GREY
    _own_font(styles["Table Grid"], size=10)
    section = document.sections[0]
    section.left_margin = section.right_margin = Pt(56)
    section.top_margin = section.bottom_margin = Pt(56)
    return document


def _field(paragraph: Paragraph, instruction: str, shown: str) -> None:
    """A Word field (PAGE, NUMPAGES) that Word and LibreOffice fill in as they lay the pages out,
    with ``shown`` as its value until they do (and in readers that do not)."""
    for kind in ("begin", "instruction", "separate", "result", "end"):
        run = paragraph.add_run()
        if kind == "instruction":
            text = OxmlElement("w:instrText")
            text.set(qn("xml:space"), "preserve")
            text.text = f" {instruction} "
            run._r.append(text)
        elif kind == "result":
            run.text = shown
        else:
            mark = OxmlElement("w:fldChar")
            mark.set(qn("w:fldCharType"), kind)
            run._r.append(mark)


def _page_furniture(document: DocxDocument, *, header: str, footer: str) -> None:
    """The child and case number at the top of every page; who produced it and the page number below.
    An authority's template keeps its own header and footer (its letterhead): these lines follow them."""
    section = document.sections[0]
    top = (
        section.header.add_paragraph() if section.header.paragraphs[0].text else section.header.paragraphs[0]
    )
    top.text = header
    top.style = document.styles["Header"]
    bottom = (
        section.footer.add_paragraph() if section.footer.paragraphs[0].text else section.footer.paragraphs[0]
    )
    bottom.style = document.styles["Footer"]
    bottom.text = f"{footer}  Page "
    _field(bottom, "PAGE", "1")
    bottom.add_run(" of ")
    _field(bottom, "NUMPAGES", "1")


def _usable_width(document: DocxDocument) -> int:
    section = document.sections[0]
    return int(section.page_width - section.left_margin - section.right_margin)  # type: ignore[operator]


def _shade(cell: _Cell, fill: str) -> None:
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().append(shading)


def _cell_margins(table: Table) -> None:
    """Room between the text and the grid (1.5 mm above and below, 2 mm at the sides)."""
    margins = OxmlElement("w:tblCellMar")
    for side, twips in (("top", 60), ("left", 110), ("bottom", 60), ("right", 110)):
        margin = OxmlElement(f"w:{side}")
        margin.set(qn("w:w"), str(twips))
        margin.set(qn("w:type"), "dxa")
        margins.append(margin)
    table._tbl.tblPr.append(margins)


def _table(
    document: DocxDocument,
    header: Sequence[str] | None,
    rows: Sequence[Sequence[str]],
    widths: Sequence[int],
    *,
    ticks: int | None = None,
) -> Table:
    """A table across the page, its columns ``widths`` per cent of it (Word reads the cells' widths,
    LibreOffice the grid's, so both are set), the header row shaded and repeated on each page.
    ``ticks``: the column of tick boxes, centred and larger."""
    assert sum(widths) == 100 and len(widths) == (len(header) if header else len(rows[0]))
    table = document.add_table(rows=0, cols=len(widths))
    table.style = document.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.LEFT
    table.autofit = False
    _cell_margins(table)
    page = _usable_width(document)
    column_widths = [Emu(page * share // 100) for share in widths]
    for column, width in zip(table.columns, column_widths, strict=True):
        column.width = width
    if header:
        cells = table.add_row().cells
        for index, (cell, text) in enumerate(zip(cells, header, strict=True)):
            cell.text = text
            cell.paragraphs[0].runs[0].font.bold = True
            if index == ticks:
                cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
            _shade(cell, HEADER_FILL)
        _repeat_header(table)
    for row in rows:
        cells = table.add_row().cells
        for index, (cell, text) in enumerate(zip(cells, row, strict=True)):
            cell.text = text
            if index == ticks:
                paragraph = cell.paragraphs[0]
                paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
                for run in paragraph.runs:
                    run.font.size = Pt(13)
    for row in table.rows:
        for cell, width in zip(row.cells, column_widths, strict=True):
            cell.width = width
            cell.paragraphs[-1].paragraph_format.space_after = Pt(0)
    return table


def _repeat_header(table: Table) -> None:
    properties = table.rows[0]._tr.get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    properties.append(repeat)


def _labelled(document: DocxDocument, rows: Sequence[tuple[str, str]], *, label: int = 35) -> Table:
    """Label and value, the labels bold on grey, as the PDFs' details tables."""
    table = _table(document, None, [list(row) for row in rows], [label, 100 - label])
    for row in table.rows:
        _shade(row.cells[0], HEADER_FILL)
        for run in row.cells[0].paragraphs[0].runs:
            run.font.bold = True
    return table


def _text(document: DocxDocument, heading: str, text: str, *, empty: str = "Not recorded.") -> None:
    document.add_heading(heading, level=2)
    for line in (text or empty).splitlines() or [empty]:
        document.add_paragraph(line)


def _date(day: dt.date | None) -> str:
    return fmt_date(day) if day else "Not recorded"


def _save(document: DocxDocument, *, title: str, subject: str, author: str) -> bytes:
    properties = document.core_properties
    properties.title = title
    properties.subject = subject
    properties.author = author
    properties.language = "en-GB"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def form_docx(form: ChallengeForm) -> bytes:
    document = _template()
    _page_furniture(
        document,
        header=f"{form.child_name}  ·  Case number {form.case_number}  ·  OFFICIAL-SENSITIVE",
        footer=f"Produced by {form.produced_by} on {fmt_date(form.produced_on.date())} from Resolve.",
    )
    authority = document.add_paragraph(form.authority)
    authority.runs[0].font.color.rgb = GREY
    document.add_heading(form.title, level=0)
    lead = document.add_paragraph()
    lead.add_run(form.stage_record or form.procedure).bold = True
    lead.add_run(f"\n{form.status_words}.")

    _labelled(
        document,
        [
            ("Date of notification", _date(form.date_of_notification)),
            ("From", form.from_),
            ("To", ", ".join(form.to) or "Not recorded"),
            ("Copied to", ", ".join(form.copied) or "Nobody"),
            ("Name of child", form.child_name),
            ("Date of birth", _date(form.date_of_birth)),
            ("Case number", form.case_number),
            ("Social worker", form.social_worker),
            ("Team and team manager", f"{form.team}; {form.team_manager}"),
        ],
    )
    document.add_heading("Stage of escalation", level=2)
    _table(
        document,
        ["Stage", "Recorded as", "Response within", "Ticked"],
        [
            [stage.name, stage.record, stage.timescale, TICKED if stage.ticked else UNTICKED]
            for stage in form.stages
        ]
        + [["Referral to Cafcass", form.cafcass_words, "", TICKED if form.cafcass_ticked else UNTICKED]],
        [32, 38, 18, 12],
        ticks=3,
    )
    _text(document, "What are we worried about? What has been done to resolve the worries?", form.concern)
    _text(document, "Outcome and impact for the child", form.impact_on_child)
    if form.desired_outcome:
        _text(document, "Outcome asked for", form.desired_outcome)
    document.add_heading("Themes and issues", level=2)
    _table(
        document,
        ["Theme", "Ticked"],
        [[label, TICKED if on else UNTICKED] for label, on in form.themes],
        [85, 15],
        ticks=1,
    )
    document.add_heading("Recommended actions (SMART)", level=2)
    if form.actions:
        _table(
            document,
            ["Action", "By when", "By whom", "Status"],
            [[a.action, fmt_date(a.by_when), a.by_whom, a.status] for a in form.actions],
            [46, 20, 20, 14],
        )
    else:
        document.add_paragraph("No actions recorded.")
    document.add_heading("Stages and who they went to", level=2)
    _table(
        document,
        ["Stage", "Entered", "To", "Copied to", "Response due"],
        [
            [
                v.stage,
                f"{fmt_date(v.entered_on)} ({v.how.lower()})",
                ", ".join(v.to),
                ", ".join(v.copied),
                _date(v.due_on),
            ]
            for v in form.visits
        ],
        [24, 20, 18, 20, 18],
    )
    document.add_heading("Response to the challenge", level=2)
    if form.responses:
        for response in form.responses:
            paragraph = document.add_paragraph()
            paragraph.paragraph_format.space_after = Pt(8)
            paragraph.add_run(f"{response.stage}: {response.by}").bold = True
            paragraph.add_run(f"\nDate: {fmt_date(response.on)} ({response.timing.lower()})")
            paragraph.add_run(f"\nResponse: {response.response}")
            if response.comments:
                paragraph.add_run(f"\n{response.comments}")
    else:
        document.add_paragraph("No response recorded yet.")
    if form.meetings:
        document.add_heading("Meetings", level=2)
        for on, summary in form.meetings:
            document.add_paragraph(f"{fmt_date(on)}: {summary}")
    if form.outcome:
        document.add_heading("Outcome", level=2)
        document.add_paragraph(f"Resolved on {_date(form.resolved_on)}: {form.outcome}")
        if form.learning_points:
            document.add_paragraph(f"Key learning points: {form.learning_points}")
    document.add_heading("IRO/CP Service Manager final comments", level=2)
    if form.final_comments:
        document.add_paragraph(form.final_comments)
        document.add_paragraph(f"{form.final_comments_by}. Date: {_date(form.final_comments_on)}")
    else:
        document.add_paragraph("None yet.")
    proof = document.add_paragraph(
        f"Evidence: this form comes from the record of challenge {form.challenge_id} "
        f"(chain {form.evidence_chain}, {form.evidence_length} events, "
        f"last hash {form.evidence_hash or 'none'}). "
        "The authority can check that hash with manage.py verify_evidence."
    )
    for run in proof.runs:
        run.font.size = Pt(8)
        run.font.color.rgb = GREY
    return _save(
        document,
        title=f"{form.title}: {form.child_name} ({form.case_number})",
        subject=form.status_words,
        author=form.produced_by,
    )


def briefing_docx(briefing: Briefing) -> bytes:
    document = _template()
    _page_furniture(
        document,
        header=f"{briefing.child_name}  ·  Case number {briefing.case_number}  ·  OFFICIAL-SENSITIVE",
        footer=f"Produced by {briefing.produced_by} on {fmt_date(briefing.produced_on.date())} from Resolve.",
    )
    authority = document.add_paragraph(briefing.authority)
    authority.runs[0].font.color.rgb = GREY
    document.add_heading("Case Briefing for Deputy Director/DCS", level=0)
    _labelled(
        document,
        [("Date of briefing", fmt_date(briefing.date_of_briefing)), *briefing.rows],
        label=40,
    )
    completed = document.add_paragraph(
        f"Completed by {briefing.completed_by} on {fmt_date(briefing.date_of_briefing)}."
    )
    completed.paragraph_format.space_before = Pt(8)
    return _save(
        document,
        title=f"Case Briefing for Deputy Director/DCS: {briefing.child_name} ({briefing.case_number})",
        subject="Director's briefing",
        author=briefing.produced_by,
    )


WISHES_AND_FEELINGS_SECTIONS = (
    "How and when the child's views were sought",
    "What the child has said about their care plan and where they live",
    "What the child has said about seeing their family and friends",
    "The child's views on the matter being referred, and on any court proceedings",
    "The IRO's view of the child's age and understanding",
)


def wishes_and_feelings_draft_docx(pack: Pack) -> bytes:
    """A draft of the child's wishes and feelings section for the IRO to complete (seed 003, item 5:
    "a report by the IRO on the child's wishes and feelings, including the child's views in relation
    to any potential court proceedings"): the child's details and what the record already says."""
    document = _template()
    _page_furniture(
        document,
        header=f"{pack.child_name}  ·  Case number {pack.case_number}  ·  OFFICIAL-SENSITIVE  ·  DRAFT",
        footer=f"Draft produced by {pack.produced_by} on {fmt_date(pack.produced_on.date())} from Resolve.",
    )
    authority = document.add_paragraph(pack.authority)
    authority.runs[0].font.color.rgb = GREY
    document.add_heading("The child's wishes and feelings (draft)", level=0)
    document.add_paragraph(
        "A draft for the Independent Reviewing Officer to complete before it is sent to Cafcass. "
        "Each heading asks for the child's own words where they can be given."
    )
    _labelled(
        document,
        [
            ("Child", pack.child_name),
            ("Date of birth", fmt_date(pack.date_of_birth)),
            ("Case number", pack.case_number),
            ("Independent Reviewing Officer", pack.iro),
        ],
    )
    if pack.challenge_id is not None:
        _text(document, "What the record says about the impact on the child", pack.impact_on_child)
    else:  # a referral with no challenge: its reason is what the record says
        _text(document, "Why the case is being referred to Cafcass", pack.reason)
    for heading in WISHES_AND_FEELINGS_SECTIONS:
        document.add_heading(heading, level=2)
        document.add_paragraph("")
    return _save(
        document,
        title=f"The child's wishes and feelings (draft): {pack.child_name} ({pack.case_number})",
        subject="Referral to Cafcass",
        author=pack.produced_by,
    )
