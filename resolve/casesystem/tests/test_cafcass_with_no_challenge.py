"""A referral to Cafcass with no challenge in what the case system's side of Resolve does with a
child's record: disposal under the retention schedule empties it, its requests and its messages (the
evidence still verifies), and the subject access export holds it."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest

from resolve.audit.verify import verify_all
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
