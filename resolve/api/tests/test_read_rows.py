"""A read through the API in few statements (issue 14, "cut the per-request CPU"): a challenge's lists
read as JSON beside its row answer exactly what reading each list on its own answers; the person's
posts come with their token; on PostgreSQL the access log's id comes with the break-glass grant it
is logged against, and a list page's access-log row with its index by child."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from resolve.access import challenge_get_for_user
from resolve.api import serializers
from resolve.api.tests.helpers import raise_challenge
from resolve.audit.models import ListViewChild, ListViewEntry
from resolve.audit.verify import verify_all
from resolve.challenges.models import Challenge
from resolve.challenges.selectors import (
    DETAIL_DEFERRED,
    DETAIL_RELATED,
    challenge_detail,
    challenge_detail_rows,
)

pytestmark = pytest.mark.django_db


def _statements(api: Any, path: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert api.get(path).status_code == 200
    return [query["sql"] for query in captured.captured_queries]


@time_machine.travel("2026-06-01 10:00", tick=False)
def test_the_lists_read_beside_the_challenge_are_the_lists_read_one_by_one(
    api_as: Any, authority: Any, child: Any
) -> None:
    """Every list the answer shows, with every kind of column (dates, times, flags, JSON, the people
    named): a bypass asked to be agreed, a meeting requested and held with an action, events."""
    iro = api_as("iro")
    made = raise_challenge(
        iro,
        child.case_number,
        "cla_dispute_resolution",
        stage="stage_2",
        bypass_reason="Drift",
        bypass_agreed_by="iro_service_manager",
        actions=[{"action": "Update the care plan", "owner": "social_worker", "due": "2026-06-10"}],
    )
    asked = iro.post(
        f"/challenges/{made['id']}/meeting-requests",
        {"scheduled_for": "2026-06-03", "chair": "iro_service_manager", "attendees": ["team_manager"]},
    )
    assert asked.status_code == 200, asked.content
    held = api_as("iro_service_manager").post(
        f"/challenges/{made['id']}/meetings",
        {
            "number": 1,
            "summary": "Plan agreed",
            "held_on": "2026-06-01",
            "actions": [
                {"action": "Book the planning meeting", "owner": "team_manager", "due": "2026-06-12"}
            ],
        },
    )
    assert held.status_code == 200, held.content
    iro_user = authority.staff["iro"]
    beside = challenge_get_for_user(
        user=iro_user,
        challenge_id=made["id"],
        related=DETAIL_RELATED,
        deferred=DETAIL_DEFERRED,
        with_rows=challenge_detail_rows(),
    )
    one_by_one = Challenge.objects.select_related(*DETAIL_RELATED).get(pk=made["id"])
    read = challenge_detail(challenge=beside)
    assert hasattr(beside, "rows_visits")  # this database reads the lists beside the row
    assert len(read.meetings) == 2 and len(read.agreements) == 1 and len(read.actions) == 2
    today = read.challenge.raised_on
    assert serializers.challenge_detail(read, today) == serializers.challenge_detail(
        challenge_detail(challenge=one_by_one), today
    )
    # The API's answer is the same again.
    assert iro.get(f"/challenges/{made['id']}").json() == held.json()


def test_a_request_reads_the_posts_with_the_token_and_a_challenge_with_its_lists(
    api_as: Any, child: Any
) -> None:
    api = api_as("iro")
    made = raise_challenge(api, child.case_number)
    path = f"/challenges/{made['id']}"
    api.get(path)  # the per-process caches (procedures, calendars) warmed
    statements = _statements(api, path)
    posts = [sql for sql in statements if '"people_post"' in sql]
    assert len(posts) == 1 and 'FROM "api_apitoken"' in posts[0]
    reads = [sql for sql in statements if sql.startswith("SELECT")]
    # The token with the posts, the challenge with its lists (and, on PostgreSQL, the access log's id
    # with the break-glass grant it is logged against; elsewhere the grant alone).
    assert len(reads) == 3, reads
    assert sum(1 for sql in statements if sql.startswith("INSERT")) == 1  # the access-log row


def test_a_list_page_writes_its_access_log_row_and_its_index_together(api_as: Any, child: Any) -> None:
    api = api_as("iro")
    for _ in range(3):
        raise_challenge(api, child.case_number)
    statements = _statements(api, "/challenges")
    page = api.get("/challenges").json()
    entry = ListViewEntry.objects.order_by("-id").first()
    assert entry is not None
    assert entry.children == [[child.pk, child.case_number]]
    assert list(ListViewChild.objects.filter(entry=entry).values_list("child_id", flat=True)) == [child.pk]
    assert len(page["results"]) == 3
    if connection.vendor == "postgresql":
        # The id from the sequence, then the sealed row and its index in one INSERT.
        writes = [sql for sql in statements if sql.startswith(("INSERT", "WITH"))]
        assert len(writes) == 1 and writes[0].startswith("WITH entry AS (INSERT")
    assert list(verify_all()) == []
