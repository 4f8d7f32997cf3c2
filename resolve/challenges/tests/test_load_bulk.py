"""``manage.py load_bulk`` adds challenges whose evidence chains verify like any written by the services."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from resolve.audit.models import EvidenceHead
from resolve.audit.verify import verify_all
from resolve.challenges import services
from resolve.challenges.models import Challenge, Event, StageVisit
from resolve.children.models import CaseNote, Child

pytestmark = pytest.mark.django_db


def test_bulk_challenges_have_their_stage_event_and_case_note_and_verify(authority: Any, child: Any) -> None:
    services.challenge_raise(
        user=authority.staff["iro"], child=child, track="iro", concern="Before", impact_on_child="Before"
    )
    # Eleven over batches of whole children: a child's case-note chain spans its four challenges.
    call_command("load_bulk", "11", "--per-child", "4", "--today", "2026-12-01", stdout=StringIO())
    bulk = Challenge.objects.filter(child__first_name="Bulk")
    assert bulk.count() == 11
    assert Child.objects.filter(first_name="Bulk").count() == 3
    assert StageVisit.objects.filter(challenge__in=bulk).count() == 11
    assert Event.objects.filter(challenge__in=bulk, type="raised", sequence=1).count() == 11
    assert CaseNote.objects.filter(challenge__in=bulk).count() == 11
    assert all(c.raised_on <= dt.date(2026, 12, 1) for c in bulk)
    assert EvidenceHead.objects.filter(chain__startswith="child:").count() == 4
    assert list(verify_all()) == []
    # More can be added on top, and the services still write after them.
    call_command("load_bulk", "2", "--today", "2026-12-01", stdout=StringIO())
    still_open = bulk.filter(status="open").first()
    assert still_open is not None
    services.challenge_escalate(user=authority.staff["iro"], challenge_id=still_open.pk, reason="Stuck")
    assert list(verify_all()) == []
