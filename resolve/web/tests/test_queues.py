"""Every role's home answers "what is waiting on me?", and each challenge page says whom it waits on."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from resolve.calendars.services import working_calendar
from resolve.calendars.types import Nation
from resolve.challenges import queues, services
from resolve.children.services import child_create
from resolve.testing.challenges import raise_challenge
from resolve.web.home import due_words, issue_words

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 30)  # a Monday


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(dt.datetime(2026, 11, 30, 10, 0), tick=False):
        yield


def _raise(authority, child, **kwargs):
    defaults = {
        "procedure_key": "challenge_and_resolution",
        "concern": "Statutory visits to the child have not taken place for nine weeks and nobody said why.",
        "impact_on_child": "The child has not been seen alone.",
        "themes": ["voice_of_child"],
        "on": TODAY,
    }
    return raise_challenge(authority, child, **{**defaults, **kwargs})


def _stage_1(authority, child, on=TODAY, **kwargs):
    return _raise(
        authority,
        child,
        stage="stage_1",
        bypass_reason="The child cannot wait",
        bypass_agreed_by="iro_service_manager",
        on=on,
        **kwargs,
    )


def _home(client, authority, username):
    client.force_login(authority.staff[username])
    response = client.get("/")
    assert response.status_code == 200
    return response.content.decode()


def _section(html: str, key: str) -> str:
    start = html.index(f'id="queue-{key}"')
    end = html.find("<section", start)
    return html[start : end if end != -1 else len(html)]


class TestDueWords:
    @property
    def calendar(self):
        return working_calendar(Nation.ENGLAND_AND_WALES)

    def test_due_in_working_days_with_the_weekday(self):
        # Monday 30 November 2026 to Wednesday 2 December: two working days ahead.
        assert (
            due_words(dt.date(2026, 12, 2), TODAY, self.calendar)
            == "due Wednesday 2 December, in 2 working days"
        )

    def test_overdue_counts_working_days_after_the_due_date(self):
        # Due Tuesday 24 November: Wednesday to Monday is 4 working days (the weekend does not count).
        assert due_words(dt.date(2026, 11, 24), TODAY, self.calendar) == (
            "4 working days overdue (was due Tuesday 24 November)"
        )

    def test_a_response_due_on_friday_is_not_overdue_at_the_weekend(self):
        saturday = dt.date(2026, 11, 28)
        assert due_words(dt.date(2026, 11, 27), saturday, self.calendar).startswith(
            "was due Friday 27 November"
        )
        assert due_words(dt.date(2026, 11, 27), TODAY, self.calendar).startswith("1 working day overdue")

    def test_bank_holidays_are_not_working_days(self):
        # From Wednesday 23 December 2026, Monday 28 December is a bank holiday (Boxing Day substitute).
        words = due_words(dt.date(2026, 12, 29), dt.date(2026, 12, 23), self.calendar)
        assert words == "due Tuesday 29 December, in 2 working days"

    def test_due_today_and_another_year(self):
        assert due_words(TODAY, TODAY, self.calendar) == "due today, Monday 30 November"
        assert "2027" in due_words(dt.date(2027, 1, 5), TODAY, self.calendar)


def test_the_issue_is_the_first_words_of_the_concern(authority, child):
    challenge = _raise(authority, child)
    words = issue_words(challenge, {})
    assert words.startswith("Statutory visits to the child")
    assert words.endswith("…")
    assert len(words) <= 91


class TestEachRolesHome:
    def test_the_stage_recipient_sees_it_waiting_on_them_with_the_due_date_in_words(
        self, client, authority, child
    ):
        challenge = _stage_1(authority, child)
        html = _home(client, authority, "team_manager")
        mine = _section(html, "mine")
        assert f"/challenges/{challenge.pk}/" in mine
        assert "Sent to you for a response" in mine
        assert "Statutory visits to the child" in mine  # the row names the issue
        assert "due Monday 7 December, in 5 working days" in mine

    def test_a_team_manager_copied_on_their_workers_overdue_challenges_sees_them(
        self, client, authority, child
    ):
        """Issue 13: "A team manager copied on three overdue challenges of their own social worker sees
        'Nothing is waiting on you'"."""
        late = [_raise(authority, child, on=dt.date(2026, 11, 2)) for _ in range(3)]
        html = _home(client, authority, "team_manager")
        people = _section(html, "people")
        assert "Your team&#x27;s challenges (3)" in people
        for challenge in late:
            assert f"/challenges/{challenge.pk}/" in people
        assert "working days overdue" in people
        copied = _section(html, "copied")
        assert all(f"/challenges/{c.pk}/" in copied for c in late)

    def test_the_team_queue_puts_overdue_first(self, client, authority, child):
        fresh = _raise(authority, child)
        late = _raise(authority, child, on=dt.date(2026, 11, 2))
        people = _section(_home(client, authority, "team_manager"), "people")
        assert people.index(f"/challenges/{late.pk}/") < people.index(f"/challenges/{fresh.pk}/")

    def test_a_head_of_service_told_at_stage_3_sees_it(self, client, authority, child):
        """Issue 13: "a head of service told at stage 3 sees an empty home"."""
        challenge = _raise(
            authority,
            child,
            stage="stage_3",
            bypass_reason="The placement is breaking down",
            bypass_agreed_by="iro_service_manager",
        )
        html = _home(client, authority, "head_of_service")
        assert f"/challenges/{challenge.pk}/" in _section(html, "copied")
        assert "Your part of the line" in html

    def test_the_social_worker_sees_the_informal_stage_and_their_own_action(self, client, authority, child):
        challenge = _raise(
            authority,
            child,
            actions=[services.ActionInput("Visit the child alone", "social_worker", dt.date(2026, 12, 4))],
        )
        mine = _section(_home(client, authority, "social_worker"), "mine")
        assert f"/challenges/{challenge.pk}/" in mine
        assert "Sent to you for a response. An agreed action is yours." in mine
        assert "Visit the child alone" in mine

    def test_an_action_owner_sees_the_actions_date_not_the_stages(self, client, authority, child):
        challenge = _raise(
            authority,
            child,
            actions=[services.ActionInput("Update the care plan", "team_manager", dt.date(2026, 12, 2))],
        )
        mine = _section(_home(client, authority, "team_manager"), "mine")
        assert f"/challenges/{challenge.pk}/" in mine
        assert "An agreed action is yours." in mine and "Sent to you" not in mine
        assert "Action “Update the care plan” due Wednesday 2 December, in 2 working days" in mine
        assert "Action open" in mine and "Response due" not in mine

    def test_another_teams_manager_sees_none_of_it(self, client, authority, child):
        challenge = _stage_1(authority, child)
        html = _home(client, authority, "team_manager_2")
        assert f"/challenges/{challenge.pk}/" not in html


