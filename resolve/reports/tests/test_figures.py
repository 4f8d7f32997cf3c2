"""The report's figures against histories worked out by hand, built through the real services.

Seed 002: "Key learning points ... to be collated and shared"; the DOMAIN's annual IRO report
figures: "challenges raised, stage reached and resolved at, timeliness against each timescale,
themes, teams, repeat issues, Cafcass referrals, learning points), by financial year (April to March)".

The financial year 2025 to 2026 (1 April 2025 to 31 March 2026), England's bank holidays: Good
Friday 18 April and Easter Monday 21 April, 5 and 26 May, 25 August, 25 and 26 December 2025 and
1 January 2026. Procedure: Challenge and Resolution (seed 003): informal 10 working days, stages 1
and 2 five working days each, the IRO Handbook's 20 working-day formal cap.

H0  child A, raised 10 March 2025 (the year before), theme placement: only for "again within a year".
H1  child A, raised Thu 17 April at the informal stage (due 10 working days later, skipping Good
    Friday, Easter Monday and 5 May: Tue 6 May); the social worker answers on 6 May (on time, 10
    working days); resolved on 7 May with learning points.
H2  child A, raised Mon 2 June, themes voice of the child and placement (due Mon 16 June); no answer,
    escalated on Fri 20 June to stage 1 (the informal response is missing; the formal clock starts:
    cap's last day Fri 18 July); stage 1 due Fri 27 June, the team manager answers Mon 30 June (late,
    6 working days); escalated Tue 1 July to stage 2 (due Tue 8 July), the service manager answers on
    8 July (on time, 5); resolved Wed 9 July at stage 2; re-opened Mon 1 September at stage 2 (its
    re-entry stage; due Mon 8 September), past the cap at once; never answered (missing); referred
    to Cafcass, urgently, on Wed 3 September (66 working days after it was raised, 25 August skipped).
H3  child B (the second team), raised Fri 19 December straight at stage 1 (a bypass; due Tue 30
    December after Christmas Day and Boxing Day); no answer; withdrawn Mon 5 January 2026 (missing).
H4  child A, the CP Chair track, raised Mon 2 March 2026 at the informal stage (due Mon 16 March);
    still waiting on 31 March: missing.
"""

from __future__ import annotations

import datetime as dt

import pytest

from resolve.challenges.events import EventType
from resolve.core.errors import ServiceError
from resolve.reports.figures import EXTENSION_EVENT_TYPES
from resolve.reports.periods import financial_quarter, financial_year
from resolve.reports.selectors import ReportFilters, report_for

pytestmark = pytest.mark.django_db

YEAR = financial_year(2025)
TODAY = dt.date(2026, 6, 1)
D = dt.date


def _ids(histories, *names):
    return {histories[name] for name in names}


