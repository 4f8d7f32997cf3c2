"""The report as tables: one definition read by the dashboard, the CSV and XLSX exports, the Word
document and the API, so that each shows the same figures under the same headings.

A cell that counts challenges carries the key of its figure (``Report.members``), so the page can
link it to the list of the challenges behind it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from resolve.reports.figures import TIMELINESS_LABELS, LearningEntry, Report
from resolve.reports.selectors import Names

Value = str | int | float | None


@dataclass(frozen=True, slots=True)
class Cell:
    value: Value
    figure: str | None = None  # the figure whose challenges this number counts

    @property
    def text(self) -> str:
        if self.value is None:
            return ""
        if isinstance(self.value, float):
            return f"{self.value:g}"
        return str(self.value)


@dataclass(frozen=True, slots=True)
class Table:
    key: str  # also the export's file name
    title: str
    description: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    total: int | None = None  # the rows there were before a limit kept the first of them

    @property
    def rows_total(self) -> int:
        return len(self.rows) if self.total is None else self.total

    def column(self, index: int) -> list[Value]:
        return [row[index].value for row in self.rows]


TABLE_KEYS = (
    "summary",
    "funnel",
    "timeliness",
    "themes",
    "themes_by_team",
    "repeats",
    "teams",
    "managers",
    "cafcass",
    "learning",
)


def _n(report: Report, figure: str) -> Cell:
    return Cell(report.count(figure), figure)


def _by_procedure_rows(report: Report, names: Names) -> list[tuple[str, str]]:
    """The challenges by procedure followed, and those to partner agencies by the agency's kind."""
    rows = [
        (f"Under {names.procedures.get(key, key)}", f"procedure:{key}")
        for key in report.procedures
        if len(report.procedures) > 1
    ]
    if report.count("to:agency"):
        rows.append(("To a partner agency (multi-agency escalation)", "to:agency"))
        rows.extend(
            (f"To a partner agency: {label}", f"agency:{key}") for key, label in report.agency_kinds.items()
        )
    return rows


def _summary(report: Report, names: Names) -> Table:
    rows = [
        ("Raised in the period", "raised"),
        ("Open", "status:open"),
        ("Resolved", "status:resolved"),
        ("Withdrawn", "status:withdrawn"),
        ("Informal only (never reached a formal stage)", "kind:informal"),
        ("Reached a formal stage", "kind:formal"),
        ("IRO track (looked-after children)", "track:iro"),
        ("CP Chair track (child protection or child in need)", "track:cpc"),
        ("Re-opened", "reopened"),
        ("Past the formal limit", "past_cap"),
        ("Referred to Cafcass", "cafcass"),
        *_by_procedure_rows(report, names),
    ]
    return Table(
        "summary",
        "Challenges",
        f"Challenges raised from {report.period.start:%-d %B %Y} to {report.period.end:%-d %B %Y}, "
        f"as they stood on {report.as_at:%-d %B %Y}.",
        ("Figure", "Challenges"),
        tuple((Cell(label), _n(report, key)) for label, key in rows),
    )


def _funnel(report: Report, names: Names) -> Table:
    return Table(
        "funnel",
        "Stage reached and stage resolved at",
        "How many challenges reached each stage, and where they were resolved, withdrawn or still are.",
        ("Procedure", "Stage", "Reached", "Resolved at", "Withdrawn at", "Still open at"),
        tuple(
            (
                Cell(names.procedures.get(row.procedure, row.procedure)),
                Cell(row.name),
                _n(report, f"reached:{row.procedure}:{row.stage}"),
                _n(report, f"resolved_at:{row.procedure}:{row.stage}"),
                _n(report, f"withdrawn_at:{row.procedure}:{row.stage}"),
                _n(report, f"open_at:{row.procedure}:{row.stage}"),
            )
            for row in report.funnel
        ),
    )


def _timeliness(report: Report, names: Names) -> Table:
    parts = ("on_time", "late", "missing", "extended", "other", "no_timescale")
    return Table(
        "timeliness",
        "Responses against each stage's timescale",
        "Each time a challenge reached a stage, whether its response came by the due date, late, or "
        "not at all once overdue (missing); extended deadlines are counted apart. Working days are "
        "counted from the day the stage was entered to its first response.",
        (
            "Procedure",
            "Stage",
            "Timescale (working days)",
            *(TIMELINESS_LABELS[part] for part in parts),
            "Median working days",
            "90th percentile working days",
        ),
        tuple(
            (
                Cell(names.procedures.get(row.procedure, row.procedure)),
                Cell(row.name),
                Cell(row.timescale),
                *(Cell(row.counts[part], f"timing:{row.procedure}:{row.stage}:{part}") for part in parts),
                Cell(row.median_working_days),
                Cell(row.p90_working_days),
            )
            for row in report.timeliness
        ),
    )


