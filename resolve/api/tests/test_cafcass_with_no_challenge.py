"""A referral to Cafcass with no challenge, through the API and the one write path: the record, the case
note on the child's record, the messages, the evidence; the procedure's preconditions, completer and
checklist as for a challenge's referral; each refusal a clear 4xx that changes nothing.

Seed 000: "Alongside or out with the Outcome Resolution the IRO can consider whether to make a
referral to Cafcass". Seed 004: "Should the IRO/CP Chair be dissatisfied by the outcome a referral to
CAFCASS can be made" (the law gives the power to IROs only: s25B Children Act 1989).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import time_machine

from resolve.api.tests.helpers import raise_challenge, refused
from resolve.audit.verify import verify_all
from resolve.challenges.models import Agreement, CafcassReferral
from resolve.children.models import CaseNote, Child
from resolve.notifications.models import Kind, OutboxMessage

TODAY = "2027-03-01 10:00"  # a Monday

SEED_000 = (
    "Alongside or out with the Outcome Resolution the IRO can consider whether to make a referral to Cafcass"
)
SEED_004 = "Should the IRO/CP Chair be dissatisfied by the outcome a referral to CAFCASS can be made"
SEED_003 = (
    "Such a step would require the oversight and approval of the Service Manager and HoS for Safeguarding."
)


@pytest.fixture(autouse=True)
def _today() -> Iterator[None]:
    with time_machine.travel(TODAY, tick=False):
        yield


def _path(child: Child, tail: str = "cafcass-referrals") -> str:
    return f"/children/{child.case_number}/{tail}"


def _recipients(kind: str) -> set[str]:
    return set(OutboxMessage.objects.filter(kind=kind).values_list("recipient__username", flat=True))


class TestOutWithTheOutcomeResolution:
    """Seed 000 (outcome_resolution): no preconditions; before stage 5 a referral curtails the process."""

    @pytest.fixture(autouse=True)
    def _procedure(self, settings: Any) -> None:
        settings.RESOLVE_DEFAULT_POLICY = "outcome_resolution"

    def test_the_iro_refers_the_childs_case_with_no_challenge(self, api_as: Any, child: Child) -> None:
        assert SEED_000
        iro = api_as("iro")
        body = {"reason": "The plan for permanence has drifted for a year.", "urgent": True}
        response = iro.post(_path(child), body)
        assert response.status_code == 201, response.content
        answer = response.json()
        assert (answer["challenge"], answer["policy"], answer["urgent"], answer["by"]) == (
            None,
            "outcome_resolution",
            True,
            "iro",
        )
        row = CafcassReferral.objects.get(pk=answer["id"])
        assert row.challenge is None and row.child == child
        assert row.policy is not None and row.policy.key == "outcome_resolution"
        # Recorded as evidence: a case note on the child's record, of the type the procedure names.
        note = CaseNote.objects.filter(child=child).order_by("-id").first()
        assert note is not None and note.challenge is None
        assert note.note_type == "Referral to Cafcass"
        assert "With no challenge" in note.body and "permanence has drifted" in note.body
        # Told as a challenge's referral tells: the IRO Service Manager and the Head of Safeguarding.
        assert _recipients(Kind.CAFCASS_REFERRED) == {"iro_service_manager", "head_of_safeguarding"}
        message = OutboxMessage.objects.filter(kind=Kind.CAFCASS_REFERRED).first()
        assert message is not None and message.link == f"/children/{child.case_number}/cafcass-referral/"
        # Sealed into the child's records chain, which verifies.
        assert list(verify_all()) == []
        listed = iro.get(_path(child)).json()
        assert [item["id"] for item in listed] == [answer["id"]]

    def test_without_a_challenge_the_referral_must_be_marked_urgent(self, api_as: Any, child: Child) -> None:
        """Seed 000: "the matter will be of sufficient urgency that the dispute resolution process needs
        to be curtailed based on the timetable for the child"."""
        error = refused(
            lambda: api_as("iro").post(_path(child), {"reason": "Drift."}),
            422,
            "cafcass_urgency_required",
            "urgent",
        )
        assert "mark it urgent" in error["message"]

    def test_a_challenge_referral_and_one_with_none_are_both_listed(self, api_as: Any, child: Child) -> None:
        iro = api_as("iro")
        challenge = raise_challenge(iro, child.case_number, "outcome_resolution")
        assert (
            iro.post(
                f"/challenges/{challenge['id']}/cafcass-referral", {"reason": "Urgent.", "urgent": True}
            ).status_code
            == 200
        )
        assert iro.post(_path(child), {"reason": "A second matter.", "urgent": True}).status_code == 201
        listed = iro.get(_path(child)).json()
        assert [item["challenge"] for item in listed] == [challenge["id"], None]

    def test_bad_input_is_named_and_changes_nothing(self, api_as: Any, child: Child) -> None:
        iro = api_as("iro")
        refused(lambda: iro.post(_path(child), {"reason": " ", "urgent": True}), 422, "required", "reason")
        refused(
            lambda: iro.post(_path(child), {"reason": "x", "urgent": True, "on": "2027-03-02"}),
            422,
            "date_in_future",
            "on",
        )
        refused(
            lambda: iro.post(_path(child), {"reason": "x", "urgent": True, "checklist": {"nope": True}}),
            422,
            "unknown_checklist_item",
            "checklist",
        )
        refused(lambda: iro.post(_path(child), {"reason": "x", "extra": 1}), 422)
        refused(lambda: api_as("social_worker").post(_path(child), {"reason": "x", "urgent": True}), 403)
        refused(lambda: iro.post("/children/NOPE/cafcass-referrals", {"reason": "x", "urgent": True}), 404)


