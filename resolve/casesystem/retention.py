"""Records kept exactly as long as the law and the authority's schedule say, then disposed of.

Each child's **retention date** comes from their legal status: a child who has been looked after is
kept until their 75th birthday (the law); a child protection or child in need record for the years
after birth the authority's schedule sets (``RESOLVE_RETENTION_CHILD_PROTECTION_YEARS``,
``RESOLVE_RETENTION_CHILD_IN_NEED_YEARS``); a child with no legal status, or a status without a
schedule, has no date and is never proposed.

**Disposal** removes the personal data and keeps an anonymised tombstone, so that the evidence still
verifies (``verify_evidence``):

- the child's row keeps its id, with its case number, names and date of birth replaced;
- a case note or an event (links of keyed hash chains whose hashes cover their text) keeps its place
  and hash; a ``Redaction`` sealed with the evidence key vouches for that hash first
  (``resolve.audit.chain.redact_link``), then the text is removed, and verifying checks the link
  against the vouched hash;
- the challenge and its other records (sealed into the challenge's records chain at every save) are
  saved again without their text, each save a new seal;
- the messages Resolve sent about the child's challenges, and import reports naming the child, lose
  their text.

What stays: dates, stages, responses, who acted (staff), the access log, the chains' structure: the
evidence that a challenge happened and when, without whom it was about.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q

from resolve.access import Perm, child_get_for_allocation, child_id_for_allocation, perm_require
from resolve.audit.chain import case_note_fields, event_fields, record_seal, redact_link
from resolve.casesystem.mapping import LEGAL_STATUSES
from resolve.casesystem.models import Disposal, ImportRun
from resolve.casesystem.selectors import RetentionRow, children_for_retention
from resolve.challenges.models import (
    Agreement,
    CafcassReferral,
    Document,
    Event,
    Meeting,
    Response,
    StageVisit,
)
from resolve.children.models import CaseNote
from resolve.core.clock import today as today_
from resolve.core.errors import ServiceError
from resolve.notifications.models import AgencyMessage, OutboxMessage

LOOKED_AFTER_YEARS = 75
REMOVED = "[removed under the retention schedule]"
REASON = "Disposed of under the retention schedule"
# The free text an event's detail may hold; every other text in a detail is a key, a label, a
# username or a date (the test names each, so a new event's text field is classified when added).
EVENT_FREE_TEXT = frozenset(
    {
        "concern",
        "impact_on_child",
        "desired_outcome",
        "bypass_reason",
        "reason",
        "comments",
        "outcome",
        "learning_points",
        "summary",
        # An agreed action's words, and its owner when named in words (someone outside Resolve).
        "action",
        "owner",
        # A request for agreement's or a meeting's note, and the outsiders invited (names in words).
        "note",
        "outsiders",
        # A challenge to a partner agency: the agency, its contact, what it was asked, and whose
        # reply the chair recorded (seed 000 section 2).
        "agency",
        "contact_name",
        "contact_role",
        "contact_email",
        "asked",
        "replaces",
        "on_behalf_of",
    }
)
CHALLENGE_FREE_TEXT = (
    "concern",
    "impact_on_child",
    "desired_outcome",
    "outcome",
    "learning_points",
    "final_comments",
    "agency",
)


@dataclass(frozen=True)
class Retention:
    date: dt.date | None
    rule: str


def _birthday(born: dt.date, years: int) -> dt.date:
    try:
        return born.replace(year=born.year + years)
    except ValueError:  # born on 29 February: the day after 28 February
        return dt.date(born.year + years, 3, 1)


def retention_for(*, date_of_birth: dt.date, status: str | None, was_looked_after: bool) -> Retention:
    """How long a child's record is kept, and the rule that says so."""
    if was_looked_after or status == "looked_after":
        return Retention(
            _birthday(date_of_birth, LOOKED_AFTER_YEARS),
            "Looked after: kept until the 75th birthday.",
        )
    years = {
        "child_protection": settings.RESOLVE_RETENTION_CHILD_PROTECTION_YEARS,
        "child_in_need": settings.RESOLVE_RETENTION_CHILD_IN_NEED_YEARS,
    }.get(status or "")
    if status is None or status not in LEGAL_STATUSES:
        return Retention(None, "No legal status recorded: kept until one is imported.")
    label = LEGAL_STATUSES[status]
    if years is None:
        setting = f"RESOLVE_RETENTION_{status.upper()}_YEARS"
        return Retention(None, f"{label}: kept until the authority sets its schedule ({setting}).")
    return Retention(
        _birthday(date_of_birth, years),
        f"{label}: kept until {years} years after birth (the authority's schedule).",
    )