def _themes(report: Report, names: Names) -> Table:
    return Table(
        "themes",
        "Themes",
        "Challenges by theme, and by theme in each part of the period (a challenge can have several themes).",
        ("Theme", "Challenges", *(part.label for part in report.trend_periods)),
        (
            *(
                (
                    Cell(names.theme(theme)),
                    _n(report, f"theme:{theme}"),
                    *(_n(report, f"theme:{theme}:{index}") for index in range(len(report.trend_periods))),
                )
                for theme in report.themes
            ),
            (
                Cell("All challenges raised"),
                _n(report, "raised"),
                *(_n(report, f"raised:{index}") for index in range(len(report.trend_periods))),
            ),
        ),
    )


def _themes_by_team(report: Report, names: Names) -> Table:
    return Table(
        "themes_by_team",
        "Themes by team",
        "Challenges by the child's team and theme.",
        ("Team", *(names.theme(theme) for theme in report.themes)),
        tuple(
            (
                Cell(names.team(row.key)),
                *(_n(report, f"team_theme:{row.key}:{theme}") for theme in report.themes),
            )
            for row in report.teams
        ),
    )


def _repeats(report: Report) -> Table:
    return Table(
        "repeats",
        "Repeat issues",
        "Children with more than one challenge raised in the period, and challenges about a theme the "
        "same child was challenged on in the year before.",
        ("Figure", "Number"),
        (
            (Cell("Children with more than one challenge"), Cell(report.repeat_children, "repeat:child")),
            (Cell("Challenges about those children"), _n(report, "repeat:child")),
            (Cell("The same theme again within a year"), _n(report, "repeat:theme")),
        ),
    )


def _teams(report: Report, names: Names) -> Table:
    return Table(
        "teams",
        "Teams",
        "By the child's team: challenges received, responses due (with a timescale) and how they came, "
        "and challenges escalated beyond the first formal stage.",
        (
            "Team",
            "Challenges received",
            "Responses due",
            "On time",
            "Late",
            "Missing",
            "Escalated beyond stage 1",
        ),
        tuple(
            (
                Cell(names.team(row.key)),
                _n(report, f"team:{row.key}"),
                Cell(row.responses_due, f"team:{row.key}:due"),
                Cell(row.on_time, f"team:{row.key}:on_time"),
                Cell(row.late, f"team:{row.key}:late"),
                Cell(row.missing, f"team:{row.key}:missing"),
                _n(report, f"team:{row.key}:beyond_first_formal"),
            )
            for row in report.teams
        ),
    )


def _managers(report: Report, names: Names) -> Table:
    return Table(
        "managers",
        "Managers' responses",
        "Who recorded the first response at a stage, and whether it came by the due date.",
        ("Person", "Responses", "On time", "Late", "Median working days"),
        tuple(
            (
                Cell(names.person(row.key)),
                Cell(row.responses, f"manager:{row.key}"),
                Cell(row.on_time, f"manager:{row.key}:on_time"),
                Cell(row.late, f"manager:{row.key}:late"),
                Cell(row.median_working_days),
            )
            for row in report.managers
        ),
    )


def _cafcass(report: Report) -> Table:
    return Table(
        "cafcass",
        "Cafcass referrals",
        "Referrals to Cafcass of challenges raised in the period: urgent ones came before the ladder was "
        "exhausted; the outcome is where the challenge stands. Referrals of a child's case with no "
        "challenge are counted by the date they were made.",
        ("Figure", "Number"),
        (
            (Cell("Referred to Cafcass"), _n(report, "cafcass")),
            (Cell("Urgent (before the last stage)"), _n(report, "cafcass:urgent")),
            (Cell("After the ladder"), _n(report, "cafcass:not_urgent")),
            (Cell("Challenge still open"), _n(report, "cafcass:open")),
            (Cell("Challenge resolved"), _n(report, "cafcass:resolved")),
            (Cell("Challenge withdrawn"), _n(report, "cafcass:withdrawn")),
            (Cell("Median working days from raising to referral"), Cell(report.cafcass_median_working_days)),
            (Cell("Referred with no challenge (made in the period)"), Cell(report.cafcass_without_challenge)),
            (Cell("Of those, urgent"), Cell(report.cafcass_without_challenge_urgent)),
        ),
    )


# The most outcomes and learning points an answer or a document lists (the newest first); the CSV and
# Excel exports list them all.
MAX_LEARNING_ROWS = 1000


def learning_entries(report: Report, words: Sequence[str] = ()) -> Sequence[LearningEntry]:
    """The resolved challenges' outcomes and learning, newest first, matching every word of ``words``."""
    return [entry for entry in report.learning if entry.matches(words)] if words else report.learning


