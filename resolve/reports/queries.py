"""The report's figures as SQL over the events: the same rules as ``resolve.reports.figures``, worked
out by the database in one query, on SQLite and PostgreSQL alike.

``figures.challenge_facts`` replays one challenge's events in Python; a year of an authority's
challenges is hundreds of thousands of them, so the report asks the database instead. The query reads
the events (the single source of truth: nothing is counted beside them) of the challenges one may see
raised in the period, up to the report's day, and builds, in common table expressions:

- ``cohort``: the challenges raised in the period that ``user`` may see (``resolve.access``), with the
  report's filters, one row each (child, track, procedure, team, chair, nation);
- ``ev``: their events up to the report's day, each numbered with the stage visit it belongs to (a
  running count of the events that put a challenge into a stage: raised, escalated, re-opened);
- ``visits``: one row per stage visit: the stage, when it was entered, its due date, its first
  response and who recorded it, when it was left, and how its response is reported (on time, late,
  missing, extended, not yet due, no timescale) by the rule of ``resolve.challenges.overdue``;
- ``facts``: one row per challenge: its status, where it was resolved, withdrawn or still is, whether
  it reached a formal stage or went beyond the first, past the formal limit, its Cafcass referral;
- ``themes``, ``earlier_themes`` and ``repeats``: the themes raised; for each child and theme, the
  last day a challenge of theirs raised it in the year before the period; and the challenges whose
  child raised one of its themes in the 365 days before it (an earlier one, or one in the period
  before it), for "the same theme again within a year".

Working days are counted in the query (``_working_days``): for a day, its Mondays to Fridays since
1970 less the closed weekdays (bank holidays, closure days) on or before it, found by a binary search
over those of the challenge's nation, written into the query from the calendar
(``resolve.calendars``). The working days between two days is the difference of their counts, and a
due date has passed on a day when that day's count is above the due date's (``overdue.past_due``).

Each figure is a ``Family`` of keys (``status:{0}``, ``reached:{0}:{1}``...): grouped, it gives every
count of the dashboard in one round trip; narrowed to one key, it lists the challenges behind that
figure (``figure_members``), so a number can always be checked against the same rule that made it.

Two values are taken from the first or last event of a group by packing the event's sequence with the
value into one integer (``sequence * 2**32 + person``, ``sequence * 2 + urgent``), so that a plain
``MIN`` finds it without a second pass over the events.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet

from resolve.calendars.services import working_calendar
from resolve.calendars.types import Nation
from resolve.challenges.events import EventType
from resolve.procedures.schema import Procedure
from resolve.reports.figures import EXTENSION_EVENT_TYPES
from resolve.reports.periods import Period, sub_periods

_E = EventType
_ENTERS = (_E.RAISED.value, _E.ESCALATED.value, _E.REOPENED.value)
_CLOSES = (_E.RESOLVED.value, _E.WITHDRAWN.value)
# The days around the period whose closed weekdays are written into the query: the year before it
# (repeats) and enough after the report's day for any due date it compares.
_DAYS_BEFORE = 400
_DAYS_AFTER = 800
_PERSON = 4294967296  # 2**32: a sequence and a person's id packed into one integer


def _in(values: Iterable[str]) -> str:
    """A list of our own constants (event types, timeliness words) as SQL literals."""
    return ", ".join("'" + value.replace("'", "''") + "'" for value in values)


@dataclass(frozen=True, slots=True)
class Dialect:
    """The few words SQLite and PostgreSQL say differently."""

    vendor: str

    @property
    def postgres(self) -> bool:
        return self.vendor == "postgresql"

    def json_text(self, key: str) -> str:
        return f"e.detail->>'{key}'" if self.postgres else f"json_extract(e.detail, '$.{key}')"

    def json_date(self, key: str) -> str:
        if self.postgres:
            return f"CAST(NULLIF(e.detail->>'{key}', '') AS DATE)"
        return f"NULLIF(json_extract(e.detail, '$.{key}'), '')"

    def json_truthy(self, key: str) -> str:
        """Python's truth of ``detail.get(key)`` for the flags the events carry (true, false, absent)."""
        if self.postgres:
            return f"COALESCE(e.detail->>'{key}', '') NOT IN ('', 'false', '0', 'null')"
        return f"COALESCE(json_extract(e.detail, '$.{key}'), 0) NOT IN (0, '')"

    def themes_join(self) -> str:
        """Join each event to the themes of its detail, as ``t.value``."""
        if self.postgres:
            return (
                "CROSS JOIN LATERAL jsonb_array_elements_text(CASE WHEN jsonb_typeof(e.detail->'themes') "
                "= 'array' THEN e.detail->'themes' ELSE '[]'::jsonb END) AS t(value)"
            )
        return "JOIN json_each(e.detail, '$.themes') AS t"

    def themes_text(self) -> str:
        """The event's themes as JSON text, to be carried along and read by ``themes_of``."""
        return "CAST(e.detail->'themes' AS TEXT)" if self.postgres else "json_extract(e.detail, '$.themes')"

    def themes_of(self, text: str) -> str:
        """Join each row to the themes in its JSON text ``text``, as ``t.value``."""
        if self.postgres:
            return (
                f"CROSS JOIN LATERAL jsonb_array_elements_text(CASE WHEN jsonb_typeof(CAST({text} AS jsonb)) "
                f"= 'array' THEN CAST({text} AS jsonb) ELSE '[]'::jsonb END) AS t(value)"
            )
        return f"JOIN json_each({text}) AS t"

    def day(self, day: dt.date) -> str:
        return f"DATE '{day.isoformat()}'" if self.postgres else f"'{day.isoformat()}'"

    def param_day(self, day: dt.date) -> Any:
        return day if self.postgres else day.isoformat()

    def weekdays(self, expression: str) -> str:
        """Mondays to Fridays from 5 January 1970 (a Monday) to the day ``expression``, inclusive."""
        if self.postgres:
            n = f"({expression} - DATE '1970-01-05')"
            return f"(5 * ({n} / 7) + LEAST({n} %% 7, 4) + 1)"
        n = f"(CAST(julianday({expression}) AS INTEGER) - 2440591)"
        return f"(5 * ({n} / 7) + min({n} %% 7, 4) + 1)"

    def days_before(self, expression: str, days: int) -> str:
        return f"({expression} - {days})" if self.postgres else f"date({expression}, '-{days} days')"

    def percentiles(self, source: str, groups: Sequence[str], value: str) -> str:
        """``SELECT g0, g1..., p90, med FROM source GROUP BY groups``: the median (the mean of the
        middle two of an even number) and the 90th percentile by nearest rank (a value that occurred,
        with at least 90% at or below it; ``figures.percentile_90``)."""
        alias = [f"g{index}" for index in range(len(groups))]
        named = ", ".join(f"{group} AS {name}" for group, name in zip(groups, alias, strict=True))
        part = ", ".join(alias)
        if self.postgres:
            return (
                f"SELECT {named}, percentile_disc(0.9) WITHIN GROUP (ORDER BY {value}) AS p90, "  # nosec B608
                f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {value}) AS med "
                f"FROM {source} WHERE {value} IS NOT NULL GROUP BY {', '.join(groups)}"
            )
        # SQLite has no percentile functions: rank the values instead. The rank of the 90th
        # percentile is ceil(0.9 * n), in the same floating point as Python's (and PostgreSQL's).
        rank = "(CAST(0.9 * n AS INTEGER) + (0.9 * n > CAST(0.9 * n AS INTEGER)))"
        return (
            f"SELECT {part}, MAX(CASE WHEN rn = {rank} THEN x END) AS p90, "  # nosec B608
            "AVG(CASE WHEN rn IN ((n + 1) / 2, (n + 2) / 2) THEN x END) AS med FROM ("
            f"SELECT {named}, {value} AS x, ROW_NUMBER() OVER (PARTITION BY {', '.join(groups)} "
            f"ORDER BY {value}) AS rn, COUNT(*) OVER (PARTITION BY {', '.join(groups)}) AS n "
            f"FROM {source} WHERE {value} IS NOT NULL) ranked GROUP BY {part}"
        )


