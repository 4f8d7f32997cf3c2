"""The flowchart of a procedure's ladder, laid out from the procedure data and drawn as SVG.

Two steps, so the geometry can be tested without parsing markup: ``flowchart_layout`` places a box
per stage (top to bottom, in ladder order), the "not resolved" arrows between them, the re-entry
loops on the left, the bracket of the formal stages and their cap on the right, and the Cafcass
referral below; ``flowchart_svg`` draws that layout. The SVG is styled by classes in our stylesheet
(no inline styles, for the Content Security Procedure) and carries ``role="img"`` with a title and a
description; the page repeats every fact in text for people who cannot see it.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape

from django.utils.safestring import SafeString, mark_safe

from resolve.people.roles import role_label
from resolve.procedures.schema import DOCUMENT_KINDS, Procedure, Stage

# Geometry, in SVG user units (the SVG scales to its column; these fix the proportions).
WIDTH = 840
BOX_X = 70
BOX_WIDTH = 560
PADDING = 12
TITLE_HEIGHT = 22
LINE_HEIGHT = 19
GAP = 46
LOOP_X = 52  # the first re-entry loop's x; later loops step left
LOOP_STEP = 14
BRACKET_X = 650
LABEL_X = 666
LABEL_CHARS = 19
# GDS Transport at 14px averages about 7.4 units a character; wrap a little early to be safe.
BOX_CHARS = 70
TITLE_CHARS = 58  # bold 16px runs wider


@dataclass(frozen=True)
class Box:
    key: str
    kind: str  # "informal", "formal" or "cafcass"
    x: int
    y: int
    width: int
    height: int
    title: tuple[str, ...]
    lines: tuple[str, ...]

    @property
    def bottom(self) -> int:
        return self.y + self.height

    @property
    def middle(self) -> int:
        return self.y + self.height // 2


@dataclass(frozen=True)
class Arrow:
    kind: str  # "next", "reentry" or "cafcass"
    points: tuple[tuple[int, int], ...]
    label: str = ""
    label_at: tuple[int, int] = (0, 0)


@dataclass(frozen=True)
class Bracket:
    top: int
    bottom: int
    lines: tuple[str, ...]


@dataclass
class Layout:
    width: int
    height: int
    title: str
    description: str
    boxes: list[Box] = field(default_factory=list)
    arrows: list[Arrow] = field(default_factory=list)
    bracket: Bracket | None = None

    def box(self, key: str) -> Box:
        for box in self.boxes:
            if box.key == key:
                return box
        raise KeyError(key)


def _roles(keys: list[str], label: Callable[[str], str]) -> str:
    return ", ".join(label(key) for key in keys)


def _to_words(stage: Stage, label: Callable[[str], str]) -> str:
    """ "the Team Manager", or "the partner agency's manager" on a partner agency's ladder."""
    return f"the {label(stage.to_role)}" if stage.to_role else stage.to_words


def stage_lines(procedure: Procedure, stage: Stage, label: Callable[[str], str] = role_label) -> list[str]:
    """The facts of one stage as short sentences, in the order the box and the page show them."""
    lines = [f"To: {label(stage.to_role) if stage.to_role else stage.to_words}"]
    if stage.cc_roles:
        lines.append(f"Copied to: {_roles(stage.cc_roles, label)}")
    if stage.notify_roles:
        lines.append(f"Also told: {_roles(stage.notify_roles, label)}")
    if stage.response_working_days:
        days = stage.response_working_days
        lines.append(f"Response within {days} working day{'s' if days != 1 else ''}")
    if stage.meeting:
        lines.append(
            f"Meeting {'required' if stage.meeting.required else 'if needed'}: {stage.meeting.description}"
        )
    if stage.documents:
        lines.append("Needs: " + ", ".join(DOCUMENT_KINDS.get(doc, doc) for doc in stage.documents))
    bypass = procedure.bypass_rule(stage.key)
    if bypass:
        lines.append(f"Starting here early needs the agreement of the {label(bypass)}")
    reentry = procedure.reentry_for(stage.key)
    if reentry != stage.key:
        lines.append(f"If agreed actions are not delivered, re-opens at: {procedure.stage(reentry).name}")
    return lines


