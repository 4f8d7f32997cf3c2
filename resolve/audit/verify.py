"""Checking every evidence chain: challenges' events and children's case notes (``verify_evidence``)."""

from __future__ import annotations

from collections.abc import Iterator

from resolve.audit.chain import Break, case_note_fields, event_fields, verify_links
from resolve.audit.models import EvidenceHead
from resolve.challenges.models import Event
from resolve.children.models import CaseNote


def verify_all() -> Iterator[Break]:
    """Every chain's first break, challenges' events first, then children's case notes."""
    heads = {head.chain: (head.length, head.hash) for head in EvidenceHead.objects.all()}
    chain_ids = set(Event.objects.values_list("challenge_id", flat=True).distinct())
    chain_ids |= {int(key.split(":", 1)[1]) for key in heads if key.startswith("challenge:")}
    for challenge_id in sorted(chain_ids):
        rows = Event.objects.filter(challenge_id=challenge_id).order_by("sequence", "id").iterator()
        found = verify_links(
            f"challenge:{challenge_id}",
            rows,
            event_fields,
            lambda e: f"event {e.pk} (sequence {e.sequence})",
            heads,
            True,
        )
        if found:
            yield found
    child_ids = set(CaseNote.objects.values_list("child_id", flat=True).distinct())
    child_ids |= {int(key.split(":", 1)[1]) for key in heads if key.startswith("child:")}
    for child_id in sorted(child_ids):
        notes = CaseNote.objects.filter(child_id=child_id).order_by("id").iterator()
        found = verify_links(
            f"child:{child_id}", notes, case_note_fields, lambda n: f"case note {n.pk}", heads, False
        )
        if found:
            yield found
    for chain in sorted(heads):
        yield Break(chain, "(head)", "the chain's head names a chain of an unknown kind")