def dialect() -> Dialect:
    return Dialect(connection.vendor)


# Sort and hash memory for the report's query on PostgreSQL (the server's default is 4MB). At a
# million challenges its groupings over the year's stage visits spilled to disk with the default
# (EXPLAIN ANALYZE: 70 MB sorted on disk, a hash aggregate in 25 batches); with this they stay in
# memory, and the query took a fifth less time (docs/reports.md). Set for the query's transaction only.
REPORT_WORK_MEM = "64MB"


def _fetch(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Run one of the report's queries. On PostgreSQL without just-in-time compilation: the query is
    long (the calendar is written into it) and runs once, so compiling it costs more than it saves
    (close to a second at any size); and with ``REPORT_WORK_MEM`` to sort and group in."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL jit = off")
            cursor.execute(f"SET LOCAL work_mem = '{REPORT_WORK_MEM}'")
        cursor.execute(sql, params)
        return list(cursor.fetchall())


@dataclass(frozen=True, slots=True)
class Family:
    """A family of figures: the keys ``template.format(*values)`` for each group of ``groups`` over
    ``source`` where ``where`` holds; each counts the challenges (``cid``) in its group."""

    template: str
    source: str  # "facts", "visits", "themes" or "repeats"
    groups: tuple[str, ...] = ()
    where: str = ""

    @property
    def pattern(self) -> re.Pattern[str]:
        parts = re.split(r"\{\d\}", self.template)
        return re.compile("([^:]+)".join(re.escape(part) for part in parts))

    @property
    def cid(self) -> str:
        return {"facts": "f.cid", "visits": "v.cid", "themes": "t.cid", "repeats": "r.cid"}[self.source]

    @property
    def from_(self) -> str:
        return {
            "facts": "facts f",
            "visits": "visits v",
            "themes": "themes t",
            "repeats": "repeats r",
        }[self.source]


_TIMED = _in(("on_time", "late", "missing"))
FAMILIES: tuple[Family, ...] = (
    Family("raised", "facts"),
    Family("status:{0}", "facts", ("f.status",)),
    Family("kind:{0}", "facts", ("CASE WHEN f.formal = 1 THEN 'formal' ELSE 'informal' END",)),
    Family("track:{0}", "facts", ("f.track",)),
    # By procedure, and to partner agencies by the agency's kind (seed 000 section 2).
    Family("procedure:{0}", "facts", ("f.pkey",)),
    Family("to:agency", "facts", where="f.agency_kind <> ''"),
    Family("agency:{0}", "facts", ("f.agency_kind",), "f.agency_kind <> ''"),
    Family("{0}_at:{1}:{2}", "facts", ("f.status", "f.pkey", "f.at_stage")),
    Family("reopened", "facts", where="f.reopened > 0"),
    Family("past_cap", "facts", where="f.past_cap = 1"),
    Family("raised:{0}", "facts", ("f.part",), "f.part IS NOT NULL"),
    Family("team:{0}", "facts", ("f.team",)),
    Family("team:{0}:beyond_first_formal", "facts", ("f.team",), "f.later_formal = 1"),
    Family("chair:{0}", "facts", ("f.chair",)),
    Family("cafcass", "facts", where="f.cafcass = 1"),
    Family(
        "cafcass:{0}",
        "facts",
        ("CASE WHEN f.urgent = 1 THEN 'urgent' ELSE 'not_urgent' END",),
        "f.cafcass = 1",
    ),
    Family("cafcass:{0}", "facts", ("f.status",), "f.cafcass = 1"),
    Family("theme:", "facts", where="NOT EXISTS (SELECT 1 FROM themes t WHERE t.cid = f.cid)"),
    Family("repeat:child", "facts", where="f.siblings > 1"),
    Family("repeat:theme", "repeats"),
    Family("reached:{0}:{1}", "visits", ("v.pkey", "v.stage")),
    Family("timing:{0}:{1}:{2}", "visits", ("v.pkey", "v.stage", "v.timeliness")),
    Family("team:{0}:{1}", "visits", ("v.team", "v.timeliness"), f"v.timeliness IN ({_TIMED})"),
    Family("team:{0}:due", "visits", ("v.team",), f"v.timeliness IN ({_TIMED})"),
    # A partner agency's reply is recorded by the chair on its behalf: not a manager's response.
    Family("manager:{0}", "visits", ("v.responder",), "v.responder IS NOT NULL AND v.agency_kind = ''"),
    Family(
        "manager:{0}:{1}",
        "visits",
        ("v.responder", "v.timeliness"),
        "v.responder IS NOT NULL AND v.agency_kind = '' AND v.timeliness IN ('on_time', 'late')",
    ),
    Family("theme:{0}", "themes", ("t.theme",)),
    Family("team_theme:{0}:{1}", "themes", ("t.team", "t.theme")),
    Family("theme:{0}:{1}", "themes", ("t.theme", "t.part"), "t.part IS NOT NULL"),
)