def test_the_chair_of_a_stages_meeting_sees_it_until_the_meeting_is_recorded(client, authority, child):
    """Seed 001, stage 2: "This meeting should be chaired by CPRU Service Manager."""
    challenge = _raise(
        authority,
        child,
        procedure_key="cla_dispute_resolution",
        stage="stage_2",
        bypass_reason="The child cannot wait",
        bypass_agreed_by="iro_service_manager",
    )
    # Their agreement to the bypass, asked when it was raised, is answered: only the meeting waits.
    services.challenge_answer_agreement(
        user=authority.staff["iro_service_manager"], challenge_id=challenge.pk, number=1, answer="confirmed"
    )
    mine = _section(_home(client, authority, "iro_service_manager"), "mine")
    assert f"/challenges/{challenge.pk}/" in mine
    assert "A meeting you chair is due at this stage" in mine
    services.challenge_record_meeting(
        user=authority.staff["iro"], challenge_id=challenge.pk, summary="Met with the Service Manager"
    )
    mine = _section(_home(client, authority, "iro_service_manager"), "mine")
    assert f"/challenges/{challenge.pk}/" not in mine


def test_a_request_for_your_agreement_waits_on_you_until_you_answer(client, authority, child):
    """Issue 13: "waiting on me (I am the stage's recipient, an action owner, a meeting chair, an
    agreement I was asked for)". Seed 001: the CPRU Service Manager confirms the bypass to stage 3."""
    challenge = _raise(
        authority,
        child,
        procedure_key="cla_dispute_resolution",
        stage="stage_3",
        bypass_reason="The plan has drifted for a year",
        bypass_agreed_by="iro_service_manager",
    )
    mine = _section(_home(client, authority, "iro_service_manager"), "mine")
    assert f"/challenges/{challenge.pk}/" in mine
    assert "Your agreement is asked: confirm or decline" in mine
    assert "Nothing is waiting on you" not in mine
    # The challenge's page says so too, beside whom the stage waits on.
    page = client.get(f"/challenges/{challenge.pk}/").content.decode()
    assert (
        "Waiting on Sam Mensah to confirm or decline request 1 for agreement, asked Monday 30 November."
        in page
    )
    # The child's chronology names the person asked by name too ("People by name ... pages").
    chronology = client.get(f"/children/{child.case_number}/").content.decode()
    assert "Sam Mensah: " in chronology and "iro_service_manager: " not in chronology
    services.challenge_answer_agreement(
        user=authority.staff["iro_service_manager"], challenge_id=challenge.pk, number=1, answer="confirmed"
    )
    mine = _section(_home(client, authority, "iro_service_manager"), "mine")
    assert f"/challenges/{challenge.pk}/" not in mine
    page = client.get(f"/challenges/{challenge.pk}/").content.decode()
    assert "to confirm or decline" not in page


