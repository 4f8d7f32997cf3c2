"""Action plans at any stage, agreed timescales and extensions, concerns before a challenge and the
review that triggered it, through the API and the one write path: each write's event, case note,
records and deadlines; each refusal a clear 4xx that changes nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine

from resolve.api.tests.helpers import escalate_to, raise_body, raise_challenge, refused
from resolve.challenges.models import Action, Challenge, Concern, Event, StageVisit
from resolve.children.models import CaseNote, Child
from resolve.notifications.models import Deadline, OutboxMessage
from resolve.notifications.selectors import due_dates_for_user

TODAY = "2027-03-01 10:00"  # a Monday
D = dt.date


@pytest.fixture(autouse=True)
def _today() -> Iterator[None]:
    with time_machine.travel(TODAY, tick=False):
        yield


def _last_note(child: Child) -> CaseNote:
    return CaseNote.objects.filter(child=child).order_by("-id").first()  # type: ignore[return-value]


class TestActionPlans:
    """Seed 003: "should develop an action plan within 5 working days"; "The action plan will be
    jointly developed in this meeting"; "An Action plan will be devised"."""

    def test_the_chair_adds_an_action_owned_by_a_person_in_resolve(self, api_as: Any, child: Child) -> None:
        challenge = raise_challenge(api_as("iro"), child.case_number)
        response = api_as("iro").post(
            f"/challenges/{challenge['id']}/actions",
            {"action": "Visit Amelia alone", "due": "2027-03-05", "owner_user": "social_worker"},
        )
        assert response.status_code == 200, response.content
        answer = response.json()
        (action,) = answer["actions"]
        assert (action["owner"], action["owner_user"], action["due"]) == (
            "social_worker",
            "social_worker",
            "2027-03-05",
        )
        row = Action.objects.get(pk=action["id"])
        assert row.owner_user is not None and row.owner_user.username == "social_worker"
        assert answer["events"][-1]["type"] == "action_added"
        note = _last_note(child)
        assert note.note_type == "Challenge action updated"
        assert "Action agreed: Visit Amelia alone" in note.body
        # The action's reminders are scheduled for its owner.
        assert Deadline.objects.filter(action_id=row.pk, due_on=D(2027, 3, 5)).count() == 2

    def test_a_named_outsider_is_recorded_in_words_and_owns_nothing(self, api_as: Any, child: Child) -> None:
        challenge = raise_challenge(api_as("iro"), child.case_number)
        answer = (
            api_as("iro")
            .post(
                f"/challenges/{challenge['id']}/actions",
                {
                    "action": "Send the health assessment",
                    "due": "2027-03-05",
                    "owner": "Dr A Patel, school nurse",
                },
            )
            .json()
        )
        (action,) = answer["actions"]
        assert (action["owner"], action["owner_user"]) == ("Dr A Patel, school nurse", None)

    def test_an_unknown_person_is_refused_by_name(self, api_as: Any, child: Child) -> None:
        challenge = raise_challenge(api_as("iro"), child.case_number)
        api = api_as("iro")
        refused(
            lambda: api.post(
                f"/challenges/{challenge['id']}/actions",
                {"action": "A", "due": "2027-03-05", "owner_user": "nobody_here"},
            ),
            422,
            "unknown_user",
            "owner_user",
        )
        refused(
            lambda: api.post(f"/challenges/{challenge['id']}/actions", {"action": "A", "due": "2027-03-05"}),
            422,
            "required",
            "owner",
        )
        refused(
            lambda: api.post(
                f"/challenges/{challenge['id']}/actions", {"action": "A", "due": "2027-02-26", "owner": "B"}
            ),
            422,
            "action_due_in_past",
            "due",
        )

    def test_the_recipient_may_and_others_may_not(self, api_as: Any, child: Child) -> None:
        challenge = raise_challenge(
            api_as("iro"), child.case_number
        )  # national: informal, to the social worker
        body = {"action": "Update the plan", "due": "2027-03-08", "owner": "Team"}
        assert api_as("social_worker").post(f"/challenges/{challenge['id']}/actions", body).status_code == 200
        api = api_as("service_manager")
        refused(lambda: api.post(f"/challenges/{challenge['id']}/actions", body), 403)

    def test_re_dating_moves_the_reminders(self, api_as: Any, child: Child) -> None:
        challenge = raise_challenge(
            api_as("iro"),
            child.case_number,
            actions=[{"action": "Visit", "owner": "social_worker", "due": "2027-03-05"}],
        )
        action_id = challenge["actions"][0]["id"]
        assert Action.objects.get(pk=action_id).owner_user is not None  # an account's username is that person
        path = f"/challenges/{challenge['id']}/actions/{action_id}/due-date"
        api = api_as("iro")
        refused(lambda: api.post(path, {"due": "2027-03-12", "reason": ""}), 422, "required", "reason")
        answer = api.post(path, {"due": "2027-03-12", "reason": "The child is away"}).json()
        assert answer["actions"][0]["due"] == "2027-03-12"
        assert answer["events"][-1]["detail"]["from_due"] == "2027-03-05"
        unfired = Deadline.objects.filter(action_id=action_id, fired_at__isnull=True)
        assert set(unfired.values_list("due_on", flat=True)) == {D(2027, 3, 12)}
        assert "re-dated from 5 March 2027 to 12 March 2027" in _last_note(child).body

    def test_closing_not_done_asks_for_a_reason(self, api_as: Any, child: Child) -> None:
        challenge = raise_challenge(
            api_as("iro"),
            child.case_number,
            actions=[{"action": "Visit", "owner": "Team", "due": "2027-03-05"}],
        )
        action_id = challenge["actions"][0]["id"]
        api = api_as("iro")
        path = f"/challenges/{challenge['id']}/actions/{action_id}/closing"
        refused(lambda: api.post(path, {"status": "not_done"}), 422, "required", "reason")
        answer = api.post(path, {"status": "not_done", "reason": "Worker on leave"}).json()
        assert (answer["actions"][0]["status"], answer["actions"][0]["status_reason"]) == (
            "not_done",
            "Worker on leave",
        )
        assert "Reason: Worker on leave" in _last_note(child).body

    def test_actions_are_agreed_while_a_resolved_challenge_is_monitored(
        self, api_as: Any, child: Child
    ) -> None:
        challenge = raise_challenge(api_as("iro"), child.case_number)
        api = api_as("iro")
        assert api.post(f"/challenges/{challenge['id']}/resolution", {"outcome": "Agreed"}).status_code == 200
        answer = api.post(
            f"/challenges/{challenge['id']}/actions",
            {"action": "Review", "due": "2027-03-29", "owner": "IRO"},
        ).json()
        assert answer["status"] == "resolved" and len(answer["actions"]) == 1
        # A resolved challenge's open action is watched for the re-open prompt.
        assert Deadline.objects.filter(action_id=answer["actions"][0]["id"], trigger="reopen_prompt").exists()

    def test_only_a_person_owner_is_an_owner_in_scoping_and_feeds(
        self, api_as: Any, authority: Any, child: Child
    ) -> None:
        """Issue 10: action owners resolved as people. An owner recorded only in words (as older rows
        were) owns nothing, even when the words are someone's username; the person named by
        ``owner_user`` may close their action and sees it in their calendar feed."""
        challenge = raise_challenge(
            api_as("iro"),
            child.case_number,
            actions=[
                {"action": "Visit", "owner": "Team", "due": "2027-03-05"},
                {"action": "Report", "owner_user": "principal_social_worker", "due": "2027-03-05"},
            ],
        )
        words, person = Action.objects.filter(challenge_id=challenge["id"]).order_by("id")
        assert words.owner_user_id is None and person.owner_user == authority.staff["principal_social_worker"]
        Action.objects.filter(pk=words.pk).update(owner="principal_social_worker")  # words alike a username
        outsider = api_as("principal_social_worker")
        refused(
            lambda: outsider.post(f"/challenges/{challenge['id']}/actions/{words.pk}", {"status": "done"}),
            403,
        )
        feed = due_dates_for_user(user=authority.staff["principal_social_worker"])
        assert [item.uid for item in feed if item.uid.startswith("action-")] == [
            f"action-{person.pk}-2027-03-05@resolve"
        ]
        closed = outsider.post(f"/challenges/{challenge['id']}/actions/{person.pk}", {"status": "done"})
        assert closed.status_code == 200, closed.content

    def test_a_response_date_is_in_the_feed_of_whom_the_stage_sends_to_or_copies_not_whom_it_tells(
        self, api_as: Any, authority: Any, child: Child
    ) -> None:
        """The current stage's recipients and those copied in owe or follow its response; those it only
        tells do not (each as the stage names them, seen in their own feed)."""
        # Seed 003's "STAGE 3 (5 Days)": sent to the HoS (Safeguarding), the IRO/CPC Service Manager
        # copied in; the HoS "should then discuss the matter with their counterpart", who is told.
        raised = raise_challenge(api_as("iro"), child.case_number, "challenge_and_resolution")
        challenge = escalate_to(api_as("iro"), raised, "stage_3")
        visit = StageVisit.objects.get(challenge_id=challenge["id"], left_on__isnull=True)
        uid = f"challenge-{challenge['id']}-{visit.stage_key}-{challenge['stage']['due_on']}@resolve"
        named = {*visit.to_users, *visit.cc_users}
        told = set(visit.notify_users) - named - {"iro"}  # the IRO chairs it: theirs in any case
        assert named and told, "the stage names no one to check"
        for username in named | told:
            feed = {item.uid for item in due_dates_for_user(user=authority.staff[username])}
            assert (uid in feed) == (username in named), username

    def test_the_feed_holds_the_earliest_dates_of_every_kind_up_to_its_bound(
        self, api_as: Any, authority: Any, child: Child
    ) -> None:
        """At most ``most`` dates, the earliest first, whichever kind each is: each kind is read only
        as far as the bound."""
        raised = [
            raise_challenge(
                api_as("iro"),
                child.case_number,
                actions=[{"action": "Visit", "owner_user": "iro", "due": due}],
            )
            for due in ("2027-03-10", "2027-03-01")  # the later first: read in date order, not as added
        ]
        iro = authority.staff["iro"]
        whole = [(item.on.isoformat(), item.uid.split("-")[0]) for item in due_dates_for_user(user=iro)]
        # Two actions and two responses (due 2027-03-08, on the informal stage), in date order.
        assert whole == sorted(whole) and len(whole) == 4
        assert [kind for _, kind in whole] == ["action", "challenge", "challenge", "action"], whole
        for most in (1, 2, 3):
            shown = [
                (item.on.isoformat(), item.uid.split("-")[0])
                for item in due_dates_for_user(user=iro, most=most)
            ]
            assert shown == whole[:most], most
        assert {item.challenge.pk for item in due_dates_for_user(user=iro)} == {c["id"] for c in raised}

    def test_dates_on_one_day_are_cut_where_each_kind_was_read(
        self, api_as: Any, authority: Any, child: Child
    ) -> None:
        """Twelve actions due on one day (ids past 9, which sort otherwise as text): the feed cut at
        any bound is the start of the whole feed."""
        raise_challenge(
            api_as("iro"),
            child.case_number,
            actions=[{"action": f"Visit {n}", "owner_user": "iro", "due": "2027-03-02"} for n in range(12)],
        )
        iro = authority.staff["iro"]
        whole = [item.uid for item in due_dates_for_user(user=iro)]
        assert len(whole) == 13  # and the response date
        for most in (1, 2, 10, 12):
            assert [item.uid for item in due_dates_for_user(user=iro, most=most)] == whole[:most], most

    def test_an_action_is_in_the_calendar_feed_of_its_challenges_chair_only(
        self, api_as: Any, authority: Any, child: Child
    ) -> None:
        """The child has an IRO and a conference chair. An action owned by someone else is in the feed
        of whoever chairs its challenge: the IRO on the IRO track, the conference chair on the CP
        track (seed 004: "the IRO/CP Chair"), never the other."""
        uids: dict[str, str] = {}
        for track, chair in (("iro", "iro"), ("cpc", "cp_chair")):
            challenge = raise_challenge(
                api_as(chair),
                child.case_number,
                track=track,
                actions=[{"action": "Visit", "owner_user": "social_worker", "due": "2027-03-05"}],
            )
            (action,) = Action.objects.filter(challenge_id=challenge["id"])
            uids[chair] = f"action-{action.pk}-2027-03-05@resolve"
        for chair, other in (("iro", "cp_chair"), ("cp_chair", "iro")):
            feed = {item.uid for item in due_dates_for_user(user=authority.staff[chair])}
            assert uids[chair] in feed and uids[other] not in feed, chair
        owner_feed = {item.uid for item in due_dates_for_user(user=authority.staff["social_worker"])}
        assert set(uids.values()) <= owner_feed