@dataclass(frozen=True)
class RetentionDue:
    case_number: str
    retention_date: dt.date
    rule: str


def _retention(row: RetentionRow) -> Retention:
    return retention_for(
        date_of_birth=row.date_of_birth, status=row.status, was_looked_after=row.was_looked_after
    )


def retention_review(*, user: User, on: dt.date | None = None) -> list[RetentionDue]:
    """The records due for disposal on ``on`` (default today), oldest date first: case numbers only."""
    perm_require(user=user, perm=Perm.ADD_CHILDREN)
    perm_require(user=user, perm=Perm.MANAGE_REFERENCE_DATA)
    when = on or today_()
    due = []
    for row in children_for_retention():
        retention = _retention(row)
        if retention.date is not None and retention.date <= when:
            due.append(RetentionDue(row.case_number, retention.date, retention.rule))
    return sorted(due, key=lambda item: (item.retention_date, item.case_number))


def _scrub_detail(detail: dict[str, Any]) -> dict[str, Any]:
    return {key: (REMOVED if key in EVENT_FREE_TEXT and value else value) for key, value in detail.items()}


def _scrub_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _scrub_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub_json(item) for item in value]
    if isinstance(value, str) and value:
        return REMOVED
    return value


def _reseal_without(model: Any, rows: Any, **changes: Any) -> int:
    """Remove text from written-once, sealed records (through the base manager, the one way in), and
    seal each again into its challenge's records chain."""
    count = 0
    for row in rows:
        values = {
            name: (change(getattr(row, name)) if callable(change) else change)
            for name, change in changes.items()
        }
        model._base_manager.filter(pk=row.pk).update(**values)
        record_seal(row, chain=row.evidence_chain, exclude=model.evidence_exclude)
        count += 1
    return count