class TestTheChairsHome:
    def test_a_response_moves_it_from_waiting_on_others_to_needs_my_decision(self, client, authority, child):
        challenge = _stage_1(authority, child)
        html = _home(client, authority, "iro")
        assert f"/challenges/{challenge.pk}/" in _section(html, "others")
        assert f"/challenges/{challenge.pk}/" not in _section(html, "decide")
        services.challenge_respond(
            user=authority.staff["team_manager"], challenge_id=challenge.pk, response="agree"
        )
        html = _home(client, authority, "iro")
        decide = _section(html, "decide")
        assert f"/challenges/{challenge.pk}/" in decide
        assert "A response came in" in decide
        assert "Response received Monday 30 November" in decide
        assert f"/challenges/{challenge.pk}/" not in _section(html, "others")

    def test_an_overdue_stage_and_a_passed_cap_need_a_decision(self, client, authority, child):
        late = _stage_1(authority, child, on=dt.date(2026, 10, 1))
        decide = _section(_home(client, authority, "iro"), "decide")
        assert f"/challenges/{late.pk}/" in decide
        assert "The response is overdue" in decide
        assert "Past the formal limit" in decide

    def test_an_action_past_due_after_resolution_needs_a_decision(self, client, authority, child):
        with time_machine.travel(dt.datetime(2026, 11, 2, 10, 0), tick=False):
            challenge = _stage_1(
                authority,
                child,
                on=dt.date(2026, 11, 2),
                actions=[
                    services.ActionInput("Update the care plan", "Sophie Walker", dt.date(2026, 11, 20))
                ],
            )
            services.challenge_resolve(
                user=authority.staff["iro"], challenge_id=challenge.pk, outcome="A plan was agreed"
            )
        decide = _section(_home(client, authority, "iro"), "decide")
        assert f"/challenges/{challenge.pk}/" in decide
        assert "An agreed action is past its date after resolution" in decide
        assert "Update the care plan" in decide


def test_see_all_pages_through_one_queue(client, authority):
    kids = [
        child_create(
            user=authority.staff["admin"],
            case_number=f"LCS7{index:05d}",
            first_name=f"Child{index}",
            last_name="Smith",
            date_of_birth=dt.date(2015, 1, 1),
            social_worker="social_worker",
            iro="iro",
        )
        for index in range(12)
    ]
    for kid in kids:
        _stage_1(authority, kid)
    html = _home(client, authority, "team_manager")
    assert "See all 12" in html
    page = client.get("/?queue=mine").content.decode()
    assert page.count('class="app-queue__item"') == 12
    assert "Back to your work" in page


class TestWaitingOnOnTheChallengePage:
    def test_a_stage_waits_on_its_recipient_since_it_was_entered(self, client, authority, child):
        challenge = _stage_1(authority, child, on=dt.date(2026, 11, 2))
        client.force_login(authority.staff["iro"])
        html = client.get(f"/challenges/{challenge.pk}/").content.decode()
        assert (
            "Waiting on Tom Mitchell for a response since Monday 2 November; "
            "15 working days overdue (was due Monday 9 November)."
        ) in html

    def test_after_a_response_it_waits_on_the_chair(self, client, authority, child):
        challenge = _stage_1(authority, child)
        services.challenge_respond(
            user=authority.staff["team_manager"], challenge_id=challenge.pk, response="agree"
        )
        client.force_login(authority.staff["team_manager"])
        html = client.get(f"/challenges/{challenge.pk}/").content.decode()
        assert "Waiting on Isla Reid for a decision: resolve or escalate since Monday 30 November." in html


def test_queue_sources_are_one_entry_each():
    # A new kind of work (a meeting chaired, an agreement asked for) is one more source with its query.
    assert [source.key for source in queues.WAITING_ON_ME] == [
        "recipient",
        "action_owner",
        "meeting_chair",
        "agreement_asked",
    ]
    assert len({source.key for source in queues.NEEDS_MY_DECISION}) == 4


def test_raise_a_challenge_starts_by_choosing_a_child_you_chair(client, authority, child):
    other = child_create(
        user=authority.staff["admin"],
        case_number="LCS100002",
        first_name="Noah",
        last_name="Taylor",
        date_of_birth=dt.date(2015, 1, 1),
        social_worker="social_worker",
        iro=None,
    )
    html = _home(client, authority, "iro")
    assert 'href="/challenges/raise/"' in html
    page = client.get("/challenges/raise/").content.decode()
    assert "/children/LCS100001/raise/" in page
    assert other.case_number not in page
    assert "LCS100001" not in client.get("/challenges/raise/?q=Noah").content.decode()