class TestAgreedTimescales:
    """Seed 002: "Record the date resolution is sought by"; "a specific timescale proportionate to the
    issue". Seed 004: "It is at the discretion of the IRO/CP Chair how long they wish to remain at the
    Informal challenge stage"."""

    def test_an_earlier_response_date_is_the_stages_due_date(self, api_as: Any, child: Child) -> None:
        challenge = raise_challenge(api_as("iro"), child.case_number, respond_by="2027-03-03")
        assert challenge["stage"]["due_on"] == "2027-03-03"
        assert challenge["stage"]["procedure_due_on"] == "2027-03-08"
        assert Challenge.objects.get(pk=challenge["id"]).stage_due_on == D(2027, 3, 3)
        api = api_as("iro")
        refused(
            lambda: api.post("/challenges", raise_body(child.case_number, respond_by="2027-03-09")),
            422,
            "respond_by_after_procedure",
            "respond_by",
        )

    def test_an_agreed_extension_moves_the_due_date_reminders_and_overdue_day(
        self, api_as: Any, child: Child
    ) -> None:
        challenge = raise_challenge(api_as("iro"), child.case_number)
        assert challenge["stage"]["due_on"] == "2027-03-08"
        path = f"/challenges/{challenge['id']}/extensions"
        api = api_as("iro")
        refused(lambda: api.post(path, {"due": "2027-03-15", "reason": "Court", "agreed_by": "ghost"}), 422)
        refused(
            lambda: api.post(
                path, {"due": "2027-06-15", "reason": "Court", "agreed_by": "iro_service_manager"}
            ),
            422,
            "extension_too_long",
            "due",
        )
        refused(
            lambda: api_as("social_worker").post(
                path, {"due": "2027-03-15", "reason": "Court", "agreed_by": "iro_service_manager"}
            ),
            403,
        )
        answer = api.post(
            path, {"due": "2027-03-15", "reason": "Court hearing", "agreed_by": "iro_service_manager"}
        )
        assert answer.status_code == 200, answer.content
        stage = answer.json()["stage"]
        assert (stage["due_on"], stage["extended"], stage["original_due_on"]) == (
            "2027-03-15",
            True,
            "2027-03-08",
        )
        visit = StageVisit.objects.get(challenge_id=challenge["id"])
        assert (visit.due_on, visit.extended_from) == (D(2027, 3, 15), D(2027, 3, 8))
        unfired = Deadline.objects.filter(challenge_id=challenge["id"], fired_at__isnull=True, action=None)
        assert {row.due_on for row in unfired if row.trigger.startswith("response")} == {D(2027, 3, 15)}
        note = _last_note(child)
        assert note.note_type == "Challenge response date extended"
        assert "agreed by iro_service_manager" in note.body
        event = Event.objects.filter(challenge_id=challenge["id"]).order_by("-sequence").first()
        assert event is not None and event.type == "deadline_extended"
        # The stage's "To" and copies are told of the new date.
        told = OutboxMessage.objects.filter(kind="deadline_extended").first()
        assert told is not None
        # By name in the message (issue 13); the case note above keeps the account, as evidence.
        assert "as agreed by Sam Mensah." in told.body
        # Not overdue on the old due date's next working day; a response by the new date is within an
        # extension, counted apart from on time.
        with time_machine.travel("2027-03-09 10:00", tick=False):
            assert api.get(f"/challenges/{challenge['id']}").json()["stage"]["overdue"] is False
            assert api.get("/challenges", overdue="true").json()["count"] == 0
            answered = api_as("social_worker").post(
                f"/challenges/{challenge['id']}/responses", {"response": "agree"}
            )
            assert answered.json()["events"][-1]["detail"]["extended"] is True
            assert answered.json()["visits"][0]["extended"] is True


