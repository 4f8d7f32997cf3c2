"""Reads for the reports: the challenges a person may see (``resolve.access``), their events, and the
figures worked out from them.

``report_for`` asks the database for every figure in one query over the events
(``resolve.reports.queries``); the challenges behind one figure, and the outcomes and learning, are
read when they are shown. ``report_replayed`` works the same figures out in Python by replaying each
challenge's events (``resolve.reports.figures``): the rules written a second time, plainly, which the
tests hold the query to. Names of teams and people are looked up afterwards for the rows shown.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, overload

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, User
from django.db import connection
from django.db.models import Exists, OuterRef, QuerySet

from resolve.access import Perm, challenges_visible_to, children_visible_to, perm_require
from resolve.calendars.services import working_calendar
from resolve.calendars.types import Nation
from resolve.challenges.events import EventType
from resolve.challenges.models import CafcassReferral, Challenge, Event
from resolve.core.errors import ServiceError
from resolve.people.models import Team
from resolve.procedures.models import PolicyVersion
from resolve.procedures.schema import Procedure
from resolve.procedures.selectors import procedure_version_model
from resolve.reports.figures import (
    REPEAT_WINDOW_DAYS,
    TIMELINESS,
    ChallengeFacts,
    ChallengeRow,
    EventRow,
    LearningEntry,
    ManagerRow,
    Report,
    TeamRow,
    challenge_facts,
    report_build,
)
from resolve.reports.periods import Period, sub_periods
from resolve.reports.queries import (
    LearningRow,
    ReportQuery,
    figure_counts,
    figure_members,
    learning_newest,
    learning_rows,
)

UserLike = User | AnonymousUser
TRACKS = ("iro", "cpc")
_BATCH = 2000  # challenges whose events are read and replayed at a time


@dataclass(frozen=True, slots=True)
class ReportFilters:
    """Narrow a report: by track, procedure (key), the child's team (id), the chair who raised the
    challenge (username) and theme (key). Empty means every one."""

    track: str = ""
    procedure: str = ""
    team: int | None = None
    chair: str = ""
    theme: str = ""

    def query(self) -> dict[str, str]:
        values = {
            "track": self.track,
            "procedure": self.procedure,
            "team": str(self.team) if self.team is not None else "",
            "chair": self.chair,
            "theme": self.theme,
        }
        return {key: value for key, value in values.items() if value}


def filters_parse(params: Mapping[str, str]) -> ReportFilters:
    """The filters from a query string; a value that cannot be one is refused naming the parameter."""
    get = params.get  # a dict or a QueryDict

    def text(name: str) -> str:
        value = (get(name) or "").strip()
        if len(value) > 150 or "\x00" in value:
            raise ServiceError("invalid", "invalid_filter", f"The {name} filter is too long.", name)
        return str(value)

    track = text("track")
    if track and track not in TRACKS:
        raise ServiceError("invalid", "invalid_filter", "Choose the track iro or cpc.", "track")
    team_text = text("team")
    if team_text and (not team_text.isdigit() or len(team_text) > 18):
        raise ServiceError("invalid", "invalid_filter", "Choose a team from the list.", "team")
    return ReportFilters(
        track=track,
        procedure=text("procedure"),
        team=int(team_text) if team_text else None,
        chair=text("chair"),
        theme=text("theme"),
    )


def _cohort(*, user: UserLike, period: Period, filters: ReportFilters) -> QuerySet[Challenge]:
    """The challenges raised in the period (their ``raised`` event falls in it) that ``user`` may see."""
    raised = Event.objects.filter(
        challenge_id=OuterRef("pk"),
        type=EventType.RAISED.value,
        on__gte=period.start,
        on__lte=period.end,
    )
    challenges = challenges_visible_to(user).filter(Exists(raised))
    if filters.track:
        challenges = challenges.filter(track=filters.track)
    return _narrowed(challenges, filters, chair="raised_by")


def _narrowed(rows: QuerySet[Any], filters: ReportFilters, *, chair: str) -> QuerySet[Any]:
    """``rows`` (challenges, or referrals with no challenge) narrowed by the report's procedure, team
    and chair (``chair``: the field naming the person who raised or referred)."""
    if filters.procedure:
        rows = rows.filter(policy__key=filters.procedure)
    if filters.team is not None:
        # Team 0 is "no team": children whose social worker's team is not recorded.
        rows = (
            rows.filter(child__team_id=filters.team)
            if filters.team
            else rows.filter(child__team__isnull=True)
        )
    if filters.chair:
        rows = rows.filter(**{f"{chair}__username": filters.chair})
    return rows


def _rows(challenges: QuerySet[Challenge]) -> list[tuple[ChallengeRow, int, str]]:
    rows = challenges.order_by("pk").values_list(
        "pk",
        "child_id",
        "child__case_number",
        "track",
        "policy__key",
        "child__team_id",
        "raised_by_id",
        "policy_id",
        "policy__nation",
        "agency_kind",
    )
    return [
        (ChallengeRow(pk, child, case, track, key, team, chair, agency_kind), policy_id, nation)
        for pk, child, case, track, key, team, chair, policy_id, nation, agency_kind in rows
    ]


def _date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def _events(ids: list[int], as_at: dt.date) -> dict[int, list[EventRow]]:
    """The events of these challenges up to ``as_at``, in order. Read through the cursor, not the
    ORM's per-row converters: the one hot loop of a report, at hundreds of thousands of rows a year.
    SQLite answers dates and JSON as text and PostgreSQL as values, so both are accepted."""
    found: dict[int, list[EventRow]] = defaultdict(list)
    query = (
        Event.objects.filter(challenge_id__in=ids, on__lte=as_at)
        .order_by("challenge_id", "sequence")
        .values_list("challenge_id", "type", "stage_key", "on", "by_id", "detail")
    )
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for challenge_id, type_, stage, on, by, detail in cursor.fetchall():
            found[challenge_id].append(EventRow(challenge_id, type_, stage, _date(on), by, _json(detail)))
    return found


def challenge_facts_iter(
    *, user: UserLike, period: Period, filters: ReportFilters, today: dt.date
) -> Iterator[ChallengeFacts]:
    """The facts of every challenge ``user`` may see raised in ``period``, as at the period's end
    (or today, when that is earlier), in batches so that memory stays flat."""
    as_at = min(period.end, today)
    procedures = {pv.pk: procedure_version_model(pv) for pv in PolicyVersion.objects.all()}
    rows = _rows(_cohort(user=user, period=period, filters=filters))
    for start in range(0, len(rows), _BATCH):
        batch = rows[start : start + _BATCH]
        events = _events([row.id for row, _, _ in batch], as_at)
        for row, policy_id, nation in batch:
            history = events.get(row.id)
            if not history:
                continue
            yield challenge_facts(
                row=row,
                events=history,
                procedure=procedures[policy_id],
                calendar=working_calendar(Nation(nation)),
                as_at=as_at,
            )


def _earlier_themes(
    *, user: UserLike, period: Period, filters: ReportFilters, facts: list[ChallengeFacts]
) -> dict[int, list[tuple[int, dt.date, tuple[str, ...]]]]:
    """For each child of ``facts``, the themes of every challenge one may see raised from a year
    before the period to its end: the period's own from ``facts``, the year before from their
    ``raised`` events (one query)."""
    found: dict[int, list[tuple[int, dt.date, tuple[str, ...]]]] = defaultdict(list)
    for item in facts:
        found[item.row.child_id].append((item.row.id, item.raised_on, item.themes))
    if not facts:
        return found
    # The visible challenges of the same children (those of the period's cohort), whatever the
    # report's filters: a repeat is a repeat.
    children = _cohort(user=user, period=period, filters=filters).values("child_id")
    visible = challenges_visible_to(user).filter(child_id__in=children).values("pk")
    rows = Event.objects.filter(
        challenge_id__in=visible,
        type=EventType.RAISED.value,
        on__gte=period.start - dt.timedelta(days=REPEAT_WINDOW_DAYS),
        on__lt=period.start,
    ).values_list("challenge_id", "challenge__child_id", "on", "detail")
    for challenge_id, child_id, on, detail in rows:
        found[child_id].append((challenge_id, on, tuple(detail.get("themes") or ())))
    return found


def report_replayed(*, user: UserLike, period: Period, filters: ReportFilters, today: dt.date) -> Report:
    """``report_for``'s figures worked out in Python, replaying each challenge's events
    (``figures.challenge_facts``): slower, and plain enough to check the query against."""
    perm_require(user=user, perm=Perm.VIEW_REPORTS)
    facts = list(challenge_facts_iter(user=user, period=period, filters=filters, today=today))
    # The funnel lists each procedure's stages as its current version has them (else its newest).
    procedures: dict[str, Procedure] = {}
    for pv in PolicyVersion.objects.order_by("key", "-is_current", "-version"):
        procedures.setdefault(pv.key, procedure_version_model(pv))
    earlier = _earlier_themes(user=user, period=period, filters=filters, facts=facts)
    theme = filters.theme
    report = report_build(
        period=period,
        as_at=min(period.end, today),
        facts=facts,
        procedures=procedures,
        earlier_themes=earlier,
        keep=(lambda item: theme in item.themes) if theme else (lambda item: True),
    )
    without = _cafcass_without_challenge(user=user, period=period, filters=filters)
    report.cafcass_without_challenge = without.count()
    report.cafcass_without_challenge_urgent = without.filter(urgent=True).count()
    return report


def _cafcass_without_challenge(
    *, user: UserLike, period: Period, filters: ReportFilters
) -> QuerySet[CafcassReferral]:
    """The referrals to Cafcass with no challenge made in the period, of children ``user`` may see,
    narrowed by the filters that apply to them (the IRO track; no theme, as there is no challenge)."""
    if filters.track not in {"", "iro"} or filters.theme:
        return CafcassReferral.objects.none()
    rows = CafcassReferral.objects.filter(
        challenge__isnull=True,
        child_id__in=children_visible_to(user).values("pk"),
        on__gte=period.start,
        on__lte=period.end,
    )
    return _narrowed(rows, filters, chair="by")


class _Members(Mapping[str, set[int]]):
    """The challenges behind each figure, asked of the database one figure at a time (the list
    behind a number) with the same rule that counted it; the keys are the figures with any."""

    def __init__(self, query: ReportQuery, counts: Mapping[str, int]) -> None:
        self._query = query
        self._counts = counts
        self._found: dict[str, set[int]] = {}

    def __getitem__(self, key: str) -> set[int]:
        if key not in self._found:
            self._found[key] = figure_members(self._query, key) if self._counts.get(key) else set()
        return self._found[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._counts)

    def __len__(self) -> int:
        return len(self._counts)


class _Learning(Sequence[LearningEntry]):
    """The outcomes and learning, newest resolved first, read when shown: the first few for a page
    (``entries[:n]`` asks for n), all of them for an export or a search."""

    def __init__(self, query: ReportQuery, total: int | None = None, newest: Sequence[int] = ()) -> None:
        self._query = query
        self._newest_ids = list(newest)  # the newest, as the counting query listed them
        self._total: int | None = total
        self._all: list[LearningEntry] | None = None
        self._newest: dict[int, list[LearningEntry]] = {}

    def _entries(self, ids: list[int], *, every: bool = False) -> list[LearningEntry]:
        rows: dict[int, list[LearningRow]] = defaultdict(list)
        for row in learning_rows(self._query, None if every else ids):
            rows[row.challenge_id].append(row)
        return [_learning_entry(rows[cid]) for cid in ids if rows.get(cid)]

    def _load(self) -> list[LearningEntry]:
        if self._all is None:
            ids, self._total = learning_newest(self._query, None)
            self._all = self._entries(ids, every=True)
        return self._all

    def __len__(self) -> int:
        if self._total is None:
            if self._all is not None:
                return len(self._all)
            _, self._total = learning_newest(self._query, 0)
        return self._total

    @overload
    def __getitem__(self, index: int) -> LearningEntry: ...

    @overload
    def __getitem__(self, index: slice) -> list[LearningEntry]: ...

    def __getitem__(self, index: int | slice) -> LearningEntry | list[LearningEntry]:
        if (
            self._all is None
            and isinstance(index, slice)
            and index.start in (None, 0)
            and index.step in (None, 1)
            and index.stop is not None
            and index.stop >= 0
        ):
            if index.stop not in self._newest:
                listed = len(self._newest_ids)
                if self._total is not None and (index.stop <= listed or listed >= self._total):
                    ids = self._newest_ids[: index.stop]
                else:
                    ids, self._total = learning_newest(self._query, index.stop)
                self._newest[index.stop] = self._entries(ids)
            return list(self._newest[index.stop])
        return self._load()[index]

    def __iter__(self) -> Iterator[LearningEntry]:
        return iter(self._load())


def _learning_entry(rows: list[LearningRow]) -> LearningEntry:
    """One challenge's outcome, learning points and final comments since its last re-opening."""
    first = rows[0]
    resolved = next((row for row in reversed(rows) if row.type == EventType.RESOLVED.value), None)
    closed = next((row for row in reversed(rows) if row.type in _CLOSES), None)
    learning = [
        str(row.learning_points)
        for row in rows
        if row.type in (EventType.RESOLVED.value, EventType.LEARNING_POINTS_ADDED.value)
        and row.learning_points
    ]
    return LearningEntry(
        challenge_id=first.challenge_id,
        child_id=first.child_id,
        case_number=first.case_number,
        procedure=first.procedure,
        resolved_on=_date(resolved.on) if resolved else None,
        stage=(closed.stage_key or None) if closed else None,
        outcome=str(resolved.outcome or "") if resolved else "",
        learning_points=tuple(learning),
        final_comments=tuple(
            str(row.comments)
            for row in rows
            if row.type == EventType.FINAL_COMMENTS_ADDED.value and row.comments
        ),
    )


