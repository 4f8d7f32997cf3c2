"""Happy paths through the API for every shipped procedure: each write adds exactly one event and one case
note of the type the procedure names. Due dates across weekends and bank holidays. The list's filters."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine

from resolve.api.tests.helpers import (
    COMPLETE_BRIEFING,
    PROCEDURES,
    agree,
    challenge_counts,
    escalate_to,
    procedure,
    raise_body,
    raise_challenge,
    refused,
)
from resolve.challenges import services
from resolve.challenges.models import Challenge, Event
from resolve.children.models import CaseNote
from resolve.notifications.models import OutboxMessage
from resolve.testing.agreements import REFERRAL_CHECKLIST

TODAY = "2026-06-10 10:00"


class Recorder:
    """Makes writes and checks each one added exactly one event and one case note of the expected type."""

    def __init__(self, api_as: Any) -> None:
        self.api_as = api_as

    def write(
        self,
        who: str,
        path: str,
        body: dict[str, Any],
        event: str,
        note: str,
        stage: str | None = None,
        status: int = 200,
    ) -> dict[str, Any]:
        cid = int(path.split("/")[2]) if path != "/challenges" else None
        before = challenge_counts(cid) if cid else None
        notes_before = CaseNote.objects.count()
        events_before = Event.objects.count()
        response = self.api_as(who).post(path, body)
        assert response.status_code == status, response.content
        answer = response.json()
        cid = answer["id"]
        version, events, notes = challenge_counts(cid)
        assert Event.objects.count() == events_before + 1
        assert CaseNote.objects.count() == notes_before + 1
        if before is not None:
            assert version == before[0] + 1
            assert events == before[1] + 1
            assert notes == before[2] + 1
        last = answer["events"][-1]
        assert last["type"] == event, answer["events"]
        assert last["by"] == who
        if stage is not None:
            assert last["stage"] == stage
        case_note = CaseNote.objects.filter(challenge_id=cid).order_by("-id").first()
        assert case_note is not None
        assert case_note.note_type == note, (case_note.note_type, note)
        assert case_note.author is not None and case_note.author.get_username() == who
        assert case_note.on.isoformat() == last["on"]
        assert case_note.body.strip()
        return answer


def _briefing_if_needed(stage: Any) -> dict[str, Any]:
    return {"directors_briefing": COMPLETE_BRIEFING} if "directors_briefing" in stage.documents else {}


@time_machine.travel(TODAY, tick=False)
@pytest.mark.parametrize("key", PROCEDURES)
def test_full_journey(api_as, child, key):
    pol = procedure(key)
    rec = Recorder(api_as)
    first = pol.stages[0]
    theme = [pol.themes[0].key] if pol.themes else []
    current = rec.write(
        "iro",
        "/challenges",
        raise_body(
            child.case_number,
            key,
            themes=theme,
            actions=[{"action": "Visit Amelia", "owner": "social_worker", "due": "2026-06-30"}],
        ),
        "raised",
        first.case_note,
        first.key,
        status=201,
    )
    cid = current["id"]
    assert current["stage"]["key"] == first.key
    assert current["stage"]["to_users"] == [first.to_role]
    assert current["status"] == "open" and current["version"] == 1
    for index, stage in enumerate(pol.stages):
        assert current["stage"]["key"] == stage.key
        assert current["stage"]["to_role"] == stage.to_role
        assert current["stage"]["cc_roles"] == list(stage.cc_roles)
        assert stage.to_role is not None  # the authority's own ladders: every stage goes to a role
        current = rec.write(
            stage.to_role,
            f"/challenges/{cid}/responses",
            {"response": "disagree", "comments": "Cannot agree"},
            "response_recorded",
            stage.case_note,
            stage.key,
        )
        assert current["stage"]["response"] == "disagree"
        if index + 1 < len(pol.stages):
            target = pol.stages[index + 1]
            current = rec.write(
                "iro",
                f"/challenges/{cid}/escalations",
                {
                    "reason": "No agreement",
                    **_briefing_if_needed(target),
                    # Seed 000: "Consideration given to notifying Chief Executive", answered either way.
                    **({"notify_optional": True} if target.optional_notify_roles else {}),
                },
                "escalated",
                target.case_note,
                target.key,
            )
            if target.kind == "formal" and current["formal_started_on"] is None:
                pytest.fail("the formal clock did not start")
    last = pol.stages[-1]
    if last.meeting is not None and last.meeting.required:
        current = rec.write(
            "iro",
            f"/challenges/{cid}/meetings",
            {"summary": "Met with the Director"},
            "meeting_recorded",
            pol.case_notes.meeting,
            last.key,
        )
    current = rec.write(
        "iro",
        f"/challenges/{cid}/resolution",
        {"outcome": "Plan agreed", "learning_points": "Escalate sooner"},
        "resolved",
        last.resolved_case_note or pol.resolution.case_note,
        last.key,
    )
    assert current["status"] == "resolved" and current["stage"] is None
    action_id = current["actions"][0]["id"]
    current = rec.write(
        "iro",
        f"/challenges/{cid}/actions/{action_id}",
        {"status": "not_done"},
        "action_updated",
        pol.case_notes.action,
    )
    assert current["actions"][0]["status"] == "not_done"
    if pol.resolution.final_comments_role:
        who = pol.resolution.final_comments_role
        current = rec.write(
            who,
            f"/challenges/{cid}/final-comments",
            {"comments": "Well handled"},
            "final_comments_added",
            f"{pol.resolution.case_note}: final comments",
        )
    reentry = pol.reentry_for(last.key)
    current = rec.write(
        "iro",
        f"/challenges/{cid}/reopening",
        {"reason": "Actions not delivered"},
        "reopened",
        pol.case_notes.reopened,
        reentry,
    )
    assert current["status"] == "open" and current["stage"]["key"] == reentry
    current = rec.write(
        "iro",
        f"/challenges/{cid}/withdrawal",
        {"reason": "Child moved to another authority"},
        "withdrawn",
        pol.case_notes.withdrawn,
        reentry,
    )
    assert current["status"] == "withdrawn" and current["stage"] is None
    chronology = api_as("iro").get(f"/children/{child.case_number}/chronology").json()
    assert [e["type"] for e in chronology] == [e["type"] for e in current["events"]]


@time_machine.travel(TODAY, tick=False)
@pytest.mark.parametrize(
    ("leave", "reentry"),
    [
        ("informal", "informal"),
        ("stage_1", "stage_2"),
        ("stage_2", "stage_2"),
        ("stage_3", "stage_3"),
        ("stage_4", "stage_3"),
    ],
)
def test_challenge_and_resolution_reentry(api_as, child, leave, reentry):
    iro = api_as("iro")
    made = raise_challenge(iro, child.case_number, "challenge_and_resolution")
    at = escalate_to(iro, made, leave)
    if leave == "stage_4":
        iro.post(f"/challenges/{at['id']}/meetings", {"summary": "Joint meeting overseen by the DCS"})
    resolved = iro.post(f"/challenges/{at['id']}/resolution", {"outcome": "Action plan"})
    assert resolved.status_code == 200, resolved.content
    reopened = iro.post(f"/challenges/{at['id']}/reopening", {"reason": "Actions not implemented"}).json()
    assert reopened["stage"]["key"] == reentry
    assert reopened["events"][-1]["detail"]["last_exited_stage"] == leave
    assert reopened["events"][-1]["detail"]["reentry_stage"] == reentry
    assert reopened["stage"]["entered_on"] == "2026-06-10"
    assert reopened["stage"]["due_on"] is not None


@time_machine.travel(TODAY, tick=False)
def test_reentry_goes_back_from_the_stage_last_exited_even_after_a_withdrawal_reopen_cycle(api_as, child):
    iro = api_as("iro")
    made = raise_challenge(iro, child.case_number, "challenge_and_resolution")
    at_four = escalate_to(iro, made, "stage_4")
    iro.post(f"/challenges/{at_four['id']}/meetings", {"summary": "Met"})
    iro.post(f"/challenges/{at_four['id']}/resolution", {"outcome": "Plan"})
    again = iro.post(f"/challenges/{at_four['id']}/reopening", {"reason": "Not done"}).json()
    assert again["stage"]["key"] == "stage_3"
    iro.post(f"/challenges/{at_four['id']}/resolution", {"outcome": "Plan 2"})
    third = iro.post(f"/challenges/{at_four['id']}/reopening", {"reason": "Still not done"}).json()
    assert third["stage"]["key"] == "stage_3"


# -- Cafcass referrals meeting each procedure's preconditions -------------------------------------
CAFCASS: dict[str, tuple[str, dict[str, Any]]] = {
    "national": ("informal", {}),
    "informal_challenge_dispute_resolution": ("stage_1", {}),
    "outcome_resolution": ("stage_1", {"urgent": True}),
    "cla_dispute_resolution": (
        "stage_3",
        {
            "checklist": {"previous_forms_released": True},
            "preconditions": {
                "cpru_service_manager_agrees": "iro_service_manager",
                "service_director_meeting_requested": "service_director",
            },
        },
    ),
    "qa_issue_resolution": (
        "stage_2",
        {
            "checklist": {"iro_report": True, "court_reference": False},
            "preconditions": {"deputy_director_informed": "deputy_director"},
        },
    ),
    "challenge_and_resolution": (
        "stage_1",
        {
            "urgent": True,
            "checklist": dict(REFERRAL_CHECKLIST),
            "preconditions": {
                "service_manager_approval": "iro_service_manager",
                "hos_safeguarding_approval": "head_of_safeguarding",
            },
        },
    ),
}


@time_machine.travel(TODAY, tick=False)
@pytest.mark.parametrize("key", PROCEDURES)
def test_cafcass_referral_meeting_the_procedures_preconditions(api_as, child, key):
    pol = procedure(key)
    stage, extra = CAFCASS[key]
    made = raise_challenge(api_as("iro"), child.case_number, key)
    at = escalate_to(api_as("iro"), made, stage)
    # Seeds 001, 002, 003: each person is asked (or told) in Resolve before the referral.
    for precondition in pol.cafcass.requires:
        person = extra["preconditions"][precondition.key]
        agree(api_as, at["id"], precondition.key, person, answer="confirmed" * (precondition.kind == "agree"))
    answer = Recorder(api_as).write(
        pol.cafcass.form_completed_by or "iro",
        f"/challenges/{at['id']}/cafcass-referral",
        {"reason": "The child's timetable cannot wait", **extra},
        "cafcass_referred",
        pol.cafcass.case_note,
        stage,
    )
    assert answer["cafcass_referred_on"] == "2026-06-10"
    assert (
        answer["status"] == "open" and answer["stage"]["key"] == stage
    )  # the challenge stays open alongside
    detail = answer["events"][-1]["detail"]
    assert detail["preconditions"] == extra.get("preconditions", {})
    # and it can still go on
    assert (
        api_as("iro").post(f"/challenges/{at['id']}/withdrawal", {"reason": "Cafcass took it on"}).status_code
        == 200
    )


@time_machine.travel(TODAY, tick=False)
@pytest.mark.parametrize(
    ("key", "late_stage"), [("outcome_resolution", "stage_5"), ("challenge_and_resolution", "stage_4")]
)
def test_cafcass_at_the_late_stage_needs_no_urgency(api_as, child, key, late_stage):
    _stage, extra = CAFCASS[key]
    made = raise_challenge(api_as("iro"), child.case_number, key)
    at = escalate_to(api_as("iro"), made, late_stage)
    for precondition in procedure(key).cafcass.requires:
        agree(api_as, at["id"], precondition.key, extra["preconditions"][precondition.key])
    body = {"reason": "Unresolved at the top", **{k: v for k, v in extra.items() if k != "urgent"}}
    response = api_as("iro").post(f"/challenges/{at['id']}/cafcass-referral", body)
    assert response.status_code == 200, response.content
    assert response.json()["events"][-1]["detail"]["urgent"] is False


# -- actions ---------------------------------------------------------------------------------------
@time_machine.travel(TODAY, tick=False)
def test_mark_actions_done_by_chair_and_recipient(api_as, child):
    pol = procedure("national")
    made = raise_challenge(
        api_as("iro"),
        child.case_number,
        actions=[
            {"action": "Visit", "owner": "social_worker", "due": "2026-06-10"},
            {"action": "Update plan", "owner": "team_manager", "due": "2026-06-20"},
        ],
    )
    first, second = (action["id"] for action in made["actions"])
    rec = Recorder(api_as)
    answer = rec.write(
        "social_worker",
        f"/challenges/{made['id']}/actions/{first}",
        {"status": "done"},
        "action_updated",
        pol.case_notes.action,
        "informal",
    )
    assert [a["status"] for a in answer["actions"]] == ["done", "open"]
    assert answer["events"][-1]["detail"]["late"] is False
    answer = rec.write(
        "iro",
        f"/challenges/{made['id']}/actions/{second}",
        {"status": "not_done"},
        "action_updated",
        pol.case_notes.action,
    )
    assert [a["status"] for a in answer["actions"]] == ["done", "not_done"]
    # An action may be marked again (it was done after all).
    answer = rec.write(
        "iro",
        f"/challenges/{made['id']}/actions/{second}",
        {"status": "done"},
        "action_updated",
        pol.case_notes.action,
    )
    assert [a["status"] for a in answer["actions"]] == ["done", "done"]


@time_machine.travel("2026-06-25 10:00", tick=False)
def test_action_marked_after_its_due_date_is_late(api_as, child):
    made = raise_challenge(
        api_as("iro"),
        child.case_number,
        on="2026-06-10",
        actions=[{"action": "Visit", "owner": "social_worker", "due": "2026-06-12"}],
    )
    answer = api_as("iro").post(
        f"/challenges/{made['id']}/actions/{made['actions'][0]['id']}", {"status": "done"}
    )
    assert answer.json()["events"][-1]["detail"]["late"] is True


# -- due dates ------------------------------------------------------------------------------------
@time_machine.travel("2026-12-21 10:00", tick=False)
def test_due_date_over_christmas(api_as, child):
    body = raise_challenge(api_as("iro"), child.case_number)  # national informal: 5 working days
    assert body["stage"]["entered_on"] == "2026-12-21"
    assert body["stage"]["due_on"] == "2026-12-30"
    escalated = api_as("iro").post(f"/challenges/{body['id']}/escalations", {}).json()
    assert escalated["stage"]["due_on"] == "2026-12-30"
    assert escalated["formal_started_on"] == "2026-12-21"
    assert escalated["formal_due_on"] == "2027-01-21"  # 20 working days, past New Year's Day


@time_machine.travel("2027-03-25 10:00", tick=False)
def test_due_date_over_easter_2027(api_as, child):
    body = raise_challenge(api_as("iro"), child.case_number)
    assert body["stage"]["due_on"] == "2027-04-05"  # Good Friday 26 and Easter Monday 29 March skipped
    rotherham = raise_challenge(api_as("iro"), child.case_number, "challenge_and_resolution")
    assert rotherham["stage"]["due_on"] == "2027-04-12"  # 10 working days


@time_machine.travel("2026-06-10 10:00", tick=False)
def test_due_date_of_a_backdated_raise_counts_from_the_on_date(api_as, child):
    body = raise_challenge(
        api_as("iro"), child.case_number, on="2026-05-22"
    )  # Friday before the spring bank holiday
    assert body["stage"]["entered_on"] == "2026-05-22"
    assert body["stage"]["due_on"] == "2026-06-01"
    assert body["stage"]["overdue"] is True


@pytest.mark.parametrize(
    ("start", "days", "nation", "date"),
    [
        ("2026-12-21", 5, "england-and-wales", "2026-12-30"),
        ("2027-03-25", 1, "england-and-wales", "2027-03-30"),
        ("2027-03-25", 5, "england-and-wales", "2027-04-05"),
        ("2026-06-13", 1, "england-and-wales", "2026-06-15"),  # Saturday start: Monday is day 1
        ("2026-06-14", 1, "england-and-wales", "2026-06-15"),  # Sunday start
        ("2026-06-13", 5, "england-and-wales", "2026-06-19"),
        ("2026-06-10", 0, "england-and-wales", "2026-06-10"),
        ("2025-12-31", 1, "scotland", "2026-01-05"),  # 1 and 2 January
        ("2025-12-31", 1, "england-and-wales", "2026-01-02"),
        ("2026-11-27", 1, "scotland", "2026-12-01"),  # St Andrew's Day, Monday 30 November 2026
        ("2026-11-27", 1, "england-and-wales", "2026-11-30"),
        ("2025-11-28", 1, "scotland", "2025-12-02"),  # substitute for Sunday 30 November 2025
        ("2026-03-16", 1, "northern-ireland", "2026-03-18"),  # St Patrick's Day
        ("2026-03-16", 1, "england-and-wales", "2026-03-17"),
        ("2027-07-09", 1, "northern-ireland", "2027-07-13"),  # 12 July 2027 is a Monday
        ("2027-07-09", 1, "england-and-wales", "2027-07-12"),
        ("2026-07-10", 1, "northern-ireland", "2026-07-14"),  # 12 July 2026 is a Sunday: Monday 13 substitute
    ],
)
def test_calendar_add_working_days(api_as, start, days, nation, date):
    response = api_as("iro").get("/calendar/add-working-days", start=start, days=days, nation=nation)
    assert response.status_code == 200, response.content
    assert response.json() == {
        **response.json(),
        "start": start,
        "days": days,
        "nation": nation,
        "date": date,
    }


@time_machine.travel("2026-06-10 10:00", tick=False)
def test_late_response_is_recorded_as_late(api_as, child):
    made = raise_challenge(api_as("iro"), child.case_number, on="2026-06-01")  # due Monday 8 June
    answer = api_as("social_worker").post(f"/challenges/{made['id']}/responses", {"response": "agree"}).json()
    assert answer["events"][-1]["detail"]["on_time"] is False
    assert answer["stage"]["overdue"] is False  # answered, so no longer overdue
    on_time = raise_challenge(api_as("iro"), child.case_number, on="2026-06-01")
    answer = (
        api_as("social_worker")
        .post(f"/challenges/{on_time['id']}/responses", {"response": "no_remit", "on": "2026-06-08"})
        .json()
    )
    assert answer["events"][-1]["detail"]["on_time"] is True


# -- the list --------------------------------------------------------------------------------------
@pytest.fixture
def population(api_as, child):
    """Challenges in every state, seen from Wednesday 10 June 2026."""
    iro = api_as("iro")
    api_as("admin").post(
        "/children",
        {
            "case_number": "LCS100002",
            "first_name": "Noah",
            "last_name": "Evans",
            "date_of_birth": "2013-07-07",
            "social_worker": "social_worker",
            "iro": "iro",
            "cp_chair": "cp_chair",
        },
    )
    made = {}
    made["overdue"] = raise_challenge(iro, child.case_number, on="2026-06-01")  # due 8 June, unanswered
    made["answered"] = raise_challenge(iro, child.case_number, on="2026-06-01")
    api_as("social_worker").post(f"/challenges/{made['answered']['id']}/responses", {"response": "disagree"})
    made["fresh"] = raise_challenge(iro, child.case_number, on="2026-06-09")
    made["escalated"] = raise_challenge(iro, "LCS100002", on="2026-06-02")
    iro.post(
        f"/challenges/{made['escalated']['id']}/escalations", {"on": "2026-06-03"}
    )  # stage_1 due 10 June
    made["resolved"] = raise_challenge(iro, child.case_number, on="2026-05-01")
    iro.post(f"/challenges/{made['resolved']['id']}/resolution", {"outcome": "Done", "on": "2026-05-05"})
    made["withdrawn"] = raise_challenge(iro, "LCS100002", on="2026-05-01")
    iro.post(f"/challenges/{made['withdrawn']['id']}/withdrawal", {"reason": "Error", "on": "2026-05-05"})
    made["cpc"] = raise_challenge(api_as("cp_chair"), child.case_number, track="cpc", on="2026-05-20")
    return {name: body["id"] for name, body in made.items()}


def _ids(api: Any, **params: Any) -> set[int]:
    response = api.get("/challenges", **params)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == len(body["results"])
    return {item["id"] for item in body["results"]}


@time_machine.travel(TODAY, tick=False)
def test_list_filters(api_as, population):
    iro = api_as("iro")
    p = population
    assert _ids(iro) == set(p.values())
    assert _ids(iro, status="open") == {p["overdue"], p["answered"], p["fresh"], p["escalated"], p["cpc"]}
    assert _ids(iro, status="resolved") == {p["resolved"]}
    assert _ids(iro, status="withdrawn") == {p["withdrawn"]}
    assert _ids(iro, overdue="true") == {p["overdue"], p["cpc"]}
    assert _ids(iro, overdue="false") == set(p.values()) - {p["overdue"], p["cpc"]}
    assert _ids(iro, child="LCS100002") == {p["escalated"], p["withdrawn"]}
    assert _ids(iro, child="LCS999999") == set()
    assert _ids(iro, stage="stage_1") == {p["escalated"]}
    assert _ids(iro, stage="informal") == {p["overdue"], p["answered"], p["fresh"], p["cpc"]}
    assert _ids(iro, stage="informal", overdue="true", child="LCS100001") == {p["overdue"], p["cpc"]}
    assert _ids(iro, status="resolved", overdue="true") == set()


@time_machine.travel(TODAY, tick=False)
def test_overdue_flag_in_every_answer(api_as, population):
    iro = api_as("iro")
    results = {item["id"]: item for item in iro.get("/challenges").json()["results"]}
    assert {cid for cid, item in results.items() if item["overdue"]} == {
        population["overdue"],
        population["cpc"],
    }
    assert iro.get(f"/challenges/{population['overdue']}").json()["stage"]["overdue"] is True
    # due today is not yet overdue
    escalated = iro.get(f"/challenges/{population['escalated']}").json()
    assert escalated["stage"]["due_on"] == "2026-06-10" and escalated["stage"]["overdue"] is False
    child = iro.get("/children/LCS100001").json()
    assert {c["id"] for c in child["challenges"] if c["overdue"]} == {
        population["overdue"],
        population["cpc"],
    }


@time_machine.travel(TODAY, tick=False)
def test_list_is_scoped_to_what_the_user_can_see(api_as, population):
    assert _ids(api_as("social_worker_2")) == set()
    assert _ids(api_as("team_manager_2")) == set()
    assert _ids(api_as("social_worker")) == set(population.values())
    assert _ids(api_as("director")) == set(population.values())


@time_machine.travel(TODAY, tick=False)
def test_pagination(api_as, authority, child):
    iro = authority.staff["iro"]
    for _ in range(51):
        services.challenge_raise(
            user=iro, child=child, track="iro", concern="c", impact_on_child="i", procedure_key="national"
        )
    api = api_as("iro")
    first = api.get("/challenges").json()
    assert (first["count"], first["page"], first["pages"], len(first["results"])) == (51, 1, 2, 50)
    second = api.get("/challenges", page=2).json()
    assert (second["count"], second["page"], second["pages"], len(second["results"])) == (51, 2, 2, 1)
    ids = [item["id"] for item in first["results"] + second["results"]]
    assert len(set(ids)) == 51 == Challenge.objects.count()
    assert api.get("/challenges", page=3).json()["results"] == []
    filtered = api.get("/challenges", page=1, status="resolved").json()
    assert (filtered["count"], filtered["pages"], filtered["results"]) == (0, 1, [])


def test_the_directors_briefing_can_be_read(api_as, child, authority, client):
    """Seed 002 Appendix B: "the Director's briefing note must also be completed". It is served in the
    API, shown on the challenge page to those who may see the challenge, and linked from the message
    that takes the stage to the Director."""
    iro = api_as("iro")
    made = raise_challenge(iro, child.case_number, "qa_issue_resolution")
    at_director = escalate_to(iro, made, "stage_3_level_4", directors_briefing=COMPLETE_BRIEFING)
    documents = api_as("director").get(f"/challenges/{at_director['id']}/documents").json()
    assert documents and {document["kind"] for document in documents} == {"directors_briefing"}
    fields = {field["key"]: field["value"] for field in documents[-1]["fields"]}
    assert fields["incident"] == "No statutory visit for 12 weeks"
    assert fields["case_number"] == child.case_number
    assert api_as("social_worker").get(f"/challenges/{at_director['id']}/documents").status_code == 200
    message = OutboxMessage.objects.get(kind="stage_sent", recipient__username="director")
    assert f"/challenges/{at_director['id']}/#directors-briefing" in message.body
    client.force_login(authority.staff["director"])
    page = client.get(f"/challenges/{at_director['id']}/").content.decode()
    assert 'id="directors-briefing"' in page and "No statutory visit for 12 weeks" in page


def test_the_directors_briefing_is_not_served_outside_the_readers_scope(api_as, child, authority):
    iro = api_as("iro")
    made = raise_challenge(iro, child.case_number, "qa_issue_resolution")
    escalate_to(iro, made, "stage_3_level_4", directors_briefing=COMPLETE_BRIEFING)
    # The second team's manager sees none of this child's records.
    assert api_as("team_manager_2").get(f"/challenges/{made['id']}/documents").status_code == 404


def test_the_raising_case_note_records_concern_impact_preferred_solution_and_timescale(api_as, child):
    """Seed 004's challenge records "the concern, the impact on the child", and seed 002 asks for "a
    specific timescale proportionate to the issue": the raising case note says all of them."""
    made = raise_challenge(
        api_as("iro"), child.case_number, desired_outcome="A visit this week and a plan by Friday"
    )
    note = CaseNote.objects.filter(challenge_id=made["id"]).order_by("id").first()
    assert note is not None
    assert "Concern: No statutory visit for twelve weeks" in note.body
    assert "Impact on the child: Amelia has not been seen alone" in note.body
    assert "Preferred solution: A visit this week and a plan by Friday" in note.body
    assert "Response due by" in note.body


