"""Test histories: a challenge raised through the services, as the child's IRO."""

from __future__ import annotations

from typing import Any

from resolve.challenges import services
from resolve.challenges.models import Challenge
from resolve.children.models import Child
from resolve.people.demo import Authority


def raise_challenge(authority: Authority, child: Child, **overrides: Any) -> Challenge:
    """Raise a challenge for ``child`` as the IRO on the national procedure; ``overrides`` replace any
    argument of ``services.challenge_raise`` (``procedure_key``, ``concern``, ``themes``, ``on`` ...)."""
    arguments: dict[str, Any] = {
        "user": authority.staff["iro"],
        "child": child,
        "track": "iro",
        "procedure_key": "national",
        "concern": "The care plan has not been updated since the last review.",
        "impact_on_child": "Amelia's move to her grandparents is delayed.",
        **overrides,
    }
    return services.challenge_raise(**arguments)