_CLOSES = (EventType.RESOLVED.value, EventType.WITHDRAWN.value)


def report_query(*, user: UserLike, period: Period, filters: ReportFilters, today: dt.date) -> ReportQuery:
    """What the report's query reads: the challenges ``user`` may see raised in the period with the
    filters, the visible challenges (for the same children's earlier ones), and the procedures."""
    versions = list(PolicyVersion.objects.all())
    cohort = (
        _cohort(user=user, period=period, filters=filters)
        .order_by()
        .values_list(
            "pk",
            "child_id",
            "child__case_number",
            "track",
            "policy__key",
            "child__team_id",
            "raised_by_id",
            "policy_id",
            "policy__nation",
            "agency_kind",
        )
    )
    return ReportQuery(
        cohort=cohort,
        earlier=challenges_visible_to(user).order_by().values_list("pk", "child_id"),
        theme=filters.theme,
        period=period,
        as_at=min(period.end, today),
        procedures={pv.pk: procedure_version_model(pv) for pv in versions},
        nations=tuple(sorted({pv.nation for pv in versions})),
    )


def report_for(*, user: UserLike, period: Period, filters: ReportFilters, today: dt.date) -> Report:
    """The figures for ``period`` over the challenges ``user`` may see, narrowed by ``filters``, worked
    out from their events by the database (``resolve.reports.queries``) in one round trip; the
    challenges behind a figure and the outcomes and learning are read when asked for.

    Refused (403) for a role without ``Perm.VIEW_REPORTS``.
    """
    perm_require(user=user, perm=Perm.VIEW_REPORTS)
    query = report_query(user=user, period=period, filters=filters, today=today)
    counted = figure_counts(query)
    counts = counted.counts
    # The funnel lists each procedure's stages as its current version has them (else its newest).
    procedures: dict[str, Procedure] = {}
    for pv in PolicyVersion.objects.order_by("key", "-is_current", "-version"):
        procedures.setdefault(pv.key, procedure_version_model(pv))
    report = Report(
        period=period,
        as_at=query.as_at,
        members=_Members(query, counts),
        trend_periods=sub_periods(period),
        cafcass_median_working_days=counted.cafcass_median,
        repeat_children=counted.repeat_children,
        learning=_Learning(query, counted.learning_total, counted.learning_newest),
        counts=counts,
    )
    used = sorted(
        {
            key.split(":")[1]
            for key in counts
            if key.split(":")[0] in ("open_at", "resolved_at", "withdrawn_at")
        }
    )
    for key in used:
        if key not in procedures:
            continue
        for step in procedures[key].stages:
            p90, middle = counted.stage_stats.get((key, step.key), (None, None))
            timing = {part: counted.rows.get(f"timing:{key}:{step.key}:{part}", 0) for part in TIMELINESS}
            report.stage_add(key, step, timing=timing, median=middle, p90=p90)
    theme_counts = {key.split(":")[1]: n for key, n in counts.items() if re.fullmatch(r"theme:[^:]+", key)}
    report.themes = sorted(theme_counts, key=lambda theme: (-theme_counts[theme], theme))
    teams = sorted(
        (int(key.split(":")[1]) for key in counts if re.fullmatch(r"team:\d+", key)),
        key=lambda team: (-counts[f"team:{team}"], team),
    )
    report.teams = [
        TeamRow(
            key=team,
            received=counts[f"team:{team}"],
            responses_due=sum(counted.rows.get(f"team:{team}:{part}", 0) for part in _DUE),
            on_time=counted.rows.get(f"team:{team}:on_time", 0),
            late=counted.rows.get(f"team:{team}:late", 0),
            missing=counted.rows.get(f"team:{team}:missing", 0),
            beyond_first_formal=counts.get(f"team:{team}:beyond_first_formal", 0),
        )
        for team in teams
    ]
    people = sorted(
        (int(key.split(":")[1]) for key in counted.rows if re.fullmatch(r"manager:\d+", key)),
        key=lambda person: (-counted.rows[f"manager:{person}"], person),
    )
    report.managers = [
        ManagerRow(
            key=person,
            responses=counted.rows[f"manager:{person}"],
            on_time=counted.rows.get(f"manager:{person}:on_time", 0),
            late=counted.rows.get(f"manager:{person}:late", 0),
            median_working_days=counted.manager_median.get(person),
        )
        for person in people
    ]
    # By procedure, and the challenges to partner agencies by the agency's kind (seed 000 section 2).
    report.procedures = sorted(key.split(":", 1)[1] for key in counts if key.startswith("procedure:"))
    report.agency_kinds = {
        kind.key: kind.label
        for key in report.procedures
        if key in procedures
        for kind in procedures[key].agency_kinds
        if report.count(f"agency:{kind.key}")
    }
    without = _cafcass_without_challenge(user=user, period=period, filters=filters)
    report.cafcass_without_challenge = without.count()
    report.cafcass_without_challenge_urgent = without.filter(urgent=True).count()
    return report