@dataclass(frozen=True, slots=True)
class ReportQuery:
    """Everything the query needs: the challenges (scoped querysets from the selectors), the period,
    the report's day and the procedures' stages."""

    cohort: QuerySet[Any]  # values_list: pk, child, case number, track, procedure key, team, chair,
    #                        policy version, nation
    earlier: QuerySet[Any]  # values_list: pk, child of visible challenges of the same children
    theme: str
    period: Period
    as_at: dt.date
    procedures: dict[int, Procedure]  # by policy version id
    nations: tuple[str, ...]


def _sql(queryset: QuerySet[Any]) -> tuple[str, list[Any]]:
    sql, params = queryset.query.sql_with_params()
    return sql, list(params)


def _span(query: ReportQuery) -> tuple[dt.date, dt.date]:
    return (
        query.period.start - dt.timedelta(days=_DAYS_BEFORE),
        max(query.period.end, query.as_at) + dt.timedelta(days=_DAYS_AFTER),
    )


def _closed_weekdays(query: ReportQuery) -> dict[str, list[dt.date]]:
    """For each nation, the weekdays in the span that are not working days (bank holidays, closures)."""
    start, end = _span(query)
    found: dict[str, list[dt.date]] = {}
    for nation in query.nations:
        calendar = working_calendar(Nation(nation))
        day, closed = start, []
        while day <= end:
            if day.weekday() < 5 and not calendar.is_working_day(day):
                closed.append(day)
            day += dt.timedelta(days=1)
        found[nation] = closed
    return found


def _working_days(d: Dialect, closed: dict[str, list[dt.date]], nation: str, expression: str) -> str:
    """The working days up to the day ``expression`` in ``nation`` (a column): its weekdays less the
    closed weekdays on or before it, counted by a binary search over the closed days written into the
    query. Only differences of two such numbers mean anything: the working days between two days."""

    def closed_on_or_before(days: list[dt.date], low: int, high: int) -> str:
        if low == high:
            return str(low)
        middle = (low + high + 1) // 2
        return (
            f"CASE WHEN {expression} >= {d.day(days[middle - 1])} "
            f"THEN {closed_on_or_before(days, middle, high)} "
            f"ELSE {closed_on_or_before(days, low, middle - 1)} END"
        )

    by_nation = " ".join(
        f"WHEN {_in([key])} THEN {closed_on_or_before(days, 0, len(days))}" for key, days in closed.items()
    )
    held = f"(CASE {nation} {by_nation} END)" if by_nation else "0"
    return f"({d.weekdays(expression)} - {held})"


def _stages(query: ReportQuery) -> str:
    rows: list[str] = []
    for policy_id, procedure in query.procedures.items():
        formal = [stage.key for stage in procedure.stages if stage.kind == "formal"]
        for stage in procedure.stages:
            is_formal = int(stage.kind == "formal")
            later = int(is_formal and stage.key != formal[0])
            rows.append(f"({int(policy_id)}, {_in([stage.key])}, {is_formal}, {later})")
    return "VALUES " + ", ".join(rows) if rows else "SELECT 0, '', 0, 0 WHERE 1 = 0"


def _caps(query: ReportQuery) -> str:
    rows = [
        f"({int(policy_id)}, {int(procedure.formal_cap_working_days)})"
        for policy_id, procedure in query.procedures.items()
    ]
    return "VALUES " + ", ".join(rows) if rows else "SELECT 0, 0 WHERE 1 = 0"


def _part(d: Dialect, period: Period) -> str:
    parts = sub_periods(period)
    if not parts:
        return "CAST(NULL AS INTEGER)"
    cases = " ".join(
        f"WHEN a.raised_on >= {d.day(part.start)} AND a.raised_on <= {d.day(part.end)} THEN {index}"
        for index, part in enumerate(parts)
    )
    return f"CASE {cases} END"