class TestDissatisfiedByTheOutcome:
    """Seed 004 (informal_challenge_dispute_resolution): no urgency asked, no preconditions; IROs only."""

    @pytest.fixture(autouse=True)
    def _procedure(self, settings: Any) -> None:
        settings.RESOLVE_DEFAULT_POLICY = "informal_challenge_dispute_resolution"

    def test_the_iro_refers_and_a_cp_chair_is_refused_with_the_law(self, api_as: Any, child: Child) -> None:
        assert SEED_004
        error = refused(
            lambda: api_as("cp_chair").post(_path(child), {"reason": "Dissatisfied by the outcome."}),
            403,
            "cafcass_iro_only",
        )
        assert "CP Chairs have no such power" in error["message"]
        refused(
            lambda: api_as("cp_chair").post(
                _path(child, "cafcass-agreement-requests"),
                {"key": "x", "person": "iro_service_manager", "note": "n"},
            ),
            403,
            "cafcass_iro_only",
        )
        response = api_as("iro").post(_path(child), {"reason": "Dissatisfied by the outcome."})
        assert response.status_code == 201, response.content
        assert response.json()["urgent"] is False


class TestAgreementsAsForAChallenge:
    """Seed 003 (challenge_and_resolution): the Service Manager's and the HoS for Safeguarding's
    approval, asked in Resolve and confirmed by each of them before the referral is recorded."""

    @pytest.fixture(autouse=True)
    def _procedure(self, settings: Any) -> None:
        settings.RESOLVE_DEFAULT_POLICY = "challenge_and_resolution"

    PEOPLE = {
        "service_manager_approval": "iro_service_manager",
        "hos_safeguarding_approval": "head_of_safeguarding",
    }

    def _ask_and_confirm(self, api_as: Any, child: Child) -> None:
        for key, username in self.PEOPLE.items():
            asked = api_as("iro").post(
                _path(child, "cafcass-agreement-requests"),
                {"key": key, "person": username, "note": "The issue is acute; the ladder would delay."},
            )
            assert asked.status_code == 201, asked.content
            number = asked.json()["number"]
            answered = api_as(username).post(
                _path(child, f"cafcass-agreement-requests/{number}/answer"), {"answer": "confirmed"}
            )
            assert answered.status_code == 200, answered.content
            assert answered.json()["status"] == "confirmed"

    def test_the_referral_waits_for_each_confirmation(self, api_as: Any, child: Child) -> None:
        assert SEED_003
        required = ("review_records", "iro_report", "professional_contacts", "recent_care_plan")
        optional = ("care_order_and_care_plan", "guardian_report", "wishes_and_feelings")
        checklist = {**dict.fromkeys(required, True), **dict.fromkeys(optional, False)}
        body = {"reason": "Sufficiently acute.", "urgent": True, "checklist": checklist}
        refused(
            lambda: api_as("iro").post(_path(child), body),
            409,
            "cafcass_precondition_missing",
            "preconditions.service_manager_approval",
        )
        asked = api_as("iro").post(
            _path(child, "cafcass-agreement-requests"),
            {"key": "service_manager_approval", "person": "iro_service_manager", "note": "Please approve."},
        )
        assert asked.status_code == 201
        assert _recipients(Kind.AGREEMENT_REQUESTED) == {"iro_service_manager"}
        note = CaseNote.objects.filter(child=child).order_by("-id").first()
        assert note is not None and "iro_service_manager" in note.body
        # Only the person asked answers; a decline needs a reason.
        refused(
            lambda: api_as("head_of_safeguarding").post(
                _path(child, "cafcass-agreement-requests/1/answer"), {"answer": "confirmed"}
            ),
            403,
            "not_asked",
        )
        refused(
            lambda: api_as("iro_service_manager").post(
                _path(child, "cafcass-agreement-requests/1/answer"), {"answer": "declined"}
            ),
            422,
            "required",
            "comments",
        )
        assert (
            api_as("iro_service_manager")
            .post(
                _path(child, "cafcass-agreement-requests/1/answer"),
                {"answer": "declined", "comments": "Not yet."},
            )
            .status_code
            == 200
        )
        assert _recipients(Kind.AGREEMENT_ANSWERED) == {"iro"}
        refused(lambda: api_as("iro").post(_path(child), body), 409, "cafcass_precondition_missing")
        self._ask_and_confirm(api_as, child)
        response = api_as("iro").post(_path(child), body)
        assert response.status_code == 201, response.content
        assert response.json()["preconditions"] == self.PEOPLE
        # Those who agreed are told it was made.
        assert _recipients(Kind.CAFCASS_REFERRED) == {"iro_service_manager", "head_of_safeguarding"}
        listed = api_as("iro").get(_path(child, "cafcass-agreement-requests")).json()
        assert [item["status"] for item in listed] == ["declined", "confirmed", "confirmed"]
        assert list(verify_all()) == []
        # The agreements count for that referral only: a later one is asked for again.
        refused(lambda: api_as("iro").post(_path(child), body), 409, "cafcass_precondition_missing")

    def test_the_person_asked_must_hold_the_role(self, api_as: Any, child: Child) -> None:
        refused(
            lambda: api_as("iro").post(
                _path(child, "cafcass-agreement-requests"),
                {"key": "service_manager_approval", "person": "team_manager", "note": "Please approve."},
            ),
            422,
            "wrong_role",
            "person",
        )
        refused(
            lambda: api_as("iro").post(
                _path(child, "cafcass-agreement-requests"),
                {"key": "no_such", "person": "iro_service_manager", "note": "Please approve."},
            ),
            422,
            "unknown_precondition",
            "key",
        )
        assert not Agreement.objects.exists()


