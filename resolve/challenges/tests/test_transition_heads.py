"""A change reads the heads of the evidence chains it extends with its locked challenge, without
locking them, and moves each on only from the length it read. When another writer extended a chain
in between (another challenge of the same child adding a case note to the child's chain), the change
is rolled back and run again from a fresh read; nothing of the first try remains, and every chain
still verifies.

They run with real transactions (``transaction=True``): a change is retried only as the outermost
transaction, as in a request.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine

from resolve.audit.models import EvidenceHead
from resolve.audit.verify import verify_all
from resolve.challenges import engine, services
from resolve.challenges.models import Challenge, Event, StageVisit
from resolve.children.models import CaseNote, Child
from resolve.core.errors import ServiceError
from resolve.people.demo import Authority

pytestmark = pytest.mark.django_db(transaction=True)

DAY = dt.datetime(2026, 12, 1, 10, 0)  # a Tuesday


def _raise(authority: Authority, child: Child) -> Challenge:
    return services.challenge_raise(
        user=authority.staff["iro"],
        child=child,
        track="iro",
        concern="The care plan has not been updated since the last review.",
        impact_on_child="Amelia's move to her grandparents is delayed.",
        procedure_key="national",
    )


def _note_on_the_child(child: Child, author: Any) -> None:
    """What another writer does meanwhile: a case note on the child's record, which extends the
    child's chain and moves its head on (a sealed insert, outside the change's batch)."""
    CaseNote(
        child=child, note_type="Note", body="Spoke to the foster carer.", on=DAY.date(), author=author
    ).save()


def test_a_head_moved_since_it_was_read_runs_the_change_again(authority: Authority, child: Child) -> None:
    with time_machine.travel(DAY, tick=False):
        challenge = _raise(authority, child)
        tries: list[int] = []

        def after(row: Challenge, visits: list[StageVisit], new: engine.ChallengeState) -> None:
            tries.append(len(tries) + 1)
            if len(tries) == 1:
                _note_on_the_child(child, authority.staff["social_worker"])

        services._change(
            challenge_id=challenge.pk,
            user=authority.staff["social_worker"],
            command=engine.Respond(on=DAY.date(), response="agree", comments="Will do"),
            expected_version=None,
            after=after,
        )
    assert tries == [1, 2]
    # The first try's note went with it; the second try's response is written once.
    assert not CaseNote.objects.filter(body="Spoke to the foster carer.").exists()
    assert Event.objects.filter(challenge=challenge, type="response_recorded").count() == 1
    head = EvidenceHead.objects.get(chain=f"child:{child.pk}")
    assert head.length == CaseNote.objects.filter(child=child).count() == 2
    assert list(verify_all()) == []


def test_a_head_that_keeps_moving_is_a_conflict_to_try_again(authority: Authority, child: Child) -> None:
    with time_machine.travel(DAY, tick=False):
        challenge = _raise(authority, child)
        before = (
            Event.objects.count(),
            CaseNote.objects.count(),
            EvidenceHead.objects.get(chain=f"child:{child.pk}").length,
        )

        def after(row: Challenge, visits: list[StageVisit], new: engine.ChallengeState) -> None:
            _note_on_the_child(child, authority.staff["social_worker"])

        with pytest.raises(ServiceError) as refused:
            services._change(
                challenge_id=challenge.pk,
                user=authority.staff["social_worker"],
                command=engine.Respond(on=DAY.date(), response="agree"),
                expected_version=None,
                after=after,
            )
    assert refused.value.kind == "conflict"
    # Nothing of either try remains.
    after_both = (
        Event.objects.count(),
        CaseNote.objects.count(),
        EvidenceHead.objects.get(chain=f"child:{child.pk}").length,
    )
    assert after_both == before
    assert list(verify_all()) == []
