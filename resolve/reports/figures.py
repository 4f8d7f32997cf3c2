"""The IRO service's figures, worked out from the events of each challenge: pure, no database.

The events are the single source of truth (``resolve.challenges.events``): nothing here reads a
counter kept beside them. ``challenge_facts`` replays one challenge's events up to a day (the end of
the period, or today when that is earlier) into what a report needs to know about it: the stages it
reached, where it was resolved or withdrawn, each stage's response against its due date (by the same
rule as everywhere else, ``resolve.challenges.overdue.stage_timing``), whether it went past the formal
cap, its Cafcass referral, its outcome and learning. ``report_build`` then sorts those facts into
figures.

These are the rules written plainly, one challenge at a time. The dashboard asks the database for the
same figures in one query (``resolve.reports.queries``), which the tests hold to this replay
(``selectors.report_replayed``) over generated and hand-worked histories.

Every figure is the size of a set of challenges (``Report.members``), so the list behind a figure is
exactly what it counted: the dashboard links each number to ``members[key]``. The timeliness figures
count stage visits (a challenge may visit a stage twice after re-opening), and their list holds the
challenges those visits belong to.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from resolve.calendars.types import WorkingDays
from resolve.challenges.events import EventType
from resolve.challenges.overdue import Timing, past_due, stage_timing
from resolve.procedures.schema import Procedure, Stage
from resolve.reports.periods import Period, sub_periods

# The event types that record an agreed extension of a stage's due date (the DOMAIN's "agreed
# timescales and extensions": "reported as an extension, never as 'on time'"): a stage visit that has
# one is counted under "extended", apart from on time, late and missing. A test
# (test_figures.py::test_every_extension_event_type_is_counted_apart) fails when an event type about
# extensions exists without being named here.
EXTENSION_EVENT_TYPES: frozenset[str] = frozenset({EventType.DEADLINE_EXTENDED.value})

# Events that put a challenge into a stage, and the detail field naming the stage.
_ENTERS = {
    EventType.RAISED.value: None,
    EventType.ESCALATED.value: "to_stage",
    EventType.REOPENED.value: "reentry_stage",
}

# How a stage visit's response is reported: on time, late, missing (overdue and never answered, or
# still waiting past the due date), extended, or other (left or still waiting before it was due).
TIMELINESS = ("on_time", "late", "missing", "extended", "other", "no_timescale")
TIMELINESS_LABELS = {
    "on_time": "On time",
    "late": "Late",
    "missing": "Missing",
    "extended": "Extended",
    "other": "Not yet due",
    "no_timescale": "No timescale",
}
_TIMING_GROUP = {
    Timing.ON_TIME: "on_time",
    Timing.LATE: "late",
    Timing.MISSED: "missing",
    Timing.OVERDUE: "missing",
    Timing.NOT_ANSWERED: "other",
    Timing.WAITING: "other",
    Timing.NO_TIMESCALE: "no_timescale",
}
# "The same theme again within a year": a challenge counts when the same child had another one
# with a theme in common raised in the 365 days before it.
REPEAT_WINDOW_DAYS = 365
NO_TEAM = 0  # the team key of a child with no team


@dataclass(frozen=True, slots=True)
class ChallengeRow:
    """Who and where: the challenge's child, track, procedure, team and chair (not its history)."""

    id: int
    child_id: int
    case_number: str
    track: str
    procedure_key: str
    team_id: int | None
    chair_id: int | None  # who raised it (the IRO or CP Chair)
    agency_kind: str = ""  # a challenge to a partner agency (seed 000 section 2): the agency's kind


@dataclass(frozen=True, slots=True)
class EventRow:
    challenge_id: int
    type: str
    stage_key: str
    on: dt.date
    by_id: int | None
    detail: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class VisitFacts:
    stage: str
    entered_on: dt.date
    due_on: dt.date | None
    timescale: int | None  # the stage's response working days
    responded_on: dt.date | None  # the first response at this visit
    responder_id: int | None
    left_on: dt.date | None
    timeliness: str  # one of TIMELINESS
    working_days: int | None  # from entering the stage to its first response


@dataclass(frozen=True, slots=True)
class CafcassFacts:
    on: dt.date
    urgent: bool
    stage: str
    working_days_from_raised: int


