"""The unread count in the header, opening a notification marks it read, and mark all as read."""

from __future__ import annotations

import pytest

from resolve.notifications.models import Notification
from resolve.testing.challenges import raise_challenge

pytestmark = pytest.mark.django_db


@pytest.fixture
def raised(authority, child):
    return raise_challenge(
        authority,
        child,
        procedure_key="challenge_and_resolution",
        concern="Visits are late",
        impact_on_child="Not seen alone",
    )


def test_the_header_counts_unread_notifications(client, authority, raised):
    client.force_login(authority.staff["social_worker"])
    unread = Notification.objects.filter(user=authority.staff["social_worker"], read_at__isnull=True).count()
    assert unread >= 1
    html = client.get("/").content.decode()
    # On a phone the navigation folds behind "Menu": the count shows on the button too.
    assert f'{unread}<span class="govuk-visually-hidden"> unread notifications</span>' in html
    assert (
        f'<span class="app-unread-count">{unread}<span class="govuk-visually-hidden"> unread</span></span>'
        in html
    )


def test_opening_a_notification_marks_it_read_and_opens_its_challenge(client, authority, raised):
    worker = authority.staff["social_worker"]
    notification = Notification.objects.filter(user=worker).earliest("id")
    client.force_login(worker)
    html = client.get("/notifications/").content.decode()
    assert f'href="/notifications/{notification.pk}/"' in html
    response = client.get(f"/notifications/{notification.pk}/")
    assert response.status_code == 302
    assert response["Location"] == f"/challenges/{raised.pk}/"
    notification.refresh_from_db()
    assert notification.read_at is not None
    assert "app-unread-count" not in client.get("/").content.decode()


def test_someone_elses_notification_is_not_found(client, authority, raised):
    notification = Notification.objects.filter(user=authority.staff["social_worker"]).earliest("id")
    client.force_login(authority.staff["team_manager_2"])
    assert client.get(f"/notifications/{notification.pk}/").status_code == 404
    notification.refresh_from_db()
    assert notification.read_at is None


def test_mark_all_as_read(client, authority, raised):
    worker = authority.staff["social_worker"]
    client.force_login(worker)
    assert "Mark all as read" in client.get("/notifications/").content.decode()
    client.post("/notifications/read/")
    assert not Notification.objects.filter(user=worker, read_at__isnull=True).exists()
    assert "app-unread-count" not in client.get("/").content.decode()
