"""The report's query (``report_for``: every figure worked out by the database from the events) against
the same rules written plainly in Python (``report_replayed``: each challenge's events replayed by
``figures.challenge_facts``), over generated histories stored as the write path stores them.

Issue 12: "figures come from the events (the single source of truth), not from counters kept beside
them"; both readings take the events and nothing else.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resolve.calendars.services import working_calendar
from resolve.calendars.types import Nation
from resolve.challenges.models import Challenge, Event
from resolve.children.models import Child
from resolve.procedures.selectors import procedure_get, procedure_version_model
from resolve.reports.periods import financial_quarter, financial_year
from resolve.reports.selectors import ReportFilters, report_for, report_names, report_replayed
from resolve.reports.tables import report_tables

pytestmark = pytest.mark.django_db

THEMES = ["voice_of_child", "placement", "safeguarding"]
STEPS = ["respond", "further", "escalate", "resolve", "reopen", "withdraw", "cafcass", "extend", "learn"]


@st.composite
def _history(draw: st.DrawFn) -> dict:
    return {
        "raised": draw(st.dates(dt.date(2024, 10, 1), dt.date(2026, 3, 31))),
        "stage": draw(st.integers(0, 3)),
        "themes": draw(st.lists(st.sampled_from(THEMES), unique=True, max_size=2)),
        "child": draw(st.integers(0, 3)),
        "track": draw(st.sampled_from(["iro", "cpc"])),
        "steps": draw(st.lists(st.tuples(st.sampled_from(STEPS), st.integers(0, 15)), max_size=9)),
        "responder": draw(st.integers(0, 2)),
    }


def _store(authority, plans: list[dict]) -> None:
    """Each plan's challenge and its events, as the engine would record them (dates never go back)."""
    staff = authority.staff
    version = procedure_get(key="challenge_and_resolution")
    procedure = procedure_version_model(version)
    calendar = working_calendar(Nation(procedure.nation))
    stages = procedure.stages
    teams = [authority.teams["social_work"], authority.teams["second"]]
    children = Child.objects.bulk_create(
        Child(
            case_number=f"LCS90000{index}",
            first_name="Child",
            last_name=str(index),
            date_of_birth=dt.date(2014, 1, 1),
            social_worker_id=staff["social_worker"].pk,
            team=teams[index % 2],
            iro_id=staff["iro"].pk,
            cp_chair_id=staff["cp_chair"].pk,
        )
        for index in range(4)
    )
    responders = [staff["social_worker"].pk, staff["team_manager"].pk, None]

    def due(on: dt.date, index: int) -> str | None:
        days = stages[index].response_working_days
        return calendar.add_working_days(on, days).isoformat() if days else None

    for plan in plans:
        day, at = plan["raised"], plan["stage"]
        events = [("raised", stages[at].key, day, None, {"themes": plan["themes"], "due_on": due(day, at)})]
        status, answered, referred = "open", False, False
        for step, gap in plan["steps"]:
            day += dt.timedelta(days=gap)
            key = stages[at].key
            if step in ("respond", "further") and status == "open":
                events.append(
                    ("response_recorded", key, day, responders[plan["responder"]], {"further": answered})
                )
                answered = True
            elif step == "escalate" and status == "open" and at + 1 < len(stages):
                at += 1
                target = stages[at].key
                events.append(("escalated", target, day, None, {"to_stage": target, "due_on": due(day, at)}))
                answered = False
            elif step == "resolve" and status == "open":
                status = "resolved"
                events.append(
                    ("resolved", key, day, None, {"outcome": f"Outcome {day}", "learning_points": ""})
                )
            elif step == "withdraw" and status == "open":
                status = "withdrawn"
                events.append(("withdrawn", key, day, None, {"reason": "Moved"}))
            elif step == "reopen" and status == "resolved":
                target = stages[at].reentry_stage or key
                at = [stage.key for stage in stages].index(target)
                status, answered = "open", False
                events.append(
                    ("reopened", target, day, None, {"reentry_stage": target, "due_on": due(day, at)})
                )
            elif step == "cafcass" and not referred:
                referred = True
                events.append(("cafcass_referred", key, day, None, {"urgent": gap % 2 == 0}))
            elif step == "extend" and status == "open":
                events.append(("deadline_extended", key, day, None, {"due_on": due(day, at)}))
            elif step == "learn" and status == "resolved":
                events.append(("learning_points_added", key, day, None, {"learning_points": f"Learnt {day}"}))
        challenge = Challenge.objects.create(
            child=children[plan["child"]],
            track=plan["track"],
            policy=version,
            status=status,
            raised_by_id=staff["iro" if plan["track"] == "iro" else "cp_chair"].pk,
            raised_on=plan["raised"],
            concern="Generated",
            impact_on_child="Generated",
            themes=plan["themes"],
            stage_key=stages[at].key if status == "open" else "",
            last_event_on=day,
        )
        Event.objects.bulk_create(
            Event(
                challenge=challenge,
                sequence=number,
                type=type_,
                stage_key=stage,
                on=on,
                by_id=by,
                detail=detail,
            )
            for number, (type_, stage, on, by, detail) in enumerate(events, start=1)
        )


