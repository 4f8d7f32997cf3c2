"""The shipped policy files, checked line by line against the published procedures (the seeds)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from resolve.policies.loader import policy_load_dir, policy_load_file
from resolve.policies.schema import DEFAULT_THEMES, NATIONAL_FORMAL_CAP_WORKING_DAYS, Policy
from resolve.policies.tests.conftest import POLICY_DIR

SHIPPED = sorted(POLICY_DIR.glob("*.toml"))


def load(key: str) -> Policy:
    return policy_load_file(POLICY_DIR / f"{key}.toml")


def ladder(policy: Policy) -> list[tuple[str, str, str, list[str], int | None]]:
    return [
        (stage.key, stage.kind, stage.to_role, list(stage.cc_roles), stage.response_working_days)
        for stage in policy.stages
    ]


def test_the_six_procedures_ship() -> None:
    assert [path.stem for path in SHIPPED] == [
        "challenge_and_resolution",
        "cla_dispute_resolution",
        "informal_challenge_dispute_resolution",
        "national",
        "outcome_resolution",
        "qa_issue_resolution",
    ]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.stem)
def test_every_shipped_file_validates_and_is_named_after_its_key(path: Path) -> None:
    policy = policy_load_file(path)
    assert policy.key == path.stem
    assert policy.nation == "england-and-wales"


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.stem)
def test_every_shipped_file_names_its_source_and_teaches_every_stage(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("#")
    if path.stem != "national":
        assert "seed 00" in text.splitlines()[0]
    policy = policy_load_file(path)
    for stage in policy.stages:
        assert len(stage.guidance) > 80, stage.key
    assert policy.cafcass.guidance


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.stem)
def test_only_the_iro_track_refers_to_cafcass(path: Path) -> None:
    assert load(path.stem).cafcass.tracks == ["iro"]


def test_the_folder_loads_as_a_whole() -> None:
    assert {policy.key for policy in policy_load_dir(POLICY_DIR)} == {path.stem for path in SHIPPED}


# -- seed 000: Cumbria, Outcome Resolution -------------------------------------------------------------


def test_000_outcome_resolution() -> None:
    policy = load("outcome_resolution")
    assert policy.authority == "Cumbria"
    assert policy.tracks == ["iro", "cpc"]
    assert ladder(policy) == [
        ("stage_1", "informal", "team_manager", ["social_worker"], 3),
        ("stage_2", "formal", "service_manager", ["iro_team_manager"], 4),
        ("stage_3", "formal", "senior_manager", ["iro_team_manager", "iro_service_manager"], 4),
        (
            "stage_4",
            "formal",
            "assistant_director",
            ["iro_team_manager", "iro_service_manager", "iro_senior_manager"],
            4,
        ),
        ("stage_5", "formal", "director", ["iro_service_manager", "iro_senior_manager"], None),
    ]
    assert "Consideration given to notifying the Chief Executive" in policy.stage("stage_5").guidance
    assert "within 3 days" in policy.stage("stage_1").guidance
    assert policy.stage("stage_1").case_note == "IRO Informal Challenge"
    # "IRO can refer at any stage": no approval to bypass.
    assert policy.bypass_requires is None
    assert all(policy.bypass_rule(stage.key) is None for stage in policy.stages)
    assert all(stage.reentry_stage is None for stage in policy.stages)
    assert policy.formal_cap_working_days == NATIONAL_FORMAL_CAP_WORKING_DAYS
    assert "formal_cap_working_days" not in tomllib.loads(
        (POLICY_DIR / "outcome_resolution.toml").read_text()
    )
    # Any point if urgent, otherwise after the DCS.
    assert policy.cafcass.urgent_before_stage == "stage_5"
    assert policy.cafcass.earliest_stage is None
    assert policy.cafcass.requires == []
    assert policy.cafcass.checklist == []
    assert [theme.model_dump() for theme in policy.themes] == DEFAULT_THEMES


# -- seed 001: Children in Care Dispute Resolution Process ----------------------------------------------


def test_001_cla_dispute_resolution() -> None:
    policy = load("cla_dispute_resolution")
    assert policy.authority == "Authority not named in the published procedure (seed 001)"
    assert policy.tracks == ["iro"]
    assert ladder(policy) == [
        ("informal", "informal", "team_manager", ["social_worker"], 5),
        ("stage_1", "formal", "team_manager", ["social_worker", "service_manager", "iro_service_manager"], 5),
        ("stage_2", "formal", "service_manager", ["team_manager", "social_worker", "iro_service_manager"], 5),
        ("stage_3", "formal", "head_of_service", ["head_of_safeguarding", "iro_service_manager"], None),
    ]
    assert policy.stage("informal").case_note == "Record sheet entry - IRO Informal Resolution"
    assert "CLA Informal Resolution Form" in policy.stage("informal").name
    assert policy.stage("stage_1").case_note == "IRO DRP Formal Resolution Process Stage 1 - Team Manager"
    meeting = policy.stage("stage_2").meeting
    assert meeting is not None
    assert meeting.required
    assert meeting.chair_role == "iro_service_manager"
    assert meeting.actions_recorded_within_hours == 24
    stage_3 = policy.stage("stage_3")
    assert stage_3.meeting is not None and stage_3.meeting.required
    assert stage_3.notify_roles == ["principal_social_worker", "service_director"]
    # "following discussion with their Service Manager"
    assert policy.bypass_requires == "iro_service_manager"
    assert policy.bypass_rule("informal") is None
    assert {policy.bypass_rule(key) for key in ("stage_1", "stage_2", "stage_3")} == {"iro_service_manager"}
    # The seed's "stage 4" is the Cafcass referral.
    assert policy.cafcass.earliest_stage == "stage_3"
    assert policy.cafcass.urgent_before_stage is None
    assert [(item.key, item.role) for item in policy.cafcass.requires] == [
        ("cpru_service_manager_agrees", "iro_service_manager"),
        ("service_director_meeting_requested", "service_director"),
    ]
    assert [(item.key, item.required) for item in policy.cafcass.checklist] == [
        ("previous_forms_released", True)
    ]
    assert policy.cafcass.case_note == "CLA Resolution Stage 4 - Referral to CAFCASS"


# -- seed 002: Quality Assurance Issue Resolution ------------------------------------------------------


def test_002_qa_issue_resolution() -> None:
    policy = load("qa_issue_resolution")
    assert policy.authority == "Authority not named in the published procedure (seed 002)"
    assert policy.tracks == ["iro", "cpc"]
    lower = ["team_manager", "service_manager", "head_of_service", "deputy_director"]
    assert ladder(policy) == [
        ("stage_1", "informal", "social_worker", ["team_manager"], 10),
        ("stage_2", "formal", "team_manager", ["social_worker"], 5),
        ("stage_3_level_1", "formal", "service_manager", lower[:1], 5),
        ("stage_3_level_2", "formal", "head_of_service", lower[:2], 5),
        ("stage_3_level_3", "formal", "deputy_director", lower[:3], 5),
        ("stage_3_level_4", "formal", "director", lower, None),
    ]
    assert (
        policy.stage("stage_3_level_1").name
        == "Formal Dispute (Stage 3): Level 1 \N{EN DASH} Operations Manager"
    )
    assert policy.stage("stage_1").resolved_case_note == "IRO/CPC Informal resolution achieved"
    assert policy.stage("stage_3_level_4").documents == ["directors_briefing"]
    assert all(not policy.stage(stage.key).documents for stage in policy.stages[:-1])
    # "not a linear process": bypass without approval.
    assert policy.bypass_requires is None
    assert all(stage.bypass_requires is None for stage in policy.stages)
    assert policy.resolution.requires_learning_points is True
    assert [(item.key, item.role) for item in policy.cafcass.requires] == [
        ("deputy_director_informed", "deputy_director")
    ]
    assert [(item.key, item.required) for item in policy.cafcass.checklist] == [
        ("iro_report", True),
        ("court_reference", False),
    ]
    assert policy.cafcass.earliest_stage is None
    assert policy.cafcass.urgent_before_stage is None


# -- seed 003: Rotherham, Challenge and Resolution -----------------------------------------------------


def test_003_challenge_and_resolution() -> None:
    policy = load("challenge_and_resolution")
    assert policy.authority == "Rotherham"
    assert policy.tracks == ["iro", "cpc"]
    assert ladder(policy) == [
        ("informal", "informal", "social_worker", ["team_manager"], 10),
        ("stage_1", "formal", "team_manager", ["social_worker", "service_manager", "iro_service_manager"], 5),
        ("stage_2", "formal", "service_manager", ["head_of_service", "social_worker", "team_manager"], 5),
        ("stage_3", "formal", "head_of_safeguarding", ["iro_service_manager"], 5),
        ("stage_4", "formal", "director", ["head_of_safeguarding", "head_of_service"], 10),
    ]
    assert policy.stage("informal").case_note == "IRO/Conference Chair Escalation Discussion"
    stage_1_meeting = policy.stage("stage_1").meeting
    assert stage_1_meeting is not None
    assert (stage_1_meeting.required, stage_1_meeting.within_working_days) == (False, 5)
    stage_2_meeting = policy.stage("stage_2").meeting
    assert stage_2_meeting is not None
    assert (stage_2_meeting.required, stage_2_meeting.within_working_days) == (False, 5)
    stage_4_meeting = policy.stage("stage_4").meeting
    assert stage_4_meeting is not None and stage_4_meeting.required
    # Stage 1 "moves directly to the next stage"; stage 2 reverts to stage 2; stages 3 and 4 to stage 3.
    assert [policy.reentry_for(stage.key) for stage in policy.stages] == [
        "informal",
        "stage_2",
        "stage_2",
        "stage_3",
        "stage_3",
    ]
    # From stage 2 the IRO/CPC Service Manager forwards the form: a jump there needs their agreement.
    assert [policy.bypass_rule(stage.key) for stage in policy.stages] == [
        None,
        None,
        "iro_service_manager",
        "iro_service_manager",
        "iro_service_manager",
    ]
    assert policy.resolution.final_comments_role == "iro_service_manager"
    assert [theme.key for theme in policy.themes] == [theme["key"] for theme in DEFAULT_THEMES]
    assert policy.cafcass.urgent_before_stage == "stage_4"
    assert [(item.key, item.role) for item in policy.cafcass.requires] == [
        ("service_manager_approval", "iro_service_manager"),
        ("hos_safeguarding_approval", "head_of_safeguarding"),
    ]
    checklist = policy.cafcass.checklist
    assert len(checklist) == 7
    assert [item.required for item in checklist] == [False, False, True, True, False, True, True]
    assert (
        checklist[0].label == "Copies of any final Care Order and the final Care Plan filed in proceedings."
    )
    assert checklist[6].label == "The most recent Care Plan."


# -- seed 004: Knowsley, Informal Challenge and Dispute Resolution -------------------------------------


def test_004_informal_challenge_dispute_resolution() -> None:
    policy = load("informal_challenge_dispute_resolution")
    assert policy.authority == "Knowsley"
    assert policy.tracks == ["iro", "cpc"]
    assert ladder(policy) == [
        ("stage_1", "informal", "social_worker", ["team_manager"], 5),
        ("stage_2", "formal", "team_manager", ["head_of_service", "iro_team_manager"], 5),
        ("stage_3", "formal", "assistant_director", [], 5),
        ("stage_4", "formal", "director", ["social_worker", "service_manager", "head_of_service"], 5),
    ]
    meeting = policy.stage("stage_4").meeting
    assert meeting is not None
    assert (meeting.required, meeting.chair_role) == (True, "director")
    # Knowsley's own rule, written out: stages 2-4 at most 20 working days.
    assert (
        tomllib.loads((POLICY_DIR / "informal_challenge_dispute_resolution.toml").read_text())[
            "formal_cap_working_days"
        ]
        == 20
    )
    assert policy.bypass_requires is None
    assert policy.cafcass.requires == []
    assert policy.cafcass.earliest_stage is None
    assert policy.cafcass.urgent_before_stage is None
    assert "s25B" in (POLICY_DIR / "informal_challenge_dispute_resolution.toml").read_text()


# -- the national default -------------------------------------------------------------------------------


def test_national_default() -> None:
    policy = load("national")
    assert policy.authority == "National default (IRO Handbook 2010)"
    assert policy.tracks == ["iro", "cpc"]
    assert ladder(policy) == [
        ("informal", "informal", "social_worker", ["team_manager"], 5),
        ("stage_1", "formal", "team_manager", ["social_worker"], 5),
        ("stage_2", "formal", "service_manager", ["social_worker", "team_manager"], 5),
        ("stage_3", "formal", "head_of_service", ["social_worker", "team_manager", "service_manager"], 5),
        (
            "stage_4",
            "formal",
            "director",
            ["social_worker", "team_manager", "service_manager", "head_of_service"],
            5,
        ),
    ]
    assert policy.formal_cap_working_days == 20
    assert policy.bypass_requires is None
    assert policy.cafcass.requires == []
    assert policy.cafcass.earliest_stage is None
    assert policy.cafcass.urgent_before_stage is None
