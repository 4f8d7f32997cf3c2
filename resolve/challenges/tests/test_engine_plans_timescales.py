"""Action plans at any stage, agreed timescales and extensions, and the review that triggered a
challenge, through the pure engine (no database). Each rule quotes the seed sentence it comes from."""

from __future__ import annotations

import dataclasses
import datetime as dt

from resolve.calendars.workingdays import WorkingCalendar
from resolve.challenges import engine, events
from resolve.challenges.tests.kit import (
    CHAIR,
    CHAIR_MANAGER,
    RECIPIENT,
    SOCIAL_WORKER,
    Run,
    calendar,
    person,
    raise_,
)

D = dt.date
TODAY = D(2027, 6, 30)
MANAGER = person("iro_service_manager", "iro_service_manager")


def _with_action(run: Run, due: dt.date, owner: str = "social_worker") -> None:
    """Give the run's state one open action (the services add its id once the row exists)."""
    run.state = dataclasses.replace(
        run.state, actions=(*run.state.actions, engine.ActionState(id=7, due=due, owner=owner))
    )


class TestActionPlansAtAnyStage:
    """Seed 003: "should develop an action plan within 5 working days" (stage 1); "The action plan will
    be jointly developed in this meeting" (stage 2); "An Action plan will be devised" (stage 4)."""

    def test_the_chair_the_recipient_and_the_chairs_manager_add_actions_at_any_stage(self) -> None:
        run = Run("challenge_and_resolution", today=TODAY)
        run.do(raise_(D(2027, 3, 1)))
        run.do(engine.Escalate(on=D(2027, 3, 2)))
        for actor in (CHAIR, RECIPIENT, CHAIR_MANAGER):
            run.do(
                engine.AddAction(
                    on=D(2027, 3, 3), action="Update the care plan", due=D(2027, 3, 10), owner="Dr Patel"
                ),
                actor,
            )
        added = [event.detail for event in run.events if isinstance(event.detail, events.ActionAdded)]
        assert [detail.owner for detail in added] == ["Dr Patel"] * 3
        assert {event.stage for event in run.events[-3:]} == {run.stage}

    def test_a_person_in_resolve_is_recorded_as_the_owner(self) -> None:
        run = Run("challenge_and_resolution", today=TODAY)
        run.do(raise_(D(2027, 3, 1)))
        run.do(
            engine.AddAction(
                on=D(2027, 3, 1),
                action="Visit the child alone",
                due=D(2027, 3, 5),
                owner_user=person("social_worker"),
                owner_name="Sam Worker",
            )
        )
        detail = run.events[-1].detail
        assert isinstance(detail, events.ActionAdded)
        assert (detail.owner, detail.owner_user) == ("Sam Worker", "social_worker")

    def test_others_may_not_agree_actions(self) -> None:
        run = Run("challenge_and_resolution", today=TODAY)
        run.do(raise_(D(2027, 3, 1)))
        refusal = run.refused(
            engine.AddAction(on=D(2027, 3, 1), action="A", due=D(2027, 3, 5), owner="B"), SOCIAL_WORKER
        )
        assert refusal.kind == "forbidden"

    def test_actions_are_agreed_while_monitored_after_resolution_not_after_withdrawal(self) -> None:
        # Seed 003: "The IRO will review the action plan and track that the outcomes for the child are
        # achieved."
        run = Run("challenge_and_resolution", today=TODAY)
        run.do(raise_(D(2027, 3, 1)))
        run.do(engine.Resolve(on=D(2027, 3, 2), outcome="Plan agreed"))
        run.do(
            engine.AddAction(on=D(2027, 3, 2), action="Review in 4 weeks", due=D(2027, 3, 30), owner="IRO")
        )
        withdrawn = Run("challenge_and_resolution", today=TODAY)
        withdrawn.do(raise_(D(2027, 3, 1)))
        withdrawn.do(engine.Withdraw(on=D(2027, 3, 2), reason="Raised in error"))
        refusal = withdrawn.refused(
            engine.AddAction(on=D(2027, 3, 2), action="A", due=D(2027, 3, 5), owner="B")
        )
        assert (refusal.kind, refusal.code) == ("conflict", "not_open")

    def test_what_by_whom_and_by_when_are_each_required(self) -> None:
        run = Run("challenge_and_resolution", today=TODAY)
        run.do(raise_(D(2027, 3, 1)))
        assert (
            run.refused(engine.AddAction(on=D(2027, 3, 1), action=" ", due=D(2027, 3, 5), owner="B")).field
            == "action"
        )
        assert (
            run.refused(engine.AddAction(on=D(2027, 3, 1), action="A", due=D(2027, 3, 5), owner="")).field
            == "owner"
        )
        past = run.refused(engine.AddAction(on=D(2027, 3, 2), action="A", due=D(2027, 3, 1), owner="B"))
        assert (past.code, past.field) == ("action_due_in_past", "due")
        far = run.refused(engine.AddAction(on=D(2027, 3, 2), action="A", due=D(2999, 3, 1), owner="B"))
        assert (far.code, far.field) == ("date_out_of_range", "due")

    def test_re_dating_needs_a_reason_and_a_new_date(self) -> None:
        run = Run("challenge_and_resolution", today=TODAY)
        run.do(raise_(D(2027, 3, 1)))
        _with_action(run, D(2027, 3, 10))
        assert (
            run.refused(
                engine.RedateAction(on=D(2027, 3, 2), action_id=7, due=D(2027, 3, 17), reason="")
            ).field
            == "reason"
        )
        same = run.refused(engine.RedateAction(on=D(2027, 3, 2), action_id=7, due=D(2027, 3, 10), reason="x"))
        assert same.code == "same_date"
        assert (
            run.refused(
                engine.RedateAction(on=D(2027, 3, 2), action_id=99, due=D(2027, 3, 17), reason="x")
            ).kind
            == "not_found"
        )
        run.do(
            engine.RedateAction(on=D(2027, 3, 2), action_id=7, due=D(2027, 3, 17), reason="School holidays")
        )
        assert run.state.actions[0].due == D(2027, 3, 17)
        detail = run.events[-1].detail
        assert isinstance(detail, events.ActionRedated)
        assert (detail.from_due, detail.to_due, detail.reason) == (
            D(2027, 3, 10),
            D(2027, 3, 17),
            "School holidays",
        )

    def test_not_done_asks_for_a_reason(self) -> None:
        run = Run("challenge_and_resolution", today=TODAY)
        run.do(raise_(D(2027, 3, 1)))
        _with_action(run, D(2027, 3, 10))
        refusal = run.refused(engine.MarkAction(on=D(2027, 3, 11), action_id=7, status="not_done"))
        assert (refusal.code, refusal.field) == ("required", "reason")
        run.do(engine.MarkAction(on=D(2027, 3, 11), action_id=7, status="not_done", reason="SW off sick"))
        detail = run.events[-1].detail
        assert isinstance(detail, events.ActionUpdated) and detail.reason == "SW off sick"
        assert run.state.actions[0].status == "not_done"
        # A closed action is not re-dated.
        assert (
            run.refused(
                engine.RedateAction(on=D(2027, 3, 11), action_id=7, due=D(2027, 3, 20), reason="x")
            ).code
            == "action_closed"
        )

    def test_a_named_outsider_owns_nothing_in_resolve(self) -> None:
        run = Run("challenge_and_resolution", today=TODAY)
        run.do(raise_(D(2027, 3, 1)))
        _with_action(run, D(2027, 3, 10), owner="")
        nobody = engine.Actor("", frozenset())
        assert (
            run.refused(engine.MarkAction(on=D(2027, 3, 2), action_id=7, status="done"), nobody).kind
            == "forbidden"
        )


