"""GET /challenges pages by cursor as well as by number, and stops counting past a bound."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine

from resolve.api import api as api_module
from resolve.challenges import selectors
from resolve.challenges.models import Challenge
from resolve.testing.challenges import raise_challenge

pytestmark = pytest.mark.django_db


@pytest.fixture
def five(authority: Any, child: Any) -> list[int]:
    ids = []
    for day in range(5):
        on = dt.date(2026, 11, 2) + dt.timedelta(days=day)
        with time_machine.travel(dt.datetime(on.year, on.month, on.day, 10, 0), tick=False):
            challenge = raise_challenge(
                authority,
                child,
                concern=f"Concern {day}",
                impact_on_child="Impact",
                on=on,
            )
        ids.append(challenge.pk)
    return list(reversed(ids))  # the list's order: newest raised first


def test_the_next_cursor_walks_the_same_rows_as_the_page_numbers(
    api_as: Any, five: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api_module, "PAGE_SIZE", 2)
    api = api_as("iro")
    by_number = [
        [row["id"] for row in api.get("/challenges", page=page).json()["results"]] for page in (1, 2, 3)
    ]
    assert by_number == [five[0:2], five[2:4], five[4:5]]
    walked: list[list[int]] = []
    answer = api.get("/challenges").json()
    while True:
        walked.append([row["id"] for row in answer["results"]])
        if answer["next_cursor"] is None:
            break
        answer = api.get("/challenges", cursor=answer["next_cursor"]).json()
    assert walked == by_number
    assert api.get("/challenges", page=3).json()["next_cursor"] is None


def test_a_cursor_keeps_the_filters(api_as: Any, five: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api_module, "PAGE_SIZE", 1)
    Challenge.objects.filter(pk=five[1]).update(status=Challenge.Status.WITHDRAWN)
    api = api_as("iro")
    first = api.get("/challenges", status="open").json()
    second = api.get("/challenges", status="open", cursor=first["next_cursor"]).json()
    assert [first["results"][0]["id"], second["results"][0]["id"]] == [five[0], five[2]]


@pytest.mark.parametrize("cursor", ["nonsense", "2026-13-01.4", "2026-11-01.x", "."])
def test_a_malformed_cursor_is_refused_naming_the_field(api_as: Any, five: list[int], cursor: str) -> None:
    answer = api_as("iro").get("/challenges", cursor=cursor)
    assert answer.status_code == 422, answer.content
    assert answer.json()["error"]["field"] == "cursor"


def test_counting_stops_past_the_bound_and_says_so(
    api_as: Any, five: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(selectors, "COUNT_BOUND", 3)
    monkeypatch.setattr(api_module, "COUNT_BOUND", 3)
    answer = api_as("iro").get("/challenges").json()
    assert (answer["count"], answer["count_exact"]) == (3, False)
    assert len(answer["results"]) == 5  # the page itself is not cut short
    monkeypatch.setattr(selectors, "COUNT_BOUND", 5)
    monkeypatch.setattr(api_module, "COUNT_BOUND", 5)
    answer = api_as("iro").get("/challenges").json()
    assert (answer["count"], answer["count_exact"]) == (5, True)