def test_the_stages_recipient_adds_key_learning_points(api_as, child):
    """Seed 002 5.1: "the IRO/CPC and the social work team complete the 'Outcome of issue requiring
    resolution' and 'Key learning points' section of the form to capture learning"."""
    iro = api_as("iro")
    made = raise_challenge(iro, child.case_number, "qa_issue_resolution")
    path = f"/challenges/{made['id']}/learning-points"
    response = api_as("social_worker").post(path, {"learning_points": "Visits slipped when cover changed"})
    assert response.status_code == 200, response.content
    assert api_as("iro").post(path, {"learning_points": "Escalate sooner"}).status_code == 200
    body = iro.get(f"/challenges/{made['id']}").json()
    assert body["learning_points"] == "Visits slipped when cover changed\nEscalate sooner"
    assert [event["type"] for event in body["events"]][-2:] == ["learning_points_added"] * 2
    note = CaseNote.objects.filter(challenge_id=made["id"]).order_by("-id").first()
    assert note is not None and note.body == "Key learning points: Escalate sooner"
    refused(lambda: api_as("social_worker").post(path, {"learning_points": " "}), 422, "required")
    # Someone unrelated to the challenge (the second team's manager cannot even see it) cannot add any.
    assert api_as("team_manager_2").post(path, {"learning_points": "x"}).status_code == 404