def _cafcass_lines(procedure: Procedure, label: Callable[[str], str]) -> list[str]:
    cafcass = procedure.cafcass
    lines = ["IROs only, for looked-after children"]
    if cafcass.earliest_stage:
        lines.append(f"From {procedure.stage(cafcass.earliest_stage).name} onwards")
    else:
        lines.append("At any point")
    if cafcass.urgent_before_stage:
        lines.append(f"Before {procedure.stage(cafcass.urgent_before_stage).name}, only if urgent")
    lines.extend(f"{item.label} ({label(item.role)})" for item in cafcass.requires)
    if cafcass.checklist:
        lines.append(f"Referral checklist: {len(cafcass.checklist)} items")
    return lines


def _wrap(lines: list[str], width: int) -> tuple[str, ...]:
    wrapped: list[str] = []
    for line in lines:
        wrapped.extend(textwrap.wrap(line, width=width, subsequent_indent="  ") or [""])
    return tuple(wrapped)


def _box_height(title: tuple[str, ...], lines: tuple[str, ...]) -> int:
    return PADDING + TITLE_HEIGHT * len(title) + LINE_HEIGHT * len(lines) + PADDING


def stage_title(procedure: Procedure, stage: Stage) -> str:
    # The procedures number their stages in their own words ("Stage 1: Team Manager"), so the
    # name is the title; a position number of ours would contradict theirs.
    return stage.name


def flowchart_description(procedure: Procedure, label: Callable[[str], str] = role_label) -> str:
    """One paragraph a screen reader reads for the whole picture."""
    parts = []
    for stage in procedure.stages:
        days = (
            f", response within {stage.response_working_days} working days"
            if stage.response_working_days
            else ""
        )
        parts.append(f"{stage_title(procedure, stage)} ({stage.kind}), to {_to_words(stage, label)}{days}")
    text = "; if not resolved, ".join(parts) + "."
    text += f" The formal stages take at most {procedure.formal_cap_working_days} working days in total."
    if "iro" in procedure.cafcass.tracks and "iro" in procedure.tracks:
        when = (
            f"from {procedure.stage(procedure.cafcass.earliest_stage).name}"
            if procedure.cafcass.earliest_stage
            else "at any point"
        )
        text += f" An IRO may refer a looked-after child's case to Cafcass {when}."
    return text


