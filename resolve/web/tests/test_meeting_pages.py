"""The meeting pages: asking for a meeting, and recording its minutes and actions (issue 9, section 3)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from resolve.challenges.models import Action, Meeting
from resolve.notifications.models import Kind, OutboxMessage
from resolve.testing.challenges import raise_challenge

pytestmark = pytest.mark.django_db


def test_ask_for_the_stage_2_meeting_and_record_its_minutes(client, authority, child):
    """Seed 003: "a date will be set to discuss the issue within 5 working days ... The action plan
    will be jointly developed in this meeting"."""
    with time_machine.travel(dt.datetime(2026, 6, 1, 9, 0), tick=False):
        challenge = raise_challenge(
            authority,
            child,
            procedure_key="challenge_and_resolution",
            stage="stage_2",
            bypass_reason="Drift",
            bypass_agreed_by="iro_service_manager",
            concern="No permanence plan",
            impact_on_child="Drift",
        )
        url = f"/challenges/{challenge.pk}/"
        client.force_login(authority.staff["iro"])
        assert "Ask for a meeting" in client.get(url).content.decode()
        form = client.get(url + "request_meeting/").content.decode()
        assert "Stage 2 meeting with the Service Manager" in form
        # The roles the procedure invites are ticked at first.
        assert 'value="service_manager" checked' in form
        too_late = client.post(
            url + "request_meeting/",
            {
                "expected_version": challenge.version,
                "key": "meeting",
                "scheduled_for_0": "9",
                "scheduled_for_1": "6",
                "scheduled_for_2": "2026",
            },
        )
        assert too_late.status_code == 400
        assert "set a date by 8 June 2026" in too_late.content.decode()
        sent = client.post(
            url + "request_meeting/",
            {
                "expected_version": challenge.version,
                "key": "meeting",
                "scheduled_for_0": "4",
                "scheduled_for_1": "6",
                "scheduled_for_2": "2026",
                "attendees": ["service_manager", "team_manager"],
                "outsiders": "Dr A. Patel (school nurse)\n",
                "note": "To agree the action plan",
            },
        )
        assert sent.status_code == 302, sent.content.decode()
        shown = client.get(url).content.decode()
        assert "Meeting 1 requested for 4 June 2026" in shown
        # Issue 13: "People by name in calendar entries, emails and pages".
        assert "invited: Sarah Moore, Tom Mitchell, Dr A. Patel (school nurse)" in shown
    with time_machine.travel(dt.datetime(2026, 6, 4, 16, 0), tick=False):
        client.force_login(authority.staff["iro"])  # a new day, a new session
        page = client.get(url + "record_meeting/").content.decode()
        assert "Meeting 1, set for 4 June 2026" in page
        missing_owner = client.post(
            url + "record_meeting/",
            {
                "expected_version": challenge.version + 1,
                "number": "1",
                "summary": "Action plan agreed",
                "action_1": "Book the permanence planning meeting",
            },
        )
        assert missing_owner.status_code == 400
        recorded = client.post(
            url + "record_meeting/",
            {
                "expected_version": challenge.version + 1,
                "number": "1",
                "summary": "Action plan agreed",
                "attendees": ["team_manager"],
                "outsiders": "Dr A. Patel (school nurse)",
                "action_1": "Book the permanence planning meeting",
                "owner_1": "team_manager",
                "due_1_0": "12",
                "due_1_1": "6",
                "due_1_2": "2026",
            },
        )
        assert recorded.status_code == 302, recorded.content.decode()
    held = Meeting.objects.get(requested=False)
    assert held.held_on == dt.date(2026, 6, 4) and held.outsiders == ["Dr A. Patel (school nurse)"]
    assert Action.objects.filter(challenge=challenge, action="Book the permanence planning meeting").exists()
    minutes = {m.recipient.username for m in OutboxMessage.objects.filter(kind=Kind.MEETING_MINUTES)}
    assert minutes == {"team_manager", "iro"}
