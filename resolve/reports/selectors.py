"""Reads for the reports: the challenges a person may see (``resolve.access``), their events, and the
figures worked out from them (``resolve.reports.figures``).

Three queries, whatever the number of challenges: the challenges raised in the period (one row each:
child, track, procedure, team, chair), their events up to the report's day, and the themes of the
same children's challenges in the year before (for repeat issues). Names of teams and people are
looked up afterwards for the rows shown.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

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
    ChallengeFacts,
    ChallengeRow,
    EventRow,
    Report,
    challenge_facts,
    report_build,
)
from resolve.reports.periods import Period

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
    if filters.procedure:
        challenges = challenges.filter(policy__key=filters.procedure)
    if filters.team is not None:
        # Team 0 is "no team": children whose social worker's team is not recorded.
        challenges = (
            challenges.filter(child__team_id=filters.team)
            if filters.team
            else challenges.filter(child__team__isnull=True)
        )
    if filters.chair:
        challenges = challenges.filter(raised_by__username=filters.chair)
    return challenges


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


def report_for(*, user: UserLike, period: Period, filters: ReportFilters, today: dt.date) -> Report:
    """The figures for ``period`` over the challenges ``user`` may see, narrowed by ``filters``.

    Refused (403) for a role without ``Perm.VIEW_REPORTS``.
    """
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
    if filters.procedure:
        rows = rows.filter(policy__key=filters.procedure)
    if filters.team is not None:
        rows = (
            rows.filter(child__team_id=filters.team)
            if filters.team
            else rows.filter(child__team__isnull=True)
        )
    if filters.chair:
        rows = rows.filter(by__username=filters.chair)
    return rows


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