def flowchart_layout(procedure: Procedure, label: Callable[[str], str] = role_label) -> Layout:
    layout = Layout(
        width=WIDTH,
        height=0,
        title=f"Flowchart of the {procedure.name}",
        description=flowchart_description(procedure, label),
    )
    y = 20
    for stage in procedure.stages:
        lines = _wrap(stage_lines(procedure, stage, label), BOX_CHARS)
        title = tuple(textwrap.wrap(stage_title(procedure, stage), TITLE_CHARS))
        box = Box(
            key=stage.key,
            kind=stage.kind,
            x=BOX_X,
            y=y,
            width=BOX_WIDTH,
            height=_box_height(title, lines),
            title=title,
            lines=lines,
        )
        if layout.boxes:
            above = layout.boxes[-1]
            centre = BOX_X + BOX_WIDTH // 2
            layout.arrows.append(
                Arrow(
                    kind="next",
                    points=((centre, above.bottom), (centre, box.y)),
                    label="Not resolved",
                    label_at=(centre + 10, above.bottom + GAP // 2 + 5),
                )
            )
        layout.boxes.append(box)
        y = box.bottom + GAP

    # Re-entry loops: from the left edge of the stage back up to the stage it re-opens at.
    loop = 0
    for stage in procedure.stages:
        target = procedure.reentry_for(stage.key)
        if target == stage.key:
            continue
        source, into = layout.box(stage.key), layout.box(target)
        x = LOOP_X - loop * LOOP_STEP
        loop += 1
        layout.arrows.append(
            Arrow(
                kind="reentry",
                points=(
                    (BOX_X, source.middle + 8),
                    (x, source.middle + 8),
                    (x, into.middle + 8),
                    (BOX_X, into.middle + 8),
                ),
            )
        )

    formal = [box for box in layout.boxes if box.kind == "formal"]
    if formal:
        cap = procedure.formal_cap_working_days
        layout.bracket = Bracket(
            top=formal[0].y,
            bottom=formal[-1].bottom,
            lines=tuple(textwrap.wrap(f"Formal stages: at most {cap} working days in total", LABEL_CHARS)),
        )

    if "iro" in procedure.tracks:
        lines = _wrap(_cafcass_lines(procedure, label), BOX_CHARS)
        last = layout.boxes[-1]
        box = Box(
            key="cafcass",
            kind="cafcass",
            x=BOX_X,
            y=y,
            width=BOX_WIDTH,
            height=_box_height(("Referral to Cafcass",), lines),
            title=("Referral to Cafcass",),
            lines=lines,
        )
        centre = BOX_X + BOX_WIDTH // 2
        layout.arrows.append(
            Arrow(
                kind="cafcass",
                points=((centre, last.bottom), (centre, box.y)),
                label="Still not resolved",
                label_at=(centre + 10, last.bottom + GAP // 2 + 5),
            )
        )
        layout.boxes.append(box)
        y = box.bottom + GAP

    layout.height = y - GAP + 20
    return layout


def _text(x: int, y: int, value: str, css: str) -> str:
    return f'<text x="{x}" y="{y}" class="{css}">{escape(value)}</text>'


def flowchart_svg(
    procedure: Procedure, label: Callable[[str], str] = role_label, *, id_prefix: str = "flowchart"
) -> SafeString:
    """The flowchart as an inline SVG element, every text escaped."""
    layout = flowchart_layout(procedure, label)
    title_id, desc_id, marker_id = f"{id_prefix}-title", f"{id_prefix}-desc", f"{id_prefix}-arrow"
    parts = [
        f'<svg class="app-flowchart" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {layout.width} {layout.height}" role="img" '
        f'aria-labelledby="{title_id} {desc_id}" focusable="false">',
        f'<title id="{title_id}">{escape(layout.title)}</title>',
        f'<desc id="{desc_id}">{escape(layout.description)}</desc>',
        f'<defs><marker id="{marker_id}" viewBox="0 0 10 10" refX="9" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M 0 0 L 10 5 L 0 10 z" class="app-flowchart__arrowhead"/></marker></defs>',
    ]
    for box in layout.boxes:
        parts.append(
            f'<rect x="{box.x}" y="{box.y}" width="{box.width}" height="{box.height}" rx="4" '
            f'class="app-flowchart__box app-flowchart__box--{box.kind}"/>'
        )
        for index, line in enumerate(box.title):
            parts.append(
                _text(
                    box.x + PADDING, box.y + PADDING + TITLE_HEIGHT * index + 16, line, "app-flowchart__title"
                )
            )
        for index, line in enumerate(box.lines):
            y = box.y + PADDING + TITLE_HEIGHT * len(box.title) + LINE_HEIGHT * index + 14
            parts.append(_text(box.x + PADDING, y, line, "app-flowchart__text"))
    for arrow in layout.arrows:
        points = " ".join(f"{x},{y}" for x, y in arrow.points)
        parts.append(
            f'<polyline points="{points}" class="app-flowchart__line app-flowchart__line--{arrow.kind}" '
            f'marker-end="url(#{marker_id})"/>'
        )
        if arrow.label:
            parts.append(_text(arrow.label_at[0], arrow.label_at[1], arrow.label, "app-flowchart__text"))
    if layout.bracket:
        bracket = layout.bracket
        parts.append(
            f'<polyline points="{BRACKET_X - 8},{bracket.top} {BRACKET_X},{bracket.top} '
            f'{BRACKET_X},{bracket.bottom} {BRACKET_X - 8},{bracket.bottom}" class="app-flowchart__line"/>'
        )
        middle = (bracket.top + bracket.bottom) // 2 - LINE_HEIGHT * (len(bracket.lines) - 1) // 2
        for index, line in enumerate(bracket.lines):
            parts.append(_text(LABEL_X, middle + LINE_HEIGHT * index + 5, line, "app-flowchart__text"))
    parts.append("</svg>")
    # Safe: every piece of procedure text above went through html.escape; the rest is our own markup.
    return mark_safe("".join(parts))  # noqa: S308  # nosec