def _ctes(query: ReportQuery) -> tuple[str, list[Any]]:
    """The common table expressions every figure reads, and their parameters in order."""
    d = dialect()
    cohort_sql, cohort_params = _sql(query.cohort)
    earlier_sql, earlier_params = _sql(query.earlier)
    as_at = d.param_day(query.as_at)
    theme_filter = ""
    theme_params: list[Any] = []
    if query.theme:
        theme_filter = (
            f"WHERE EXISTS (SELECT 1 FROM challenges_event e {d.themes_join()} "  # nosec B608
            f"WHERE e.challenge_id = c0.cid AND e.type = '{_E.RAISED.value}' AND t.value = %s)"
        )
        theme_params = [query.theme]
    extensions = _in(sorted(EXTENSION_EVENT_TYPES))
    left = "COALESCE(v1.close_on, v1.next_on)"

    # The period's challenges' themes, for "again within a year": with a theme filter, also those of
    # the challenges it leaves out (a repeat is a repeat).
    period_themes = (
        f'SELECT DISTINCT e.challenge_id AS cid, c.child_id, e."on" AS raised_on, t.value AS theme '  # nosec B608: our own table and column names; values are parameters
        f"FROM challenges_event e JOIN cohort0 c ON c.cid = e.challenge_id {d.themes_join()} "
        f"WHERE e.type = '{_E.RAISED.value}'"
        if query.theme
        else "SELECT cid, child_id, raised_on, theme FROM themes"
    )
    # With a theme filter, the challenges it leaves out are there as earlier ones only.
    in_period = " AND o.cid IN (SELECT cid FROM facts)" if query.theme else ""
    # Each challenge's row (child, track, procedure, team, chair, nation) is carried along with its
    # events: joined back to the visits instead, the planner's guess of the visits' number goes
    # wrong (the cohort is a common table expression) and the figures are grouped by sorting.
    row = ("child_id", "track", "pkey", "team", "chair", "policy_id", "nation", "agency_kind")
    carried_in = "".join(f"c.{column}, " for column in row)
    carried_on = "".join(f"MAX({column}) AS {column}, " for column in row)
    closed = _closed_weekdays(query)
    as_at_day = d.day(query.as_at)

    def wn(nation: str, expression: str) -> str:
        return _working_days(d, closed, nation, expression)

    def past_due(on: str) -> str:
        # The due date has passed on ``on``: a working day came after it (overdue.past_due).
        return f"(v1.due_on < {on} AND {wn('v1.nation', on)} > {wn('v1.nation', 'v1.due_on')})"

    sql = (
        "\n"  # nosec B608: our own constants; every request value is a parameter
        f"""
stages (policy_id, stage, formal, later_formal) AS MATERIALIZED ({_stages(query)}),
caps (policy_id, cap) AS MATERIALIZED ({_caps(query)}),
cohort0 (cid, child_id, case_number, track, pkey, team, chair, policy_id, nation, agency_kind)
  AS MATERIALIZED (
  {cohort_sql}
),
cohort AS (SELECT * FROM cohort0 c0 {theme_filter}),
ev AS (
  SELECT x.*, SUM(x.enters) OVER (PARTITION BY x.cid ORDER BY x.seq ROWS UNBOUNDED PRECEDING) AS vn
  FROM (
    SELECT e.challenge_id AS cid, e.sequence AS seq, e.type AS type, e."on" AS on_, e.by_id AS by_id,
      {carried_in} NULLIF(e.stage_key, '') AS stage_key,
      CASE e.type
        WHEN '{_E.ESCALATED.value}' THEN COALESCE(NULLIF({d.json_text("to_stage")}, ''), e.stage_key)
        WHEN '{_E.REOPENED.value}' THEN COALESCE(NULLIF({d.json_text("reentry_stage")}, ''), e.stage_key)
        ELSE e.stage_key END AS stage,
      CASE WHEN e.type IN ({_in(_ENTERS)}) THEN 1 ELSE 0 END AS enters,
      CASE WHEN e.type IN ({_in(_ENTERS)}) THEN {d.json_date("due_on")} END AS due_on,
      CASE WHEN e.type = '{_E.RESPONSE_RECORDED.value}' AND NOT ({d.json_truthy("further")})
        THEN 1 ELSE 0 END AS answers,
      CASE WHEN {d.json_truthy("urgent")} THEN 1 ELSE 0 END AS urgent,
      CASE WHEN e.type = '{_E.RAISED.value}' THEN {d.themes_text()} END AS themes_text,
      CASE WHEN (e.type = '{_E.LEARNING_POINTS_ADDED.value}'
          AND COALESCE({d.json_text("learning_points")}, '') <> '')
        OR (e.type = '{_E.FINAL_COMMENTS_ADDED.value}' AND COALESCE({d.json_text("comments")}, '') <> '')
        THEN 1 ELSE 0 END AS says
    FROM cohort c JOIN challenges_event e ON e.challenge_id = c.cid
    WHERE e."on" <= %s
  ) x
),
v0 AS (
  SELECT cid, vn, {carried_on}
    MAX(CASE WHEN enters = 1 THEN stage END) AS stage,
    MAX(CASE WHEN enters = 1 THEN type END) AS how,
    MIN(CASE WHEN enters = 1 THEN on_ END) AS entered_on,
    MAX(due_on) AS due_on,
    MIN(CASE WHEN answers = 1 THEN seq * {_PERSON} + COALESCE(by_id, 0) END) AS answer_code,
    MIN(CASE WHEN answers = 1 THEN on_ END) AS answered_on,
    MIN(CASE WHEN type IN ({_in(_CLOSES)}) THEN seq END) AS close_seq,
    MIN(CASE WHEN type IN ({_in(_CLOSES)}) THEN on_ END) AS close_on,
    MAX(CASE WHEN type IN ({_in(_CLOSES)}) THEN type END) AS close_type,
    MAX(CASE WHEN type IN ({_in(_CLOSES)}) THEN stage_key END) AS close_stage,
    MIN(CASE WHEN type IN ({extensions}) THEN seq END) AS extended_seq,
    MIN(CASE WHEN type = '{_E.CAFCASS_REFERRED.value}' THEN seq * 2 + urgent END) AS cafcass_code,
    MIN(CASE WHEN type = '{_E.CAFCASS_REFERRED.value}' THEN on_ END) AS cafcass_on,
    MAX(themes_text) AS themes_text,
    MAX(says) AS says
  FROM ev WHERE vn > 0 GROUP BY cid, vn
),
v1 AS (
  SELECT v0.*, LEAD(entered_on) OVER w AS next_on, LEAD(vn) OVER w AS next_vn,
    MAX(CASE WHEN how = '{_E.REOPENED.value}' THEN vn END) OVER (
      PARTITION BY cid ORDER BY vn ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
    ) AS reopened_vn
  FROM v0 WINDOW w AS (PARTITION BY cid ORDER BY vn)
),
visits0 AS (
  SELECT v1.cid, v1.vn, v1.child_id, v1.track, v1.pkey, COALESCE(v1.team, 0) AS team,
    COALESCE(v1.chair, 0) AS chair, v1.policy_id, v1.nation, v1.agency_kind,
    v1.stage, v1.how, v1.entered_on,
    v1.close_on, v1.close_type, COALESCE(v1.close_stage, v1.stage) AS closed_at,
    CASE WHEN v1.next_vn IS NULL THEN 1 ELSE 0 END AS is_last,
    NULLIF(v1.answer_code %% {_PERSON}, 0) AS responder,
    v1.cafcass_code, v1.cafcass_on, v1.themes_text, v1.says,
    v1.reopened_vn, v1.policy_id AS stages_of,
    CASE
      WHEN v1.due_on IS NULL THEN 'no_timescale'
      WHEN v1.extended_seq IS NOT NULL AND (v1.close_seq IS NULL OR v1.extended_seq < v1.close_seq)
        THEN 'extended'
      WHEN v1.answered_on IS NOT NULL
        THEN CASE WHEN v1.answered_on <= v1.due_on THEN 'on_time' ELSE 'late' END
      WHEN {left} IS NOT NULL THEN CASE WHEN {past_due(left)} THEN 'missing' ELSE 'other' END
      ELSE CASE WHEN {past_due(as_at_day)} THEN 'missing' ELSE 'other' END
    END AS timeliness,
    CASE WHEN v1.answered_on IS NOT NULL
      THEN {wn("v1.nation", "v1.answered_on")} - {wn("v1.nation", "v1.entered_on")} END AS wd
  FROM v1
),
visits AS MATERIALIZED (
  SELECT v.*, COALESCE(st.formal, 0) AS formal, COALESCE(st.later_formal, 0) AS later_formal
  FROM ({_first_visits(d)}) v
  LEFT JOIN stages st ON st.policy_id = v.stages_of AND st.stage = v.stage
),
agg AS (
  SELECT cid, MAX(child_id) AS child_id, MAX(track) AS track, MAX(pkey) AS pkey, MAX(team) AS team,
    MAX(chair) AS chair, MAX(policy_id) AS policy_id, MAX(nation) AS nation,
    MAX(agency_kind) AS agency_kind, MIN(entered_on) AS raised_on, MAX(formal) AS formal,
    MAX(later_formal) AS later_formal,
    SUM(CASE WHEN how = '{_E.REOPENED.value}' THEN 1 ELSE 0 END) AS reopened,
    MIN(CASE WHEN formal = 1 THEN entered_on END) AS formal_started,
    MIN(cafcass_code) AS cafcass_code, MIN(cafcass_on) AS cafcass_on,
    MAX(CASE WHEN is_last = 1 THEN stage END) AS last_stage,
    MAX(CASE WHEN is_last = 1 THEN close_type END) AS close_type,
    MAX(CASE WHEN is_last = 1 THEN closed_at END) AS closed_at,
    MAX(CASE WHEN is_last = 1 THEN close_on END) AS close_on,
    MAX(themes_text) AS themes_text,
    MAX(CASE WHEN says = 1 AND vn >= COALESCE(reopened_vn, 0) THEN 1 ELSE 0 END) AS says
  FROM visits GROUP BY cid
),
facts AS MATERIALIZED (
  SELECT a.cid, a.child_id, a.track, a.pkey, a.team, a.chair, a.agency_kind, a.themes_text,
    a.raised_on, a.formal, a.later_formal, a.reopened,
    COALESCE(a.close_type, 'open') AS status,
    CASE WHEN a.close_type = '{_E.RESOLVED.value}' THEN a.close_on END AS resolved_on,
    CASE WHEN a.close_type = '{_E.RESOLVED.value}' OR a.says = 1 THEN 1 ELSE 0 END AS learned,
    CASE WHEN a.close_type IS NULL THEN a.last_stage ELSE a.closed_at END AS at_stage,
    CASE WHEN a.formal_started IS NOT NULL AND {wn("a.nation", f"COALESCE(a.close_on, {as_at_day})")}
      - {wn("a.nation", "a.formal_started")} > cp.cap THEN 1 ELSE 0 END AS past_cap,
    CASE WHEN a.cafcass_code IS NULL THEN 0 ELSE 1 END AS cafcass,
    CASE WHEN a.cafcass_code %% 2 = 1 THEN 1 ELSE 0 END AS urgent,
    CASE WHEN a.cafcass_on IS NOT NULL
      THEN {wn("a.nation", "a.cafcass_on")} - {wn("a.nation", "a.raised_on")} END AS cafcass_wd,
    ch.siblings,
    {_part(d, query.period)} AS part
  FROM agg a
  JOIN (SELECT child_id, COUNT(*) AS siblings FROM agg GROUP BY child_id) ch ON ch.child_id = a.child_id
  LEFT JOIN caps cp ON cp.policy_id = a.policy_id
),
themes AS MATERIALIZED (
  SELECT DISTINCT f.cid, f.child_id, f.team, f.part, f.raised_on, t.value AS theme
  FROM facts f {d.themes_of("f.themes_text")}
),
earlier (cid, child_id) AS ({earlier_sql}),
earlier_themes AS (
  SELECT o.child_id, t.value AS theme, MAX(e."on") AS last_on
  FROM challenges_event e JOIN earlier o ON o.cid = e.challenge_id {d.themes_join()}
  WHERE e.type = '{_E.RAISED.value}' AND e."on" >= %s AND e."on" < %s
    AND o.child_id IN (SELECT child_id FROM cohort)
  GROUP BY o.child_id, t.value
),
repeats AS (
  SELECT t.cid FROM themes t JOIN earlier_themes b ON b.child_id = t.child_id AND b.theme = t.theme
  WHERE b.last_on >= {d.days_before("t.raised_on", 365)}
  UNION
  SELECT o.cid FROM (
    SELECT cid, raised_on,
      LAG(raised_on) OVER (PARTITION BY child_id, theme ORDER BY raised_on, cid) AS before
    FROM ({period_themes}) p
  ) o
  WHERE o.before >= {d.days_before("o.raised_on", 365)}{in_period}
)"""
    )
    params: list[Any] = [
        *cohort_params,
        *theme_params,
        as_at,  # ev: events up to the report's day
        *earlier_params,
        d.param_day(query.period.start - dt.timedelta(days=365)),
        d.param_day(query.period.start),
    ]
    return sql, params


