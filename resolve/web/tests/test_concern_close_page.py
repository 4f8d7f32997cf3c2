"""Closing a concern without a challenge from the child's page."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine

from resolve.challenges import services
from resolve.challenges.models import ConcernClosure

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen() -> Any:
    with time_machine.travel(dt.datetime(2026, 6, 10, 10, 0), tick=False):
        yield


def test_the_chair_closes_a_concern_from_the_childs_page(client: Any, authority: Any, child: Any) -> None:
    concern = services.concern_record(
        user=authority.staff["iro"], child=child, track="iro", concern="Pathway plan not updated"
    )
    client.force_login(authority.staff["iro"])
    page = client.get(f"/children/{child.case_number}/").content.decode()
    url = f"/children/{child.case_number}/concerns/{concern.pk}/close/"
    assert url in page
    assert "Pathway plan not updated" in client.get(url).content.decode()
    refused = client.post(url, {"reason": ""})
    assert refused.status_code == 400 and "Enter why you are closing the concern" in refused.content.decode()
    assert client.post(url, {"reason": "Put right the same day."}).status_code == 302
    assert ConcernClosure.objects.get().reason == "Put right the same day."
    page = client.get(f"/children/{child.case_number}/").content.decode()
    assert "Closed 10 June 2026" in page and url not in page
    client.force_login(authority.staff["social_worker"])
    assert client.post(url, {"reason": "x"}).status_code == 403  # only the chair closes it
    assert ConcernClosure.objects.count() == 1
