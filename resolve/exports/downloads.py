"""Each document as a file to download: the bytes, their content type and a filename naming the case
number and the date. The pages and the API serve these and nothing else, so both give the same file.

Every function finds its record through the access chokepoint (``resolve.exports.selectors``), logged
as an export; a record the person may not see raises ``NotVisible`` (answered 404), as its page does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import zipfile
from dataclasses import dataclass
from typing import Literal

from django.utils import timezone

from resolve.access import NotVisible, challenge_get_for_user
from resolve.challenges.models import CafcassReferral, Challenge
from resolve.core.errors import ServiceError
from resolve.exports import pdf, typeset, word
from resolve.exports.models import SentForm
from resolve.exports.selectors import (
    Pack,
    SentFormRow,
    UserLike,
    briefing_for_user,
    challenge_form_for_user,
    child_referral_get_for_user,
    chronology_for_user,
    exporting,
    form_build,
    pack_document_content,
    pack_for_user,
    person_name,
    referral_pack_for_user,
    sent_form_rows,
    stage_notes,
)
from resolve.exports.services import document_filename

Format = Literal["docx", "pdf"]
FORMATS: dict[str, str] = {"docx": word.DOCX, "pdf": pdf.PDF}


@dataclass(frozen=True)
class Download:
    filename: str
    content_type: str
    content: bytes


def _frame(
    *, child_name: str, case_number: str, produced_by: str, produced_on: dt.datetime
) -> dict[str, object]:
    return {
        "child_name": child_name,
        "case_number": case_number,
        "produced_by": produced_by,
        "produced_on": timezone.localtime(produced_on),
    }


def form_download(*, user: UserLike, challenge_id: int, format: Format) -> Download:
    """The Challenge and Resolution form as it stands now."""
    form = challenge_form_for_user(user=user, challenge_id=challenge_id)
    today = timezone.localdate(form.produced_on)
    if format == "docx":
        content = word.form_docx(form)
    else:
        content = pdf.pdf_render(
            "exports/form.html",
            {
                "form": form,
                **_frame(
                    child_name=form.child_name,
                    case_number=form.case_number,
                    produced_by=form.produced_by,
                    produced_on=form.produced_on,
                ),
            },
        )
    return Download(
        filename=document_filename("challenge-form", form.case_number, today, format),
        content_type=FORMATS[format],
        content=content,
    )


def sent_form_download(*, user: UserLike, challenge_id: int, case_note_id: int) -> Download:
    """The form as sent with one stage's case note: the filed copy, or (not filed yet) the same form
    built from the evidence of that moment."""
    with exporting():
        challenge = challenge_get_for_user(user=user, challenge_id=challenge_id)
    stored = SentForm.objects.filter(challenge_id=challenge.pk, case_note_id=case_note_id).first()
    if stored is not None:
        return Download(stored.filename, stored.content_type, bytes(stored.content))
    for note, event in stage_notes(challenge=challenge):
        if note.pk == case_note_id:
            form = form_build(
                challenge=challenge,
                produced_by=person_name(event.by),
                upto=event.sequence,
                now=event.created_at,
            )
            return Download(
                filename=document_filename("form-as-sent", form.case_number, event.on, "docx"),
                content_type=word.DOCX,
                content=word.form_docx(form),
            )
    raise NotVisible(case_note_id)


def briefing_download(*, user: UserLike, challenge_id: int, format: Format) -> Download:
    """The Director's briefing (seed 002 Appendix B); ``NotVisible`` when none was completed."""
    briefing = briefing_for_user(user=user, challenge_id=challenge_id)
    if briefing is None:
        raise NotVisible(challenge_id)
    if format == "docx":
        content = word.briefing_docx(briefing)
    else:
        content = pdf.pdf_render(
            "exports/briefing.html",
            {
                "briefing": briefing,
                **_frame(
                    child_name=briefing.child_name,
                    case_number=briefing.case_number,
                    produced_by=briefing.produced_by,
                    produced_on=briefing.produced_on,
                ),
            },
        )
    return Download(
        filename=document_filename(
            "directors-briefing", briefing.case_number, briefing.date_of_briefing, format
        ),
        content_type=FORMATS[format],
        content=content,
    )


def chronology_pdf(*, user: UserLike, case_number: str, today: dt.date) -> tuple[str, bytes]:
    """The child's chronology as a PDF laid out by Typst (``resolve.exports.typeset``: a court bundle's
    chronology is hundreds of rows, which WeasyPrint lays out too slowly), and its case number; the one
    builder of the chronology, for its own download and inside a Cafcass referral pack."""
    chronology = chronology_for_user(user=user, case_number=case_number, today=today)
    return chronology.case_number, typeset.chronology_pdf(chronology)


