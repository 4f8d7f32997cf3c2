"""The evidence key rotates, and the anchor is appended to, signed, and checked by verify_evidence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.management import CommandError, call_command

from resolve.access.tests.world import World
from resolve.audit.models import EvidenceHead
from resolve.audit.sealing import current_key_id, key_id_of
from resolve.audit.tests.test_tampering import ANCHORED, WRITTEN, evidence_build
from resolve.audit.verify import verify_all
from resolve.challenges import services
from resolve.challenges.models import Event
from resolve.notifications.tasks import anchor_evidence_task

pytestmark = pytest.mark.django_db

NEW_KEY = "a-newer-evidence-key-of-at-least-32-characters"


@pytest.fixture
def world(authority: Any, settings: Any, tmp_path: Path) -> World:
    settings.RESOLVE_EVIDENCE_ANCHOR_DIR = str(tmp_path)
    with time_machine.travel(WRITTEN, tick=False):
        return evidence_build(authority)


def _anchor_lines(folder: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line) for path in sorted(folder.glob("*.jsonl")) for line in path.read_text().splitlines()
    ]


def test_anchor_evidence_needs_a_folder(world: World, settings: Any) -> None:
    settings.RESOLVE_EVIDENCE_ANCHOR_DIR = ""
    with pytest.raises(CommandError, match="RESOLVE_EVIDENCE_ANCHOR_DIR"):
        call_command("anchor_evidence")


def test_the_anchor_is_appended_to_and_never_rewritten(world: World, tmp_path: Path) -> None:
    with time_machine.travel(ANCHORED, tick=False):
        call_command("anchor_evidence", verbosity=0)
        first = (tmp_path / "evidence-2026-12-02.jsonl").read_text()
        services.challenge_record_meeting(
            user=world.user("iro"),
            challenge_id=Event.objects.values_list("challenge_id", flat=True)[0],
            summary="Again",
        )
        call_command("anchor_evidence", verbosity=0)
    after = (tmp_path / "evidence-2026-12-02.jsonl").read_text()
    assert after.startswith(first) and after.count("\n") == 2
    lines = _anchor_lines(tmp_path)
    assert lines[0]["key_id"] == current_key_id()
    assert lines[0]["chains"]["access-log:2026-12-01"][0] == 3
    assert set(lines[0]["chains"]) <= set(lines[1]["chains"])
    assert list(verify_all()) == []


def test_the_worker_task_writes_the_anchor(world: World, tmp_path: Path) -> None:
    with time_machine.travel(ANCHORED, tick=False):
        result = anchor_evidence_task.call()
    assert result["anchor"].endswith("evidence-2026-12-02.jsonl")
    assert len(_anchor_lines(tmp_path)) == 1


@pytest.mark.parametrize("change", ["length", "signature", "truncated"])
def test_an_altered_anchor_is_reported(world: World, tmp_path: Path, change: str) -> None:
    with time_machine.travel(ANCHORED, tick=False):
        call_command("anchor_evidence", verbosity=0)
    path = tmp_path / "evidence-2026-12-02.jsonl"
    line = json.loads(path.read_text())
    if change == "length":
        chain = next(iter(line["chains"]))
        line["chains"][chain][0] -= 1
        path.write_text(json.dumps(line) + "\n")
    elif change == "signature":
        line["mac"] = "0" * 64
        path.write_text(json.dumps(line) + "\n")
    else:
        path.write_text("")
    breaks = list(verify_all())
    assert [found.chain for found in breaks] == ["anchor"], breaks


def test_a_head_moved_back_is_caught_by_the_anchor_alone(world: World) -> None:
    """Deleting the newest event and moving the head back leaves a chain that holds in itself."""
    with time_machine.travel(ANCHORED, tick=False):
        call_command("anchor_evidence", verbosity=0)
    newest = Event.objects.order_by("pk").last()
    assert newest is not None
    Event._base_manager.filter(pk=newest.pk).delete()
    before = Event.objects.filter(challenge_id=newest.challenge_id).order_by("sequence").last()
    assert before is not None
    EvidenceHead.objects.filter(chain=f"challenge:{newest.challenge_id}").update(
        length=before.sequence, hash=before.hash
    )
    breaks = list(verify_all())
    assert len(breaks) == 1 and "had" in breaks[0].problem, breaks
    assert list(verify_all(anchor_dir="")) == []  # without the anchor, nothing could tell


def test_the_key_rotates_and_old_rows_verify_with_the_key_that_sealed_them(
    world: World, settings: Any
) -> None:
    old_key_id = current_key_id()
    settings.RESOLVE_EVIDENCE_KEYS = [NEW_KEY, *settings.RESOLVE_EVIDENCE_KEYS]
    challenge_id = Event.objects.order_by("pk").last().challenge_id  # type: ignore[union-attr]
    with time_machine.travel(ANCHORED, tick=False):
        services.challenge_record_meeting(user=world.user("iro"), challenge_id=challenge_id, summary="Again")
    newest = Event.objects.order_by("pk").last()
    assert newest is not None and newest.key_id == key_id_of(NEW_KEY) != old_key_id
    assert Event.objects.filter(key_id=old_key_id).exists()
    assert list(verify_all()) == []
    settings.RESOLVE_EVIDENCE_KEYS = [NEW_KEY]  # the old key lost: its rows can no longer be vouched for
    breaks = list(verify_all())
    assert breaks and all("does not hold" in found.problem for found in breaks), [
        str(found) for found in breaks if "does not hold" not in found.problem
    ]
