"""Pytest fixtures shared by the apps' tests (registered in the root conftest)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from resolve.api.models import api_token_create
from resolve.children.models import Child
from resolve.children.services import child_create
from resolve.people.demo import Authority, authority_build


@pytest.fixture
def authority(db: Any) -> Authority:
    return authority_build(password=None)


@dataclass
class Api:
    """A client for the JSON API acting as one user, through the whole HTTP stack."""

    client: Client
    token: str

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(f"/api/v1{path}", params, headers=self._headers())

    def post(self, path: str, body: Any) -> Any:
        data = body if isinstance(body, str) else json.dumps(body, default=str)
        return self.client.post(
            f"/api/v1{path}", data, content_type="application/json", headers=self._headers()
        )


@pytest.fixture
def api_as(authority: Authority) -> Callable[[str], Api]:
    """``api_as("iro")`` gives an API client acting as the demo user of that name."""
    tokens: dict[str, Api] = {}

    def make(username: str) -> Api:
        if username not in tokens:
            user = authority.staff[username]
            tokens[username] = Api(client=Client(), token=api_token_create(user=user))
        return tokens[username]

    return make


@pytest.fixture
def child(authority: Authority) -> Child:
    return child_create(
        user=authority.staff["admin"],
        case_number="LCS100001",
        first_name="Amelia",
        last_name="Jones",
        date_of_birth=dt.date(2014, 3, 9),
        social_worker="social_worker",
        iro="iro",
        cp_chair="cp_chair",
    )


@pytest.fixture(autouse=True)
def _fresh_working_calendars() -> Any:
    """A test's rolled-back closure days send no signal: forget cached calendars after every test."""
    from resolve.calendars.services import working_calendar_cache_clear

    yield
    working_calendar_cache_clear()


@pytest.fixture(autouse=True)
def _kept_statements_checked(settings: Any) -> None:
    """Every kept statement is built again and compared in the tests (``resolve/core/kept.py``): an
    input a caller's key leaves out fails."""
    settings.RESOLVE_KEPT_STATEMENTS_CHECKED = True