def chronology_download(*, user: UserLike, case_number: str, today: dt.date) -> Download:
    """The child's chronology for a court bundle or an Ofsted case sample, as a paginated PDF."""
    number, content = chronology_pdf(user=user, case_number=case_number, today=today)
    return Download(
        filename=document_filename("chronology", number, today, "pdf"),
        content_type=typeset.PDF,
        content=content,
    )


def pack_download(*, user: UserLike, challenge_id: int, today: dt.date) -> Download:
    """The Cafcass referral pack as one zip: the referral (covering letter, the IRO's report, the
    professionals' contacts, the checklist), the chronology, the wishes-and-feelings draft, the form
    as sent at each stage and as it stands, the uploaded documents, and a list of every file's SHA-256.

    Refused (``ServiceError``, nothing written) until the challenge is referred and every required
    item of the checklist is present. One export in the access log, however many documents it reads.
    """
    with exporting():
        pack = pack_for_user(user=user, challenge_id=challenge_id)
        _pack_check(pack)
        forms: list[tuple[str, bytes]] = [
            (
                "forms/challenge-form-as-it-stands.pdf",
                form_download(user=user, challenge_id=challenge_id, format="pdf").content,
            )
        ]
        for row in sent_forms_of(user=user, challenge_id=challenge_id):
            sent = sent_form_download(user=user, challenge_id=challenge_id, case_note_id=row.case_note_id)
            forms.append((f"forms/{row.event_sequence:02d}-{sent.filename}", sent.content))
        challenge = challenge_get_for_user(user=user, challenge_id=challenge_id)
        return _pack_zip(user=user, pack=pack, owner=challenge, today=today, more=forms)


def referral_pack_download(*, user: UserLike, case_number: str, referral_id: int, today: dt.date) -> Download:
    """The Cafcass referral pack of a referral made with no challenge (seed 000), as one zip: the
    referral (covering letter, the IRO's report from the referral's reason and the child's challenges,
    the professionals' contacts, the checklist), the child's chronology, the wishes-and-feelings draft,
    the uploaded documents and SHA256SUMS.txt. Scoped like the child's page; refused (``ServiceError``)
    while a required item of the checklist is missing. One export in the access log."""
    with exporting():
        pack = referral_pack_for_user(
            user=user, case_number=case_number, referral_id=referral_id, today=today
        )
        _pack_check(pack)
        _, referral = child_referral_get_for_user(user=user, case_number=case_number, referral_id=referral_id)
        return _pack_zip(user=user, pack=pack, owner=referral, today=today, more=[])


def _pack_check(pack: Pack) -> None:
    if pack.referred_on is None:
        raise ServiceError(
            "conflict",
            "not_referred",
            "Refer the challenge to Cafcass first: the pack is made from the referral.",
        )
    if pack.missing:
        raise ServiceError(
            "conflict",
            "pack_incomplete",
            "The pack cannot be made until these required items are uploaded: "
            + "; ".join(label.rstrip(".") for label in pack.missing)
            + ".",
            "item",
        )


def _pack_zip(
    *,
    user: UserLike,
    pack: Pack,
    owner: Challenge | CafcassReferral,
    today: dt.date,
    more: list[tuple[str, bytes]],
) -> Download:
    """The one builder of a pack's zip, for a challenge's referral and a referral with no challenge:
    ``owner`` (found through the chokepoint) holds the uploads; ``more``: files only one kind has."""
    frame = _frame(
        child_name=pack.child_name,
        case_number=pack.case_number,
        produced_by=pack.produced_by,
        produced_on=pack.produced_on,
    )
    files: list[tuple[str, bytes]] = [
        ("referral.pdf", pdf.pdf_render("exports/referral.html", {"pack": pack, **frame})),
        ("chronology.pdf", chronology_pdf(user=user, case_number=pack.case_number, today=today)[1]),
        ("wishes-and-feelings-draft.docx", word.wishes_and_feelings_draft_docx(pack)),
        *more,
    ]
    for item in pack.items:
        for document_id, name, _, _, _ in item.documents:
            found = pack_document_content(owner=owner, document_id=document_id)
            if found is not None:
                files.append((f"documents/{item.key}-{document_id}-{name}", found[2]))
    manifest = "\n".join(f"{hashlib.sha256(content).hexdigest()}  {name}" for name, content in files)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files:
            archive.writestr(name, content)
        archive.writestr("SHA256SUMS.txt", manifest + "\n")
    return Download(
        filename=document_filename("cafcass-referral-pack", pack.case_number, today, "zip"),
        content_type="application/zip",
        content=out.getvalue(),
    )


def sent_forms_of(*, user: UserLike, challenge_id: int) -> list[SentFormRow]:
    with exporting():
        challenge = challenge_get_for_user(user=user, challenge_id=challenge_id)
    return sent_form_rows(challenge=challenge)
