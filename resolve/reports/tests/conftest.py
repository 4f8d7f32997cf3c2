"""The hand-worked histories the reports' tests share (described in test_figures.py)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from resolve.challenges import services
from resolve.children.services import child_create
from resolve.testing.agreements import REFERRAL_CHECKLIST, agreements_confirmed
from resolve.testing.challenges import raise_challenge

D = dt.date


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(dt.datetime(2026, 6, 1, 10, 0), tick=False):
        yield


def _child(authority, case_number, social_worker):
    return child_create(
        user=authority.staff["admin"],
        case_number=case_number,
        first_name="Child",
        last_name=case_number,
        date_of_birth=dt.date(2014, 3, 9),
        social_worker=social_worker,
        iro="iro",
        cp_chair="cp_chair",
    )


def _raise(authority, child, on, themes, track="iro", **kwargs):
    return raise_challenge(
        authority,
        child,
        user=authority.staff["iro" if track == "iro" else "cp_chair"],
        track=track,
        procedure_key="challenge_and_resolution",
        concern="Statutory visits have not happened.",
        impact_on_child="The child has not been seen alone.",
        themes=themes,
        on=on,
        **kwargs,
    )


@pytest.fixture
def histories(authority):
    staff = authority.staff
    a = _child(authority, "LCS200001", "social_worker")
    b = _child(authority, "LCS200002", "social_worker_2")
    h0 = _raise(authority, a, D(2025, 3, 10), ["placement"])
    h1 = _raise(authority, a, D(2025, 4, 17), ["voice_of_child"])
    services.challenge_respond(
        user=staff["social_worker"], challenge_id=h1.pk, response="agree", on=D(2025, 5, 6)
    )
    services.challenge_resolve(
        user=staff["iro"],
        challenge_id=h1.pk,
        outcome="Visits now happen every six weeks.",
        learning_points="Record every statutory visit on the day.",
        on=D(2025, 5, 7),
    )
    h2 = _raise(authority, a, D(2025, 6, 2), ["voice_of_child", "placement"])
    services.challenge_escalate(user=staff["iro"], challenge_id=h2.pk, reason="No answer.", on=D(2025, 6, 20))
    services.challenge_respond(
        user=staff["team_manager"], challenge_id=h2.pk, response="disagree", on=D(2025, 6, 30)
    )
    services.challenge_escalate(user=staff["iro"], challenge_id=h2.pk, reason="Disagreed.", on=D(2025, 7, 1))
    services.challenge_respond(
        user=staff["service_manager"], challenge_id=h2.pk, response="agree", on=D(2025, 7, 8)
    )
    services.challenge_resolve(
        user=staff["iro"], challenge_id=h2.pk, outcome="A new placement plan.", on=D(2025, 7, 9)
    )
    services.challenge_reopen(
        user=staff["iro"], challenge_id=h2.pk, reason="The plan did not happen.", on=D(2025, 9, 1)
    )
    agreements_confirmed(
        staff=staff,
        challenge_id=h2.pk,
        people={
            "service_manager_approval": "iro_service_manager",
            "hos_safeguarding_approval": "head_of_safeguarding",
        },
        on=D(2025, 9, 2),
    )
    services.challenge_refer_to_cafcass(
        user=staff["iro"],
        challenge_id=h2.pk,
        reason="The child's plan has drifted for months.",
        checklist=dict(REFERRAL_CHECKLIST),
        preconditions={
            "service_manager_approval": "iro_service_manager",
            "hos_safeguarding_approval": "head_of_safeguarding",
        },
        urgent=True,
        on=D(2025, 9, 3),
    )
    h3 = _raise(
        authority,
        b,
        D(2025, 12, 19),
        ["safeguarding"],
        stage="stage_1",
        bypass_reason="The child is at risk now.",
    )
    services.challenge_withdraw(
        user=staff["iro"], challenge_id=h3.pk, reason="The child moved away.", on=D(2026, 1, 5)
    )
    h4 = _raise(authority, a, D(2026, 3, 2), ["drift_delay_planning"], track="cpc")
    return {"h0": h0.pk, "h1": h1.pk, "h2": h2.pk, "h3": h3.pk, "h4": h4.pk, "a": a, "b": b}