class TestAgreedTimescales:
    """Seed 002: "Record the date resolution is sought by"; "a specific timescale proportionate to the
    issue". Seed 004: "It is at the discretion of the IRO/CP Chair how long they wish to remain at the
    Informal challenge stage"."""

    def test_the_chair_sets_an_earlier_response_date_never_a_later_one(self) -> None:
        run = Run("qa_issue_resolution", today=TODAY)
        run.do(raise_(D(2027, 3, 1), respond_by=D(2027, 3, 4)))
        assert run.due == D(2027, 3, 4)
        assert run.state.current is not None and run.state.current.procedure_due_on == D(2027, 3, 15)
        raised = run.events[-1].detail
        assert isinstance(raised, events.Raised) and raised.procedure_due_on == D(2027, 3, 15)
        later = Run("qa_issue_resolution", today=TODAY).refused(
            raise_(D(2027, 3, 1), respond_by=D(2027, 3, 16))
        )
        assert (later.code, later.field) == ("respond_by_after_procedure", "respond_by")
        before = Run("qa_issue_resolution", today=TODAY).refused(
            raise_(D(2027, 3, 2), respond_by=D(2027, 3, 1))
        )
        assert before.field == "respond_by"

    def test_the_informal_stage_at_the_chairs_discretion(self) -> None:
        run = Run("informal_challenge_dispute_resolution", today=TODAY)
        run.do(raise_(D(2027, 3, 1), respond_by=D(2027, 3, 3)))
        assert run.due == D(2027, 3, 3)
        run.do(engine.Escalate(on=D(2027, 3, 4), respond_by=D(2027, 3, 8)))
        assert run.due == D(2027, 3, 8)
        escalated = run.events[-1].detail
        assert isinstance(escalated, events.Escalated) and escalated.procedure_due_on == D(2027, 3, 11)


