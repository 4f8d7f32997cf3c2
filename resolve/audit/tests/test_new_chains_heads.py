"""A change that starts new chains (raising a challenge) writes all its heads in one statement.

``EvidenceBatch`` with ``new_chains``: the heads of the new chains are created, and a head read
earlier (the child's, read with the child) is moved on only from the length it was read at, in one
upsert (``_heads_put``). A head that another writer moved on since it was read, or that was there
unread, is locked and read again, and the batch's links on it are sealed after the other writer's:
nothing is lost, nothing is sealed twice, and every chain verifies.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from resolve.audit.chain import case_note_fields, evidence_batch
from resolve.audit.models import EvidenceHead
from resolve.audit.verify import verify_all
from resolve.children.models import CaseNote, Child
from resolve.people.demo import Authority

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 12, 1)


def _note(child: Child, authority: Authority, body: str) -> CaseNote:
    return CaseNote(child=child, note_type="Note", body=body, on=DAY, author=authority.staff["iro"])


def _other_writer(child: Child, authority: Authority) -> None:
    """A case note on the child's record written outside the batch: its head moves on."""
    with transaction.atomic():
        _note(child, authority, "Spoke to the foster carer.").save()


def _bodies(child: Child) -> list[str]:
    return list(CaseNote.objects.filter(child=child).order_by("id").values_list("body", flat=True))


def _write_in_a_batch(child: Child, authority: Authority, read: dict[str, EvidenceHead]) -> list[str]:
    """Link one case note in a batch that starts new chains, with ``read`` as the heads read before."""
    with transaction.atomic(), CaptureQueriesContext(connection) as run, evidence_batch() as batch:
        batch.new_chains = True
        batch.heads_read.update(read)
        note = _note(child, authority, "Challenge raised.")
        batch.link(note, chain=note.evidence_chain, fields=case_note_fields)
    return [query["sql"].split()[0] for query in run.captured_queries if "audit_evidencehead" in query["sql"]]


def test_a_head_read_and_not_moved_is_written_in_one_statement(authority: Authority, child: Child) -> None:
    _other_writer(child, authority)
    head = EvidenceHead.objects.get(chain=f"child:{child.pk}")
    assert _write_in_a_batch(child, authority, {head.chain: head}) == ["INSERT"]
    assert EvidenceHead.objects.get(chain=head.chain).length == 2
    assert list(verify_all()) == []


def test_a_new_chain_is_created_with_its_head(authority: Authority, child: Child) -> None:
    assert _write_in_a_batch(child, authority, {}) == ["INSERT"]
    head = EvidenceHead.objects.get(chain=f"child:{child.pk}")
    assert (head.length, head.hash) == (1, CaseNote.objects.get().hash)
    assert list(verify_all()) == []


def test_a_head_moved_since_it_was_read_is_read_again_and_sealed_after(
    authority: Authority, child: Child
) -> None:
    _other_writer(child, authority)
    read = EvidenceHead.objects.get(chain=f"child:{child.pk}")
    _other_writer(child, authority)  # after it was read
    # The upsert leaves it; it is locked and read again, then moved on from there.
    assert _write_in_a_batch(child, authority, {read.chain: read}) == ["INSERT", "SELECT", "UPDATE"]
    assert _bodies(child) == ["Spoke to the foster carer.", "Spoke to the foster carer.", "Challenge raised."]
    assert EvidenceHead.objects.get(chain=read.chain).length == 3
    assert list(verify_all()) == []


def test_a_head_there_but_not_read_is_read_and_sealed_after(authority: Authority, child: Child) -> None:
    _other_writer(child, authority)
    assert _write_in_a_batch(child, authority, {}) == ["INSERT", "SELECT", "UPDATE"]
    assert _bodies(child) == ["Spoke to the foster carer.", "Challenge raised."]
    assert EvidenceHead.objects.get(chain=f"child:{child.pk}").length == 2
    assert list(verify_all()) == []
