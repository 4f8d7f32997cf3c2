"""The footprint on the child's record: Resolve's case notes, delivered to the case system.

``footprint_export`` writes every case note not yet delivered (a cursor: the newest note id of the
last delivery) to the case system's folder, as the case system takes them: per day the notes were
written, a CSV and a JSON file with the case number, note type, date, author and text (and Resolve's
note id, so that a load can skip a row it already has); and an "IRO challenge summary" per child
whose notes went, one row per challenge. Running it again sends nothing twice. Only the notes the
person running it may see are sent, and each child's record sent is logged against them.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from resolve.access import case_notes_visible_to, challenges_visible_to, records_viewed
from resolve.casesystem.models import FootprintDelivery
from resolve.children.models import CaseNote
from resolve.core.errors import ServiceError
from resolve.people.roles import TRACK_LABELS

NOTE_COLUMNS = [
    "case_number",
    "note_type",
    "note_date",
    "author",
    "text",
    "resolve_note_id",
    "corrects_note_id",
]
SUMMARY_COLUMNS = [
    "case_number",
    "challenge_id",
    "track",
    "procedure",
    "raised_on",
    "status",
    "stage",
    "stage_due_on",
    "formal_due_on",
    "cafcass_referred_on",
    "resolved_on",
    "summary",
]
# A bound on one delivery; the next run carries on from where it stopped.
MAX_NOTES_PER_DELIVERY = 50_000


@dataclass(frozen=True)
class Delivery:
    notes: int
    children: int
    files: list[Path]


def _author(note: CaseNote) -> str:
    return (note.author.get_full_name() or note.author.get_username()) if note.author else "Resolve"


def _note_row(note: CaseNote) -> dict[str, Any]:
    return {
        "case_number": note.child.case_number,
        "note_type": note.note_type,
        "note_date": note.on.isoformat(),
        "author": _author(note),
        "text": note.body,
        "resolve_note_id": note.pk,
        "corrects_note_id": note.corrects_id or "",
    }


def _stage_name(challenge: Any) -> str:
    for stage in challenge.policy.document.get("stages", []):
        if stage.get("key") == challenge.stage_key:
            return str(stage.get("name", challenge.stage_key))
    return challenge.stage_key


def _summary_row(challenge: Any) -> dict[str, Any]:
    track = TRACK_LABELS.get(challenge.track, challenge.track)
    stage = _stage_name(challenge) if challenge.status == "open" else ""
    words = f"{track} challenge raised {challenge.raised_on:%-d %B %Y} under {challenge.policy.name}"
    if challenge.status == "open":
        words += f"; open at {stage}" + (
            f", response due {challenge.stage_due_on:%-d %B %Y}" if challenge.stage_due_on else ""
        )
    elif challenge.resolved_on:
        words += f"; {challenge.get_status_display().lower()} {challenge.resolved_on:%-d %B %Y}"
    else:
        words += f"; {challenge.get_status_display().lower()}"
    if challenge.cafcass_referred_on:
        words += f"; referred to Cafcass {challenge.cafcass_referred_on:%-d %B %Y}"
    return {
        "case_number": challenge.child.case_number,
        "challenge_id": challenge.pk,
        "track": challenge.track,
        "procedure": challenge.policy.key,
        "raised_on": challenge.raised_on.isoformat(),
        "status": challenge.status,
        "stage": stage,
        "stage_due_on": challenge.stage_due_on.isoformat() if challenge.stage_due_on else "",
        "formal_due_on": challenge.formal_due_on.isoformat() if challenge.formal_due_on else "",
        "cafcass_referred_on": challenge.cafcass_referred_on.isoformat()
        if challenge.cafcass_referred_on
        else "",
        "resolved_on": challenge.resolved_on.isoformat() if challenge.resolved_on else "",
        "summary": words + ".",
    }


def _csv(columns: list[str], rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def _write(folder: Path, name: str, content: bytes) -> tuple[Path, str]:
    """Write a file whole or not at all: to a temporary name, then renamed."""
    path = folder / name
    partial = folder / f".{name}.partial"
    partial.write_bytes(content)
    os.replace(partial, path)
    return path, hashlib.sha256(content).hexdigest()


def footprint_cursor() -> int:
    """The newest case note already delivered (0 before the first delivery)."""
    return FootprintDelivery.objects.aggregate(last=Max("last_note_id"))["last"] or 0


def footprint_export(*, user: User, folder: Path) -> Delivery:
    """Deliver the case notes written since the last delivery to ``folder``; see the module's docstring."""
    if not folder.is_dir():
        raise ServiceError(
            "invalid", "no_folder", f"{folder} is not a folder: create it or set RESOLVE_CASE_SYSTEM_DIR."
        )
    with transaction.atomic():
        # One delivery at a time: the cursor row of the newest delivery is the lock.
        FootprintDelivery.objects.select_for_update().order_by("-last_note_id").first()
        cursor = footprint_cursor()
        notes = list(
            case_notes_visible_to(user)
            .filter(pk__gt=cursor)
            .select_related("child", "author")
            .order_by("pk")[:MAX_NOTES_PER_DELIVERY]
        )
        if not notes:
            return Delivery(notes=0, children=0, files=[])
        delivery = FootprintDelivery(
            by=user, first_note_id=notes[0].pk, last_note_id=notes[-1].pk, notes=len(notes), files=""
        )
        children = {note.child_id: note.child for note in notes}
        records_viewed(user=user, children=children.values())
        by_day: dict[dt.date, list[dict[str, Any]]] = defaultdict(list)
        for note in notes:
            by_day[timezone.localdate(note.created_at)].append(_note_row(note))
        challenges = list(
            challenges_visible_to(user)
            .filter(child_id__in=list(children))
            .select_related("child", "policy")
            .order_by("child__case_number", "raised_on", "pk")
        )
        sequence = FootprintDelivery.objects.count() + 1
        today = timezone.localdate()
        written: list[tuple[Path, str]] = []
        for day, rows in sorted(by_day.items()):
            stem = f"resolve-case-notes-{day.isoformat()}-{sequence:06d}"
            written.append(_write(folder, f"{stem}.csv", _csv(NOTE_COLUMNS, rows)))
            body = json.dumps({"day": day.isoformat(), "notes": rows}, ensure_ascii=False, indent=1)
            written.append(_write(folder, f"{stem}.json", body.encode("utf-8")))
        summary = [_summary_row(challenge) for challenge in challenges]
        written.append(
            _write(
                folder,
                f"resolve-iro-challenge-summary-{today.isoformat()}-{sequence:06d}.csv",
                _csv(SUMMARY_COLUMNS, summary),
            )
        )
        delivery.children = len(children)
        delivery.files = "\n".join(f"{path.name} sha256 {digest}" for path, digest in written)
        delivery.save()
    return Delivery(notes=len(notes), children=len(children), files=[path for path, _ in written])