def test_every_figure_for_the_year(authority, histories):
    h = histories
    report = report_for(
        user=authority.staff["iro_service_manager"], period=YEAR, filters=ReportFilters(), today=TODAY
    )
    members = report.members
    assert report.as_at == D(2026, 3, 31)
    assert members["raised"] == _ids(h, "h1", "h2", "h3", "h4")  # H0 was raised the year before
    assert members["status:open"] == _ids(h, "h2", "h4")
    assert members["status:resolved"] == _ids(h, "h1")
    assert members["status:withdrawn"] == _ids(h, "h3")
    assert members["kind:informal"] == _ids(h, "h1", "h4")
    assert members["kind:formal"] == _ids(h, "h2", "h3")
    assert members["track:iro"] == _ids(h, "h1", "h2", "h3")
    assert members["track:cpc"] == _ids(h, "h4")
    key = "challenge_and_resolution"
    assert members[f"reached:{key}:informal"] == _ids(h, "h1", "h2", "h4")
    assert members[f"reached:{key}:stage_1"] == _ids(h, "h2", "h3")  # H3 bypassed the informal stage
    assert members[f"reached:{key}:stage_2"] == _ids(h, "h2")
    assert report.count(f"reached:{key}:stage_3") == 0
    assert members[f"resolved_at:{key}:informal"] == _ids(h, "h1")
    assert members[f"withdrawn_at:{key}:stage_1"] == _ids(h, "h3")
    assert members[f"open_at:{key}:stage_2"] == _ids(h, "h2")
    assert members[f"open_at:{key}:informal"] == _ids(h, "h4")
    # H2 was resolved at stage 2, then re-opened: it is open now, and not counted as resolved.
    assert report.count(f"resolved_at:{key}:stage_2") == 0
    funnel = {row.stage: row for row in report.funnel}
    assert (funnel["informal"].reached, funnel["informal"].resolved_at, funnel["informal"].open_at) == (
        3,
        1,
        1,
    )
    assert (funnel["stage_1"].reached, funnel["stage_1"].withdrawn_at) == (2, 1)

    timeliness = {row.stage: row for row in report.timeliness}
    informal = timeliness["informal"]
    assert informal.counts == {
        "on_time": 1,
        "late": 0,
        "missing": 2,
        "extended": 0,
        "other": 0,
        "no_timescale": 0,
    }
    assert (informal.timescale, informal.median_working_days, informal.p90_working_days) == (10, 10.0, 10)
    stage_1 = timeliness["stage_1"]
    assert stage_1.counts["late"] == 1 and stage_1.counts["missing"] == 1 and stage_1.visits == 2
    assert (stage_1.median_working_days, stage_1.p90_working_days) == (6.0, 6)
    stage_2 = timeliness["stage_2"]  # H2 visited stage 2 twice: answered on time, then never
    assert stage_2.counts["on_time"] == 1 and stage_2.counts["missing"] == 1 and stage_2.visits == 2
    assert stage_2.median_working_days == 5.0
    assert members[f"timing:{key}:informal:missing"] == _ids(h, "h2", "h4")
    assert members[f"timing:{key}:stage_1:late"] == _ids(h, "h2")

    assert members["past_cap"] == _ids(h, "h2")  # re-opened after its cap passed
    assert members["reopened"] == _ids(h, "h2")
    assert report.themes[0] == "voice_of_child"
    assert members["theme:voice_of_child"] == _ids(h, "h1", "h2")
    assert members["theme:placement"] == _ids(h, "h2")
    assert members["theme:safeguarding"] == _ids(h, "h3")
    # Trend by quarter: Q1 (April to June) H1 and H2, Q3 H3, Q4 H4.
    assert members["theme:voice_of_child:0"] == _ids(h, "h1", "h2")
    assert members["raised:2"] == _ids(h, "h3") and members["raised:3"] == _ids(h, "h4")
    # Repeat issues: child A had three challenges; H2 repeats H0's placement within a year.
    assert members["repeat:child"] == _ids(h, "h1", "h2", "h4")
    assert report.repeat_children == 1
    assert members["repeat:theme"] == _ids(h, "h2")

    first_team = authority.teams["social_work"].pk
    second_team = authority.teams["second"].pk
    teams = {row.key: row for row in report.teams}
    assert (teams[first_team].received, teams[first_team].responses_due) == (3, 6)
    assert (teams[first_team].on_time, teams[first_team].late, teams[first_team].missing) == (2, 1, 3)
    assert teams[first_team].beyond_first_formal == 1
    assert (
        teams[second_team].received,
        teams[second_team].missing,
        teams[second_team].beyond_first_formal,
    ) == (1, 1, 0)
    managers = {row.key: row for row in report.managers}
    staff = authority.staff
    assert (
        managers[staff["social_worker"].pk].on_time,
        managers[staff["social_worker"].pk].median_working_days,
    ) == (1, 10.0)
    assert (
        managers[staff["team_manager"].pk].late,
        managers[staff["team_manager"].pk].median_working_days,
    ) == (1, 6.0)
    assert managers[staff["service_manager"].pk].on_time == 1

    assert members["cafcass"] == _ids(h, "h2") == members["cafcass:urgent"] == members["cafcass:open"]
    assert report.cafcass_median_working_days == 66.0
    # Learning: H1's learning points; H2's outcome went with its re-opening.
    assert [entry.challenge_id for entry in report.learning] == [h["h1"]]
    assert report.learning[0].learning_points == ("Record every statutory visit on the day.",)
    assert report.learning[0].matches(["statutory", "visit"]) and not report.learning[0].matches(["court"])


