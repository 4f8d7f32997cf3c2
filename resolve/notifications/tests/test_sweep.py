"""The deadline sweep, travelling in time across weekends, bank holidays and the Christmas closure."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest
from django.db import transaction

from resolve.calendars.models import NonWorkingDay
from resolve.challenges.models import Challenge, Event
from resolve.challenges.selectors import challenge_list, challenge_past_cap
from resolve.challenges.services import (
    ActionInput,
    ServiceError,
    challenge_escalate_overdue,
    challenge_reopen,
    challenge_resolve,
    challenge_respond,
)
from resolve.notifications.models import Deadline, Kind, OutboxMessage
from resolve.notifications.sweep import deadlines_sweep
from resolve.notifications.tests.conftest import at

pytestmark = pytest.mark.django_db

D = dt.date


def sweep(day: dt.date) -> Any:
    with at(day, hour=7):
        return deadlines_sweep()


def sent(kind: str) -> Counter[str]:
    """Recipients of the messages of ``kind`` (username -> count)."""
    return Counter(OutboxMessage.objects.filter(kind=kind).values_list("recipient__username", flat=True))


def test_raising_writes_the_stage_messages_in_the_same_transaction(raise_on: Any) -> None:
    challenge = raise_on(D(2024, 6, 3))
    assert sent(Kind.STAGE_SENT) == {"social_worker": 1}
    assert sent(Kind.STAGE_COPIED) == {"team_manager": 1}
    assert set(Deadline.objects.filter(challenge=challenge).values_list("trigger", flat=True)) == {
        "response_reminder",
        "response_overdue",
    }


def test_reminder_one_working_day_before_across_a_weekend_and_only_once(raise_on: Any) -> None:
    challenge = raise_on(D(2024, 6, 3))  # Monday; 5 working days: due Monday 10 June
    assert challenge.stage_due_on == D(2024, 6, 10)
    sweep(D(2024, 6, 6))
    assert not sent(Kind.RESPONSE_REMINDER)
    sweep(D(2024, 6, 7))  # Friday: one working day (Monday) left
    sweep(D(2024, 6, 7))
    sweep(D(2024, 6, 8))
    assert sent(Kind.RESPONSE_REMINDER) == {"social_worker": 1, "team_manager": 1}


def test_overdue_waits_for_the_first_working_day_after_a_bank_holiday(raise_on: Any) -> None:
    challenge = raise_on(D(2024, 5, 17))
    assert challenge.stage_due_on == D(2024, 5, 24)  # Friday; Monday 27 May is a bank holiday
    for day in (D(2024, 5, 24), D(2024, 5, 25), D(2024, 5, 27)):
        sweep(day)
        assert not sent(Kind.RESPONSE_OVERDUE), day
    sweep(D(2024, 5, 28))
    # The recipient and the recipient's manager (the next stage's recipient) are told it is overdue;
    # the IRO once, as the prompt to escalate (one notice per event, issue 13).
    assert sent(Kind.RESPONSE_OVERDUE) == {"social_worker": 1, "team_manager": 1}
    assert sent(Kind.ESCALATION_PROMPT) == {"iro": 1}
    sweep(D(2024, 5, 29))
    assert sum(sent(Kind.RESPONSE_OVERDUE).values()) == 2


def test_christmas_closure_moves_every_date(raise_on: Any) -> None:
    NonWorkingDay.objects.create(
        nation="england-and-wales", date=D(2024, 12, 27), name="Christmas closure", kind="closure"
    )
    challenge = raise_on(D(2024, 12, 19))
    # Fri 20, Mon 23, Tue 24, (25, 26 bank holidays, 27 closure), Mon 30, Tue 31.
    assert challenge.stage_due_on == D(2024, 12, 31)
    sweep(D(2024, 12, 27))
    assert not sent(Kind.RESPONSE_REMINDER)
    sweep(D(2024, 12, 30))
    assert sent(Kind.RESPONSE_REMINDER)["social_worker"] == 1
    sweep(D(2025, 1, 1))  # New Year's Day: not yet
    assert not sent(Kind.RESPONSE_OVERDUE)
    sweep(D(2025, 1, 2))
    assert sent(Kind.RESPONSE_OVERDUE)["social_worker"] == 1


def test_a_response_cancels_the_overdue_alert(raise_on: Any, authority: Any) -> None:
    challenge = raise_on(D(2024, 6, 3))
    with at(D(2024, 6, 5)):
        challenge_respond(user=authority.staff["social_worker"], challenge_id=challenge.pk, response="agree")
    sweep(D(2024, 6, 11))
    assert not sent(Kind.RESPONSE_OVERDUE)
    assert not sent(Kind.RESPONSE_REMINDER)
    assert sent(Kind.RESPONSE_RECORDED) == {"iro": 1}


def test_automatic_escalation_by_the_system_with_the_reason(raise_on: Any, automatic_procedure: Any) -> None:
    challenge = raise_on(D(2024, 6, 3), procedure_key="automatic")
    result = sweep(D(2024, 6, 11))
    challenge.refresh_from_db()
    assert result.escalated == 1
    assert challenge.stage_key == "stage_1"
    event = Event.objects.get(challenge=challenge, type="escalated")
    assert event.by is None
    assert event.detail["automatic"] is True
    assert "10 June 2024" in event.detail["reason"]
    assert sent(Kind.AUTO_ESCALATED) == {"iro": 1}
    assert sent(Kind.STAGE_SENT)["team_manager"] == 1  # the new stage's recipient
    assert not sent(Kind.ESCALATION_PROMPT)
    # A second run finds nothing more to do.
    before = OutboxMessage.objects.count()
    sweep(D(2024, 6, 11))
    assert OutboxMessage.objects.count() == before


def test_the_engine_refuses_the_system_where_the_procedure_does_not_say_so(raise_on: Any) -> None:
    challenge = raise_on(D(2024, 6, 3))
    with at(D(2024, 6, 11)), pytest.raises(ServiceError) as refused:
        challenge_escalate_overdue(challenge_id=challenge.pk, reason="Overdue")
    assert refused.value.code == "not_automatic"


def test_the_engine_refuses_the_system_before_the_response_is_overdue(
    raise_on: Any, automatic_procedure: Any
) -> None:
    challenge = raise_on(D(2024, 6, 3), procedure_key="automatic")
    with at(D(2024, 6, 10)), pytest.raises(ServiceError) as refused:
        challenge_escalate_overdue(challenge_id=challenge.pk, reason="Overdue")
    assert refused.value.code == "not_overdue"


def test_formal_cap_warning_and_alert(raise_on: Any) -> None:
    challenge = raise_on(D(2024, 6, 3), stage="stage_1", bypass_reason="Urgent: placement at risk")
    assert challenge.formal_due_on == D(2024, 7, 1)  # 20 working days
    sweep(D(2024, 6, 25))
    assert not sent(Kind.CAP_WARNING)
    sweep(D(2024, 6, 26))  # three working days left: 27, 28, 1
    assert sent(Kind.CAP_WARNING)["iro"] == 1
    sweep(D(2024, 7, 1))
    assert not sent(Kind.CAP_PASSED)
    sweep(D(2024, 7, 2))
    assert sent(Kind.CAP_PASSED) == {"iro": 1, "team_manager": 1, "iro_team_manager": 1}


def test_action_reminders_go_to_a_named_owner_or_else_the_chair(raise_on: Any) -> None:
    raise_on(
        D(2024, 6, 3),
        actions=(
            ActionInput("Update the care plan", "social_worker", D(2024, 6, 14)),
            ActionInput("Book the health assessment", "Health visitor", D(2024, 6, 14)),
        ),
    )
    sweep(D(2024, 6, 13))
    assert sent(Kind.ACTION_REMINDER) == {"social_worker": 1, "iro": 1}
    sweep(D(2024, 6, 17))
    assert sent(Kind.ACTION_OVERDUE) == {"social_worker": 1, "iro": 1}
    iro_message = OutboxMessage.objects.get(kind=Kind.ACTION_OVERDUE, recipient__username="iro")
    assert "Health visitor" in iro_message.body


def test_an_action_past_due_after_resolution_prompts_the_iro_to_reopen(raise_on: Any, authority: Any) -> None:
    challenge = raise_on(
        D(2024, 6, 3), actions=(ActionInput("Update the care plan", "social_worker", D(2024, 6, 14)),)
    )
    with at(D(2024, 6, 5)):
        challenge_respond(user=authority.staff["social_worker"], challenge_id=challenge.pk, response="agree")
        challenge_resolve(
            user=authority.staff["iro"],
            challenge_id=challenge.pk,
            outcome="Plan agreed",
            learning_points="Earlier review",
        )
    sweep(D(2024, 6, 14))
    assert not sent(Kind.REOPEN_PROMPT)
    sweep(D(2024, 6, 17))
    assert sent(Kind.REOPEN_PROMPT) == {"iro": 1}
    assert sent(Kind.ACTION_OVERDUE) == {"social_worker": 1}


def test_a_rolled_back_change_leaves_no_message(raise_on: Any) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        raise_on(D(2024, 6, 3))
        assert OutboxMessage.objects.exists()
        raise RuntimeError("the request failed after the write")
    assert not OutboxMessage.objects.exists()
    assert not Challenge.objects.exists()
    assert not Deadline.objects.exists()


def test_a_refused_change_writes_nothing(raise_on: Any, authority: Any) -> None:
    challenge = raise_on(D(2024, 6, 3))
    before = OutboxMessage.objects.count()
    with at(D(2024, 6, 4)), pytest.raises(ServiceError):
        challenge_respond(user=authority.staff["director"], challenge_id=challenge.pk, response="agree")
    assert OutboxMessage.objects.count() == before


def test_a_withdrawn_challenge_sends_no_reminder(raise_on: Any, authority: Any) -> None:
    from resolve.challenges.services import challenge_withdraw

    challenge = raise_on(D(2024, 6, 3))
    with at(D(2024, 6, 4)):
        challenge_withdraw(
            user=authority.staff["iro"], challenge_id=challenge.pk, reason="Resolved in supervision"
        )
    sweep(D(2024, 6, 11))
    assert not sent(Kind.RESPONSE_REMINDER)
    assert not sent(Kind.RESPONSE_OVERDUE)


def test_a_challenge_re_opened_after_its_cap_passed_is_past_the_cap_without_a_stale_alert(
    raise_on: Any, authority: Any
) -> None:
    """Seed 004: "STAGE 2 - 4 cannot take longer than 20 working days to resolve". The cap runs from the
    first formal stage and re-opening does not restart it ("revert to this process at the point they
    last exited"), so a challenge re-opened after its cap passed is past the cap at once, on its page,
    in lists and in the API; but the cap passed while it was resolved, so no "cap passed" alert greets
    the re-opening."""
    challenge = raise_on(D(2024, 6, 3), stage="stage_1", bypass_reason="Urgent: placement at risk")
    assert challenge.formal_due_on == D(2024, 7, 1)
    with at(D(2024, 6, 5)):
        challenge_resolve(
            user=authority.staff["iro"], challenge_id=challenge.pk, outcome="Plan agreed", learning_points="x"
        )
    with at(D(2024, 7, 15)):
        challenge_reopen(user=authority.staff["iro"], challenge_id=challenge.pk, reason="Plan not delivered")
        reopened = Challenge.objects.get(pk=challenge.pk)
        assert reopened.formal_due_on == D(2024, 7, 1)  # not restarted
        assert challenge_past_cap(challenge=reopened, today=D(2024, 7, 15))
        assert list(challenge_list(user=authority.staff["iro"], today=D(2024, 7, 15), past_cap=True)) == [
            reopened
        ]
    sweep(D(2024, 7, 15))
    sweep(D(2024, 7, 16))
    assert not sent(Kind.CAP_PASSED)
    assert not sent(Kind.CAP_WARNING)


def test_past_the_cap_from_the_first_working_day_after_it(raise_on: Any, authority: Any) -> None:
    """Counted in working days like every other deadline: a cap ending on a Friday is passed on Monday."""
    challenge = raise_on(D(2024, 6, 3), stage="stage_1", bypass_reason="Urgent: placement at risk")
    assert challenge.formal_due_on == D(2024, 7, 1)  # a Monday
    challenge.refresh_from_db()
    assert not challenge_past_cap(challenge=challenge, today=D(2024, 7, 1))
    assert challenge_past_cap(challenge=challenge, today=D(2024, 7, 2))
    iro = authority.staff["iro"]
    assert not list(challenge_list(user=iro, today=D(2024, 7, 1), past_cap=True))
    assert list(challenge_list(user=iro, today=D(2024, 7, 2), past_cap=True)) == [challenge]
    assert not list(challenge_list(user=iro, today=D(2024, 7, 2), past_cap=False))
