"""The demo authority shows every kind of challenge, a challenge to a partner agency among them."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command

from resolve.challenges.demo import demo_build
from resolve.challenges.models import Challenge, Event, StageVisit
from resolve.notifications.models import AgencyMessage
from resolve.people.demo import authority_build

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_challenge_to_a_partner_agency_at_its_second_level() -> None:
    # Seed 000 section 2: "Partner agencies" ... the concern goes to the practitioner, then their
    # manager; the demo shows one that has gone up a level with the school's reply recorded.
    authority = authority_build(password=None)
    summary = demo_build(authority=authority, today=dt.date(2026, 11, 27))
    assert summary.challenges["open, to a partner agency"] == 1
    challenge = Challenge.objects.get(policy__key="multi_agency_escalation")
    assert (challenge.agency, challenge.agency_kind, challenge.status) == (
        "Brampton Primary School",
        "education",
        "open",
    )
    visits = list(StageVisit.objects.filter(challenge=challenge).order_by("sequence"))
    assert [(visit.stage_key, visit.contact_name) for visit in visits] == [
        ("level_1", "Ann Hale"),
        ("level_2", "Joe Park"),
    ]
    types = list(Event.objects.filter(challenge=challenge).order_by("pk").values_list("type", flat=True))
    assert types == ["raised", "agency_asked", "response_recorded", "escalated", "agency_asked"]
    assert sorted(AgencyMessage.objects.values_list("address", flat=True)) == [
        "ann.hale@brampton-primary.example",
        "head@brampton-primary.example",
    ]
    out = StringIO()
    call_command("verify_evidence", stdout=out)  # raises CommandError when a chain does not hold
    assert "Every evidence chain holds" in out.getvalue()