def _member_select(family: Family, values: Sequence[str]) -> tuple[str, list[Any]]:
    conditions = [family.where] if family.where else []
    conditions += [f"CAST({group} AS TEXT) = %s" for group in family.groups]
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    return f"SELECT {family.cid} AS cid FROM {family.from_}{where}", list(values)  # nosec B608


def _count_select(index: int, family: Family) -> str:
    keys = [f"CAST({group} AS TEXT)" for group in family.groups]
    keys += ["CAST(NULL AS TEXT)"] * (3 - len(keys))
    # A challenge has one row of facts and one of each theme; stage visits may be several.
    rows = "COUNT(*)" if family.source == "visits" else "0"
    challenges = f"COUNT(DISTINCT {family.cid})" if family.source == "visits" else "COUNT(*)"
    where = f" WHERE {family.where}" if family.where else ""
    group = f" GROUP BY {', '.join(family.groups)}" if family.groups else ""
    return (
        f"SELECT {index} AS family, {', '.join(keys)}, {challenges} AS n, "  # nosec B608
        f"CAST({rows} AS DOUBLE PRECISION) AS m FROM {family.from_}{where}{group}"
    )


# Columns the same on every visit of a challenge: left out of what tells its visits apart.
_PER_CHALLENGE = ("v.pkey", "v.team")