def test_a_report_as_at_an_earlier_day_replays_only_the_events_before_it(authority, histories):
    """Quarter 1 (April to June 2025), read on 1 June 2026: H2 stands as it did on 30 June, at stage 1
    with its response not yet due-plus-one (due Fri 27 June, answered Mon 30 June: late)."""
    h = histories
    quarter = financial_quarter(2025, 1)
    report = report_for(
        user=authority.staff["iro_service_manager"], period=quarter, filters=ReportFilters(), today=TODAY
    )
    assert report.members["raised"] == _ids(h, "h1", "h2")
    assert report.members["status:open"] == _ids(h, "h2")
    assert report.count("past_cap") == 0 and report.count("cafcass") == 0
    assert report.members["open_at:challenge_and_resolution:stage_1"] == _ids(h, "h2")


def test_filters_narrow_every_figure(authority, histories):
    h = histories
    user = authority.staff["iro_service_manager"]
    by_track = report_for(user=user, period=YEAR, filters=ReportFilters(track="cpc"), today=TODAY)
    assert by_track.members["raised"] == _ids(h, "h4")
    by_theme = report_for(user=user, period=YEAR, filters=ReportFilters(theme="placement"), today=TODAY)
    assert by_theme.members["raised"] == _ids(h, "h2")
    by_team = report_for(
        user=user, period=YEAR, filters=ReportFilters(team=authority.teams["second"].pk), today=TODAY
    )
    assert by_team.members["raised"] == _ids(h, "h3")
    by_chair = report_for(user=user, period=YEAR, filters=ReportFilters(chair="cp_chair"), today=TODAY)
    assert by_chair.members["raised"] == _ids(h, "h4")
    by_procedure = report_for(
        user=user, period=YEAR, filters=ReportFilters(procedure="national"), today=TODAY
    )
    assert by_procedure.count("raised") == 0


def test_a_manager_sees_the_figures_of_their_part_of_the_line(authority, histories):
    """Issue 12: "scoped exactly as the records are, so a head of service sees their part of the line"."""
    h = histories
    team_manager = report_for(
        user=authority.staff["team_manager"], period=YEAR, filters=ReportFilters(), today=TODAY
    )
    assert team_manager.members["raised"] == _ids(h, "h1", "h2", "h4")
    second = report_for(
        user=authority.staff["team_manager_2"], period=YEAR, filters=ReportFilters(), today=TODAY
    )
    assert second.members["raised"] == _ids(h, "h3")


def test_roles_without_reports_are_refused(authority, histories):
    for username in ("iro", "social_worker", "admin"):
        with pytest.raises(ServiceError) as refused:
            report_for(user=authority.staff[username], period=YEAR, filters=ReportFilters(), today=TODAY)
        assert refused.value.kind == "forbidden"


def test_every_extension_event_type_is_counted_apart():
    """The DOMAIN: an agreed extension "is reported as an extension, never as 'on time'": every event
    type about extensions is named in EXTENSION_EVENT_TYPES."""
    about_extensions = {t.value for t in EventType if "extens" in t.value or "extend" in t.value}
    assert about_extensions <= EXTENSION_EVENT_TYPES
    assert {t.value for t in EventType} >= EXTENSION_EVENT_TYPES


def test_a_response_within_an_agreed_extension_is_counted_as_extended(authority):
    """Issue 9: an agreed extension "is shown in reports as an extension, not as on time"."""
    from resolve.challenges import services
    from resolve.reports.tests.conftest import _child, _raise

    staff = authority.staff
    child = _child(authority, "LCS200009", "social_worker")
    challenge = _raise(authority, child, D(2025, 6, 2), ["placement"])
    services.challenge_deadline_extend(
        user=staff["iro"],
        challenge_id=challenge.pk,
        due=D(2025, 6, 24),
        reason="The social worker is on leave for a week.",
        agreed_by="iro_service_manager",
        on=D(2025, 6, 10),
    )
    services.challenge_respond(
        user=staff["social_worker"], challenge_id=challenge.pk, response="agree", on=D(2025, 6, 23)
    )
    report = report_for(user=staff["iro_service_manager"], period=YEAR, filters=ReportFilters(), today=TODAY)
    informal = {row.stage: row for row in report.timeliness}["informal"]
    assert informal.counts["extended"] == 1
    assert informal.counts["on_time"] == 0 and informal.counts["late"] == 0
