"""Retention and disposal: records kept as long as the law and the schedule say, the evidence intact.

DOMAIN.md (national rules): "Records of looked-after children are kept until the 75th birthday ...;
child protection records follow the authority's retention schedule." Issue 15: "disposal that removes
personal data but keeps an anonymised tombstone so the evidence chain still verifies (test with
verify_evidence)".
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing

import pytest
from django.core.management import call_command

from resolve.audit.models import Redaction
from resolve.audit.verify import verify_all
from resolve.casesystem.models import Disposal, LegalStatus
from resolve.casesystem.retention import (
    EVENT_FREE_TEXT,
    REMOVED,
    child_dispose,
    retention_for,
    retention_review,
)
from resolve.challenges import events, services
from resolve.challenges.models import Challenge, Event, Response
from resolve.children.models import CaseNote, Child
from resolve.children.services import child_allocate, child_create
from resolve.core.errors import ServiceError
from resolve.notifications.models import OutboxMessage
from resolve.testing.challenges import raise_challenge

# Text in an event's detail that is not free text: keys, labels, usernames.
EVENT_STRUCTURAL = frozenset(
    {
        "from_stage",
        "to_stage",
        "previous_response",
        "bypass_agreed_by",
        "response",
        "response_label",
        "last_exited_stage",
        "reentry_stage",
        "status",
        # A hand-over's leaver and successor are usernames.
        "leaver",
        "successor",
        # An action's owner in Resolve, and who agreed an extension: usernames.
        "owner_user",
        "agreed_by",
        # The review that triggered a challenge: a key of events.REVIEWS.
        "review",
        # Requests for agreement and meetings: keys, roles, answers and usernames.
        "key",
        "purpose",
        "person",
        "role",
        "kind",
        "answer",
        "chair",
        # A challenge to a partner agency: the kind of agency (a key) and the level at it (the
        # procedure's words).
        "agency_kind",
        "level",
    }
)


def test_every_text_in_an_event_is_classified_as_free_text_or_not():
    """A new event's text field must be named in retention.EVENT_FREE_TEXT (removed on disposal) or
    here (kept), so that disposal never leaves a new kind of free text behind."""
    for detail in events.DETAILS.values():
        hints = typing.get_type_hints(detail)
        for field in dataclasses.fields(detail):
            if hints[field.name] in (str, str | None):
                assert field.name in EVENT_FREE_TEXT | EVENT_STRUCTURAL, (detail.__name__, field.name)


def test_retention_dates_follow_the_law_and_the_schedule(settings):
    born = dt.date(2010, 2, 28)
    assert retention_for(date_of_birth=born, status="looked_after", was_looked_after=True).date == dt.date(
        2085, 2, 28
    )
    # Once looked after, always kept as a looked-after child's record.
    assert retention_for(date_of_birth=born, status="child_in_need", was_looked_after=True).date == dt.date(
        2085, 2, 28
    )
    assert retention_for(
        date_of_birth=dt.date(2012, 2, 29), status="looked_after", was_looked_after=True
    ).date == (dt.date(2087, 3, 1))
    settings.RESOLVE_RETENTION_CHILD_PROTECTION_YEARS = None
    unset = retention_for(date_of_birth=born, status="child_protection", was_looked_after=False)
    assert unset.date is None and "RESOLVE_RETENTION_CHILD_PROTECTION_YEARS" in unset.rule
    settings.RESOLVE_RETENTION_CHILD_PROTECTION_YEARS = 26
    assert retention_for(
        date_of_birth=born, status="child_protection", was_looked_after=False
    ).date == dt.date(2036, 2, 28)
    assert retention_for(date_of_birth=born, status=None, was_looked_after=False).date is None


def _old_child(authority, case_number="LCS300001", born=dt.date(1945, 6, 1), status="looked_after"):
    child = child_create(
        user=authority.staff["admin"],
        case_number=case_number,
        first_name="Margaret",
        last_name="Oldfield",
        date_of_birth=born,
        social_worker="social_worker",
        iro="iro",
    )
    LegalStatus.objects.create(child=child, status=status, was_looked_after=status == "looked_after")
    return child


def _resolved_challenge(authority, child):
    today = dt.date.today()
    challenge = raise_challenge(
        authority,
        child,
        procedure_key="qa_issue_resolution",
        concern="Margaret's contact with her brother has stopped.",
        impact_on_child="Margaret feels nobody listens to her.",
        themes=["voice_of_child"],
        actions=[
            services.ActionInput(
                action="Arrange contact with Margaret's brother", owner="social_worker", due=today
            )
        ],
        on=today - dt.timedelta(days=20),
    )
    services.challenge_respond(
        user=authority.staff["social_worker"],
        challenge_id=challenge.pk,
        response="agree",
        comments="Margaret will see her brother on Saturday.",
        on=today - dt.timedelta(days=18),
    )
    services.challenge_resolve(
        user=authority.staff["iro"],
        challenge_id=challenge.pk,
        outcome="Margaret saw her brother.",
        learning_points="Ask Margaret first.",
        on=today - dt.timedelta(days=15),
    )
    return challenge


@pytest.mark.django_db
def test_disposal_removes_personal_data_and_the_evidence_still_verifies(authority):
    admin = authority.staff["admin"]
    child = _old_child(authority)
    young = _old_child(authority, "LCS300002", dt.date(2015, 1, 1))
    challenge = _resolved_challenge(authority, child)
    child_allocate(user=admin, child_id=child.pk, social_worker="social_worker_2", iro="iro")
    assert list(verify_all()) == []
    assert [due.case_number for due in retention_review(user=admin)] == ["LCS300001"]

    disposal = child_dispose(user=admin, case_number="LCS300001")

    assert list(verify_all()) == []  # the chains, seals and redactions all hold
    child.refresh_from_db()
    assert (child.case_number, child.first_name, child.last_name) == (
        f"DISPOSED-{child.pk}",
        "Disposed",
        "record",
    )
    assert child.date_of_birth == dt.date(1900, 1, 1)
    everything = " ".join(
        [
            *CaseNote.objects.filter(child=child).values_list("body", flat=True),
            *(
                str(detail)
                for detail in Event.objects.filter(challenge=challenge).values_list("detail", flat=True)
            ),
            *Response.objects.filter(challenge=challenge).values_list("comments", flat=True),
            *OutboxMessage.objects.filter(challenge=challenge).values_list("body", flat=True),
            str(Challenge.objects.filter(pk=challenge.pk).values()[0]),
        ]
    )
    assert "Margaret" not in everything and "Oldfield" not in everything
    assert REMOVED in everything
    # The tombstone keeps what happened and when: the events, their order, types and dates.
    assert [e.type for e in Event.objects.filter(challenge=challenge).order_by("sequence")][:1] == ["raised"]
    assert Challenge.objects.get(pk=challenge.pk).status == "resolved"
    assert disposal.redacted["case_notes"] == CaseNote.objects.filter(child=child).count()
    assert Redaction.objects.count() == disposal.redacted["case_notes"] + disposal.redacted["events"]
    assert [due.case_number for due in retention_review(user=admin)] == []
    # The other child is untouched, and not due.
    young.refresh_from_db()
    assert young.first_name == "Margaret"
    with pytest.raises(ServiceError) as refused:
        child_dispose(user=admin, case_number="LCS300002")
    assert refused.value.code == "not_due"


@pytest.mark.django_db
def test_tampering_after_disposal_is_still_found(authority):
    admin = authority.staff["admin"]
    child = _old_child(authority)
    _resolved_challenge(authority, child)
    child_dispose(user=admin, case_number="LCS300001")
    note = CaseNote.objects.filter(child=child).order_by("pk").first()
    assert note is not None
    # A redaction record cannot be forged or altered without the evidence key ...
    Redaction._base_manager.filter(record_id=note.pk, record="children.casenote").update(hash="0" * 64)
    problems = [str(found) for found in verify_all()]
    assert any("redaction" in problem and "does not match its seal" in problem for problem in problems)
    assert any(f"case note {note.pk}" in problem for problem in problems)


@pytest.mark.django_db
def test_disposal_refuses_what_is_not_due_or_not_allowed(authority):
    child = _old_child(authority, status="child_protection")
    with pytest.raises(ServiceError) as refused:
        child_dispose(user=authority.staff["admin"], case_number=child.case_number)
    assert refused.value.code == "not_due"  # no schedule set for child protection records
    with pytest.raises(ServiceError) as refused:
        child_dispose(user=authority.staff["director"], case_number=child.case_number)
    assert refused.value.kind == "forbidden"
    assert not Disposal.objects.exists()
    assert Child.objects.get(pk=child.pk).first_name == "Margaret"


@pytest.mark.django_db
def test_the_commands_list_and_dispose(authority, capsys):
    _old_child(authority)
    call_command("retention_review", user="admin")
    out = capsys.readouterr().out
    assert "LCS300001" in out and "75th birthday" in out and "Margaret" not in out
    call_command("dispose_records", "LCS300001", user="admin", confirm=True)
    assert Disposal.objects.count() == 1
    assert list(verify_all()) == []
    call_command("verify_evidence")  # the operator's own check passes too (it fails with an error)