def _first_visits(d: Dialect) -> str:
    """The visits (``visits0``) with, on PostgreSQL, for each family over the visits, ``f<index>``: 1
    on a challenge's first visit with the family's values (and condition), else 0, so that summing
    it counts each challenge once per group (``_grouping_select``). Each visit looks back over the
    challenge's earlier visits (a handful, already in order); grouping every family by challenge as
    well made millions of groups and spilled to disk at a million challenges. SQLite counts
    ``DISTINCT`` challenges instead (``_count_select``)."""
    if not d.postgres:
        return "SELECT * FROM visits0"
    flags = []
    for index, family in enumerate(FAMILIES):
        if family.source != "visits":
            continue
        parts = [group for group in family.groups if group not in _PER_CHALLENGE]
        parts += [family.where] if family.where else []
        if len(parts) == 1:
            key = parts[0]
        else:
            key = "concat_ws('|', " + ", ".join(f"quote_nullable({part})" for part in parts) + ")"
        flags.append(
            f", CASE WHEN array_position(array_agg({key}) OVER earlier, {key}) IS NULL THEN 1 ELSE 0 END "
            f"AS f{index}"
        )
    window = (
        " WINDOW earlier AS (PARTITION BY v.cid ORDER BY v.vn"
        " ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)"
    )
    return f"SELECT v.*{''.join(flags)} FROM visits0 v{window}"  # nosec B608: our own columns and constants


def _grouping_select(source: str) -> str:
    """Every family over ``source`` in one pass (PostgreSQL's ``GROUPING SETS``), in the shape of
    ``_count_select``'s rows. Each family groups by its own marker, ``CASE WHEN <where> THEN <index>
    END``, and its groups; a row whose marker is empty is the group its condition left out."""
    chosen = [(index, family) for index, family in enumerate(FAMILIES) if family.source == source]
    family = chosen[0][1]
    markers = {index: f"CASE WHEN {item.where or 'TRUE'} THEN {index} END" for index, item in chosen}
    columns: list[str] = []  # every expression grouped by, once
    for _, item in chosen:
        columns += [group for group in item.groups if group not in columns]
    sets = ", ".join("(" + ", ".join([markers[index], *item.groups]) + ")" for index, item in chosen)
    names = {column: f"x{number}" for number, column in enumerate(columns)}
    marked = ", ".join(f"{marker} AS m{index}" for index, marker in markers.items())
    marked += "".join(f", {column} AS {names[column]}" for column in columns)
    if source == "visits":
        # A challenge may visit a stage twice: each set counts a challenge once, at its first visit
        # in the set (``_first_visits``).
        counted = "".join(f", SUM(v.f{index}) AS n{index}" for index, _ in chosen)
        inner = (
            f"SELECT {marked}{counted}, COUNT(*) AS r FROM {family.from_} "  # nosec B608: our own table and column names; values are parameters
            f"GROUP BY GROUPING SETS ({sets})"
        )
        number = (
            "CASE " + " ".join(f"WHEN g.m{index} IS NOT NULL THEN g.n{index}" for index, _ in chosen) + " END"
        )
    else:
        inner = f"SELECT {marked}, COUNT(*) AS n, 0 AS r FROM {family.from_} GROUP BY GROUPING SETS ({sets})"  # nosec B608: our own table and column names; values are parameters
        number = "g.n"
    which = (
        "COALESCE(" + ", ".join(f"g.m{index}" for index, _ in chosen) + ")"
        if len(chosen) > 1
        else f"g.m{chosen[0][0]}"
    )
    keys = []
    for position in range(3):
        cases = " ".join(
            f"WHEN {index} THEN CAST(g.{names[item.groups[position]]} AS TEXT)"
            for index, item in chosen
            if position < len(item.groups)
        )
        keys.append(f"CASE {which} {cases} END" if cases else "CAST(NULL AS TEXT)")
    return (
        f"SELECT {which}, {', '.join(keys)}, CAST({number} AS BIGINT), CAST(g.r AS DOUBLE PRECISION) "  # nosec B608
        f"FROM ({inner}) g WHERE {which} IS NOT NULL"
    )