def _same(one, other) -> None:
    assert one.figures() == other.figures()
    for key in other.figures():
        assert one.members[key] == other.members[key], key
    assert one.funnel == other.funnel
    assert one.timeliness == other.timeliness
    assert one.themes == other.themes
    assert one.teams == other.teams
    assert one.managers == other.managers
    assert one.cafcass_median_working_days == other.cafcass_median_working_days
    assert one.repeat_children == other.repeat_children
    assert list(one.learning) == list(other.learning)
    assert list(one.learning[:2]) == list(other.learning[:2]) and len(one.learning) == len(other.learning)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(_history(), max_size=10),
    st.sampled_from(
        [
            (financial_year(2025), dt.date(2026, 6, 1)),
            (financial_year(2025), dt.date(2025, 11, 20)),
            (financial_quarter(2025, 3), dt.date(2026, 6, 1)),
        ]
    ),
    st.sampled_from([ReportFilters(), ReportFilters(theme="placement"), ReportFilters(track="cpc")]),
)
def test_the_query_gives_every_figure_the_replay_gives(authority, plans, when, filters):
    period, today = when
    user = authority.staff["iro_service_manager"]
    with transaction.atomic():
        _store(authority, plans)
        _same(
            report_for(user=user, period=period, filters=filters, today=today),
            report_replayed(user=user, period=period, filters=filters, today=today),
        )
        transaction.set_rollback(True)


def test_the_hand_worked_histories_read_the_same_both_ways(authority, histories):
    user = authority.staff["iro_service_manager"]
    for filters in (ReportFilters(), ReportFilters(theme="placement"), ReportFilters(team=0)):
        query = report_for(user=user, period=financial_year(2025), filters=filters, today=dt.date(2026, 6, 1))
        replay = report_replayed(
            user=user, period=financial_year(2025), filters=filters, today=dt.date(2026, 6, 1)
        )
        _same(query, replay)
    # And so do the tables made from them.
    query = report_for(
        user=user, period=financial_year(2025), filters=ReportFilters(), today=dt.date(2026, 6, 1)
    )
    replay = report_replayed(
        user=user, period=financial_year(2025), filters=ReportFilters(), today=dt.date(2026, 6, 1)
    )
    assert report_tables(query, report_names(report=query)) == report_tables(
        replay, report_names(report=replay)
    )


def test_every_number_that_counts_challenges_links_to_them(authority, histories):
    """Issue 12: "Every figure links to the list of challenges behind it (same filters), so a number
    can always be checked": every whole number in the tables (a timescale, median or percentile is
    not a count) carries its figure, and the figure's challenges are there when the number is not 0
    (a count of stage visits may be larger than the challenges they belong to, and the repeat
    children's number counts children, whose challenges are behind it)."""
    user = authority.staff["iro_service_manager"]
    report = report_for(
        user=user, period=financial_year(2025), filters=ReportFilters(), today=dt.date(2026, 6, 1)
    )
    not_counts = {"Timescale (working days)", "Median working days", "90th percentile working days"}
    # Referrals of a child's case to Cafcass with no challenge (seed 000) count referrals: there is no
    # challenge behind them to list.
    no_challenge = {"Referred with no challenge (made in the period)", "Of those, urgent"}
    checked = 0
    for table in report_tables(report, report_names(report=report)).values():
        if table.key == "learning":
            continue
        for row in table.rows:
            for column, cell in zip(table.columns, row, strict=True):
                if type(cell.value) is not int or column in not_counts or row[0].text in no_challenge:
                    continue
                assert cell.figure, f"{table.key}: {column} of {row[0].text} links to nothing"
                behind = report.members[cell.figure]
                assert (cell.value > 0) == bool(behind), cell.figure
                if cell.figure != "repeat:child":  # that number counts the children of the challenges
                    assert len(behind) <= cell.value, cell.figure
                checked += 1
    assert checked > 50
