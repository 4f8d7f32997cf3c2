"""The challenges and children lists stop counting past a bound and say "more than" it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from resolve.challenges import selectors
from resolve.testing.challenges import raise_challenge

pytestmark = pytest.mark.django_db


def test_the_lists_say_more_than_the_bound_past_it(
    authority: Any, child: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for number in range(3):
        raise_challenge(
            authority,
            child,
            concern=f"Concern {number}",
            impact_on_child="Impact",
        )
    client = Client()
    client.force_login(authority.staff["iro"])
    assert "3 challenges" in client.get("/challenges/").content.decode()
    monkeypatch.setattr(selectors, "COUNT_BOUND", 2)
    page = client.get("/challenges/").content.decode()
    assert "more than 2 challenges" in page
    monkeypatch.setattr(selectors, "COUNT_BOUND", 0)
    assert "Children you can see: more than 0" in client.get("/children/").content.decode()