def test_a_procedure_that_refers_only_from_a_stage_asks_for_a_challenge_first(
    api_as: Any, child: Child, settings: Any
) -> None:
    """Seed 001: the referral is DRP stage 4, "in the event that the issues remain unresolved"."""
    settings.RESOLVE_DEFAULT_POLICY = "cla_dispute_resolution"
    refused(
        lambda: api_as("iro_service_manager").post(_path(child), {"reason": "Unresolved."}),
        409,
        "cafcass_challenge_first",
    )


def test_the_reports_count_referrals_with_no_challenge(api_as: Any, child: Child, settings: Any) -> None:
    """The annual IRO report counts Cafcass referrals; one with no challenge is counted by its date."""
    settings.RESOLVE_DEFAULT_POLICY = "outcome_resolution"
    assert api_as("iro").post(_path(child), {"reason": "Urgent drift.", "urgent": True}).status_code == 201
    table = api_as("iro_service_manager").get("/reports/cafcass", month="2027-03").json()["tables"][0]
    rows = {row[0]: row[1] for row in table["rows"]}
    assert rows["Referred with no challenge (made in the period)"] == 1
    assert rows["Of those, urgent"] == 1
    assert rows["Referred to Cafcass"] == 0  # no challenge was raised in the period
    # A filter that cannot apply to a referral with no challenge (the CP Chair track) counts none.
    other = api_as("iro_service_manager").get("/reports/cafcass", month="2027-03", track="cpc").json()
    assert {row[0]: row[1] for row in other["tables"][0]["rows"]}[
        "Referred with no challenge (made in the period)"
    ] == 0
    earlier = api_as("iro_service_manager").get("/reports/cafcass", month="2027-02").json()
    assert {row[0]: row[1] for row in earlier["tables"][0]["rows"]}[
        "Referred with no challenge (made in the period)"
    ] == 0