class TestConcernsAndTriggers:
    """Seed 001: "Any concerns will be identified by IRO in telephone call/email to SW or TM and
    recorded as Case Note – Independent Reviewing Officer"; seed 000: "STAGE 1 Trigger out of the
    child's review" and "IRO completes informal resolution form within 3 days"; seed 002: the CP
    Chair's "mid-point review"."""  # noqa: RUF002 (the seed's own dash)

    def test_a_concern_is_recorded_as_the_case_note_the_procedure_names(
        self, api_as: Any, child: Child
    ) -> None:
        response = api_as("iro").post(
            f"/children/{child.case_number}/concerns",
            {
                "track": "iro",
                "policy": "cla_dispute_resolution",
                "concern": "Pathway plan not updated",
                "review": "midway_review",
                "review_on": "2027-02-25",
            },
        )
        assert response.status_code == 201, response.content
        concern = response.json()
        assert (concern["review"], concern["review_on"], concern["challenge"]) == (
            "midway_review",
            "2027-02-25",
            None,
        )
        note = _last_note(child)
        assert note.note_type == "Case Note – Independent Reviewing Officer"  # noqa: RUF001
        assert note.challenge_id is None
        assert "Identified at the Midway review of 25 February 2027." in note.body
        assert not Challenge.objects.exists()

    def test_a_concern_becomes_a_challenge_that_carries_it(self, api_as: Any, child: Child) -> None:
        api = api_as("iro")
        concern = api.post(
            f"/children/{child.case_number}/concerns",
            {
                "track": "iro",
                "policy": "outcome_resolution",
                "concern": "Statutory visits overdue",
                "review": "cla_review",
                "review_on": "2027-02-26",
            },
        ).json()
        assert concern["chair_due_on"] == "2027-03-01"  # "within 3 days" of Friday's review
        challenge = raise_challenge(
            api, child.case_number, "outcome_resolution", concern="", concern_id=concern["id"]
        )
        assert challenge["from_concern"] == concern["id"]
        assert challenge["concern"] == "Statutory visits overdue"
        assert (challenge["trigger_review"], challenge["trigger_review_on"]) == ("cla_review", "2027-02-26")
        assert (challenge["chair_due_on"], challenge["chair_on_time"]) == ("2027-03-01", True)
        listed = api.get(f"/children/{child.case_number}/concerns").json()
        assert listed[0]["challenge"] == challenge["id"]
        refused(
            lambda: api.post(
                "/challenges", raise_body(child.case_number, "outcome_resolution", concern_id=concern["id"])
            ),
            409,
            "concern_carried",
            "concern_id",
        )

    def test_every_challenge_records_the_review_that_triggered_it(self, api_as: Any, child: Child) -> None:
        challenge = raise_challenge(
            api_as("cp_chair"),
            child.case_number,
            "qa_issue_resolution",
            track="cpc",
            review="mid_point_review",
            review_on="2027-02-24",
        )
        assert (challenge["trigger_review"], challenge["trigger_review_on"]) == (
            "mid_point_review",
            "2027-02-24",
        )
        assert challenge["chair_due_on"] is None
        plain = raise_challenge(api_as("iro"), child.case_number)
        assert plain["trigger_review"] is None
        # So reports can count challenges by trigger.
        api = api_as("iro_service_manager")
        by_review = api.get("/challenges", trigger_review="mid_point_review").json()
        assert [row["id"] for row in by_review["results"]] == [challenge["id"]]
        assert by_review["results"][0]["trigger_review"] == "mid_point_review"
        assert [row["id"] for row in api.get("/challenges", trigger_review="none").json()["results"]] == [
            plain["id"]
        ]

    def test_only_the_childs_chair_records_a_concern_and_bad_input_is_named(
        self, api_as: Any, child: Child
    ) -> None:
        path = f"/children/{child.case_number}/concerns"
        body = {"track": "iro", "concern": "Plan drift"}
        refused(lambda: api_as("cp_chair").post(path, body), 403)
        refused(lambda: api_as("team_manager").post(path, body), 403)
        api = api_as("iro")
        refused(
            lambda: api.post(path, {**body, "review": "party", "review_on": "2027-02-01"}),
            422,
            field="review",
        )
        refused(lambda: api.post(path, {**body, "review": "cla_review"}), 422, field="review_on")
        refused(lambda: api.post(path, {**body, "concern": " "}), 422, field="concern")
        assert not Concern.objects.exists()
