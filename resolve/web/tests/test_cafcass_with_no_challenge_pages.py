"""The page for a referral to Cafcass with no challenge, and the child's page that shows it (issue 9,
section 6). Seed 000: "Alongside or out with the Outcome Resolution the IRO can consider whether to
make a referral to Cafcass"; seed 003: "Such a step would require the oversight and approval of the
Service Manager and HoS for Safeguarding."."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine

from resolve.challenges.models import Agreement, CafcassReferral

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen() -> Any:
    with time_machine.travel(dt.datetime(2026, 6, 10, 10, 0), tick=False):
        yield


def test_the_iro_refers_from_the_page_and_the_child_page_shows_it(
    client: Any, authority: Any, child: Any, settings: Any
) -> None:
    settings.RESOLVE_DEFAULT_POLICY = "outcome_resolution"
    client.force_login(authority.staff["iro"])
    page = client.get(f"/children/{child.case_number}/").content.decode()
    assert "Refer to Cafcass without a challenge" in page
    assert "case has not been referred to Cafcass" in page
    url = f"/children/{child.case_number}/cafcass-referral/"
    form = client.get(url).content.decode()
    assert "Record the referral" in form
    refused = client.post(url, {"form": "refer", "reason": "The plan has drifted."})
    assert refused.status_code == 400
    assert "mark it urgent" in refused.content.decode()
    assert not CafcassReferral.objects.exists()
    done = client.post(url, {"form": "refer", "reason": "The plan has drifted.", "urgent": "on"})
    assert done.status_code == 302, done.content.decode()
    referral = CafcassReferral.objects.get()
    assert referral.challenge is None and referral.urgent
    page = client.get(f"/children/{child.case_number}/").content.decode()
    assert "The child's case, with no challenge" in page
    assert "The plan has drifted." in page
    assert client.post(url, {"form": "nonsense"}).status_code == 400


def test_agreements_are_asked_and_answered_on_the_page(
    client: Any, authority: Any, child: Any, settings: Any
) -> None:
    settings.RESOLVE_DEFAULT_POLICY = "challenge_and_resolution"
    url = f"/children/{child.case_number}/cafcass-referral/"
    client.force_login(authority.staff["iro"])
    form = client.get(url).content.decode()
    assert "Oversight and approval of the (IRO/CPC) Service Manager" in form
    assert "Not asked yet: ask for agreement first" in form
    refused = client.post(url, {"form": "ask", "key": "service_manager_approval"})
    assert refused.status_code == 400 and "Choose who you are asking" in refused.content.decode()
    sent = client.post(
        url,
        {
            "form": "ask",
            "key": "service_manager_approval",
            "person": "iro_service_manager",
            "note": "Sufficiently acute: please approve.",
        },
    )
    assert sent.status_code == 302
    client.force_login(authority.staff["iro_service_manager"])
    home = client.get("/").content.decode()
    assert url in home  # waiting for their answer, on their home page
    assert "Waiting for your answer" in client.get(url).content.decode()
    answered = client.post(url, {"form": "answer", "number": "1", "answer": "confirmed"})
    assert answered.status_code == 302
    assert Agreement.objects.get().status == "confirmed"
    client.force_login(authority.staff["iro"])
    assert "Confirmed by" in client.get(url).content.decode()


def test_a_cp_chair_is_told_only_an_iro_refers(client: Any, authority: Any, child: Any) -> None:
    client.force_login(authority.staff["cp_chair"])
    assert (
        "Refer to Cafcass without a challenge"
        not in client.get(f"/children/{child.case_number}/").content.decode()
    )
    page = client.get(f"/children/{child.case_number}/cafcass-referral/").content.decode()
    assert "CP Chairs have no such power" in page
    assert "Record the referral" not in page
    refused = client.post(
        f"/children/{child.case_number}/cafcass-referral/", {"form": "refer", "reason": "x", "urgent": "on"}
    )
    assert refused.status_code == 400
    assert "CP Chairs have no such power" in refused.content.decode()
    assert not CafcassReferral.objects.exists()
