"""Each seed procedure, line by line, through the pure engine (no database).

Dates are chosen to cross weekends and bank holidays: Christmas 2026 (Friday 25 December, Boxing
Day substitute Monday 28 December), New Year 2027 (Friday 1 January) and Easter 2027 (Good Friday
26 March, Easter Monday 29 March).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

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
# The CPRU Service Manager of seed 001, who completes the Cafcass referral form.
CPRU_SM = engine.Actor("sm", frozenset({engine.CHAIR_MANAGER, engine.CAFCASS_FORM}))


class TestSeed000OutcomeResolution:
    """Seed 000: informal to SW & TM (TM replies in 3 WD), then Service Manager, Senior Manager and
    Assistant Director at 4 WD each, then the DCS; IRO can refer at any stage."""

    def test_informal_team_manager_responds_within_3_working_days_across_christmas(self) -> None:
        run = Run("outcome_resolution", today=TODAY)
        run.do(raise_(D(2026, 12, 23)))
        assert run.stage == "stage_1"
        # Thursday 24, then Tuesday 29 and Wednesday 30 (25 and 28 December are bank holidays).
        assert run.due == D(2026, 12, 30)
        assert run.procedure.stage("stage_1").to_role == "team_manager"
        assert run.procedure.stage("stage_1").cc_roles == ["social_worker"]

    def test_ladder_timescales_and_copies(self) -> None:
        run = Run("outcome_resolution", today=TODAY)
        run.do(raise_(D(2026, 12, 21)))
        run.do(engine.Respond(on=D(2026, 12, 22), response="no_remit"), RECIPIENT)
        run.do(engine.Escalate(on=D(2026, 12, 24)))
        assert (run.stage, run.due) == (
            "stage_2",
            D(2027, 1, 4),
        )  # 29, 30, 31 Dec, 4 Jan (1 Jan is a holiday)
        assert run.state.formal_started_on == D(2026, 12, 24)
        run.do(engine.Escalate(on=D(2027, 3, 24)))
        # Thursday 25 March, then Good Friday and Easter Monday are skipped: 30, 31 March, 1 April.
        assert (run.stage, run.due) == ("stage_3", D(2027, 4, 1))
        run.do(engine.Escalate(on=D(2027, 4, 1)))
        assert (run.stage, run.due) == ("stage_4", D(2027, 4, 7))
        assert run.procedure.stage("stage_4").cc_roles == [
            "iro_team_manager",
            "iro_service_manager",
            "iro_senior_manager",
        ]
        # "Consideration given to notifying Chief Executive": the chair must say, either way.
        refused = run.refused(engine.Escalate(on=D(2027, 4, 7)))
        assert (refused.code, refused.field) == ("optional_notify_required", "notify_optional")
        run.do(engine.Escalate(on=D(2027, 4, 7), notify_optional=True))
        assert (run.stage, run.due) == ("stage_5", None)
        assert run.state.visits[-1].extra_notify_roles == ("chief_executive",)
        assert run.procedure.stage("stage_5").to_role == "director"
        refused = run.refused(engine.Escalate(on=D(2027, 4, 8)))
        assert refused.code == "last_stage"

    def test_the_three_responses(self) -> None:
        assert set(engine.RESPONSES) == {"agree", "disagree", "no_remit"}
        assert engine.RESPONSES["no_remit"] == "Do not have the remit to implement"

    def test_iro_can_refer_at_any_stage_without_agreement(self) -> None:
        run = Run("outcome_resolution", today=TODAY)
        run.do(raise_(D(2027, 1, 4), stage="stage_4", bypass_reason="Placement breaking down tonight"))
        assert run.stage == "stage_4"
        raised = run.events[-1].detail
        assert isinstance(raised, events.Raised)
        assert raised.bypassed == ("stage_1", "stage_2", "stage_3")

    def test_cafcass_before_dcs_only_if_urgent(self) -> None:
        run = Run("outcome_resolution", today=TODAY)
        run.do(raise_(D(2027, 1, 4)))
        refused = run.refused(engine.ReferToCafcass(on=D(2027, 1, 5), reason="Human rights breach"))
        assert refused.code == "cafcass_urgency_required"
        run.do(engine.ReferToCafcass(on=D(2027, 1, 5), reason="Human rights breach", urgent=True))
        assert run.state.cafcass_referred_on == D(2027, 1, 5)
        assert run.state.status == "open"  # alongside the internal process

    def test_cafcass_after_dcs_without_urgency(self) -> None:
        run = Run("outcome_resolution", today=TODAY)
        run.do(
            raise_(
                D(2027, 1, 4), stage="stage_5", bypass_reason="Exhausted informally", notify_optional=False
            )
        )
        run.do(engine.ReferToCafcass(on=D(2027, 1, 6), reason="DCS did not resolve"))


class TestSeed001ClaDisputeResolution:
    def test_informal_team_manager_5_working_days(self) -> None:
        run = Run("cla_dispute_resolution", today=TODAY)
        run.do(raise_(D(2026, 12, 21)))
        assert (run.stage, run.due) == ("informal", D(2026, 12, 30))

    def test_iro_track_only(self) -> None:
        run = Run("cla_dispute_resolution", track="cpc", today=TODAY)
        assert run.refused(raise_(D(2026, 12, 21))).code == "track_not_in_policy"

    def test_bypass_only_after_discussion_with_service_manager(self) -> None:
        run = Run("cla_dispute_resolution", today=TODAY)
        command = raise_(D(2027, 2, 1), stage="stage_2", bypass_reason="Urgent")
        assert run.refused(command).code == "bypass_agreement_required"
        wrong = raise_(
            D(2027, 2, 1),
            stage="stage_2",
            bypass_reason="Urgent",
            bypass_agreed_by=person("tm", "team_manager"),
        )
        assert run.refused(wrong).code == "bypass_agreement_wrong_role"
        right = raise_(
            D(2027, 2, 1),
            stage="stage_2",
            bypass_reason="Urgent",
            bypass_agreed_by=person("sm", "iro_service_manager"),
        )
        run.do(right)
        assert run.stage == "stage_2"

    def test_stage_2_is_resolved_at_a_meeting_chaired_by_the_cpru_service_manager(self) -> None:
        run = Run("cla_dispute_resolution", today=TODAY)
        run.do(raise_(D(2027, 2, 1)))
        run.do(engine.Escalate(on=D(2027, 2, 8)))
        run.do(engine.Escalate(on=D(2027, 2, 15)))
        assert (run.stage, run.due) == ("stage_2", D(2027, 2, 22))
        meeting = run.procedure.stage("stage_2").meeting
        assert meeting is not None and meeting.required and meeting.chair_role == "iro_service_manager"
        assert meeting.actions_recorded_within_hours == 24
        assert run.refused(engine.Resolve(on=D(2027, 2, 17), outcome="Agreed")).code == "meeting_required"
        run.do(engine.RecordMeeting(on=D(2027, 2, 17), summary="Plan agreed"))
        run.do(engine.Resolve(on=D(2027, 2, 17), outcome="Agreed"))
        assert run.state.status == "resolved"

    def test_head_of_service_stage_has_no_timescale_and_notifies_psw_and_service_director(self) -> None:
        run = Run("cla_dispute_resolution", today=TODAY)
        run.do(
            raise_(
                D(2027, 2, 1),
                stage="stage_3",
                bypass_reason="x",
                bypass_agreed_by=person("sm", "iro_service_manager"),
            )
        )
        assert run.due is None
        assert set(run.procedure.stage("stage_3").notify_roles) == {
            "principal_social_worker",
            "service_director",
        }

    def test_cafcass_is_stage_4_after_head_of_service(self) -> None:
        run = Run("cla_dispute_resolution", today=TODAY)
        run.do(raise_(D(2027, 2, 1)))
        run.do(engine.Escalate(on=D(2027, 2, 2)))
        referral = engine.ReferToCafcass(
            on=D(2027, 2, 3), reason="Unresolved", checklist={"previous_forms_released": True}
        )
        # "the CPRU Service Manager will complete the Form CLA Resolution Stage 4 - Referral to CAFCASS"
        assert run.procedure.cafcass.form_completed_by == "iro_service_manager"
        assert run.refused(referral, CPRU_SM).code == "cafcass_too_early"
        run.do(engine.Escalate(on=D(2027, 2, 3)))
        run.do(engine.Escalate(on=D(2027, 2, 4)))
        assert run.stage == "stage_3"
        referral = dataclasses.replace(referral, on=D(2027, 2, 4))
        assert run.refused(referral).code == "not_allowed"  # the IRO does not complete the form
        assert run.refused(referral, CPRU_SM).code == "cafcass_precondition_missing"
        # "a meeting should be requested to be held with Service Director": sent, no answer needed.
        run.agree(
            "cafcass",
            "service_director_meeting_requested",
            person("sd", "service_director"),
            D(2027, 2, 4),
            "",
        )
        refused = run.refused(referral, CPRU_SM)
        assert refused.field == "preconditions.cpru_service_manager_agrees"
        # "the issues remain unresolved in the view of IRO and CPRU Service Manager": they confirm.
        run.agree(
            "cafcass", "cpru_service_manager_agrees", person("sm", "iro_service_manager"), D(2027, 2, 4)
        )
        run.do(referral, CPRU_SM)
        referred = run.events[-1].detail
        assert isinstance(referred, events.CafcassReferred)
        assert referred.preconditions == {
            "service_director_meeting_requested": "sd",
            "cpru_service_manager_agrees": "sm",
        }


class TestSeed002QaIssueResolution:
    def test_informal_to_social_worker_copy_team_manager_10_working_days(self) -> None:
        run = Run("qa_issue_resolution", today=TODAY)
        run.do(raise_(D(2026, 12, 21)))
        stage = run.procedure.stage("stage_1")
        assert (stage.to_role, stage.cc_roles, stage.kind) == ("social_worker", ["team_manager"], "informal")
        assert run.due == D(2027, 1, 7)

    def test_dispute_levels_and_directors_briefing(self) -> None:
        run = Run("qa_issue_resolution", today=TODAY)
        run.do(raise_(D(2027, 3, 1)))
        run.do(engine.Escalate(on=D(2027, 3, 2)))
        assert (run.stage, run.due) == ("stage_2", D(2027, 3, 9))
        # "Not a linear process": straight to level 3 with a reason, nobody's agreement needed.
        run.do(engine.Escalate(on=D(2027, 3, 22), to_stage="stage_3_level_3", reason="Serious"))
        assert (run.stage, run.due) == ("stage_3_level_3", D(2027, 3, 31))  # over Easter
        assert run.procedure.stage("stage_3_level_3").to_role == "deputy_director"
        refused = run.refused(engine.Escalate(on=D(2027, 4, 1)))
        assert refused.code == "document_required" and refused.field == "directors_briefing"
        run.do(engine.Escalate(on=D(2027, 4, 1), documents=frozenset({"directors_briefing"})))
        assert (run.stage, run.due) == ("stage_3_level_4", None)

    def test_resolution_needs_key_learning_points(self) -> None:
        run = Run("qa_issue_resolution", today=TODAY)
        run.do(raise_(D(2027, 3, 1)))
        refused = run.refused(engine.Resolve(on=D(2027, 3, 2), outcome="Visit done"))
        assert refused.field == "learning_points"
        run.do(engine.Resolve(on=D(2027, 3, 2), outcome="Visit done", learning_points="Diary visits"))

    def test_cafcass_iro_only_after_informing_deputy_director(self) -> None:
        run = Run("qa_issue_resolution", today=TODAY)
        run.do(raise_(D(2027, 3, 1)))
        checklist = {"iro_report": True, "court_reference": False}
        assert run.refused(
            engine.ReferToCafcass(on=D(2027, 3, 2), reason="r", checklist=checklist)
        ).field == ("preconditions.deputy_director_informed")
        # "prior to making a referral, the IRO must inform the Deputy Director": telling them is
        # enough (they need not answer), and it is recorded before the referral.
        assert run.procedure.cafcass.requires[0].kind == "inform"
        run.agree("cafcass", "deputy_director_informed", person("dd", "deputy_director"), D(2027, 3, 2), "")
        told = {"deputy_director_informed": person("dd", "deputy_director")}
        missing = run.refused(
            engine.ReferToCafcass(on=D(2027, 3, 2), reason="r", checklist={}, preconditions=told)
        )
        assert missing.code == "checklist_incomplete"
        no_report = {"iro_report": False, "court_reference": True}
        refused = run.refused(
            engine.ReferToCafcass(on=D(2027, 3, 2), reason="r", checklist=no_report, preconditions=told)
        )
        assert refused.code == "checklist_item_required"
        run.do(engine.ReferToCafcass(on=D(2027, 3, 2), reason="r", checklist=checklist, preconditions=told))

    def test_cp_chairs_cannot_refer(self) -> None:
        run = Run("qa_issue_resolution", track="cpc", today=TODAY)
        run.do(raise_(D(2027, 3, 1)))
        refused = run.refused(engine.ReferToCafcass(on=D(2027, 3, 2), reason="r"))
        assert refused.code == "cafcass_iro_only" and refused.kind == "conflict"


class TestSeed003ChallengeAndResolution:
    def _at(self, stage: str) -> Run:
        run = Run("challenge_and_resolution", today=TODAY)
        sm = person("sm", "iro_service_manager")
        run.do(raise_(D(2027, 1, 4), stage=stage, bypass_reason="Acute", bypass_agreed_by=sm))
        return run

    def test_stage_timescales(self) -> None:
        run = self._at("stage_4")
        assert run.due == D(2027, 1, 18)  # 10 working days
        for key, days in (("informal", 10), ("stage_1", 5), ("stage_2", 5), ("stage_3", 5), ("stage_4", 10)):
            assert run.procedure.stage(key).response_working_days == days

    def test_reentry_stage_2_reverts_to_stage_2(self) -> None:
        run = self._at("stage_2")
        run.do(engine.Resolve(on=D(2027, 1, 6), outcome="Plan agreed"))
        run.do(engine.Reopen(on=D(2027, 2, 1), reason="Actions not delivered"))
        assert (run.stage, run.due) == ("stage_2", D(2027, 2, 8))

    def test_reentry_stages_3_and_4_revert_to_stage_3(self) -> None:
        run = self._at("stage_3")
        run.do(engine.Resolve(on=D(2027, 1, 6), outcome="Upheld"))
        run.do(engine.Reopen(on=D(2027, 2, 1), reason="Not delivered"))
        assert run.stage == "stage_3"
        run = self._at("stage_4")
        run.do(engine.RecordMeeting(on=D(2027, 1, 11), summary="DCS decided on balance"))
        run.do(engine.Resolve(on=D(2027, 1, 11), outcome="DCS decision"))
        run.do(engine.Reopen(on=D(2027, 2, 1), reason="Not effective"))
        assert run.stage == "stage_3"

    def test_stage_4_closes_at_the_joint_meeting(self) -> None:
        run = self._at("stage_4")
        assert run.refused(engine.Resolve(on=D(2027, 1, 5), outcome="x")).code == "meeting_required"

    def test_cafcass_needs_service_manager_and_hos_safeguarding_approval_and_the_checklist(self) -> None:
        run = self._at("stage_4")
        rules = run.procedure.cafcass
        assert len(rules.checklist) == 7
        assert [item.required for item in rules.checklist] == [False, False, True, True, False, True, True]
        checklist = {item.key: item.required for item in rules.checklist}
        approvals = {item.key: person(item.key, item.role) for item in rules.requires}
        assert {item.role for item in rules.requires} == {"iro_service_manager", "head_of_safeguarding"}
        # "Such a step would require the oversight and approval of the Service Manager and HoS for
        # Safeguarding": each is asked in Resolve and confirms; a decline does not count.
        first, second = rules.requires
        run.agree("cafcass", first.key, approvals[first.key], D(2027, 1, 5))
        run.agree("cafcass", second.key, approvals[second.key], D(2027, 1, 5), "declined")
        refused = run.refused(
            engine.ReferToCafcass(on=D(2027, 1, 5), reason="Acute", checklist=checklist), CHAIR
        )
        assert refused.field == f"preconditions.{second.key}"
        run.agree("cafcass", second.key, approvals[second.key], D(2027, 1, 5))
        run.do(
            engine.ReferToCafcass(
                on=D(2027, 1, 5), reason="Acute", checklist=checklist, preconditions=approvals
            )
        )

    def test_cafcass_before_stage_4_needs_a_case_that_it_is_acute(self) -> None:
        run = self._at("stage_1")
        checklist = {item.key: True for item in run.procedure.cafcass.checklist}
        command = engine.ReferToCafcass(on=D(2027, 1, 5), reason="Acute", checklist=checklist)
        assert run.refused(command).code == "cafcass_urgency_required"

    def test_final_comments_by_the_iro_service_manager(self) -> None:
        run = self._at("stage_2")
        run.do(engine.Resolve(on=D(2027, 1, 6), outcome="Agreed"))
        assert run.refused(engine.AddFinalComments(on=D(2027, 1, 7), comments="Good")).code == "not_allowed"
        run.do(engine.AddFinalComments(on=D(2027, 1, 7), comments="Good"), CHAIR_MANAGER)
        assert run.refused(
            engine.AddFinalComments(on=D(2027, 1, 8), comments="Again"), CHAIR_MANAGER
        ).code == ("final_comments_exist")


class TestSeed004InformalChallengeDisputeResolution:
    def test_formal_stages_2_to_4_within_20_working_days(self) -> None:
        run = Run("informal_challenge_dispute_resolution", today=TODAY)
        run.do(raise_(D(2026, 12, 14)))
        assert run.state.formal_started_on is None  # the informal stage is not counted
        run.do(engine.Escalate(on=D(2026, 12, 21)))
        assert run.state.formal_started_on == D(2026, 12, 21)
        # 20 working days from 21 December 2026 skip 25, 28 December and 1 January.
        assert run.state.formal_due_on == D(2027, 1, 21)
        assert run.procedure.formal_cap_working_days == 20

    def test_each_stage_aims_for_5_working_days_and_the_director_decides_at_a_meeting(self) -> None:
        procedure = Run("informal_challenge_dispute_resolution", today=TODAY).procedure
        assert [stage.response_working_days for stage in procedure.stages] == [5, 5, 5, 5]
        assert procedure.stage("stage_3").to_role == "assistant_director"
        meeting = procedure.stage("stage_4").meeting
        assert meeting is not None and meeting.required

    def test_cafcass_at_any_point_for_iros(self) -> None:
        run = Run("informal_challenge_dispute_resolution", today=TODAY)
        run.do(raise_(D(2027, 1, 4)))
        run.do(engine.ReferToCafcass(on=D(2027, 1, 4), reason="Human rights"))


class TestRulesEveryProcedureShares:
    def test_dates_never_in_the_future_nor_before_the_previous_event(self) -> None:
        run = Run("national", today=D(2027, 1, 4))
        assert run.refused(raise_(D(2027, 1, 5))).code == "date_in_future"
        run.do(raise_(D(2027, 1, 4)))
        run.today = D(2027, 1, 10)
        assert run.refused(engine.Escalate(on=D(2027, 1, 3))).code == "date_before_previous_event"

    def test_who_may_do_what(self) -> None:
        run = Run("national", today=TODAY)
        assert run.refused(raise_(D(2027, 1, 4)), SOCIAL_WORKER).kind == "forbidden"
        run.do(raise_(D(2027, 1, 4)))
        assert run.refused(engine.Escalate(on=D(2027, 1, 5)), SOCIAL_WORKER).kind == "forbidden"
        assert run.refused(engine.Respond(on=D(2027, 1, 5), response="agree")).kind == "forbidden"
        run.do(engine.Respond(on=D(2027, 1, 5), response="agree"), RECIPIENT)
        run.do(engine.Escalate(on=D(2027, 1, 6)), CHAIR_MANAGER)

    def test_escalation_goes_up_only(self) -> None:
        run = Run("national", today=TODAY)
        run.do(raise_(D(2027, 1, 4), stage="stage_2", bypass_reason="Serious"))
        assert run.refused(engine.Escalate(on=D(2027, 1, 5), to_stage="stage_1")).code == "not_a_later_stage"
        assert run.refused(engine.Escalate(on=D(2027, 1, 5), to_stage="nope")).code == "unknown_stage"
        assert (
            run.refused(engine.Escalate(on=D(2027, 1, 5), to_stage="stage_4")).code
            == "bypass_reason_required"
        )

    def test_withdrawn_is_final(self) -> None:
        run = Run("national", today=TODAY)
        run.do(raise_(D(2027, 1, 4)))
        run.do(engine.Withdraw(on=D(2027, 1, 5), reason="Child moved authority"))
        assert run.refused(engine.Reopen(on=D(2027, 1, 6), reason="x")).code == "not_resolved"
        assert run.refused(engine.Escalate(on=D(2027, 1, 6))).code == "not_open"

    def test_overdue_only_without_a_response_after_the_due_date(self) -> None:
        run = Run("national", today=TODAY)
        run.do(raise_(D(2027, 1, 4)))
        assert run.due == D(2027, 1, 11)
        cal = calendar()
        assert not engine.is_overdue(run.state.current, D(2027, 1, 11), cal)
        assert engine.is_overdue(run.state.current, D(2027, 1, 12), cal)
        run.do(engine.Respond(on=D(2027, 1, 12), response="disagree"), RECIPIENT)
        assert not engine.is_overdue(run.state.current, D(2027, 1, 13), cal)
        response = run.events[-1].detail
        assert isinstance(response, events.ResponseRecorded)
        assert response.on_time is False

    def test_a_date_outside_the_calendar_is_refused_not_crashed(self) -> None:
        run = Run("national", today=TODAY)
        refused = run.refused(raise_(D(1999, 12, 31)))
        assert (refused.code, refused.field) == ("date_out_of_range", "on")


class TestSeed003ReentryAndBypassReading:
    def test_stage_1_moves_directly_to_the_next_stage_when_actions_are_not_delivered(self) -> None:
        run = Run("challenge_and_resolution", today=TODAY)
        run.do(raise_(D(2027, 1, 4), stage="stage_1", bypass_reason="Serious"))  # no agreement needed
        run.do(engine.Resolve(on=D(2027, 1, 6), outcome="Plan agreed"))
        run.do(engine.Reopen(on=D(2027, 2, 1), reason="Actions not implemented"))
        assert run.stage == "stage_2"

    def test_reopening_starts_a_fresh_resolution(self) -> None:
        run = Run("challenge_and_resolution", today=TODAY)
        run.do(raise_(D(2027, 1, 4)))
        run.do(engine.Resolve(on=D(2027, 1, 5), outcome="Agreed"))
        run.do(engine.AddFinalComments(on=D(2027, 1, 6), comments="Good"), CHAIR_MANAGER)
        run.do(engine.Reopen(on=D(2027, 1, 7), reason="Not delivered"))
        run.do(engine.Resolve(on=D(2027, 1, 8), outcome="Agreed again"))
        run.do(engine.AddFinalComments(on=D(2027, 1, 8), comments="Second time"), CHAIR_MANAGER)


class TestActions:
    def test_the_owner_and_the_childs_social_work_team_may_mark_an_action(self) -> None:
        run = Run("national", today=TODAY)
        run.do(raise_(D(2027, 1, 4), actions=(engine.NewAction("Visit", "sophie", D(2027, 1, 20)),)))
        owner = engine.Actor("sophie", frozenset())
        run.do(engine.MarkAction(on=D(2027, 1, 5), action_id=1, status="done"), owner)
        worker = engine.Actor("social_worker", frozenset({engine.CHILD_WORKER}))
        run.do(engine.MarkAction(on=D(2027, 1, 6), action_id=1, status="not_done", reason="No visit"), worker)
        stranger = engine.Actor("someone", frozenset())
        assert run.refused(
            engine.MarkAction(on=D(2027, 1, 6), action_id=1, status="done"), stranger
        ).kind == ("forbidden")

    def test_an_action_due_beyond_the_calendar_is_refused(self) -> None:
        run = Run("national", today=TODAY)
        refused = run.refused(
            raise_(D(2027, 1, 4), actions=(engine.NewAction("Visit", "sw", D(9999, 12, 31)),))
        )
        assert (refused.code, refused.field) == ("date_out_of_range", "actions[0].due")


class TestOverdueCountsWorkingDays:
    def test_a_response_due_on_friday_is_overdue_on_monday_not_at_the_weekend(self) -> None:
        run = Run("national", today=TODAY)
        run.do(raise_(D(2026, 11, 13)))  # Friday: due Friday 20 November
        assert run.due == D(2026, 11, 20)
        cal = calendar()
        assert not engine.is_overdue(run.state.current, D(2026, 11, 22), cal)  # Sunday
        assert engine.is_overdue(run.state.current, D(2026, 11, 23), cal)  # Monday

    def test_over_christmas_the_first_working_day_after_is_the_day(self) -> None:
        run = Run("outcome_resolution", today=TODAY)
        run.do(raise_(D(2026, 12, 21)))  # 3 working days: due Thursday 24 December
        assert run.due == D(2026, 12, 24)
        cal = calendar()
        assert not engine.is_overdue(run.state.current, D(2026, 12, 28), cal)  # Boxing Day substitute
        assert engine.is_overdue(run.state.current, D(2026, 12, 29), cal)