def child_dispose(*, user: User, case_number: str, on: dt.date | None = None) -> Disposal:
    """Dispose of a child's record whose retention date has come: see the module's docstring."""
    perm_require(user=user, perm=Perm.ADD_CHILDREN)
    perm_require(user=user, perm=Perm.MANAGE_REFERENCE_DATA)
    when = on or today_()
    child_id = child_id_for_allocation(user=user, case_number=case_number)
    with transaction.atomic():
        child = child_get_for_allocation(user=user, child_id=child_id)  # locked, and the look logged
        if Disposal.objects.filter(child=child).exists():
            raise ServiceError("conflict", "disposed", f"{case_number} has already been disposed of.")
        status = getattr(child, "legal_status", None)
        retention = retention_for(
            date_of_birth=child.date_of_birth,
            status=status.status if status else None,
            was_looked_after=bool(status and status.was_looked_after),
        )
        if retention.date is None or retention.date > when:
            until = f"until {retention.date:%-d %B %Y}" if retention.date else "for now"
            raise ServiceError(
                "conflict", "not_due", f"{child.case_number} is kept {until}: {retention.rule}"
            )
        # Reached from the locked child: the challenges belong to it, and the look is logged above.
        challenges = list(child.challenges.select_for_update().order_by("pk"))
        if any(challenge.status == "open" for challenge in challenges):
            raise ServiceError(
                "conflict", "open_challenge", f"{child.case_number} has an open challenge: close it first."
            )
        redacted: dict[str, int] = {}
        for challenge in challenges:
            # The challenge's chain first, then the child's (the order every writer takes them in).
            for event in Event.objects.filter(challenge=challenge).order_by("sequence"):
                scrubbed = _scrub_detail(event.detail)
                if scrubbed == event.detail:
                    continue
                redact_link(event, chain=f"challenge:{challenge.pk}", fields=event_fields, reason=REASON)
                Event._base_manager.filter(pk=event.pk).update(detail=scrubbed)
                redacted["events"] = redacted.get("events", 0) + 1
            for name in CHALLENGE_FREE_TEXT:
                if getattr(challenge, name):
                    setattr(challenge, name, REMOVED)
            challenge.save()  # sealed again, without the text
            for action in challenge.actions.all():
                action.action = REMOVED
                action.save()
            redacted["responses"] = redacted.get("responses", 0) + _reseal_without(
                Response, Response.objects.filter(challenge=challenge), comments=lambda v: REMOVED if v else v
            )
            redacted["meetings"] = redacted.get("meetings", 0) + _reseal_without(
                Meeting, Meeting.objects.filter(challenge=challenge), summary=REMOVED
            )
            redacted["documents"] = redacted.get("documents", 0) + _reseal_without(
                Document, Document.objects.filter(challenge=challenge), content=_scrub_json
            )
            redacted["cafcass_referrals"] = redacted.get("cafcass_referrals", 0) + _reseal_without(
                CafcassReferral, CafcassReferral.objects.filter(challenge=challenge), reason=REMOVED
            )
            # The contacts at a partner agency that its stages went to.
            contacts = StageVisit.objects.filter(challenge=challenge).exclude(contact_email="")
            if contacts.exists():
                redacted["stage_visits"] = redacted.get("stage_visits", 0) + _reseal_without(
                    StageVisit, contacts, contact_name=REMOVED, contact_role=REMOVED, contact_email=REMOVED
                )
        redacted["challenges"] = len(challenges)
        # A referral to Cafcass with no challenge, and its requests, recorded on the child itself.
        redacted["cafcass_referrals"] = redacted.get("cafcass_referrals", 0) + _reseal_without(
            CafcassReferral,
            CafcassReferral.objects.filter(child=child, challenge__isnull=True),
            reason=REMOVED,
        )
        to_agencies = AgencyMessage.objects.filter(challenge__in=challenges)
        if to_agencies.exists():
            redacted["agency_messages"] = to_agencies.update(
                subject="A message about a record since disposed of", body=REMOVED, address="removed@invalid"
            )
        redacted["cafcass_requests"] = _reseal_without(
            Agreement,
            Agreement.objects.filter(child=child, challenge__isnull=True),
            note=REMOVED,
            comments=lambda v: REMOVED if v else v,
        )
        redacted["messages"] = OutboxMessage.objects.filter(
            Q(challenge__in=challenges)
            | Q(challenge__isnull=True, link__startswith=f"/children/{child.case_number}/")
        ).update(subject="A message about a record since disposed of", body=REMOVED)
        notes = 0
        for note in child.case_notes.order_by("pk"):
            redact_link(note, chain=f"child:{child.pk}", fields=case_note_fields, reason=REASON)
            CaseNote._base_manager.filter(pk=note.pk).update(body=REMOVED)
            notes += 1
        redacted["case_notes"] = notes
        original = child.case_number
        reports = 0
        for run in ImportRun.objects.filter(report__contains=original):
            run.report = "\n".join(
                line if original not in line else "(a line about a record since disposed of)"
                for line in run.report.splitlines()
            )
            run.save(update_fields=["report"])
            reports += 1
        redacted["import_reports"] = reports
        child.case_number = f"DISPOSED-{child.pk}"
        child.first_name = "Disposed"
        child.last_name = "record"
        child.date_of_birth = dt.date(1900, 1, 1)
        child.save(update_fields=["case_number", "first_name", "last_name", "date_of_birth"])
        return Disposal.objects.create(
            child=child, by=user, retention_date=retention.date, rule=retention.rule, redacted=redacted
        )


__all__ = ["Retention", "RetentionDue", "child_dispose", "retention_for", "retention_review"]