def learning_table(
    report: Report, names: Names, *, words: Sequence[str] = (), limit: int | None = None
) -> Table:
    found = learning_entries(report, words)
    entries = found if limit is None else found[:limit]
    return Table(
        "learning",
        "Outcomes and key learning points",
        "Resolved challenges with their outcome, key learning points and the IRO/CP Service Manager's "
        "final comments.",
        (
            "Challenge",
            "Case number",
            "Procedure",
            "Resolved on",
            "Stage",
            "Outcome",
            "Key learning points",
            "Final comments",
        ),
        tuple(
            (
                Cell(entry.challenge_id),
                Cell(entry.case_number),
                Cell(names.procedures.get(entry.procedure, entry.procedure)),
                Cell(entry.resolved_on.isoformat() if entry.resolved_on else None),
                Cell(names.stages.get((entry.procedure, entry.stage or ""), entry.stage)),
                Cell(entry.outcome),
                Cell("\n".join(entry.learning_points)),
                Cell("\n".join(entry.final_comments)),
            )
            for entry in entries
        ),
        total=len(found),
    )


def report_tables(
    report: Report, names: Names, *, words: Sequence[str] = (), learning_limit: int | None = None
) -> dict[str, Table]:
    """Every table of the report, by key (``TABLE_KEYS``)."""
    tables = [
        _summary(report, names),
        _funnel(report, names),
        _timeliness(report, names),
        _themes(report, names),
        _themes_by_team(report, names),
        _repeats(report),
        _teams(report, names),
        _managers(report, names),
        _cafcass(report),
        learning_table(report, names, words=words, limit=learning_limit),
    ]
    return {table.key: table for table in tables}


_SIMPLE = {
    "raised": "Raised in the period",
    "status:open": "Open",
    "status:resolved": "Resolved",
    "status:withdrawn": "Withdrawn",
    "kind:informal": "Informal only",
    "kind:formal": "Reached a formal stage",
    "track:iro": "IRO track",
    "track:cpc": "CP Chair track",
    "reopened": "Re-opened",
    "past_cap": "Past the formal limit",
    "cafcass": "Referred to Cafcass",
    "cafcass:urgent": "Referred to Cafcass urgently",
    "cafcass:not_urgent": "Referred to Cafcass after the ladder",
    "cafcass:open": "Referred to Cafcass, still open",
    "cafcass:resolved": "Referred to Cafcass, resolved",
    "cafcass:withdrawn": "Referred to Cafcass, withdrawn",
    "repeat:child": "Children with more than one challenge",
    "repeat:theme": "The same theme again within a year",
    "theme:": "No theme",
    "to:agency": "To a partner agency",
}
_AT = {
    "reached": "Reached",
    "resolved_at": "Resolved at",
    "withdrawn_at": "Withdrawn at",
    "open_at": "Still open at",
}
_PARTS = {**TIMELINESS_LABELS, "beyond_first_formal": "Escalated beyond stage 1", "due": "Responses due"}


def figure_words(figure: str, report: Report, names: Names) -> str:
    """A figure's key in words, for the list of the challenges behind it ("Late responses at
    Stage 1: Team Manager (Challenge and Resolution)")."""
    if figure in _SIMPLE:
        return _SIMPLE[figure]
    parts = figure.split(":")

    def stage(procedure: str, key: str) -> str:
        return f"{names.stages.get((procedure, key), key)} ({names.procedures.get(procedure, procedure)})"

    def part_of_period(index: str) -> str:
        number = int(index) if index.isdigit() else -1
        return report.trend_periods[number].label if 0 <= number < len(report.trend_periods) else index

    match parts:
        case [at, procedure, key] if at in _AT:
            return f"{_AT[at]} {stage(procedure, key)}"
        case ["timing", procedure, key, part]:
            return f"{_PARTS.get(part, part)} responses at {stage(procedure, key)}"
        case ["theme", theme]:
            return f"Theme: {names.theme(theme)}"
        case ["theme", theme, index]:
            return f"Theme: {names.theme(theme)}, {part_of_period(index)}"
        case ["raised", index]:
            return f"Raised in {part_of_period(index)}"
        case ["team_theme", team, theme] if team.isdigit():
            return f"{names.team(int(team))}, theme: {names.theme(theme)}"
        case ["team", team] if team.isdigit():
            return f"Received by {names.team(int(team))}"
        case ["team", team, part] if team.isdigit():
            return f"{names.team(int(team))}: {_PARTS.get(part, part)}"
        case ["manager", person] if person.isdigit():
            return f"Responses recorded by {names.person(int(person))}"
        case ["manager", person, part] if person.isdigit():
            return f"Responses recorded by {names.person(int(person))}: {_PARTS.get(part, part)}"
        case ["chair", person] if person.isdigit():
            return f"Raised by {names.person(int(person))}"
        case ["procedure", key]:
            return f"Under {names.procedures.get(key, key)}"
        case ["agency", kind]:
            return f"To a partner agency: {report.agency_kinds.get(kind, kind)}"
    return figure
