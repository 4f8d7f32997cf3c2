"""A referral to Cafcass with no challenge in what the case system's side of Resolve does with a
child's record: disposal under the retention schedule empties it, its requests and its messages (the
evidence still verifies), the subject access export holds it, and the nightly extracts hold it."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from resolve.audit.verify import verify_all
from resolve.casesystem.extracts import extracts_export
from resolve.casesystem.models import ExtractRun
from resolve.casesystem.retention import REMOVED, child_dispose
from resolve.casesystem.subject_access import subject_access_export
from resolve.casesystem.tests.test_retention import _old_child
from resolve.challenges import services
from resolve.challenges.models import CafcassReferral
from resolve.notifications.models import Kind, OutboxMessage


@pytest.mark.django_db
def test_disposal_empties_a_referral_with_no_challenge(authority: Any, settings: Any) -> None:
    settings.RESOLVE_DEFAULT_POLICY = "national"
    child = _old_child(authority)
    services.child_refer_to_cafcass(
        user=authority.staff["iro"], child_id=child.pk, reason="Margaret's placement is unsafe.", checklist={}
    )
    assert OutboxMessage.objects.filter(kind=Kind.CAFCASS_REFERRED).exists()
    disposal = child_dispose(user=authority.staff["admin"], case_number=child.case_number)
    assert list(verify_all()) == []
    assert disposal.redacted["cafcass_referrals"] == 1
    assert CafcassReferral.objects.get().reason == REMOVED
    bodies = " ".join(OutboxMessage.objects.filter(kind=Kind.CAFCASS_REFERRED).values_list("body", flat=True))
    assert "Margaret" not in bodies and REMOVED in bodies


@pytest.mark.django_db
def test_the_subject_access_export_holds_a_referral_with_no_challenge(
    authority: Any, child: Any, settings: Any
) -> None:
    settings.RESOLVE_DEFAULT_POLICY = "national"
    services.child_refer_to_cafcass(
        user=authority.staff["iro"], child_id=child.pk, reason="Amelia's plan has drifted.", checklist={}
    )
    _, content = subject_access_export(
        user=authority.staff["iro_service_manager"], case_number=child.case_number
    )
    archive = zipfile.ZipFile(io.BytesIO(content))
    held = json.loads(archive.read("cafcass-referrals-with-no-challenge.json"))
    assert [referral["reason"] for referral in held["referrals"]] == ["Amelia's plan has drifted."]


@pytest.mark.django_db
def test_the_extracts_hold_a_referral_with_no_challenge_once(
    authority: Any, child: Any, settings: Any, tmp_path: Path
) -> None:
    settings.RESOLVE_DEFAULT_POLICY = "national"
    referral = services.child_refer_to_cafcass(
        user=authority.staff["iro"], child_id=child.pk, reason="Amelia's plan has drifted.", checklist={}
    )
    reader = authority.staff["principal_social_worker"]
    first = Path(extracts_export(user=reader, folder=tmp_path).folder)
    with (first / "cafcass_referrals.csv").open(encoding="utf-8", newline="") as handle:
        assert handle.readline().strip().split(",") == ["id", "challenge_id", "on", "urgent", "child_id"]
        handle.seek(0)
        rows = list(csv.DictReader(handle))
    assert rows == [
        {
            "id": str(referral.pk),
            "challenge_id": "",
            "on": referral.on.isoformat(),
            "urgent": "false",
            "child_id": str(child.pk),
        }
    ]
    assert "Amelia" not in (first / "cafcass_referrals.csv").read_text(encoding="utf-8")

    # The next run (past the overlap) does not write it again; an account that may not see the child
    # never gets it.
    ExtractRun.objects.update(
        challenges_until=ExtractRun.objects.get().challenges_until + dt.timedelta(minutes=10)
    )
    second = Path(extracts_export(user=reader, folder=tmp_path).folder)
    assert (second / "cafcass_referrals.csv").read_text(encoding="utf-8").strip() == (
        "id,challenge_id,on,urgent,child_id"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    outsider = Path(extracts_export(user=authority.staff["social_worker_2"], folder=elsewhere).folder)
    assert len((outsider / "cafcass_referrals.csv").read_text(encoding="utf-8").strip().splitlines()) == 1
