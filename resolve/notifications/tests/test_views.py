"""The notifications page, the calendar feed and the worker's use of the tasks API."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django_tasks_db.models import DBTaskResult
from icalendar import Calendar

from resolve.audit.models import AccessLogEntry, ListViewEntry
from resolve.challenges.services import ActionInput
from resolve.notifications.management.commands.run_worker import Clock
from resolve.notifications.models import Notification, OutboxMessage
from resolve.notifications.services import calendar_secret_reset
from resolve.notifications.tests.conftest import at
from resolve.procedures.selectors import procedure_version_model

pytestmark = pytest.mark.django_db
D = dt.date


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_notifications_page_lists_messages_with_the_unread_count(raise_on: Any, authority: Any) -> None:
    raise_on(D(2024, 6, 3))
    client = signed_in(authority.staff["social_worker"])
    page = client.get("/notifications/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "You have <strong>1</strong> unread notification." in html
    assert "Challenge for Amelia Jones (LCS100001)" in html
    assert client.post("/notifications/read/").status_code == 302
    assert not Notification.objects.filter(
        user=authority.staff["social_worker"], read_at__isnull=True
    ).exists()
    assert "no unread notifications" in client.get("/notifications/").content.decode()


def test_notifications_page_needs_sign_in() -> None:
    response = Client().get("/notifications/")
    assert response.status_code == 302
    assert response["Location"].startswith("/sign-in/")


def test_choosing_the_daily_digest(raise_on: Any, authority: Any) -> None:
    client = signed_in(authority.staff["social_worker"])
    client.post("/notifications/email/", {"email": "daily_digest"})
    raise_on(D(2024, 6, 3))
    assert OutboxMessage.objects.get(recipient__username="social_worker").status == "held"
    client.post("/notifications/email/", {"email": "immediate"})  # switching back releases them
    assert OutboxMessage.objects.get(recipient__username="social_worker").status == "pending"


def test_calendar_feed_has_every_due_date_of_the_user_and_its_secret_can_be_reset(
    raise_on: Any, authority: Any
) -> None:
    challenge = raise_on(
        D(2024, 6, 3), actions=(ActionInput("Update the care plan", "social_worker", D(2024, 6, 14)),)
    )
    secret = calendar_secret_reset(user=authority.staff["social_worker"])
    response = Client().get(f"/calendar/{secret}.ics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    events = {
        (str(event["summary"]), event.decoded("dtstart"))
        for event in Calendar.from_ical(response.content).walk("VEVENT")
    }
    assert any(
        summary.startswith("Response due") and start == challenge.stage_due_on for summary, start in events
    )
    assert any(summary.startswith("Action due") and start == D(2024, 6, 14) for summary, start in events)
    # Issue 13: the entry names the child's initials and case number and the stage, the owner by name.
    (action_event,) = [
        event
        for event in Calendar.from_ical(response.content).walk("VEVENT")
        if str(event["summary"]).startswith("Action due")
    ]
    assert str(action_event["summary"]).startswith("Action due: A.J. (LCS100001), ")
    stage = procedure_version_model(challenge.policy).stage(challenge.stage_key).name
    assert stage in str(action_event["summary"])
    assert "owned by Sophie Walker" in str(action_event["description"])
    # The child is named by initials and case number, never by name.
    text = response.content.decode()
    assert "A.J. (LCS100001)" in text and "Amelia" not in text and "Jones" not in text
    # Each fetch is in the access log as the feed owner's view of a list naming the child, without
    # the secret: one row per fetch, not one per challenge.
    assert not AccessLogEntry.objects.filter(user=authority.staff["social_worker"]).exists()
    (entry,) = ListViewEntry.objects.filter(user=authority.staff["social_worker"])
    assert entry.children == [[challenge.child_id, challenge.child.case_number]]
    assert (entry.channel, entry.method, entry.path) == ("calendar", "GET", "/calendar/(secret).ics")
    Client().get(f"/calendar/{secret}.ics")
    assert ListViewEntry.objects.filter(user=authority.staff["social_worker"]).count() == 2
    # The IRO's feed has the response date of the challenge they chair.
    iro_secret = calendar_secret_reset(user=authority.staff["iro"])
    iro_feed = Calendar.from_ical(Client().get(f"/calendar/{iro_secret}.ics").content)
    assert any(event.decoded("dtstart") == challenge.stage_due_on for event in iro_feed.walk("VEVENT"))
    # Reset by POST: the old address stops working.
    signed_in(authority.staff["social_worker"]).post("/notifications/calendar/reset/")
    assert Client().get(f"/calendar/{secret}.ics").status_code == 404
    assert Client().get("/calendar/not-a-secret.ics").status_code == 404


def test_calendar_feed_shows_only_challenges_its_owner_may_see(raise_on: Any, authority: Any) -> None:
    """An action naming someone outside the child's line does not put the child in their calendar."""
    raise_on(D(2024, 6, 3), actions=(ActionInput("Share the plan", "social_worker_2", D(2024, 6, 14)),))
    outsider = authority.staff["social_worker_2"]
    response = Client().get(f"/calendar/{calendar_secret_reset(user=outsider)}.ics")
    assert response.status_code == 200
    assert list(Calendar.from_ical(response.content).walk("VEVENT")) == []
    assert not AccessLogEntry.objects.filter(user=outsider).exists()
    assert not ListViewEntry.objects.filter(user=outsider).exists()


def test_sweep_command_is_idempotent(raise_on: Any) -> None:
    raise_on(D(2024, 6, 3))
    with at(D(2024, 6, 11), hour=7):
        call_command("sweep_deadlines", verbosity=0)
        count = OutboxMessage.objects.count()
        call_command("sweep_deadlines", verbosity=0)
    assert OutboxMessage.objects.count() == count
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {"sent"}


def test_the_worker_clock_enqueues_the_sweep_and_the_database_worker_runs_it(
    raise_on: Any, monkeypatch: Any
) -> None:
    # The worker closes stale connections between tasks; inside a test's transaction that would end it.
    monkeypatch.setattr("django_tasks_db.management.commands.db_worker.close_old_connections", lambda: None)
    raise_on(D(2024, 6, 3))
    with at(D(2024, 6, 11), hour=9):
        clock = Clock(sweep_every=300, deliver_every=60, digest_hour=7)
        clock.tick()
        clock.tick()  # nothing new while the first sweep is still waiting
        paths = sorted(DBTaskResult.objects.values_list("task_path", flat=True))
        assert paths == [
            "resolve.notifications.tasks.anchor_evidence_task",
            "resolve.notifications.tasks.digests_send_task",
            "resolve.notifications.tasks.expire_idempotency_keys_task",
            "resolve.notifications.tasks.file_sent_forms_task",
            "resolve.notifications.tasks.sweep_deadlines_task",
        ]
        call_command("db_worker", batch=True, startup_delay=False, reload=False, verbosity=0)
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {"SUCCESSFUL"}
    assert OutboxMessage.objects.filter(kind="response_overdue").count() == 2  # the chair: a prompt instead
    assert len(mail.outbox) == OutboxMessage.objects.count()
