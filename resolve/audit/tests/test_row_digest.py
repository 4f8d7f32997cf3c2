"""A row's digest and a link's seal are the same however the row was read and whichever key setting
is in force: columns read from a row's loaded values or, when deferred, through their attributes;
each key's HMAC set up once per setting."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pytest

from resolve.audit.sealing import canonical, current_key_id, evidence_keys, link_hash, row_digest, row_fields
from resolve.challenges import services
from resolve.challenges.models import Challenge

pytestmark = pytest.mark.django_db


def test_a_row_read_with_deferred_columns_has_the_digest_of_the_whole_row(authority: Any, child: Any) -> None:
    raised = services.challenge_raise(
        user=authority.staff["iro"], child=child, track="iro", concern="Drift", impact_on_child="Waiting"
    )
    whole = Challenge.objects.get(pk=raised.pk)
    deferred = Challenge.objects.defer("concern", "themes").get(pk=raised.pk)
    assert "concern" not in deferred.__dict__
    assert row_fields(deferred, whole.evidence_exclude) == row_fields(whole, whole.evidence_exclude)
    assert row_digest(deferred, whole.evidence_exclude) == row_digest(whole, whole.evidence_exclude)
    assert row_fields(whole)["concern"] == "Drift"
    assert "updated_at" not in row_fields(whole, whole.evidence_exclude)


def test_a_link_is_the_hmac_of_its_canonical_fields_under_the_key_in_force(settings: Any) -> None:
    fields = {"challenge": 7, "sequence": 1, "type": "raised"}
    message = canonical({"fields": fields, "previous": "abc"})
    key_id = current_key_id()
    expected = hmac.new(evidence_keys()[key_id], message, hashlib.sha256).hexdigest()
    assert link_hash(fields, "abc", key_id) == expected
    # Another key in force: another HMAC, not the one set up for the first key.
    settings.RESOLVE_EVIDENCE_KEYS = ["another-evidence-key-0123456789abcdefghijklmnop"]
    other = current_key_id()
    assert other != key_id
    assert (
        link_hash(fields, "abc", other)
        == hmac.new(b"another-evidence-key-0123456789abcdefghijklmnop", message, hashlib.sha256).hexdigest()
    )
    with pytest.raises(TypeError, match="Cannot put set in an evidence hash"):
        canonical({"fields": {"themes": {"a"}}})
