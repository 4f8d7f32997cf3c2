"""A change reads the heads of the evidence chains it extends with its locked challenge, without
locking them, and moves each on only from the length it read, before it inserts its rows. When
another writer extended a chain in between (another challenge of the same child adding a case note
to the child's chain), that head is locked and read again and the change's links on it are sealed
after it: the change goes through at once, the other writer's link stays, and every chain verifies.

They run with real transactions (``transaction=True``), as a request does.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from resolve.audit.models import EvidenceHead
from resolve.audit.verify import verify_all
from resolve.challenges import engine, services
from resolve.challenges.models import Challenge, Event, StageVisit
from resolve.children.models import CaseNote, Child
from resolve.people.demo import Authority
from resolve.testing.challenges import raise_challenge

pytestmark = pytest.mark.django_db(transaction=True)

DAY = dt.datetime(2026, 12, 1, 10, 0)  # a Tuesday


def _note_on_the_child(child: Child, author: Any) -> None:
    """What another writer does meanwhile: a case note on the child's record, which extends the
    child's chain and moves its head on (a sealed insert, outside the change's batch)."""
    CaseNote(
        child=child, note_type="Note", body="Spoke to the foster carer.", on=DAY.date(), author=author
    ).save()


def test_a_head_moved_since_it_was_read_is_read_again_and_the_change_goes_through(
    authority: Authority, child: Child
) -> None:
    with time_machine.travel(DAY, tick=False):
        challenge = raise_challenge(authority, child)
        tries: list[int] = []

        def after(row: Challenge, visits: list[StageVisit], new: engine.ChallengeState) -> None:
            tries.append(len(tries) + 1)
            _note_on_the_child(child, authority.staff["social_worker"])

        with CaptureQueriesContext(connection) as moved:
            services._change(
                challenge_id=challenge.pk,
                user=authority.staff["social_worker"],
                command=engine.Respond(on=DAY.date(), response="agree", comments="Will do"),
                expected_version=None,
                after=after,
            )
    assert tries == [1]  # not run again
    # The other writer's note stays, before the change's own, and the response is written once.
    notes = list(CaseNote.objects.filter(child=child).order_by("id").values_list("body", flat=True))
    assert notes[1] == "Spoke to the foster carer." and len(notes) == 3
    assert Event.objects.filter(challenge=challenge, type="response_recorded").count() == 1
    head = EvidenceHead.objects.get(chain=f"child:{child.pk}")
    assert head.length == 3
    assert list(verify_all()) == []
    # The change's heads moved (the child's had moved on), that head read again and locked, then moved.
    heads = [
        query["sql"].split()[0] for query in moved.captured_queries if "audit_evidencehead" in query["sql"]
    ]
    assert heads[-3:] == ["UPDATE", "SELECT", "UPDATE"]