class TestAgreedExtensions:
    """An agreed extension (who agreed, why, the new date, within the procedure's maximum) moves the
    response date and is recorded as an extension, not as on time."""

    def test_extension_moves_the_due_date_and_the_overdue_day(self) -> None:
        run = Run("national", today=TODAY)
        run.do(raise_(D(2027, 3, 1)))
        due = run.due
        assert due is not None
        run.do(
            engine.ExtendDeadline(
                on=D(2027, 3, 2), due=due + dt.timedelta(days=7), reason="Court date", agreed_by=MANAGER
            )
        )
        assert run.due == due + dt.timedelta(days=7)
        assert run.state.current is not None and run.state.current.extended_from == due
        assert not engine.is_overdue(run.state.current, due + dt.timedelta(days=3), run_calendar(run))
        detail = run.events[-1].detail
        assert isinstance(detail, events.DeadlineExtended)
        assert (detail.agreed_by, detail.original_due, detail.reason) == (
            "iro_service_manager",
            due,
            "Court date",
        )
        run.do(engine.Respond(on=due + dt.timedelta(days=6), response="agree"), RECIPIENT)
        response = run.events[-1].detail
        assert isinstance(response, events.ResponseRecorded)
        assert response.on_time and response.extended

    def test_an_extension_stays_within_the_procedures_maximum(self) -> None:
        run = Run("national", today=TODAY)
        run.do(raise_(D(2027, 3, 1)))
        assert run.due is not None
        limit = run.procedure.extension_limit()
        most = run_calendar(run).add_working_days(run.due, limit)
        refusal = run.refused(
            engine.ExtendDeadline(
                on=D(2027, 3, 2), due=most + dt.timedelta(days=1), reason="r", agreed_by=MANAGER
            )
        )
        assert (refusal.code, refusal.field) == ("extension_too_long", "due")
        run.do(engine.ExtendDeadline(on=D(2027, 3, 2), due=most, reason="r", agreed_by=MANAGER))
        # A second extension counts from the procedure's date, not from the first extension.
        again = run.refused(
            engine.ExtendDeadline(
                on=D(2027, 3, 3), due=most + dt.timedelta(days=7), reason="r", agreed_by=MANAGER
            )
        )
        assert again.code == "extension_too_long"

    def test_an_extension_needs_who_agreed_why_and_a_later_date(self) -> None:
        run = Run("national", today=TODAY)
        run.do(raise_(D(2027, 3, 1)))
        assert run.due is not None
        later = run.due + dt.timedelta(days=2)
        assert (
            run.refused(engine.ExtendDeadline(on=D(2027, 3, 2), due=later, reason="r")).field == "agreed_by"
        )
        assert (
            run.refused(
                engine.ExtendDeadline(on=D(2027, 3, 2), due=later, reason=" ", agreed_by=MANAGER)
            ).field
            == "reason"
        )
        earlier = run.refused(
            engine.ExtendDeadline(on=D(2027, 3, 2), due=run.due, reason="r", agreed_by=MANAGER)
        )
        assert (earlier.code, earlier.field) == ("not_later", "due")
        assert (
            run.refused(
                engine.ExtendDeadline(on=D(2027, 3, 2), due=later, reason="r", agreed_by=MANAGER), RECIPIENT
            ).kind
            == "forbidden"
        )
        run.do(engine.Respond(on=D(2027, 3, 2), response="agree"), RECIPIENT)
        assert (
            run.refused(
                engine.ExtendDeadline(on=D(2027, 3, 2), due=later, reason="r", agreed_by=MANAGER)
            ).code
            == "already_responded"
        )

    def test_a_stage_without_a_response_date_has_nothing_to_extend(self) -> None:
        run = Run("outcome_resolution", today=TODAY)
        run.do(raise_(D(2027, 3, 1), stage="stage_5", bypass_reason="Child at risk", notify_optional=False))
        refusal = run.refused(
            engine.ExtendDeadline(on=D(2027, 3, 2), due=D(2027, 3, 9), reason="r", agreed_by=MANAGER)
        )
        assert refusal.code == "no_response_date"