@dataclass(frozen=True, slots=True)
class ChallengeFacts:
    row: ChallengeRow
    raised_on: dt.date
    themes: tuple[str, ...]
    status: str  # open, resolved or withdrawn, as at the report's day
    closed_at: str | None  # the stage it was resolved or withdrawn at
    reached: tuple[str, ...]  # stages entered, in the order first entered
    formal: bool
    beyond_first_formal: bool
    visits: tuple[VisitFacts, ...]
    reopened: int
    formal_started_on: dt.date | None
    formal_due_on: dt.date | None
    past_cap: bool
    cafcass: CafcassFacts | None
    resolved_on: dt.date | None
    outcome: str
    learning_points: tuple[str, ...]
    final_comments: tuple[str, ...]


def _date(value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def challenge_facts(
    *,
    row: ChallengeRow,
    events: Sequence[EventRow],
    procedure: Procedure,
    calendar: WorkingDays,
    as_at: dt.date,
    extension_types: frozenset[str] = EXTENSION_EVENT_TYPES,
) -> ChallengeFacts:
    """Replay one challenge's events (in order; those after ``as_at`` are ignored) into its facts."""
    stages = {stage.key: stage for stage in procedure.stages}
    formal_keys = [stage.key for stage in procedure.stages if stage.kind == "formal"]
    raised_on = events[0].on
    themes: tuple[str, ...] = ()
    status = "open"
    closed_at: str | None = None
    reached: list[str] = []
    visits: list[dict[str, Any]] = []
    reopened = 0
    formal_started_on: dt.date | None = None
    open_spans: list[tuple[dt.date, dt.date | None]] = []
    cafcass: CafcassFacts | None = None
    resolved_on: dt.date | None = None
    outcome = ""
    learning: list[str] = []
    comments: list[str] = []

    def close_visit(on: dt.date) -> None:
        if visits and visits[-1]["left_on"] is None:
            visits[-1]["left_on"] = on

    for event in events:
        if event.on > as_at:
            break
        detail = event.detail
        if event.type in _ENTERS:
            key = _ENTERS[event.type]
            stage = event.stage_key if key is None else str(detail.get(key) or event.stage_key)
            close_visit(event.on)
            visits.append(
                {
                    "stage": stage,
                    "entered_on": event.on,
                    "due_on": _date(detail.get("due_on")),
                    "responded_on": None,
                    "responder_id": None,
                    "left_on": None,
                    "extended": False,
                }
            )
            if stage not in reached:
                reached.append(stage)
            if formal_started_on is None and stage in stages and stages[stage].kind == "formal":
                formal_started_on = event.on
            if event.type == EventType.RAISED.value:
                themes = tuple(detail.get("themes") or ())
                open_spans.append((event.on, None))
            elif event.type == EventType.REOPENED.value:
                reopened += 1
                status, closed_at = "open", None
                open_spans.append((event.on, None))
                # A new resolution brings its own outcome, learning and comments; the old stay in the events.
                resolved_on, outcome, learning, comments = None, "", [], []
        elif event.type == EventType.RESPONSE_RECORDED.value:
            if visits and visits[-1]["responded_on"] is None and not detail.get("further"):
                visits[-1]["responded_on"] = event.on
                visits[-1]["responder_id"] = event.by_id
        elif event.type in (EventType.RESOLVED.value, EventType.WITHDRAWN.value):
            close_visit(event.on)
            status = "resolved" if event.type == EventType.RESOLVED.value else "withdrawn"
            closed_at = event.stage_key or (visits[-1]["stage"] if visits else None)
            if open_spans:
                open_spans[-1] = (open_spans[-1][0], event.on)
            if status == "resolved":
                resolved_on = event.on
                outcome = str(detail.get("outcome") or "")
                if detail.get("learning_points"):
                    learning.append(str(detail["learning_points"]))
        elif event.type == EventType.CAFCASS_REFERRED.value and cafcass is None:
            cafcass = CafcassFacts(
                on=event.on,
                urgent=bool(detail.get("urgent")),
                stage=event.stage_key,
                working_days_from_raised=calendar.working_days_between(raised_on, event.on),
            )
        elif event.type == EventType.LEARNING_POINTS_ADDED.value and detail.get("learning_points"):
            learning.append(str(detail["learning_points"]))
        elif event.type == EventType.FINAL_COMMENTS_ADDED.value and detail.get("comments"):
            comments.append(str(detail["comments"]))
        elif event.type in extension_types and visits and visits[-1]["left_on"] is None:
            visits[-1]["extended"] = True

    visit_facts: list[VisitFacts] = []
    for visit in visits:
        visited = stages.get(visit["stage"])
        timescale = visited.response_working_days if visited else None
        timing = stage_timing(
            due_on=visit["due_on"],
            responded_on=visit["responded_on"],
            left_on=visit["left_on"],
            today=as_at,
            calendar=calendar,
        )
        group = "extended" if visit["extended"] and visit["due_on"] else _TIMING_GROUP[timing]
        responded = visit["responded_on"]
        visit_facts.append(
            VisitFacts(
                stage=visit["stage"],
                entered_on=visit["entered_on"],
                due_on=visit["due_on"],
                timescale=timescale,
                responded_on=responded,
                responder_id=visit["responder_id"],
                left_on=visit["left_on"],
                timeliness=group,
                working_days=calendar.working_days_between(visit["entered_on"], responded)
                if responded
                else None,
            )
        )
    formal_due_on = (
        calendar.add_working_days(formal_started_on, procedure.formal_cap_working_days)
        if formal_started_on
        else None
    )
    # Past the cap: open on a working day after the cap's last day, in any of its open spans (a
    # challenge re-opened after its cap passed is past it at once, as docs/architecture.md says).
    past_cap = formal_due_on is not None and any(
        past_due(formal_due_on, end or as_at, calendar) for _, end in open_spans
    )
    first_formal = formal_keys[0] if formal_keys else None
    return ChallengeFacts(
        row=row,
        raised_on=raised_on,
        themes=themes,
        status=status,
        closed_at=closed_at if status != "open" else None,
        reached=tuple(reached),
        formal=formal_started_on is not None,
        beyond_first_formal=any(key in formal_keys and key != first_formal for key in reached),
        visits=tuple(visit_facts),
        reopened=reopened,
        formal_started_on=formal_started_on,
        formal_due_on=formal_due_on,
        past_cap=past_cap,
        cafcass=cafcass,
        resolved_on=resolved_on,
        outcome=outcome,
        learning_points=tuple(learning),
        final_comments=tuple(comments),
    )


# -- sorting the facts into figures ---------------------------------------------------------------


def median(values: Sequence[int]) -> float | None:
    return float(statistics.median(values)) if values else None


def percentile_90(values: Sequence[int]) -> int | None:
    """The 90th percentile by the nearest-rank method: a value that actually occurred, such that at
    least 90% of the values are at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


@dataclass
class StageTimeliness:
    procedure: str
    stage: str
    name: str
    timescale: int | None
    counts: dict[str, int]
    median_working_days: float | None
    p90_working_days: int | None

    @property
    def visits(self) -> int:
        return sum(self.counts.values())


@dataclass
class FunnelRow:
    procedure: str
    stage: str
    name: str
    kind: str
    reached: int
    resolved_at: int
    withdrawn_at: int
    open_at: int


@dataclass
class TeamRow:
    key: int
    received: int
    responses_due: int  # first responses at stages with a timescale, answered or missing
    on_time: int
    late: int
    missing: int
    beyond_first_formal: int


@dataclass
class ManagerRow:
    key: int
    responses: int
    on_time: int
    late: int
    median_working_days: float | None


@dataclass
class LearningEntry:
    challenge_id: int
    child_id: int
    case_number: str
    procedure: str
    resolved_on: dt.date | None
    stage: str | None
    outcome: str
    learning_points: tuple[str, ...]
    final_comments: tuple[str, ...]

    def matches(self, words: Sequence[str]) -> bool:
        text = " ".join((self.outcome, *self.learning_points, *self.final_comments, self.case_number)).lower()
        return all(word in text for word in words)


@dataclass
class Report:
    """The figures of a period. ``members`` are the challenges behind each figure; ``counts``, when
    given, their numbers (the database's report counts them without listing them, and lists one
    figure's challenges only when asked: ``resolve.reports.selectors``)."""

    period: Period
    as_at: dt.date
    members: Mapping[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    funnel: list[FunnelRow] = field(default_factory=list)
    timeliness: list[StageTimeliness] = field(default_factory=list)
    themes: list[str] = field(default_factory=list)  # theme keys, most frequent first
    trend_periods: list[Period] = field(default_factory=list)
    teams: list[TeamRow] = field(default_factory=list)
    managers: list[ManagerRow] = field(default_factory=list)
    cafcass_median_working_days: float | None = None
    # Referrals of a child's case to Cafcass with no challenge, made in the period (seed 000: "out with
    # the Outcome Resolution"): counted by the referral's date, as they have no challenge to list.
    cafcass_without_challenge: int = 0
    cafcass_without_challenge_urgent: int = 0
    repeat_children: int = 0  # children with more than one challenge raised in the period
    learning: Sequence[LearningEntry] = field(default_factory=list)  # newest resolved first
    counts: Mapping[str, int] | None = None
    procedures: list[str] = field(default_factory=list)  # the procedures the challenges followed
    agency_kinds: dict[str, str] = field(default_factory=dict)  # partner agencies' kinds: key -> label

    def count(self, key: str) -> int:
        if self.counts is not None:
            return self.counts.get(key, 0)
        return len(self.members.get(key, ()))

    def stage_add(
        self, procedure: str, step: Stage, *, timing: dict[str, int], median: float | None, p90: int | None
    ) -> None:
        """The stage's row in the funnel (from this report's counts) and in the timeliness table (from
        ``timing``, the visits by timeliness, and the median and 90th percentile of working days)."""
        self.funnel.append(
            FunnelRow(
                procedure=procedure,
                stage=step.key,
                name=step.name,
                kind=step.kind,
                reached=self.count(f"reached:{procedure}:{step.key}"),
                resolved_at=self.count(f"resolved_at:{procedure}:{step.key}"),
                withdrawn_at=self.count(f"withdrawn_at:{procedure}:{step.key}"),
                open_at=self.count(f"open_at:{procedure}:{step.key}"),
            )
        )
        self.timeliness.append(
            StageTimeliness(
                procedure=procedure,
                stage=step.key,
                name=step.name,
                timescale=step.response_working_days,
                counts=timing,
                median_working_days=median,
                p90_working_days=p90,
            )
        )

    def figures(self) -> dict[str, int]:
        """Every figure with any challenge behind it, by key."""
        if self.counts is not None:
            return {key: value for key, value in sorted(self.counts.items()) if value}
        return {key: len(ids) for key, ids in sorted(self.members.items()) if ids}


def _theme_team_key(team: int, theme: str) -> str:
    return f"team_theme:{team}:{theme}"


def report_build(
    *,
    period: Period,
    as_at: dt.date,
    facts: Iterable[ChallengeFacts],
    procedures: Mapping[str, Procedure],
    earlier_themes: Mapping[int, Sequence[tuple[int, dt.date, tuple[str, ...]]]] = {},
    keep: Callable[[ChallengeFacts], bool] = lambda facts: True,
) -> Report:
    """The figures for the challenges raised in ``period``.

    ``earlier_themes``: for each child, ``(challenge id, raised on, themes)`` of every challenge one
    may see raised up to a year before the period starts and during it, for "the same theme again
    within a year". ``keep`` filters the challenges counted (a theme filter reads the events' themes).
    """
    members: defaultdict[str, set[int]] = defaultdict(set)
    learning: list[LearningEntry] = []
    report = Report(
        period=period, as_at=as_at, trend_periods=sub_periods(period), members=members, learning=learning
    )
    chosen = [item for item in facts if period.contains(item.raised_on) and keep(item)]
    by_child: dict[int, list[ChallengeFacts]] = defaultdict(list)
    theme_counts: dict[str, int] = defaultdict(int)
    visits_by_stage: dict[tuple[str, str], list[VisitFacts]] = defaultdict(list)
    visit_owner: dict[int, int] = {}
    teams: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    managers: dict[int, list[VisitFacts]] = defaultdict(list)
    cafcass_days: list[int] = []
    for item in chosen:
        cid = item.row.id
        procedure = item.row.procedure_key
        team = item.row.team_id or NO_TEAM
        members["raised"].add(cid)
        members[f"status:{item.status}"].add(cid)
        members["kind:formal" if item.formal else "kind:informal"].add(cid)
        members[f"track:{item.row.track}"].add(cid)
        # By procedure, and whether to the local authority or a partner agency (and of which kind).
        members[f"procedure:{procedure}"].add(cid)
        if item.row.agency_kind:
            members["to:agency"].add(cid)
            members[f"agency:{item.row.agency_kind}"].add(cid)
        by_child[item.row.child_id].append(item)
        for stage in item.reached:
            members[f"reached:{procedure}:{stage}"].add(cid)
        if item.closed_at is not None:
            members[f"{item.status}_at:{procedure}:{item.closed_at}"].add(cid)
        elif item.visits:
            members[f"open_at:{procedure}:{item.visits[-1].stage}"].add(cid)
        if item.reopened:
            members["reopened"].add(cid)
        if item.past_cap:
            members["past_cap"].add(cid)
        if not item.themes:
            members["theme:"].add(cid)
        part = next(
            (index for index, part in enumerate(report.trend_periods) if part.contains(item.raised_on)), None
        )
        if part is not None:
            members[f"raised:{part}"].add(cid)
        for theme in item.themes:
            theme_counts[theme] += 1
            members[f"theme:{theme}"].add(cid)
            members[_theme_team_key(team, theme)].add(cid)
            if part is not None:
                members[f"theme:{theme}:{part}"].add(cid)
        members[f"team:{team}"].add(cid)
        teams[team]["received"] += 1
        if item.beyond_first_formal:
            teams[team]["beyond_first_formal"] += 1
            members[f"team:{team}:beyond_first_formal"].add(cid)
        members[f"chair:{item.row.chair_id or 0}"].add(cid)
        for visit in item.visits:
            visits_by_stage[(procedure, visit.stage)].append(visit)
            visit_owner[id(visit)] = cid
            members[f"timing:{procedure}:{visit.stage}:{visit.timeliness}"].add(cid)
            if visit.timeliness in {"on_time", "late", "missing"}:
                teams[team]["responses_due"] += 1
                teams[team][visit.timeliness] += 1
                members[f"team:{team}:{visit.timeliness}"].add(cid)
                members[f"team:{team}:due"].add(cid)
            # A partner agency's reply is recorded by the chair on its behalf: not a manager's response.
            if visit.responder_id is not None and not item.row.agency_kind:
                managers[visit.responder_id].append(visit)
                members[f"manager:{visit.responder_id}"].add(cid)
                if visit.timeliness in {"on_time", "late"}:
                    members[f"manager:{visit.responder_id}:{visit.timeliness}"].add(cid)
        if item.cafcass is not None:
            members["cafcass"].add(cid)
            members["cafcass:urgent" if item.cafcass.urgent else "cafcass:not_urgent"].add(cid)
            members[f"cafcass:{item.status}"].add(cid)
            cafcass_days.append(item.cafcass.working_days_from_raised)
        if item.status == "resolved" or item.learning_points or item.final_comments:
            learning.append(
                LearningEntry(
                    challenge_id=cid,
                    child_id=item.row.child_id,
                    case_number=item.row.case_number,
                    procedure=procedure,
                    resolved_on=item.resolved_on,
                    stage=item.closed_at,
                    outcome=item.outcome,
                    learning_points=item.learning_points,
                    final_comments=item.final_comments,
                )
            )
    for challenges in by_child.values():
        if len(challenges) > 1:
            members["repeat:child"].update(item.row.id for item in challenges)
    for item in chosen:
        for other_id, other_raised, other_themes in earlier_themes.get(item.row.child_id, ()):
            if (
                other_id != item.row.id
                and (other_raised, other_id) < (item.raised_on, item.row.id)
                and (item.raised_on - other_raised).days <= REPEAT_WINDOW_DAYS
                and set(other_themes) & set(item.themes)
            ):
                members["repeat:theme"].add(item.row.id)
                break
    report.repeat_children = sum(len(found) > 1 for found in by_child.values())

    # The funnel and timeliness, stage by stage, for each procedure the challenges followed.
    used = sorted({item.row.procedure_key for item in chosen})
    report.procedures = used
    report.agency_kinds = {
        kind.key: kind.label
        for key in used
        for kind in procedures[key].agency_kinds
        if report.count(f"agency:{kind.key}")
    }
    for key in used:
        for step in procedures[key].stages:
            visits = visits_by_stage.get((key, step.key), [])
            counts = dict.fromkeys(TIMELINESS, 0)
            for visit in visits:
                counts[visit.timeliness] += 1
            taken = [visit.working_days for visit in visits if visit.working_days is not None]
            report.stage_add(key, step, timing=counts, median=median(taken), p90=percentile_90(taken))
    report.themes = sorted(theme_counts, key=lambda theme: (-theme_counts[theme], theme))
    report.teams = sorted(
        (
            TeamRow(
                key=team,
                received=values["received"],
                responses_due=values["responses_due"],
                on_time=values["on_time"],
                late=values["late"],
                missing=values["missing"],
                beyond_first_formal=values["beyond_first_formal"],
            )
            for team, values in teams.items()
        ),
        key=lambda row: (-row.received, row.key),
    )
    report.managers = sorted(
        (
            ManagerRow(
                key=person,
                responses=len(visits),
                on_time=sum(visit.timeliness == "on_time" for visit in visits),
                late=sum(visit.timeliness == "late" for visit in visits),
                median_working_days=median([v.working_days for v in visits if v.working_days is not None]),
            )
            for person, visits in managers.items()
        ),
        key=lambda row: (-row.responses, row.key),
    )
    report.cafcass_median_working_days = median(cafcass_days)
    learning.sort(key=lambda entry: (entry.resolved_on or dt.date.min, entry.challenge_id), reverse=True)
    return report