# Rows of the counting query that are not a family's counts: (marker, k1, k2, k3, n, m).
_STAGE_STATS, _MANAGER_STATS, _CAFCASS_STATS, _REPEAT_CHILDREN = -1, -2, -3, -4
_LEARNING_TOTAL, _LEARNING_NEWEST = -5, -6
# The newest outcomes and learning the counting query lists (the most a page or an answer shows).
LEARNING_READ = 1000


def _stats_selects(d: Dialect) -> list[str]:
    null = "CAST(NULL AS TEXT)"
    tail = "CAST(s.p90 AS BIGINT), CAST(s.med AS DOUBLE PRECISION)"
    stage = d.percentiles("visits", ["pkey", "stage"], "wd")
    # Managers' responses only: a partner agency's reply is recorded by the chair on its behalf.
    managers = "(SELECT responder, wd FROM visits WHERE agency_kind = '') mv"
    manager = d.percentiles(managers, ["responder"], "wd")
    cafcass = d.percentiles("facts", ["cafcass"], "cafcass_wd")
    return [
        f"SELECT {_STAGE_STATS}, CAST(s.g0 AS TEXT), CAST(s.g1 AS TEXT), {null}, {tail} FROM ({stage}) s",  # nosec B608
        f"SELECT {_MANAGER_STATS}, CAST(s.g0 AS TEXT), {null}, {null}, {tail} FROM ({manager}) s",  # nosec B608
        f"SELECT {_CAFCASS_STATS}, {null}, {null}, {null}, {tail} FROM ({cafcass}) s WHERE s.g0 = 1",  # nosec B608
        f"SELECT {_LEARNING_TOTAL}, {null}, {null}, {null}, COUNT(*), CAST(0 AS DOUBLE PRECISION) "  # nosec B608: our own table and column names; values are parameters
        "FROM facts WHERE learned = 1",
        f"SELECT {_LEARNING_NEWEST}, CAST(cid AS TEXT), {null}, {null}, place, CAST(0 AS DOUBLE PRECISION) "  # nosec B608: our own table and column names; values are parameters
        "FROM (SELECT cid, ROW_NUMBER() OVER (ORDER BY never, resolved_on DESC, cid DESC) AS place FROM ("
        "SELECT cid, resolved_on, CASE WHEN resolved_on IS NULL THEN 1 ELSE 0 END AS never FROM facts "
        f"WHERE learned = 1 ORDER BY never, resolved_on DESC, cid DESC LIMIT {LEARNING_READ}) top) newest",
        f"SELECT {_REPEAT_CHILDREN}, {null}, {null}, {null}, COUNT(DISTINCT child_id), "  # nosec B608
        "CAST(0 AS DOUBLE PRECISION) FROM facts WHERE siblings > 1",
    ]


@dataclass
class Counted:
    """What the counting query answered."""

    counts: dict[str, int]  # challenges behind each figure with any
    rows: dict[str, int]  # stage visits behind each visit figure (timing, team and manager parts)
    stage_stats: dict[tuple[str, str], tuple[int | None, float | None]]  # p90, median working days
    manager_median: dict[int, float | None]
    cafcass_median: float | None
    repeat_children: int
    learning_total: int = 0
    learning_newest: list[int] = field(default_factory=list)  # the newest LEARNING_READ, in order


def figure_counts(query: ReportQuery) -> Counted:
    """Every figure of the report in one round trip."""
    d = dialect()
    ctes, params = _ctes(query)
    if d.postgres:
        selects = [_grouping_select(source) for source in ("facts", "visits", "themes", "repeats")]
    else:
        selects = [_count_select(index, family) for index, family in enumerate(FAMILIES)]
    selects += _stats_selects(d)
    sql = f"WITH {ctes}\n" + "\nUNION ALL\n".join(selects)
    found = Counted({}, {}, {}, {}, None, 0)
    newest: list[tuple[int, int]] = []
    for family, k1, k2, k3, n, m in _fetch(sql, params):
        if family >= 0:
            if not n:
                continue
            values = [value for value in (k1, k2, k3) if value is not None]
            if len(values) != len(FAMILIES[family].groups):
                continue  # a group with no value (a stage not recorded) names no figure
            key = FAMILIES[family].template.format(*values)
            found.counts[key] = int(n)
            if FAMILIES[family].source == "visits":
                found.rows[key] = int(m)
        elif family == _STAGE_STATS:
            found.stage_stats[(k1, k2)] = (None if n is None else int(n), None if m is None else float(m))
        elif family == _MANAGER_STATS and k1 is not None:
            found.manager_median[int(k1)] = None if m is None else float(m)
        elif family == _CAFCASS_STATS:
            found.cafcass_median = None if m is None else float(m)
        elif family == _REPEAT_CHILDREN:
            found.repeat_children = int(n or 0)
        elif family == _LEARNING_TOTAL:
            found.learning_total = int(n or 0)
        elif family == _LEARNING_NEWEST:
            newest.append((int(n), int(k1)))
    found.learning_newest = [cid for _, cid in sorted(newest)]
    return found


