"""A referral to Cafcass with no challenge in the child's chronology (court bundles, Ofsted): the
referral, the requests it needed and their answers, and its evidence chain's head.

Seed 000: "Alongside or out with the Outcome Resolution the IRO can consider whether to make a
referral to Cafcass".
"""

from __future__ import annotations

import datetime as dt
import subprocess
from typing import Any

import pytest
import time_machine

from resolve.audit.models import EvidenceHead
from resolve.challenges import services
from resolve.exports.downloads import chronology_download
from resolve.exports.selectors import NO_CHALLENGE, chronology_for_user
from resolve.exports.tests.conftest import first_page_png, save
from resolve.testing.agreements import REFERRAL_APPROVALS, REFERRAL_CHECKLIST, child_agreements_confirmed

pytestmark = pytest.mark.django_db

TODAY = dt.date(2027, 3, 1)


def test_the_referral_and_its_requests_are_in_the_chronology(
    authority: Any, child: Any, settings: Any
) -> None:
    settings.RESOLVE_DEFAULT_POLICY = "challenge_and_resolution"
    staff = authority.staff
    with time_machine.travel(dt.datetime(2027, 2, 25, 10), tick=False):
        child_agreements_confirmed(
            staff=staff, child_id=child.pk, people=REFERRAL_APPROVALS, note="Acute: please approve."
        )
    with time_machine.travel(dt.datetime(2027, 2, 26, 10), tick=False):
        services.child_refer_to_cafcass(
            user=staff["iro"],
            child_id=child.pk,
            reason="The permanence plan has drifted for a year.",
            checklist=REFERRAL_CHECKLIST,
            urgent=True,
        )
    with time_machine.travel(dt.datetime(2027, 3, 1, 10), tick=False):
        chronology = chronology_for_user(user=staff["iro"], case_number=child.case_number, today=TODAY)
        ours = [row for row in chronology.rows if row.challenge == NO_CHALLENGE]
        assert [row.on for row in ours] == sorted(row.on for row in ours)
        assert any("Urgent. The permanence plan has drifted" in row.detail for row in ours)
        assert sum("Request" in row.detail and "confirmed" in row.detail for row in ours) == 2
        head = EvidenceHead.objects.get(chain=f"child-records:{child.pk}")
        assert (f"child-records:{child.pk}", head.length, head.hash) in chronology.evidence
        download = chronology_download(user=staff["iro"], case_number=child.case_number, today=TODAY)
    path = save("chronology-no-challenge.pdf", download.content)
    text = " ".join(
        subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout.split()
    )
    assert "Referred to Cafcass" in text and "No challenge" in text
    first_page_png(path, "chronology-no-challenge")
