"""Filing the Challenge and Resolution form with each stage's case note, as it was sent.

When a challenge enters a stage, the write path records the stage's case note. The worker then files
the form as it stood just after that event (``form_build(upto=...)``): the Word document, with its
SHA-256, stored once beside the note and never changed. Built from the evidence of that moment, it
is the same document whenever it is filed, so a worker that was down files the same form later.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from resolve.access import NotVisible, Perm, challenge_get_for_change, child_get_for_change
from resolve.core.errors import ServiceError
from resolve.exports.models import PackDocument, SentForm
from resolve.exports.selectors import (
    challenge_for_filing,
    challenges_without_sent_forms,
    form_build,
    person_name,
    stage_notes,
)
from resolve.exports.uploads import filename_clean, upload_check
from resolve.exports.word import DOCX, form_docx
from resolve.procedures.schema import Procedure
from resolve.procedures.selectors import procedure_version_model

BATCH = 200


def document_filename(kind: str, case_number: str, on: object, extension: str) -> str:
    """``challenge-and-resolution-form_LCS100001_2024-06-03.docx``: the kind, the case number, the date."""
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in case_number)
    return f"{kind}_{safe}_{on}.{extension}"


def sent_forms_file(*, challenge_id: int | None = None, limit: int = BATCH) -> int:
    """File the form as sent for every stage case note that has none yet; returns how many were filed."""
    ids = (
        [challenge_id]
        if challenge_id is not None
        else list(challenges_without_sent_forms().values_list("pk", flat=True)[:limit])
    )
    filed = 0
    for pk in ids:
        challenge = challenge_for_filing(challenge_id=pk)
        done = set(SentForm.objects.filter(challenge_id=pk).values_list("case_note_id", flat=True))
        for note, event in stage_notes(challenge=challenge):
            if note.pk in done:
                continue
            form = form_build(
                challenge=challenge,
                produced_by=person_name(event.by),
                upto=event.sequence,
                now=event.created_at,
            )
            content = form_docx(form)
            try:
                with transaction.atomic():
                    SentForm.objects.create(
                        challenge_id=pk,
                        case_note=note,
                        event_sequence=event.sequence,
                        stage_key=event.stage_key,
                        filename=document_filename("form-as-sent", form.case_number, event.on, "docx"),
                        content_type=DOCX,
                        content=content,
                        size=len(content),
                        sha256=hashlib.sha256(content).hexdigest(),
                    )
            except IntegrityError:
                continue  # another worker filed it first: the same document
            filed += 1
    return filed


def pack_document_add(
    *, user: User, challenge_id: int, item: str, filename: str, content: bytes
) -> PackDocument:
    """Upload a document for a checklist item of the challenge's Cafcass referral pack.

    Those who may refer to Cafcass (the child's IRO) upload, on a track the procedure lets refer; the
    item must be one of the procedure's checklist; the file is checked for type and size. A refusal
    (``ServiceError``, naming the field) stores nothing.
    """
    with transaction.atomic():
        challenge = challenge_get_for_change(user=user, challenge_id=challenge_id, perm=Perm.REFER_TO_CAFCASS)
        procedure = procedure_version_model(challenge.policy)
        if challenge.track not in procedure.cafcass.tracks:
            raise ServiceError(
                "conflict",
                "no_cafcass_referral",
                "Only a looked-after child's challenge (the IRO's) can be referred to Cafcass.",
            )
        return _pack_document_keep(
            user=user,
            procedure=procedure,
            documents=challenge.pack_documents.all(),
            owner={"challenge": challenge},
            item=item,
            filename=filename,
            content=content,
        )


def referral_pack_document_add(
    *, user: User, child_id: int, referral_id: int, item: str, filename: str, content: bytes
) -> PackDocument:
    """Upload a document for a checklist item of the pack of a referral to Cafcass made with no
    challenge (seed 000). As for a challenge's pack: those who may refer (the child's IRO), within
    their scope, an item of the referral's procedure's checklist, a file checked for type and size; a
    refusal (``ServiceError``, naming the field) stores nothing."""
    with transaction.atomic():
        child = child_get_for_change(user=user, child_id=child_id, perm=Perm.REFER_TO_CAFCASS)
        referral = (
            child.cafcass_referrals.filter(pk=referral_id, challenge__isnull=True)
            .select_related("policy")
            .first()
        )
        if referral is None or referral.policy is None:
            raise NotVisible(referral_id)
        return _pack_document_keep(
            user=user,
            procedure=procedure_version_model(referral.policy),
            documents=referral.pack_documents.all(),
            owner={"referral": referral},
            item=item,
            filename=filename,
            content=content,
        )


def _pack_document_keep(
    *,
    user: User,
    procedure: Procedure,
    documents: QuerySet[PackDocument],
    owner: dict[str, Any],
    item: str,
    filename: str,
    content: bytes,
) -> PackDocument:
    """Check the item and the file, and keep the file once with its SHA-256 (``owner``: the challenge
    or the referral the pack is of, already found through the chokepoint)."""
    items = {entry.key: entry.label for entry in procedure.cafcass.checklist}
    if item not in items:
        raise ServiceError(
            "invalid",
            "unknown_item",
            f"Choose which item of the checklist the document is: {', '.join(sorted(items)) or 'none'}.",
            "item",
        )
    content_type = upload_check(filename=filename, content=content)
    digest = hashlib.sha256(content).hexdigest()
    # The same file for the same item again (a retried upload) is the one already kept.
    kept = documents.filter(item=item, sha256=digest).first()
    if kept is not None:
        return kept
    return PackDocument.objects.create(
        **owner,
        item=item,
        filename=filename_clean(filename),
        content_type=content_type,
        content=content,
        size=len(content),
        sha256=digest,
        uploaded_by=user,
    )
