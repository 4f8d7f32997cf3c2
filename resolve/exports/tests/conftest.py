"""A challenge taken through its stages by the real write path, for the documents to be read back."""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from resolve.challenges import services
from resolve.challenges.models import Challenge
from resolve.testing.agreements import agreements_confirmed

TODAY = dt.date(2026, 12, 21)  # a Monday
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"  # the least a pack takes as a PDF
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "documents"

BRIEFING = {
    "author": "Jane Reviewer, Independent Reviewing Officer, Safeguarding Unit",
    "legal_status": "Care Order (s31), made 4 May 2023",
    "parents": "Mother: Rachel Jones. Father: not known to the service.",
    "siblings": "Two younger brothers, placed together with foster carers.",
    "extended_family": "Maternal grandmother, weekly contact.",
    "family_address": "12 Example Road, Sampletown",
    "other_agencies": "CAMHS; Sampletown Primary School",
    "date_opened_to_csc": "2 February 2021",
    "incident": "Three statutory visits missed; the child has not been seen alone since August.",
    "background": "Accommodated after neglect; two placement moves in 2025.",
    "interventions": "Child and family assessment 2021; PLO 2022; care proceedings 2023.",
    "current_plan": "Long-term foster care with the current carers; life-story work to begin.",
}


@pytest.fixture
def frozen():
    with time_machine.travel(dt.datetime(2026, 12, 21, 10, 0), tick=False) as traveller:
        yield traveller


@pytest.fixture
def journey(authority, child, frozen) -> Challenge:
    """Raised informally, escalated to stage 1, answered, escalated to stage 4 with the Director's
    briefing, agreed, an action done, resolved, and the IRO Service Manager's final comments."""
    staff = authority.staff
    challenge = services.challenge_raise(
        user=staff["iro"],
        child=child,
        track="iro",
        procedure_key="challenge_and_resolution",
        concern="Statutory visits have not happened since August.\nThe care plan is out of date.",
        impact_on_child="The child has not been seen alone and their views are not in the plan.",
        desired_outcome="A visit within 5 working days and an updated care plan.",
        themes=["voice_of_child", "management_oversight"],
        actions=[
            services.ActionInput("Visit the child alone", "social_worker", TODAY + dt.timedelta(days=7)),
            services.ActionInput("Update the care plan", "team_manager", TODAY + dt.timedelta(days=14)),
        ],
        on=TODAY,
    )
    frozen.shift(dt.timedelta(days=1))
    services.challenge_escalate(
        user=staff["iro"], challenge_id=challenge.pk, reason="No reply from the social worker."
    )
    frozen.shift(dt.timedelta(days=1))
    services.challenge_respond(
        user=staff["team_manager"],
        challenge_id=challenge.pk,
        response="disagree",
        comments="Visits are planned for January.",
    )
    frozen.shift(dt.timedelta(days=1))
    agreements_confirmed(
        staff=staff, challenge_id=challenge.pk, people={"stage_4": "iro_service_manager"}, purpose="bypass"
    )
    services.challenge_escalate(
        user=staff["iro"],
        challenge_id=challenge.pk,
        to_stage="stage_4",
        reason="The child remains unseen.",
        bypass_agreed_by="iro_service_manager",
        directors_briefing=BRIEFING,
    )
    frozen.shift(dt.timedelta(days=1))
    services.challenge_respond(
        user=staff["director"],
        challenge_id=challenge.pk,
        response="agree",
        comments="A visit is booked and the plan will be reviewed.",
    )
    action = challenge.actions.order_by("due")[0]
    services.challenge_action_mark(
        user=staff["iro"], challenge_id=challenge.pk, action_id=action.pk, status="done"
    )
    services.challenge_record_meeting(
        user=staff["iro"],
        challenge_id=challenge.pk,
        summary="Joint Heads of Service meeting: a visit this week; the care plan to be reviewed.",
    )
    services.challenge_resolve(
        user=staff["iro"],
        challenge_id=challenge.pk,
        outcome="Visit made; care plan review booked.",
        learning_points="Escalate missed visits sooner.",
    )
    services.challenge_add_final_comments(
        user=staff["iro_service_manager"],
        challenge_id=challenge.pk,
        comments="Resolved at stage 4; monitor the plan at the next review.",
    )
    return Challenge.objects.get(pk=challenge.pk)


def first_page_png(pdf_path: Path, name: str) -> Path:
    """The document's first page as a PNG under test-artifacts/documents, for a reviewer to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    target = ARTIFACTS / name
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(pdf_path), str(target)],
        check=True,
    )
    return target.with_suffix(".png")


def save(name: str, content: bytes) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    path.write_bytes(content)
    return path


def api_documents_uploaded(api: Any, path: str, headers: dict[str, str]) -> None:
    """Through the API at ``path`` (a pack's ``.../documents``), upload the two documents a pack's
    checklist still wants ("review_records" and "recent_care_plan"), each answered 201 with its hash;
    a text file is refused with 422 naming ``file``."""
    for item in ("review_records", "recent_care_plan"):
        content = PDF + item.encode()
        response = api.client.post(
            path, {"item": item, "file": SimpleUploadedFile(f"{item}.pdf", content)}, headers=headers
        )
        assert response.status_code == 201, response.content
        assert response.json()["sha256"] == hashlib.sha256(content).hexdigest()
    wrong = api.client.post(
        path, {"item": "review_records", "file": SimpleUploadedFile("a.txt", b"text")}, headers=headers
    )
    assert wrong.status_code == 422 and wrong.json()["error"]["field"] == "file"
