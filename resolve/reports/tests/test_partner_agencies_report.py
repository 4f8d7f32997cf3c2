"""Challenges to partner agencies in the reports (issue 9 section 8, seed 000 section 2): the
dashboard's one query and the rules replayed in Python agree on them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine

from resolve.challenges import services
from resolve.challenges.engine import AgencyContact
from resolve.reports.periods import calendar_month
from resolve.reports.selectors import ReportFilters, report_for, report_names, report_replayed
from resolve.reports.tables import report_tables
from resolve.testing.challenges import raise_challenge

pytestmark = pytest.mark.django_db


@time_machine.travel(dt.datetime(2026, 11, 2, 11, 30), tick=False)  # a Monday
def test_the_query_and_the_replay_agree_and_count_no_manager_for_an_agencys_reply(
    authority: Any, child: Any
) -> None:
    """A challenge to a partner agency counts by procedure and by the agency's kind, and the reply the
    chair records on the agency's behalf is nobody's manager response, in both ways of counting."""
    challenge = raise_challenge(
        authority,
        child,
        procedure_key="multi_agency_escalation",
        concern="The health visitor has not attended the last two reviews",
        impact_on_child="The review cannot consider her health needs",
        desired_outcome="Send the health assessment to the review by 20 November",
        agency="North Cumbria Integrated Care",
        agency_kind="health",
        contact=AgencyContact(name="Priya Shah", role="Health visitor", email="priya.shah@nhs.example"),
        themes=["attendance"],
    )
    services.challenge_respond(user=authority.staff["iro"], challenge_id=challenge.pk, response="agree")
    kwargs: dict[str, Any] = {
        "user": authority.staff["iro_service_manager"],
        "period": calendar_month(2026, 11),
        "filters": ReportFilters(),
        "today": dt.date(2026, 11, 2),
    }
    query, replay = report_for(**kwargs), report_replayed(**kwargs)
    for figure in ("to:agency", "agency:health", "procedure:multi_agency_escalation"):
        assert query.count(figure) == replay.count(figure) == 1, figure
    assert query.managers == replay.managers == []
    assert report_tables(query, report_names(report=query)) == report_tables(
        replay, report_names(report=replay)
    )