def test_inform_before_is_met_once_the_message_is_sent(api_as: Any, child: Child, settings: Any) -> None:
    """Seed 002: "prior to making a referral, the IRO must inform the Deputy Director"."""
    settings.RESOLVE_DEFAULT_POLICY = "qa_issue_resolution"
    body = {"reason": "Court reference needed.", "checklist": {"iro_report": True, "court_reference": False}}
    refused(lambda: api_as("iro").post(_path(child), body), 409, "cafcass_precondition_missing")
    told = api_as("iro").post(
        _path(child, "cafcass-agreement-requests"),
        {"key": "deputy_director_informed", "person": "deputy_director", "note": "Referring about drift."},
    )
    assert told.status_code == 201 and told.json()["kind"] == "inform"
    assert _recipients(Kind.AGREEMENT_REQUESTED) == {"deputy_director"}
    response = api_as("iro").post(_path(child), body)
    assert response.status_code == 201, response.content
    assert response.json()["preconditions"] == {"deputy_director_informed": "deputy_director"}


class TestInTheJsonChronology:
    """The child's JSON chronology: a referral with no challenge is an entry when asked for, and the
    chronology answers as before otherwise (every entry then has its challenge)."""

    @pytest.fixture(autouse=True)
    def _procedure(self, settings: Any) -> None:
        settings.RESOLVE_DEFAULT_POLICY = "outcome_resolution"

    def test_a_referral_with_no_challenge_is_in_the_chronology_in_date_order(
        self, api_as: Any, child: Child
    ) -> None:
        assert SEED_000
        iro = api_as("iro")
        challenge = raise_challenge(iro, child.case_number, "outcome_resolution", on="2027-02-01")
        made = iro.post(
            _path(child), {"reason": "The plan has drifted.", "urgent": True, "on": "2027-02-10"}
        ).json()
        iro.post(f"/challenges/{challenge['id']}/escalations", {"reason": "No reply.", "on": "2027-02-20"})

        plain = iro.get(_path(child, "chronology")).json()
        assert {entry["challenge"] for entry in plain} == {challenge["id"]}

        response = iro.get(_path(child, "chronology") + "?child_records=true")
        assert response.status_code == 200, response.content
        body = response.json()
        assert [(entry["on"], entry["type"], entry["challenge"]) for entry in body] == [
            ("2027-02-01", "raised", challenge["id"]),
            ("2027-02-10", "cafcass_referred", None),
            ("2027-02-20", "escalated", challenge["id"]),
        ]
        referral = body[1]
        assert referral["referral"] == made["id"] and referral["by"] == "iro" and referral["stage"] is None
        assert (
            referral["detail"]["reason"] == "The plan has drifted." and referral["detail"]["urgent"] is True
        )
        assert {entry["referral"] for entry in body if entry["challenge"] is not None} == {None}

    def test_child_records_must_be_true_or_false(self, api_as: Any, child: Child) -> None:
        refused(
            lambda: api_as("iro").get(_path(child, "chronology") + "?child_records=perhaps"),
            422,
            "invalid",
            "child_records",
        )

    def test_someone_who_may_not_see_the_child_gets_nothing(self, api_as: Any, child: Child) -> None:
        api_as("iro").post(_path(child), {"reason": "The plan has drifted.", "urgent": True})
        response = api_as("social_worker_2").get(_path(child, "chronology") + "?child_records=true")
        assert response.status_code == 404
