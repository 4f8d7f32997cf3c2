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
