"""Disposal under the retention schedule also empties a referral to Cafcass with no challenge, its
requests and its messages, and the evidence still verifies."""

from __future__ import annotations

from typing import Any

import pytest

from resolve.audit.verify import verify_all
from resolve.casesystem.retention import REMOVED, child_dispose
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
