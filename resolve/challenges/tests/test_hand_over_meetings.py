"""A leaver's requested meetings, not yet held, that they were to chair are asked again with their
successor as chair, so nobody waits on an empty chair to record the minutes.

Issue 13: "reassigns a leaver's children, stages, actions and pending agreements to another person in
one step ... so nothing waits on an empty chair."
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model

from resolve.access.tests.world import TODAY, World
from resolve.audit.verify import verify_all
from resolve.challenges import services
from resolve.challenges.case_notes import HANDED_OVER_NOTE
from resolve.challenges.events import EventType
from resolve.challenges.models import Challenge, Event, Meeting
from resolve.challenges.tests.test_hand_over_agreements import _snapshot

# The same world as the hand-over's other tests (the fixture, used by name).
from resolve.challenges.tests.test_hand_over_agreements import world as world
from resolve.children.models import CaseNote
from resolve.core.errors import ServiceError
from resolve.notifications.models import Deadline, Notification

pytestmark = pytest.mark.django_db


def _meeting_asked(world: World) -> Challenge:
    """Seed 001, stage 2: "This meeting should be chaired by CPRU Service Manager." The bypass the
    CPRU Service Manager was asked to agree to is confirmed, so only the meeting waits on them."""
    iro, manager = world.user("iro"), world.user("iro_service_manager")
    challenge = services.challenge_raise(
        user=iro,
        child=world.a,
        track="iro",
        procedure_key="cla_dispute_resolution",
        stage="stage_2",
        bypass_reason="The plan has drifted",
        bypass_agreed_by="iro_service_manager",
        concern="No permanence plan after 8 months",
        impact_on_child="Drift",
        on=TODAY,
    )
    services.challenge_answer_agreement(user=manager, challenge_id=challenge.pk, number=1, answer="confirmed")
    services.challenge_request_meeting(
        user=iro,
        challenge_id=challenge.pk,
        scheduled_for=TODAY + dt.timedelta(days=2),
        chair="iro_service_manager",
        attendees=["team_manager", "social_worker"],
        outsiders=["Dr A. Patel (school nurse)"],
        note="To agree how the permanence plan is progressed.",
    )
    return challenge


def test_a_meeting_the_leaver_was_to_chair_is_asked_again_with_the_successor(world: World) -> None:
    challenge = _meeting_asked(world)
    first = Meeting.objects.get(challenge=challenge, requested=True)
    done = services.leaver_hand_over(
        user=world.user("admin"), leaver="iro_service_manager", successor="ism_cover", reason="Retired"
    )
    assert (done.challenges, done.meetings) == ([challenge.pk], 1)
    # The first request stays as it was (evidence); the meeting is asked again, as it was, with the
    # successor as its chair.
    again = Meeting.objects.filter(challenge=challenge, requested=True).latest("id")
    assert again.pk != first.pk and again.request_id == first.pk
    assert (again.number, again.scheduled_for, again.attendees, again.outsiders, again.summary) == (
        first.number,
        first.scheduled_for,
        first.attendees,
        first.outsiders,
        first.summary,
    )
    assert again.chair is not None and again.chair.username == "ism_cover"
    first.refresh_from_db()
    assert first.chair is not None and first.chair.username == "iro_service_manager"
    # Written as evidence and told.
    event = Event.objects.get(challenge=challenge, type=EventType.HANDED_OVER)
    assert event.detail["meetings"] == [1]
    note = CaseNote.objects.get(challenge=challenge, note_type=HANDED_OVER_NOTE)
    assert "the chair of 1 requested meeting" in note.body
    told = Notification.objects.get(user__username="ism_cover", message__kind="work_handed_over")
    assert "the chair of 1 requested meeting" in told.message.body
    # The reminder before the meeting goes to the meeting asked again, not the one superseded.
    reminders = Deadline.objects.filter(
        challenge=challenge, trigger="meeting_reminder", fired_at__isnull=True
    )
    assert {row.meeting_id for row in reminders} == {again.pk}
    # The leaver can no longer record the minutes; the successor can.
    with pytest.raises(ServiceError) as refused:
        services.challenge_record_meeting(
            user=world.user("iro_service_manager"), challenge_id=challenge.pk, summary="Met", number=1
        )
    assert refused.value.code == "not_the_meeting_chair"
    cover = get_user_model().objects.get(username="ism_cover")
    services.challenge_record_meeting(user=cover, challenge_id=challenge.pk, summary="Plan agreed", number=1)
    minutes = Meeting.objects.get(challenge=challenge, requested=False)
    assert minutes.request_id == again.pk
    assert list(verify_all()) == []


def test_a_successor_who_cannot_chair_it_is_refused_and_nothing_changes(world: World) -> None:
    challenge = _meeting_asked(world)
    before = (_snapshot(), Meeting.objects.count())
    with pytest.raises(ServiceError) as refused:
        services.leaver_hand_over(
            user=world.user("admin"), leaver="iro_service_manager", successor="iro_3", reason="Retired"
        )
    assert (refused.value.code, refused.value.field) == ("successor_cannot_chair", "successor")
    assert f"Meeting 1 on challenge {challenge.pk} for LCS-A" in refused.value.message
    assert (_snapshot(), Meeting.objects.count()) == before


def test_a_meeting_already_held_is_not_handed_over(world: World) -> None:
    challenge = _meeting_asked(world)
    services.challenge_record_meeting(
        user=world.user("iro_service_manager"), challenge_id=challenge.pk, summary="Met", number=1
    )
    # The stage copies them (cla_dispute_resolution stage 2), so there is still that to hand over.
    done = services.leaver_hand_over(
        user=world.user("admin"), leaver="iro_service_manager", successor="ism_cover", reason="Retired"
    )
    assert done.meetings == 0
    assert Meeting.objects.filter(challenge=challenge, requested=True).count() == 1


def test_the_challenge_page_shows_the_meeting_asked_again_and_its_new_chair(client, world: World) -> None:
    challenge = _meeting_asked(world)
    services.leaver_hand_over(
        user=world.user("admin"), leaver="iro_service_manager", successor="ism_cover", reason="Retired"
    )
    client.force_login(get_user_model().objects.get(username="ism_cover"))
    page = client.get(f"/challenges/{challenge.pk}/").content.decode()
    assert "(asked again: its chair was handed over), chaired by Ism_Cover" in page
    # The new chair records the minutes from the page: the meeting is offered to them.
    form = client.get(f"/challenges/{challenge.pk}/record_meeting/").content.decode()
    assert 'value="1"' in form and "Meeting 1, set for" in form
