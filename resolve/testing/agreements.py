"""Test histories: the agreements a Cafcass referral needs, asked and confirmed through the services."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from django.contrib.auth.models import User

from resolve.challenges import services


def agreements_confirmed(
    *,
    staff: Mapping[str, User],
    challenge_id: int,
    people: Mapping[str, str],
    on: dt.date | None = None,
    purpose: str = "cafcass",
) -> None:
    """Ask each person (``{key: username}``: a Cafcass precondition's key, or for ``purpose`` "bypass"
    the stage to go straight to) as the IRO, and have them confirm it."""
    for key, username in people.items():
        challenge = services.challenge_request_agreement(
            user=staff["iro"],
            challenge_id=challenge_id,
            purpose=purpose,
            key=key,
            person=username,
            note="Asked before the step is taken.",
            on=on,
        )
        number = challenge.agreements.order_by("-number").values_list("number", flat=True)[0]
        services.challenge_answer_agreement(
            user=staff[username], challenge_id=challenge_id, number=number, answer="confirmed", on=on
        )


# The two approvals a referral to Cafcass with no challenge asks for, as ``{key: username}``.
REFERRAL_APPROVALS = {
    "service_manager_approval": "iro_service_manager",
    "hos_safeguarding_approval": "head_of_safeguarding",
}
# A referral's checklist: what is already with the IRO (True) and what is still to come.
REFERRAL_CHECKLIST = {
    "care_order_and_care_plan": False,
    "guardian_report": False,
    "review_records": True,
    "iro_report": True,
    "wishes_and_feelings": False,
    "professional_contacts": True,
    "recent_care_plan": True,
}


def child_agreements_confirmed(
    *, staff: Mapping[str, User], child_id: int, people: Mapping[str, str], note: str = "Please approve."
) -> None:
    """Ask each person (``{key: username}``, a Cafcass precondition's key) as the IRO for their agreement
    to referring the child's case with no challenge, and have them confirm it."""
    for key, username in people.items():
        asked = services.child_request_cafcass_agreement(
            user=staff["iro"], child_id=child_id, key=key, person=username, note=note
        )
        services.child_answer_cafcass_agreement(
            user=staff[username], child_id=child_id, number=asked.number, answer="confirmed"
        )
