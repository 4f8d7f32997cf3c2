"""What a read through the API costs the database: a fixed number of statements for a challenge,
however long its history, and no write for the token on every request (issue 14, "cut the
per-request CPU")."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from resolve.api.models import ApiToken
from resolve.challenges import services
from resolve.testing.challenges import raise_challenge

pytestmark = pytest.mark.django_db


def _statements(api: Any, path: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert api.get(path).status_code == 200
    return [query["sql"] for query in captured.captured_queries]


def test_a_challenge_reads_in_the_same_statements_however_long_its_history(
    api_as: Any, authority: Any, child: Any
) -> None:
    challenge = raise_challenge(
        authority,
        child,
        concern="No statutory visit for 12 weeks.",
        impact_on_child="She has not been seen alone.",
    )
    api = api_as("iro")
    path = f"/challenges/{challenge.pk}"
    api.get(path)  # the per-process caches (procedures, calendars) warmed
    short = _statements(api, path)
    for number in range(3):
        services.challenge_add_learning_points(
            user=authority.staff["iro"], challenge_id=challenge.pk, learning_points=f"Point {number}."
        )
    assert len(_statements(api, path)) == len(short)
    # The challenge row is read once: the access check's read carries what the answer shows.
    assert sum(1 for sql in short if 'FROM "challenges_challenge"' in sql) == 1


@pytest.mark.django_db(transaction=True)  # the use is recorded after the request's transaction commits
def test_the_token_records_its_last_use_to_the_minute_not_on_every_request(api_as: Any) -> None:
    api = api_as("iro")
    api.get("/challenges")
    token = ApiToken.objects.get(user__username="iro")
    first = token.last_used_at
    assert first is not None
    writes = [sql for sql in _statements(api, "/challenges") if sql.startswith('UPDATE "api_apitoken"')]
    assert writes == []
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first
    # A minute later the next request records its use again.
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now() - dt.timedelta(minutes=2))
    api.get("/challenges")
    recorded = ApiToken.objects.get(pk=token.pk).last_used_at
    assert recorded is not None
    assert timezone.now() - recorded < dt.timedelta(minutes=1)