def figure_members(query: ReportQuery, key: str) -> set[int]:
    """The challenges behind the figure ``key``: each family whose keys look like it, narrowed to it
    (families never share a key, so at most one finds any)."""
    selects: list[str] = []
    values: list[Any] = []
    for family in FAMILIES:
        match = family.pattern.fullmatch(key)
        if match is None:
            continue
        select, found = _member_select(family, match.groups())
        selects.append(select)
        values += found
    if not selects:
        return set()
    ctes, params = _ctes(query)
    sql = f"WITH {ctes}\n" + "\nUNION\n".join(selects)
    return {int(cid) for (cid,) in _fetch(sql, [*params, *values])}


# -- the outcomes and learning --------------------------------------------------------------------

_LEARNING_TYPES = (
    _E.REOPENED.value,
    _E.RESOLVED.value,
    _E.WITHDRAWN.value,
    _E.LEARNING_POINTS_ADDED.value,
    _E.FINAL_COMMENTS_ADDED.value,
)


def _learning_ctes(query: ReportQuery, ids: Sequence[int] | None = None) -> tuple[str, list[Any]]:
    """The challenges with an outcome, learning points or final comments since their last
    re-opening (a re-opening starts them afresh), as at the report's day: ``entries`` (cid, resolved
    on) and ``said`` (their events that say something); only those of ``ids`` when given."""
    d = dialect()
    cohort_sql, cohort_params = _sql(query.cohort if ids is None else query.cohort.filter(pk__in=ids))
    theme_filter, theme_params = "", []
    if query.theme and ids is None:
        theme_filter = (
            f"WHERE EXISTS (SELECT 1 FROM challenges_event e {d.themes_join()} "  # nosec B608
            f"WHERE e.challenge_id = c0.cid AND e.type = '{_E.RAISED.value}' AND t.value = %s)"
        )
        theme_params = [query.theme]
    sql = (
        "\n"  # nosec B608: our own constants; every request value is a parameter
        f"""
cohort0 (cid, child_id, case_number, track, pkey, team, chair, policy_id, nation, agency_kind)
  AS ({cohort_sql}),
cohort AS MATERIALIZED (SELECT * FROM cohort0 c0 {theme_filter}),
lev AS (
  SELECT e.challenge_id AS cid, e.sequence AS seq, e.type AS type, e."on" AS on_, e.stage_key AS stage_key,
    {d.json_text("outcome")} AS outcome, {d.json_text("learning_points")} AS learning_points,
    {d.json_text("comments")} AS comments,
    SUM(CASE WHEN e.type = '{_E.REOPENED.value}' THEN 1 ELSE 0 END) OVER (PARTITION BY e.challenge_id
      ORDER BY e.sequence ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS reopened_after
  FROM challenges_event e
  WHERE e.challenge_id IN (SELECT cid FROM cohort) AND e."on" <= %s AND e.type IN ({_in(_LEARNING_TYPES)})
),
said AS (SELECT * FROM lev WHERE COALESCE(reopened_after, 0) = 0 AND type <> '{_E.REOPENED.value}'),
entries AS (
  SELECT cid, MAX(CASE WHEN type = '{_E.RESOLVED.value}' THEN on_ END) AS resolved_on FROM said
  WHERE type = '{_E.RESOLVED.value}'
    OR (type = '{_E.LEARNING_POINTS_ADDED.value}' AND COALESCE(learning_points, '') <> '')
    OR (type = '{_E.FINAL_COMMENTS_ADDED.value}' AND COALESCE(comments, '') <> '')
  GROUP BY cid
)"""
    )
    return sql, [*cohort_params, *theme_params, d.param_day(query.as_at)]


def learning_newest(query: ReportQuery, limit: int | None) -> tuple[list[int], int]:
    """The challenges with an outcome or learning, newest resolved first (those never resolved last),
    at most ``limit`` of them, and how many there are."""
    ctes, params = _learning_ctes(query)
    bound = f" LIMIT {int(limit)}" if limit is not None else ""
    sql = (
        f"WITH {ctes}\nSELECT cid, COUNT(*) OVER () FROM entries "  # nosec B608
        f"ORDER BY CASE WHEN resolved_on IS NULL THEN 1 ELSE 0 END, resolved_on DESC, cid DESC{bound}"
    )
    rows = _fetch(sql, params)
    if rows or limit != 0:
        return [int(cid) for cid, _ in rows], int(rows[0][1]) if rows else 0
    return [], int(_fetch(f"WITH {ctes}\nSELECT COUNT(*) FROM entries", params)[0][0])  # nosec B608


@dataclass(frozen=True, slots=True)
class LearningRow:
    challenge_id: int
    child_id: int
    case_number: str
    procedure: str
    type: str
    on: Any
    stage_key: str
    outcome: str | None
    learning_points: str | None
    comments: str | None


def learning_rows(query: ReportQuery, ids: Sequence[int] | None) -> list[LearningRow]:
    """The events that say something (``said``) of these challenges, or of every one with an outcome
    or learning when ``ids`` is None, in order."""
    if ids is not None and not ids:
        return []
    ctes, params = _learning_ctes(query, ids)
    sql = (
        f"WITH {ctes}\nSELECT s.cid, c.child_id, c.case_number, c.pkey, s.type, s.on_, s.stage_key, "  # nosec B608
        f"s.outcome, s.learning_points, s.comments FROM said s JOIN cohort c ON c.cid = s.cid "
        f"WHERE s.cid IN (SELECT cid FROM entries) ORDER BY s.cid, s.seq"
    )
    return [LearningRow(*row) for row in _fetch(sql, params)]