_DUE = ("on_time", "late", "missing")


@dataclass(frozen=True, slots=True)
class Names:
    """Words for the keys a report uses: teams, people, procedures, stages and themes."""

    teams: dict[int, str]
    people: dict[int, str]
    procedures: dict[str, str]
    themes: dict[str, str]
    stages: dict[tuple[str, str], str]

    def team(self, key: int) -> str:
        return self.teams.get(key, "No team") if key else "No team"

    def person(self, key: int) -> str:
        return self.people.get(key, "Unknown")

    def theme(self, key: str) -> str:
        return self.themes.get(key, key.replace("_", " ").capitalize()) if key else "No theme"


def report_names(*, report: Report) -> Names:
    people_ids = {row.key for row in report.managers}
    people_ids |= {int(key.split(":")[1]) for key in report.members if key.startswith("chair:")}
    people = {
        pk: f"{first} {last}".strip() or username
        for pk, username, first, last in get_user_model()
        .objects.filter(pk__in=people_ids)
        .values_list("pk", "username", "first_name", "last_name")
    }
    teams = dict(Team.objects.filter(pk__in={row.key for row in report.teams}).values_list("pk", "name"))
    procedures: dict[str, str] = {}
    themes: dict[str, str] = {}
    stages: dict[tuple[str, str], str] = {}
    for pv in PolicyVersion.objects.order_by("key", "-version"):
        model = procedure_version_model(pv)
        procedures.setdefault(pv.key, model.name)
        for theme in model.themes:
            themes.setdefault(theme.key, theme.label)
        for stage in model.stages:
            stages.setdefault((pv.key, stage.key), stage.name)
    return Names(teams=teams, people=people, procedures=procedures, themes=themes, stages=stages)


