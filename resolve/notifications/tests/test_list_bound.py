"""The notifications list counts no further than the lists' bound, as the challenges list does."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from resolve.challenges import selectors
from resolve.notifications import selectors as notification_selectors
from resolve.notifications.models import Notification
from resolve.testing.challenges import raise_challenge

pytestmark = pytest.mark.django_db


@pytest.fixture
def worker(authority: Any, child: Any) -> Any:
    """The child's social worker, told of three challenges raised (three notifications, unread)."""
    for number in range(3):
        raise_challenge(
            authority,
            child,
            concern=f"Concern {number}",
            impact_on_child="Impact",
        )
    return authority.staff["social_worker"]


def test_the_notifications_page_counts_no_further_than_the_bound(
    client: Any, worker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert Notification.objects.filter(user=worker).count() >= 3
    monkeypatch.setattr(selectors, "COUNT_BOUND", 1)
    client.force_login(worker)
    with CaptureQueriesContext(connection) as captured:
        page = client.get("/notifications/")
    assert page.status_code == 200
    table = Notification._meta.db_table
    listed = [q["sql"] for q in captured.captured_queries if f'FROM "{table}"' in q["sql"]]
    counts = [sql for sql in listed if sql.startswith("SELECT COUNT(*)") and "read_at" not in sql]
    assert len(counts) == 1 and "LIMIT 2" in counts[0]
    # Every notification is still listed on the page (25 a page).
    assert page.content.decode().count('href="/notifications/') >= 3


def test_unread_notifications_are_counted_no_further_than_their_bounds(
    client: Any, worker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The header's badge says "99+" past 99 unread; the notifications page "more than 1,000" past
    the lists' bound; each count reads at most one row more than its bound."""
    unread = Notification.objects.filter(user=worker, read_at__isnull=True).count()
    assert unread >= 3
    client.force_login(worker)
    page = client.get("/notifications/").content.decode()
    assert f"You have <strong>{unread}</strong> unread notifications." in page
    assert f'<span class="app-unread-count">{unread}<span' in page

    monkeypatch.setattr(notification_selectors, "UNREAD_BADGE_BOUND", 2)
    monkeypatch.setattr(selectors, "COUNT_BOUND", 2)
    with CaptureQueriesContext(connection) as captured:
        page = client.get("/notifications/").content.decode()
    assert "You have more than <strong>2</strong> unread notifications." in page
    assert '<span class="app-unread-count">2+<span' in page
    table = Notification._meta.db_table
    unread_counts = [
        q["sql"]
        for q in captured.captured_queries
        if f'FROM "{table}"' in q["sql"] and "read_at" in q["sql"] and q["sql"].startswith("SELECT COUNT(*)")
    ]
    assert len(unread_counts) == 2 and all("LIMIT 3" in sql for sql in unread_counts)