class TestTheReviewThatTriggeredIt:
    """Seed 000: "STAGE 1 Trigger out of the child's review" and "IRO completes informal resolution form
    within 3 days"; seed 002: the CP Chair's "mid-point review"."""

    def test_the_chairs_own_deadline_runs_from_the_review(self) -> None:
        run = Run("outcome_resolution", today=TODAY)
        run.do(raise_(D(2027, 3, 4), review="cla_review", review_on=D(2027, 3, 1)))
        detail = run.events[-1].detail
        assert isinstance(detail, events.Raised)
        assert (detail.review, detail.review_on) == ("cla_review", D(2027, 3, 1))
        # "within 3 days": calendar days, where the Team Manager's reply is "within 3 working days".
        assert detail.chair_due_on == D(2027, 3, 4)
        assert run.procedure.stage("stage_1").chair_deadline is not None

    def test_a_procedure_without_a_chair_deadline_records_only_the_review(self) -> None:
        run = Run("qa_issue_resolution", track="cpc", today=TODAY)
        run.do(raise_(D(2027, 3, 4), review="mid_point_review", review_on=D(2027, 3, 2)))
        detail = run.events[-1].detail
        assert isinstance(detail, events.Raised)
        assert (detail.review, detail.chair_due_on) == ("mid_point_review", None)

    def test_the_review_is_checked(self) -> None:
        run = Run("national", today=TODAY)
        assert run.refused(raise_(D(2027, 3, 4), review="party", review_on=D(2027, 3, 1))).field == "review"
        assert run.refused(raise_(D(2027, 3, 4), review="cla_review")).field == "review_on"
        assert run.refused(raise_(D(2027, 3, 4), review_on=D(2027, 3, 1))).field == "review"
        after = run.refused(raise_(D(2027, 3, 4), review="cla_review", review_on=D(2027, 3, 5)))
        assert (after.code, after.field) == ("review_after_raised", "review_on")


def run_calendar(run: Run) -> WorkingCalendar:
    return calendar(run.procedure.nation)
