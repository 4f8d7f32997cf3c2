"""The hand-over's API route moves a leaver's requests for agreement with the rest of their work, and
says how many (issue 13: "reassigns a leaver's children, stages, actions and pending agreements")."""

from __future__ import annotations

import pytest
from django.test import Client

from resolve.access.tests.world import World
from resolve.api.models import api_token_create
from resolve.challenges.tests.test_hand_over_agreements import _challenge_with_three_requests, _snapshot

# The same world as the service's tests (the fixture, used by name).
from resolve.challenges.tests.test_hand_over_agreements import world as world

pytestmark = pytest.mark.django_db


def test_the_api_says_how_many_requests_moved_and_names_the_field_when_refused(world: World) -> None:
    challenge = _challenge_with_three_requests(world)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=world.user('admin'))}")
    before = _snapshot()
    refused = api.post(
        "/api/v1/people/iro_service_manager/hand-over",
        {"to": "iro_3", "reason": "Left"},
        content_type="application/json",
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "successor"
    assert _snapshot() == before
    answer = api.post(
        "/api/v1/people/iro_service_manager/hand-over",
        {"to": "ism_cover", "reason": "Left"},
        content_type="application/json",
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["agreements"] == 1 and answer.json()["challenges"] == [challenge.pk]
    # The administrator's role sees no child's record; the chair reads the event.
    chair = Client(HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=world.user('iro'))}")
    events_of = chair.get(f"/api/v1/challenges/{challenge.pk}").json()["events"]
    handed = [event for event in events_of if event["type"] == "handed_over"]
    assert handed[0]["detail"]["agreements"] == [1]
