"""Break-glass: a reason, a short time, every look logged, and a report to the IRO Service Manager."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.core import mail

from resolve.access import NotVisible, child_get_for_user
from resolve.access.tests.world import World, world_build
from resolve.audit.models import AccessLogEntry, BreakGlassGrant
from resolve.audit.selectors import break_glass_list
from resolve.notifications.models import Kind, Notification, NotificationPreference, OutboxMessage
from resolve.notifications.services import outbox_deliver, preference_set_email

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 12, 1, 10, 0)


@pytest.fixture
def world(authority: Any) -> World:
    with time_machine.travel(NOW, tick=False):
        return world_build(authority)


def test_break_glass_opens_the_record_for_a_short_time(
    api_as: Callable[[str], Any], world: World, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.RESOLVE_BREAK_GLASS_MINUTES = 30
    team_manager = api_as("team_manager")
    with time_machine.travel(NOW, tick=False):
        assert team_manager.get("/children/LCS-B").status_code == 404
        with django_capture_on_commit_callbacks(execute=True):
            answer = team_manager.post(
                "/break-glass",
                {
                    "case_number": "LCS-B",
                    "reason_category": "safeguarding_emergency",
                    "reason": "Child presented at A&E tonight",
                },
            )
        assert answer.status_code == 201, answer.content
        assert answer.json()["expires_at"].startswith("2026-12-01T10:30")
        assert team_manager.get("/children/LCS-B").status_code == 200
    entry = AccessLogEntry.objects.filter(user=world.user("team_manager"), child=world.b).get()
    grant = BreakGlassGrant.objects.get()
    assert entry.break_glass == grant and grant.reason == "Child presented at A&E tonight"
    assert grant.ip_address == "127.0.0.1" and grant.channel == "api"
    (notification,) = Notification.objects.filter(user=world.user("iro_service_manager"))
    assert notification.message.kind == Kind.BREAK_GLASS and notification.read_at is None
    assert "LCS-B" in notification.message.body and "A&E" in notification.message.body
    with time_machine.travel(NOW, tick=False):
        outbox_deliver()
    (report,) = mail.outbox
    assert report.to == ["iro_service_manager@resolve.invalid"]
    assert "LCS-B" in report.body and "A&E" in report.body
    with time_machine.travel(NOW + dt.timedelta(minutes=31), tick=False):
        assert team_manager.get("/children/LCS-B").status_code == 404


def test_the_iro_service_manager_can_list_every_break_glass(
    api_as: Callable[[str], Any], world: World
) -> None:
    with time_machine.travel(NOW, tick=False):
        api_as("social_worker").post(
            "/break-glass",
            {
                "case_number": "LCS-B",
                "reason_category": "duty_cover",
                "reason": "Covering the duty desk today",
            },
        )
        listed = api_as("iro_service_manager").get("/break-glass").json()
        assert [(row["user"], row["case_number"]) for row in listed] == [("social_worker", "LCS-B")]
        assert api_as("social_worker").get("/break-glass").json() == []
        log = api_as("iro_service_manager").get("/access-log", case_number="LCS-B").json()
        assert log == []  # opening is not viewing; the look comes next
    assert list(break_glass_list(user=world.user("iro_service_manager")))


@pytest.mark.parametrize(
    ("username", "body", "status", "code"),
    [
        (
            "team_manager",
            {"case_number": "LCS-B", "reason_category": "other", "reason": ""},
            422,
            "reason_required",
        ),
        (
            "team_manager",
            {"case_number": "LCS-B", "reason_category": "other", "reason": "because"},
            422,
            "reason_required",
        ),
        (
            "team_manager",
            {
                "case_number": "NO-SUCH",
                "reason_category": "safeguarding_emergency",
                "reason": "Child presented at A&E tonight",
            },
            404,
            "not_found",
        ),
        (
            "team_manager",
            {
                "case_number": "LCS-A",
                "reason_category": "safeguarding_emergency",
                "reason": "Child presented at A&E tonight",
            },
            409,
            "already_visible",
        ),
        (
            "admin",
            {
                "case_number": "LCS-B",
                "reason_category": "safeguarding_emergency",
                "reason": "Child presented at A&E tonight",
            },
            403,
            "not_allowed",
        ),
        (
            "chief_executive",
            {
                "case_number": "LCS-B",
                "reason_category": "safeguarding_emergency",
                "reason": "Child presented at A&E tonight",
            },
            403,
            "not_allowed",
        ),
    ],
)
def test_break_glass_refusals_change_nothing(
    api_as: Callable[[str], Any], world: World, username: str, body: dict[str, str], status: int, code: str
) -> None:
    answer = api_as(username).post("/break-glass", body)
    assert answer.status_code == status, answer.content
    assert answer.json()["error"]["code"] == code
    assert not BreakGlassGrant.objects.exists()


def test_break_glass_service_for_pages(world: World, rf: Any) -> None:
    from resolve.access.context import AccessContext, access_context
    from resolve.audit.services import break_glass_open

    with access_context(
        AccessContext(
            channel="page", method="POST", path="/children/LCS-B/break-glass", ip_address="10.0.0.9"
        )
    ):
        grant = break_glass_open(
            user=world.user("social_worker"),
            case_number="LCS-B",
            reason_category="duty_cover",
            reason="Duty cover tonight for the team",
        )
        child = child_get_for_user(user=world.user("social_worker"), case_number="LCS-B")
    assert child == world.b and grant.channel == "page" and grant.ip_address == "10.0.0.9"
    entry = AccessLogEntry.objects.get()
    assert (entry.channel, entry.ip_address, entry.path) == (
        "page",
        "10.0.0.9",
        "/children/LCS-B/break-glass",
    )
    with pytest.raises(NotVisible):
        child_get_for_user(user=world.user("team_manager"), case_number="LCS-B")


def test_one_request_logs_each_record_once(api_as: Callable[[str], Any], world: World) -> None:
    with time_machine.travel(NOW, tick=False):
        challenge = world.challenge(world.a)
        api_as("iro").post(f"/challenges/{challenge.pk}/meetings", {"summary": "Met", "on": "2026-12-01"})
    assert AccessLogEntry.objects.filter(user=world.user("iro"), challenge=challenge).count() == 1


def test_break_glass_is_reported_in_app_in_the_grant_transaction(world: World) -> None:
    """The report is written with the grant (not after commit), to every active IRO/CP Service Manager,
    never held for a daily digest, and rolled back with the grant."""
    from django.db import transaction

    from resolve.audit.services import break_glass_open

    manager = world.user("iro_service_manager")
    preference_set_email(user=manager, email=NotificationPreference.Email.DAILY_DIGEST)
    with transaction.atomic():
        grant = break_glass_open(
            user=world.user("social_worker"),
            case_number="LCS-B",
            reason_category="duty_cover",
            reason="Duty cover tonight for the team",
        )
        # Already there inside the transaction: nothing waits for on_commit.
        (row,) = OutboxMessage.objects.filter(kind=Kind.BREAK_GLASS)
    assert row.recipient == manager and row.status == OutboxMessage.Status.PENDING
    assert row.dedupe_key == f"break_glass|grant:{grant.pk}"
    assert row.notification.user == manager
    assert "Duty cover tonight for the team" in row.body and "LCS-B" in row.body

    class Abort(Exception):
        pass

    with pytest.raises(Abort), transaction.atomic():
        break_glass_open(
            user=world.user("team_manager"),
            case_number="LCS-B",
            reason_category="covering_a_colleague",
            reason="Covering for a colleague on leave",
        )
        assert OutboxMessage.objects.filter(kind=Kind.BREAK_GLASS).count() == 2
        raise Abort
    assert BreakGlassGrant.objects.count() == 1
    assert OutboxMessage.objects.filter(kind=Kind.BREAK_GLASS).count() == 1


def test_break_glass_with_nobody_to_tell_still_opens_and_logs(world: World, caplog: Any) -> None:
    from resolve.access.permissions import Perm, roles_with
    from resolve.audit.services import break_glass_open
    from resolve.people.models import Post

    Post.objects.filter(role__in=roles_with(Perm.REVIEW_ACCESS)).delete()
    grant = break_glass_open(
        user=world.user("social_worker"),
        case_number="LCS-B",
        reason_category="duty_cover",
        reason="Duty cover tonight for the team",
    )
    assert grant.pk is not None
    assert not OutboxMessage.objects.filter(kind=Kind.BREAK_GLASS).exists()
    assert "no active IRO/CP Service Manager" in caplog.text
