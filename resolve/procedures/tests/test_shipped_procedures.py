"""The shipped procedure files, checked line by line against the published procedures (the seeds)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from resolve.procedures.loader import procedure_load_dir, procedure_load_file
from resolve.procedures.schema import DEFAULT_THEMES, NATIONAL_FORMAL_CAP_WORKING_DAYS, Procedure
from resolve.procedures.tests.conftest import PROCEDURE_DIR

SHIPPED = sorted(PROCEDURE_DIR.glob("*.toml"))


def load(key: str) -> Procedure:
    return procedure_load_file(PROCEDURE_DIR / f"{key}.toml")


def ladder(procedure: Procedure) -> list[tuple[str, str, str | None, list[str], int | None]]:
    return [
        (stage.key, stage.kind, stage.to_role, list(stage.cc_roles), stage.response_working_days)
        for stage in procedure.stages
    ]


def test_the_six_procedures_ship() -> None:
    assert [path.stem for path in SHIPPED] == [
        "challenge_and_resolution",
        "cla_dispute_resolution",
        "informal_challenge_dispute_resolution",
        "multi_agency_escalation",
        "national",
        "outcome_resolution",
        "qa_issue_resolution",
    ]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.stem)
def test_every_shipped_file_validates_and_is_named_after_its_key(path: Path) -> None:
    procedure = procedure_load_file(path)
    assert procedure.key == path.stem
    assert procedure.nation == "england-and-wales"


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.stem)
def test_every_shipped_file_names_its_source_and_teaches_every_stage(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("#")
    if path.stem != "national":
        assert "seed 00" in text.splitlines()[0]
    procedure = procedure_load_file(path)
    for stage in procedure.stages:
        assert len(stage.guidance) > 80, stage.key
    assert procedure.cafcass.guidance


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.stem)
def test_only_the_iro_track_refers_to_cafcass(path: Path) -> None:
    assert load(path.stem).cafcass.tracks == ["iro"]


def test_the_folder_loads_as_a_whole() -> None:
    assert {procedure.key for procedure in procedure_load_dir(PROCEDURE_DIR)} == {
        path.stem for path in SHIPPED
    }


# -- seed 000: Cumbria, Outcome Resolution -------------------------------------------------------------


def test_000_outcome_resolution() -> None:
    procedure = load("outcome_resolution")
    assert procedure.authority == "Cumbria"
    assert procedure.tracks == ["iro", "cpc"]
    assert ladder(procedure) == [
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
    assert "Consideration given to notifying the Chief Executive" in procedure.stage("stage_5").guidance
    assert "within 3 days" in procedure.stage("stage_1").guidance
    assert procedure.stage("stage_1").case_note == "IRO Informal Challenge"
    # "IRO can refer at any stage": no approval to bypass.
    assert procedure.bypass_requires is None
    assert all(procedure.bypass_rule(stage.key) is None for stage in procedure.stages)
    assert all(stage.reentry_stage is None for stage in procedure.stages)
    assert procedure.formal_cap_working_days == NATIONAL_FORMAL_CAP_WORKING_DAYS
    assert "formal_cap_working_days" not in tomllib.loads(
        (PROCEDURE_DIR / "outcome_resolution.toml").read_text()
    )
    # Any point if urgent, otherwise after the DCS.
    assert procedure.cafcass.urgent_before_stage == "stage_5"
    assert procedure.cafcass.earliest_stage is None
    assert procedure.cafcass.requires == []
    assert procedure.cafcass.checklist == []
    assert [theme.model_dump() for theme in procedure.themes] == DEFAULT_THEMES


# -- seed 001: Children in Care Dispute Resolution Process ----------------------------------------------


def test_001_cla_dispute_resolution() -> None:
    procedure = load("cla_dispute_resolution")
    assert procedure.authority == "Authority not named in the published procedure (seed 001)"
    assert procedure.tracks == ["iro"]
    assert ladder(procedure) == [
        ("informal", "informal", "team_manager", ["social_worker"], 5),
        ("stage_1", "formal", "team_manager", ["social_worker", "service_manager", "iro_service_manager"], 5),
        ("stage_2", "formal", "service_manager", ["team_manager", "social_worker", "iro_service_manager"], 5),
        ("stage_3", "formal", "head_of_service", ["head_of_safeguarding", "iro_service_manager"], None),
    ]
    # The case notes exactly as the seed names them, its punctuation included: "Case Note: 'Record sheet
    # entry- IRO Informal Resolution '", "Case note - 'IRO DRP, Formal Resolution Process Stage 1- Team
    # Manager'", "Case note - 'IRO - DRP formal resolution process stage 2- Service Manager'", "Case note
    # - 'IRO DRP Formal Resolution Process stage 3 -Head of Service'".
    assert procedure.stage("informal").case_note == "Record sheet entry- IRO Informal Resolution"
    assert "CLA Informal Resolution Form" in procedure.stage("informal").name
    assert procedure.stage("stage_1").case_note == "IRO DRP, Formal Resolution Process Stage 1- Team Manager"
    assert (
        procedure.stage("stage_2").case_note == "IRO - DRP formal resolution process stage 2- Service Manager"
    )
    assert (
        procedure.stage("stage_3").case_note == "IRO DRP Formal Resolution Process stage 3 -Head of Service"
    )
    meeting = procedure.stage("stage_2").meeting
    assert meeting is not None
    assert meeting.required
    assert meeting.chair_role == "iro_service_manager"
    assert meeting.actions_recorded_within_hours == 24
    stage_3 = procedure.stage("stage_3")
    assert stage_3.meeting is not None and stage_3.meeting.required
    assert stage_3.notify_roles == ["principal_social_worker", "service_director"]
    # "following discussion with their Service Manager"
    assert procedure.bypass_requires == "iro_service_manager"
    assert procedure.bypass_rule("informal") is None
    assert {procedure.bypass_rule(key) for key in ("stage_1", "stage_2", "stage_3")} == {
        "iro_service_manager"
    }
    # The seed's "stage 4" is the Cafcass referral.
    assert procedure.cafcass.earliest_stage == "stage_3"
    assert procedure.cafcass.urgent_before_stage is None
    assert [(item.key, item.role) for item in procedure.cafcass.requires] == [
        ("cpru_service_manager_agrees", "iro_service_manager"),
        ("service_director_meeting_requested", "service_director"),
    ]
    assert [(item.key, item.required) for item in procedure.cafcass.checklist] == [
        ("previous_forms_released", True)
    ]
    assert procedure.cafcass.case_note == "CLA Resolution Stage 4 - Referral to CAFCASS"


# -- seed 002: Quality Assurance Issue Resolution ------------------------------------------------------


def test_002_qa_issue_resolution() -> None:
    procedure = load("qa_issue_resolution")
    assert procedure.authority == "Authority not named in the published procedure (seed 002)"
    assert procedure.tracks == ["iro", "cpc"]
    lower = ["team_manager", "service_manager", "head_of_service", "deputy_director"]
    assert ladder(procedure) == [
        ("stage_1", "informal", "social_worker", ["team_manager"], 10),
        ("stage_2", "formal", "team_manager", ["social_worker"], 5),
        ("stage_3_level_1", "formal", "service_manager", lower[:1], 5),
        ("stage_3_level_2", "formal", "head_of_service", lower[:2], 5),
        ("stage_3_level_3", "formal", "deputy_director", lower[:3], 5),
        ("stage_3_level_4", "formal", "director", lower, None),
    ]
    assert (
        procedure.stage("stage_3_level_1").name
        == "Formal Dispute (Stage 3): Level 1 \N{EN DASH} Operations Manager"
    )
    assert procedure.stage("stage_1").resolved_case_note == "IRO/CPC Informal resolution achieved"
    assert procedure.stage("stage_3_level_4").documents == ["directors_briefing"]
    assert all(not procedure.stage(stage.key).documents for stage in procedure.stages[:-1])
    # "not a linear process": bypass without approval.
    assert procedure.bypass_requires is None
    assert all(stage.bypass_requires is None for stage in procedure.stages)
    assert procedure.resolution.requires_learning_points is True
    assert [(item.key, item.role) for item in procedure.cafcass.requires] == [
        ("deputy_director_informed", "deputy_director")
    ]
    assert [(item.key, item.required) for item in procedure.cafcass.checklist] == [
        ("iro_report", True),
        ("court_reference", False),
    ]
    assert procedure.cafcass.earliest_stage is None
    assert procedure.cafcass.urgent_before_stage is None


# -- seed 003: Rotherham, Challenge and Resolution -----------------------------------------------------


def test_003_challenge_and_resolution() -> None:
    procedure = load("challenge_and_resolution")
    assert procedure.authority == "Rotherham"
    assert procedure.tracks == ["iro", "cpc"]
    assert ladder(procedure) == [
        ("informal", "informal", "social_worker", ["team_manager"], 10),
        ("stage_1", "formal", "team_manager", ["social_worker", "service_manager", "iro_service_manager"], 5),
        # Seed 003: "The Service Manager in consultation with the IRO/CPC will then forward the form":
        # the IRO/CP Service Manager is copied at stage 2.
        (
            "stage_2",
            "formal",
            "service_manager",
            ["head_of_service", "social_worker", "team_manager", "iro_service_manager"],
            5,
        ),
        ("stage_3", "formal", "head_of_safeguarding", ["iro_service_manager"], 5),
        ("stage_4", "formal", "director", ["head_of_safeguarding", "head_of_service"], 10),
    ]
    assert procedure.stage("informal").case_note == "IRO/Conference Chair Escalation Discussion"
    stage_1_meeting = procedure.stage("stage_1").meeting
    assert stage_1_meeting is not None
    assert (stage_1_meeting.required, stage_1_meeting.within_working_days) == (False, 5)
    stage_2_meeting = procedure.stage("stage_2").meeting
    assert stage_2_meeting is not None
    assert (stage_2_meeting.required, stage_2_meeting.within_working_days) == (False, 5)
    stage_4_meeting = procedure.stage("stage_4").meeting
    assert stage_4_meeting is not None and stage_4_meeting.required
    # Stage 1 "moves directly to the next stage"; stage 2 reverts to stage 2; stages 3 and 4 to stage 3.
    assert [procedure.reentry_for(stage.key) for stage in procedure.stages] == [
        "informal",
        "stage_2",
        "stage_2",
        "stage_3",
        "stage_3",
    ]
    # From stage 2 the IRO/CPC Service Manager forwards the form: a jump there needs their agreement.
    assert [procedure.bypass_rule(stage.key) for stage in procedure.stages] == [
        None,
        None,
        "iro_service_manager",
        "iro_service_manager",
        "iro_service_manager",
    ]
    assert procedure.resolution.final_comments_role == "iro_service_manager"
    assert [theme.key for theme in procedure.themes] == [theme["key"] for theme in DEFAULT_THEMES]
    assert procedure.cafcass.urgent_before_stage == "stage_4"
    assert [(item.key, item.role) for item in procedure.cafcass.requires] == [
        ("service_manager_approval", "iro_service_manager"),
        ("hos_safeguarding_approval", "head_of_safeguarding"),
    ]
    checklist = procedure.cafcass.checklist
    assert len(checklist) == 7
    assert [item.required for item in checklist] == [False, False, True, True, False, True, True]
    assert (
        checklist[0].label == "Copies of any final Care Order and the final Care Plan filed in proceedings."
    )
    assert checklist[6].label == "The most recent Care Plan."


# -- seed 004: Knowsley, Informal Challenge and Dispute Resolution -------------------------------------


def test_004_informal_challenge_dispute_resolution() -> None:
    procedure = load("informal_challenge_dispute_resolution")
    assert procedure.authority == "Knowsley"
    assert procedure.tracks == ["iro", "cpc"]
    assert ladder(procedure) == [
        ("stage_1", "informal", "social_worker", ["team_manager"], 5),
        ("stage_2", "formal", "team_manager", ["head_of_service", "iro_team_manager"], 5),
        ("stage_3", "formal", "assistant_director", [], 5),
        ("stage_4", "formal", "director", ["social_worker", "service_manager", "head_of_service"], 5),
    ]
    meeting = procedure.stage("stage_4").meeting
    assert meeting is not None
    assert (meeting.required, meeting.chair_role) == (True, "director")
    # Knowsley's own rule, written out: stages 2-4 at most 20 working days.
    assert (
        tomllib.loads((PROCEDURE_DIR / "informal_challenge_dispute_resolution.toml").read_text())[
            "formal_cap_working_days"
        ]
        == 20
    )
    assert procedure.bypass_requires is None
    assert procedure.cafcass.requires == []
    assert procedure.cafcass.earliest_stage is None
    assert procedure.cafcass.urgent_before_stage is None
    assert "s25B" in (PROCEDURE_DIR / "informal_challenge_dispute_resolution.toml").read_text()


# -- the national default -------------------------------------------------------------------------------


def test_national_default() -> None:
    procedure = load("national")
    assert procedure.authority == "National default (IRO Handbook 2010)"
    assert procedure.tracks == ["iro", "cpc"]
    assert ladder(procedure) == [
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
    assert procedure.formal_cap_working_days == 20
    assert procedure.bypass_requires is None
    assert procedure.cafcass.requires == []
    assert procedure.cafcass.earliest_stage is None
    assert procedure.cafcass.urgent_before_stage is None
