"""Lists that show children's names or case numbers are in the access log: one row per page view.

Issue 10: "List pages that show names and case numbers write an access-log entry (one per page view,
not per row)." A reviewer asking "who saw this child" gets both the records opened and the lists that
showed the child.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.db import connection, transaction
from django.test import Client

from resolve.access import child_get_for_user
from resolve.access.tests.world import World, world_build
from resolve.api.models import api_token_create
from resolve.audit.models import ListViewChild, ListViewEntry
from resolve.audit.sealing import row_seal
from resolve.audit.verify import verify_all
from resolve.children.services import child_create
from resolve.notifications.models import Notification, OutboxMessage

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(authority: Any) -> Any:
    with time_machine.travel(dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC), tick=False):
        world = world_build(authority)
        world.challenge(world.a)
        world.challenge(world.a, track="cpc")
        world.challenge(world.b)
        yield world


def _page(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _api(user: Any) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=user)}")


def _rows(user: Any) -> list[ListViewEntry]:
    return list(ListViewEntry.objects.filter(user=user).order_by("id"))


def _sealed_and_indexed(entry: ListViewEntry) -> None:
    entry.refresh_from_db()
    assert entry.key_id and entry.seal == row_seal(entry, entry.key_id)
    indexed = sorted(ListViewChild.objects.filter(entry=entry).values_list("child_id", flat=True))
    assert indexed == sorted(child_id for child_id, _ in entry.children)


def test_the_challenge_list_page_writes_one_row_per_view_naming_its_children(world: World) -> None:
    manager = world.user("service_manager")  # sees both children
    page = _page(manager).get("/challenges/?status=open&page=1")
    assert page.status_code == 200
    (entry,) = _rows(manager)
    # Three challenges of two children: one row, each child once, in the order shown.
    assert sorted(entry.children) == sorted([[world.a.pk, "LCS-A"], [world.b.pk, "LCS-B"]])
    assert (entry.channel, entry.method, entry.path) == ("page", "GET", "/challenges/?status=open&page=1")
    _sealed_and_indexed(entry)
    _page(manager).get("/challenges/")
    assert len(_rows(manager)) == 2  # a second view is a second row
    assert list(verify_all()) == []


def test_home_queues_are_logged_like_the_challenge_list(world: World) -> None:
    iro = world.user("iro")
    assert _page(iro).get("/").status_code == 200
    (entry,) = _rows(iro)
    assert entry.children == [[world.a.pk, "LCS-A"]] and entry.path == "/"
    _sealed_and_indexed(entry)


def test_the_child_list_and_its_search_are_logged_and_an_empty_result_is_not(world: World) -> None:
    worker = world.user("social_worker")
    client = _page(worker)
    assert client.get("/children/?q=amelia").status_code == 200
    (entry,) = _rows(worker)
    assert entry.children == [[world.a.pk, "LCS-A"]] and entry.path == "/children/?q=amelia"
    assert client.get("/children/?q=nobody-by-this-name").status_code == 200
    assert len(_rows(worker)) == 1


def test_a_page_is_bounded_by_its_page_size(world: World) -> None:
    for number in range(25):
        child_create(
            user=world.user("admin"),
            case_number=f"LCS-P{number:02d}",
            first_name="Pat",
            last_name=f"Page{number:02d}",
            date_of_birth=dt.date(2016, 1, 1),
            social_worker="social_worker",
        )
    worker = world.user("social_worker")
    _page(worker).get("/children/")
    _page(worker).get("/children/?page=2")
    first, second = _rows(worker)
    assert len(first.children) == 20 and len(second.children) == 6  # 26 children: A and the 25
    assert not {tuple(pair) for pair in first.children} & {tuple(pair) for pair in second.children}


def test_the_api_challenge_list_writes_one_row_per_request(world: World) -> None:
    manager = world.user("service_manager")
    answer = _api(manager).get("/api/v1/challenges?status=open")
    assert answer.status_code == 200 and answer.json()["count"] == 3
    (entry,) = _rows(manager)
    assert entry.channel == "api" and entry.path == "/api/v1/challenges?status=open"
    assert sorted(entry.children) == sorted([[world.a.pk, "LCS-A"], [world.b.pk, "LCS-B"]])
    _sealed_and_indexed(entry)
    # A page past the end shows nobody: no row.
    assert _api(manager).get("/api/v1/challenges?page=9").json()["results"] == []
    assert len(_rows(manager)) == 1


def test_notifications_are_logged_only_when_they_name_a_child(world: World) -> None:
    worker = world.user("social_worker")
    assert Notification.objects.filter(user=worker, message__challenge__isnull=False).exists()
    _page(worker).get("/notifications/")
    (entry,) = _rows(worker)
    assert entry.children == [[world.a.pk, "LCS-A"]] and entry.path == "/notifications/"
    # A list of notifications about no child (here a message to the administrator) names nobody.
    admin = world.user("admin")
    message = OutboxMessage.objects.create(
        recipient=admin, kind="cap_warning", dedupe_key="test", subject="The sweep ran late", body="Check it"
    )
    # Its in-app copy is written with it (the outbox's trigger).
    assert Notification.objects.filter(user=admin, message=message).exists()
    assert _page(admin).get("/notifications/").status_code == 200
    assert _rows(admin) == []


def test_a_list_without_names_writes_nothing(world: World) -> None:
    worker = world.user("social_worker")
    assert _page(worker).get("/procedures/").status_code == 200
    assert _rows(worker) == []


def test_who_saw_this_child_answers_records_opened_and_lists_that_showed_it(world: World) -> None:
    child_get_for_user(user=world.user("team_manager"), case_number="LCS-A")
    _page(world.user("iro")).get("/challenges/")
    _page(world.user("service_manager")).get("/children/")  # shows A and B
    reviewer = world.user("iro_service_manager")  # sees child A, not child B
    answer = _api(reviewer).get("/api/v1/access-log?case_number=lcs-a")
    assert answer.status_code == 200
    looks = {(row["user"], row["kind"]) for row in answer.json()}
    assert {("team_manager", "record"), ("iro", "list"), ("service_manager", "list")} <= looks
    assert {row["case_number"] for row in answer.json()} == {"LCS-A"}
    # Child B's looks stay hidden from a reviewer who may not see B, in both routes.
    assert _api(reviewer).get("/api/v1/access-log?case_number=LCS-B").json() == []
    views = _api(reviewer).get("/api/v1/access-log/list-views").json()
    shown = {row["user"]: row for row in views}
    assert shown["service_manager"]["case_numbers"] == ["LCS-A"] and shown["service_manager"]["shown"] == 2
    assert all("LCS-B" not in row["case_numbers"] for row in views)
    # Reading the log is itself a list view, naming only what it showed.
    newest = _rows(reviewer)[-1]
    assert newest.path == "/api/v1/access-log/list-views" and newest.children == [[world.a.pk, "LCS-A"]]
    # Those who do not review access get nothing.
    assert _api(world.user("social_worker")).get("/api/v1/access-log/list-views").json() == []


def test_an_edited_index_is_reported_by_verify_evidence(world: World) -> None:
    _page(world.user("service_manager")).get("/children/")
    (entry,) = _rows(world.user("service_manager"))
    assert list(verify_all()) == []
    with transaction.atomic():
        sid = transaction.savepoint()
        ListViewChild._base_manager.filter(entry=entry, child=world.b).delete()
        breaks = list(verify_all())
        assert [found.row for found in breaks] == [f"listviewentry {entry.pk}"]
        transaction.savepoint_rollback(sid)
    with transaction.atomic():
        sid = transaction.savepoint()
        with connection.cursor() as cursor:
            table = connection.ops.quote_name(ListViewEntry._meta.db_table)
            cursor.execute(f"DELETE FROM {table} WHERE id = %s", [entry.pk])
        assert any("indexed but gone" in found.problem for found in verify_all())
        transaction.savepoint_rollback(sid)


def test_the_admin_list_of_list_views_is_scoped_searchable_and_its_read_is_logged(world: World) -> None:
    _page(world.user("service_manager")).get("/children/")  # shows A and B
    reviewer = world.user("iro_service_manager")  # sees child A, not child B
    client = _page(reviewer)
    page = client.get("/admin/audit/listviewentry/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "LCS-A (and 1 you may not see)" in text and "LCS-B" not in text
    found = client.get("/admin/audit/listviewentry/?q=lcs-a").context["cl"].result_list
    assert {entry.user.username for entry in found} == {"service_manager", "iro_service_manager"}
    # Searching for a child the reviewer may not see finds nothing, not even that it was shown.
    assert client.get("/admin/audit/listviewentry/?q=LCS-B").context["cl"].result_count == 0
    read = ListViewEntry.objects.filter(user=reviewer, path="/admin/audit/listviewentry/").first()
    assert read is not None
    assert read.children == [[world.a.pk, "LCS-A"]]
    assert _page(world.user("social_worker")).get("/admin/audit/listviewentry/").status_code in (302, 403)
