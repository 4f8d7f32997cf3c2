"""A subject access export: everything Resolve holds about one child, as a zip with a readable index.

For those who answer for access to records (``Perm.REVIEW_ACCESS``: the IRO/CP managers) about a
child they may see. The child's record, their case notes, every challenge (its events, actions,
responses, meetings and Cafcass referral), its documents, and who viewed the record and when (the
access log, and break-glass grants). The export itself is access-logged, like any look.
"""

from __future__ import annotations

import csv
import html
import io
import json
import zipfile
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ObjectDoesNotExist
from django.utils import timezone

from resolve.access import (
    Perm,
    case_notes_visible_to,
    challenges_visible_to,
    child_get_for_user,
    documents_visible_to,
    perm_require,
)
from resolve.audit.selectors import access_log_list, break_glass_list
from resolve.casesystem.mapping import LEGAL_STATUSES
from resolve.challenges.models import Challenge
from resolve.challenges.selectors import child_cafcass_agreements, child_cafcass_referrals


def _name(user: Any) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else ""


def _json(value: Any) -> bytes:
    return json.dumps(value, indent=1, ensure_ascii=False, default=str).encode("utf-8")


def _csv(header: list[str], rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def _challenge(challenge: Challenge) -> dict[str, Any]:
    referral = None
    try:
        found = challenge.cafcass_referral
        referral = {"on": found.on, "reason": found.reason, "urgent": found.urgent, "by": _name(found.by)}
    except ObjectDoesNotExist:
        pass
    return {
        "id": challenge.pk,
        "track": challenge.track,
        "procedure": challenge.policy.name,
        "status": challenge.status,
        "raised_on": challenge.raised_on,
        "raised_by": _name(challenge.raised_by),
        "concern": challenge.concern,
        "impact_on_child": challenge.impact_on_child,
        "desired_outcome": challenge.desired_outcome,
        "themes": challenge.themes,
        "outcome": challenge.outcome,
        "learning_points": challenge.learning_points,
        "resolved_on": challenge.resolved_on,
        "final_comments": challenge.final_comments,
        "events": [
            {"type": e.type, "stage": e.stage_key, "on": e.on, "by": _name(e.by), "detail": e.detail}
            for e in challenge.events.select_related("by").order_by("sequence")
        ],
        "stages": [
            {
                "stage": v.stage_key,
                "entered_on": v.entered_on,
                "due_on": v.due_on,
                "left_on": v.left_on,
                "response": v.response,
                "to": v.to_users,
                "copied": v.cc_users,
            }
            for v in challenge.visits.order_by("sequence")
        ],
        "actions": [
            {"action": a.action, "owner": a.owner, "due": a.due, "status": a.status}
            for a in challenge.actions.order_by("pk")
        ],
        "responses": [
            {"response": r.response, "comments": r.comments, "on": r.on, "by": _name(r.by)}
            for r in challenge.responses.select_related("by").order_by("pk")
        ],
        "meetings": [
            {"held_on": m.held_on, "summary": m.summary, "recorded_by": _name(m.recorded_by)}
            for m in challenge.meetings.select_related("recorded_by").order_by("pk")
        ],
        "cafcass_referral": referral,
    }


def subject_access_export(*, user: User, case_number: str) -> tuple[str, bytes]:
    """The zip's file name and bytes; ``NotVisible`` for a child this person may not see."""
    perm_require(user=user, perm=Perm.REVIEW_ACCESS)
    child = child_get_for_user(user=user, case_number=case_number)  # logged
    now = timezone.localtime()
    try:
        status = child.legal_status
        legal = LEGAL_STATUSES.get(status.status, status.status)
    except ObjectDoesNotExist:
        legal = "not recorded"
    record = {
        "case_number": child.case_number,
        "first_name": child.first_name,
        "last_name": child.last_name,
        "date_of_birth": child.date_of_birth,
        "legal_status": legal,
        "team": child.team.name,
        "social_worker": _name(child.social_worker),
        "iro": _name(child.iro),
        "cp_chair": _name(child.cp_chair),
        "added_to_resolve": child.created_at,
    }
    notes = list(
        case_notes_visible_to(user).filter(child=child).select_related("author").order_by("on", "pk")
    )
    challenges = list(
        challenges_visible_to(user)
        .filter(child=child)
        .select_related("policy", "raised_by")
        .order_by("raised_on", "pk")
    )
    documents = list(
        documents_visible_to(user).filter(challenge__child=child).select_related("by").order_by("on", "pk")
    )
    views = list(access_log_list(user=user, case_number=child.case_number))
    grants = list(break_glass_list(user=user).filter(child=child).order_by("granted_at"))
    files: list[tuple[str, bytes, str]] = [
        ("record.json", _json(record), "Who the child is, their legal status and who works with them."),
        (
            "case-notes.csv",
            _csv(
                ["date", "type", "author", "text", "note_id", "corrects_note_id"],
                [[n.on, n.note_type, _name(n.author), n.body, n.pk, n.corrects_id or ""] for n in notes],
            ),
            f"Every case note on the record ({len(notes)}), oldest first.",
        ),
    ]
    for challenge in challenges:
        files.append(
            (
                f"challenges/challenge-{challenge.pk}.json",
                _json(_challenge(challenge)),
                f"Challenge {challenge.pk}, raised {challenge.raised_on:%-d %B %Y}: its form, every event, "
                "stage, action, response, meeting and Cafcass referral.",
            )
        )
    referrals = [row for row in child_cafcass_referrals(child=child) if row.challenge_id is None]
    if referrals:
        requests = child_cafcass_agreements(child=child)
        files.append(
            (
                "cafcass-referrals-with-no-challenge.json",
                _json(
                    {
                        "referrals": [
                            {"on": r.on, "reason": r.reason, "urgent": r.urgent, "by": _name(r.by)}
                            for r in referrals
                        ],
                        "requests": [
                            {
                                "number": a.number,
                                "about": a.key,
                                "person": _name(a.person),
                                "note": a.note,
                                "asked_on": a.requested_on,
                                "status": a.status,
                                "answered_on": a.answered_on,
                                "comments": a.comments,
                            }
                            for a in requests
                        ],
                    }
                ),
                f"The referrals of the child's case to Cafcass with no challenge ({len(referrals)}) and the "
                "requests for agreement they needed.",
            )
        )
    for document in documents:
        files.append(
            (
                f"documents/document-{document.pk}-{document.kind}.json",
                _json(
                    {
                        "kind": document.kind,
                        "on": document.on,
                        "by": _name(document.by),
                        "content": document.content,
                    }
                ),
                f"The {document.kind.replace('_', ' ')} of challenge {document.challenge_id}, "
                f"{document.on:%-d %B %Y}.",
            )
        )
    files.append(
        (
            "who-viewed.csv",
            _csv(
                ["when", "who", "channel", "path", "challenge", "break_glass"],
                [
                    [
                        e.at.isoformat(),
                        _name(e.user),
                        e.channel,
                        e.path,
                        e.challenge_id or "",
                        e.break_glass_id or "",
                    ]
                    for e in reversed(views)
                ],
            ),
            f"Who opened the record, when and through what ({len(views)} looks), oldest first.",
        )
    )
    files.append(
        (
            "break-glass.csv",
            _csv(
                ["granted", "who", "reason", "expires"],
                [
                    [g.granted_at.isoformat(), _name(g.user), g.reason, g.expires_at.isoformat()]
                    for g in grants
                ],
            ),
            f"Emergency access to the record by people outside its usual scope ({len(grants)}).",
        )
    )
    rows = "".join(
        f'<tr><td><a href="{html.escape(name)}">{html.escape(name)}</a></td><td>{html.escape(what)}</td></tr>'
        for name, _, what in files
    )
    index = (
        "<!doctype html><html lang=en><meta charset=utf-8>"
        f"<title>Subject access export: {html.escape(child.case_number)}</title>"
        "<style>body{font-family:sans-serif;max-width:50em;margin:2em auto}td{padding:.3em .6em;"
        "border-bottom:1px solid #ccc;vertical-align:top}</style>"
        f"<h1>Everything Resolve holds about {html.escape(child.full_name)}</h1>"
        f"<p>Case number {html.escape(child.case_number)}, born {child.date_of_birth:%-d %B %Y}. "
        f"Exported on {now:%-d %B %Y at %H:%M} by {html.escape(_name(user))}. "
        "Resolve keeps the record of challenges about the child; the child's full record is in the case "
        "system, which answers for it separately.</p>"
        f"<table><tr><th>File</th><th>What it holds</th></tr>{rows}</table>"
        "<p>Names of staff appear as Resolve records them. Dates are in Europe/London; times in the "
        "access log are in UTC (ISO 8601).</p></html>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("index.html", index)
        for name, content, _ in files:
            archive.writestr(name, content)
    return f"subject-access-{child.case_number}-{now:%Y-%m-%d}.zip", buffer.getvalue()
