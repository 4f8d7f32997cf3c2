"""Test data for the web pages, made through the real write paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser

from resolve.procedures.models import PolicyVersion
from resolve.procedures.services import procedure_sync

PASSWORD = "correct horse battery staple"


def raise_form(*, rows: int = 3, action: bool = True, **overrides: Any) -> dict[str, Any]:
    """What the challenge form posts when "Continue" is pressed: today's date left blank, a concern and
    its impact, one theme, the informal stage, ``rows`` action rows of which (with ``action``) the first
    is filled in; ``overrides`` replace or add fields by their posted names."""
    data: dict[str, Any] = {
        "on_0": "",
        "on_1": "",
        "on_2": "",
        "concern": "Visits are late",
        "impact_on_child": "Not seen alone",
        "themes": ["voice_of_child"],
        "stage": "informal",
        "bypass_reason": "",
        "bypass_agreed_by": "",
        "actions-TOTAL_FORMS": str(rows),
        "actions-INITIAL_FORMS": "0",
        "continue": "1",
    }
    if action:
        data |= {
            "actions-0-action": "Visit the child",
            "actions-0-owner": "Sophie Walker",
            "actions-0-due_0": "4",
            "actions-0-due_1": "1",
            "actions-0-due_2": "2027",
        }
    return data | overrides


# A procedure in the shape of seed 003 (four formal stages, a meeting, re-entry to stage 3, a
# Cafcass referral at any point with a checklist), for a made-up authority.
SAMPLE_PROCEDURE = """
key = "sample"
version = 1
name = "Sample Borough challenge and resolution procedure"
authority = "Sample Borough Council"
nation = "england-and-wales"
source = "Made up for the tests, in the shape of seed 003"
tracks = ["iro", "cpc"]
bypass_requires = "iro_service_manager"

[[stages]]
key = "informal"
name = "Informal challenge"
kind = "informal"
to_role = "social_worker"
cc_roles = ["team_manager"]
response_working_days = 10
case_note = "IRO Informal Resolution"

[[stages]]
key = "stage_1"
name = "Stage 1: Team Manager"
kind = "formal"
to_role = "team_manager"
cc_roles = ["social_worker", "iro_team_manager"]
response_working_days = 5
case_note = "Formal Resolution Stage 1 - Team Manager"

[[stages]]
key = "stage_2"
name = "Stage 2: Service Manager"
kind = "formal"
to_role = "service_manager"
cc_roles = ["team_manager", "iro_team_manager"]
response_working_days = 5
case_note = "Formal Resolution Stage 2 - Service Manager"

[stages.meeting]
required = true
description = "Meeting with the Service Manager, the IRO and the Team Manager"
chair_role = "iro_service_manager"
actions_recorded_within_hours = 24

[[stages]]
key = "stage_3"
name = "Stage 3: Head of Service"
kind = "formal"
to_role = "head_of_service"
cc_roles = ["service_manager", "head_of_safeguarding"]
notify_roles = ["principal_social_worker"]
response_working_days = 5
case_note = "Formal Resolution Stage 3 - Head of Service"

[[stages]]
key = "stage_4"
name = "Stage 4: Director of Children's Services"
kind = "formal"
to_role = "director"
cc_roles = ["head_of_service", "head_of_safeguarding"]
response_working_days = 10
documents = ["directors_briefing"]
reentry_stage = "stage_3"
case_note = "Formal Resolution Stage 4 - Director"
guidance = "The Director decides; the IRO may refer to Cafcass if the child is left at risk of harm."

[cafcass]
requires = [
  { key = "sm_agreement", label = "Agreement of the IRO Service Manager", role = "iro_service_manager" },
]
checklist = [
  { key = "care_plan", label = "The child's current care plan" },
  { key = "review_minutes", label = "Minutes of the last two reviews" },
  { key = "resolution_form", label = "The challenge and resolution form" },
  { key = "court_order", label = "Any court order", required = false },
]

[resolution]
requires_learning_points = true
final_comments_role = "iro_service_manager"
"""


def procedure_sample(tmp_path: Path) -> PolicyVersion:
    """Load the sample procedure through ``procedure_sync`` and return its current version."""
    folder = tmp_path / "policies"
    folder.mkdir(exist_ok=True)
    (folder / "sample.toml").write_text(SAMPLE_PROCEDURE, encoding="utf-8")
    procedure_sync(folder)
    return PolicyVersion.objects.get(key="sample", is_current=True)


def user_create(username: str = "iro.jones") -> AbstractBaseUser:
    return get_user_model().objects.create_user(username=username, password=PASSWORD)