def report_filter_choices(*, user: UserLike) -> dict[str, list[tuple[str, str]]]:
    """The choices for the report's filters: procedures, teams, chairs and themes one may see."""
    visible = challenges_visible_to(user)
    procedures = sorted(set(visible.values_list("policy__key", "policy__name").distinct()))
    team_rows = (
        visible.exclude(child__team__isnull=True)
        .values_list("child__team_id", "child__team__name")
        .distinct()
    )
    chair_rows = visible.values_list(
        "raised_by__username", "raised_by__first_name", "raised_by__last_name"
    ).distinct()
    themes: dict[str, str] = {}
    for pv in PolicyVersion.objects.filter(key__in=[key for key, _ in procedures]):
        for theme in procedure_version_model(pv).themes:
            themes.setdefault(theme.key, theme.label)
    return {
        "procedure": [(key, name) for key, name in dict(procedures).items()],
        "team": sorted(((str(pk), name) for pk, name in team_rows), key=lambda item: item[1]),
        "chair": sorted(
            ((username, f"{first} {last}".strip() or username) for username, first, last in chair_rows),
            key=lambda item: item[1],
        ),
        "theme": sorted(themes.items(), key=lambda item: item[1]),
    }


def report_members(
    *, user: UserLike, period: Period, filters: ReportFilters, figure: str, today: dt.date
) -> tuple[set[int], Report, Names]:
    """The challenges behind one figure of the report (``Report.members[figure]``), for the list,
    with the report and its names to say what the figure is."""
    report = report_for(user=user, period=period, filters=filters, today=today)
    return set(report.members.get(figure, set())), report, report_names(report=report)
