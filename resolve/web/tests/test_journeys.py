"""The phase 2 pages through Django's test client: each page, each form's error path, query counts."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from resolve.challenges import services
from resolve.challenges.models import Challenge, Event
from resolve.children.services import child_create
from resolve.testing.challenges import raise_challenge
from resolve.web.tests.factories import raise_form

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 12, 21)  # a Monday before Christmas: due dates skip the bank holidays


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(dt.datetime(2026, 12, 21, 10, 0), tick=False):
        yield


def _raise(authority, child, **kwargs):
    defaults = {
        "procedure_key": "challenge_and_resolution",
        "concern": "Statutory visits have not happened.",
        "impact_on_child": "The child has not been seen alone.",
        "themes": ["voice_of_child"],
        "actions": [services.ActionInput("Visit the child", "Sophie Walker", TODAY + dt.timedelta(days=10))],
        "on": TODAY,
    }
    return raise_challenge(authority, child, **{**defaults, **kwargs})


def _children(authority, count, start=0):
    made = []
    for index in range(start, start + count):
        made.append(
            child_create(
                user=authority.staff["admin"],
                case_number=f"LCS9{index:05d}",
                first_name=f"Child{index}",
                last_name="Smith",
                date_of_birth=dt.date(2015, 1, 1),
                social_worker="social_worker",
                iro="iro",
                cp_chair="cp_chair",
            )
        )
    return made


def login(client, authority, username):
    client.force_login(authority.staff[username])
    return client


class TestHome:
    def test_iro_sees_the_challenges_they_raised(self, client, authority, child):
        challenge = _raise(authority, child)
        html = login(client, authority, "iro").get("/").content.decode()
        assert "Waiting on others (1)" in html
        assert f"/challenges/{challenge.pk}/" in html
        assert "Stage 1: Team Manager" not in html or "Informal Process" in html
        assert "Due soon" not in html  # due in January, after the bank holidays

    def test_team_manager_sees_what_awaits_their_response(self, client, authority, child):
        challenge = _raise(
            authority, child, stage="stage_1", bypass_reason="Urgent", bypass_agreed_by="iro_service_manager"
        )
        html = login(client, authority, "team_manager").get("/").content.decode()
        assert "Waiting on you (1)" in html
        assert f"/challenges/{challenge.pk}/" in html
        services.challenge_respond(
            user=authority.staff["team_manager"], challenge_id=challenge.pk, response="agree"
        )
        html = client.get("/").content.decode()
        assert "Waiting on you (0)" in html

    def test_iro_manager_sees_the_service_overdue_first(self, client, authority, child):
        with time_machine.travel(dt.datetime(2026, 11, 2, 10, 0), tick=False):
            late = _raise(authority, child, on=dt.date(2026, 11, 2))
        fresh = _raise(authority, child)
        html = login(client, authority, "iro_service_manager").get("/").content.decode()
        assert "Your service&#x27;s challenges (2)" in html
        assert html.index(f"/challenges/{late.pk}/") < html.index(f"/challenges/{fresh.pk}/")
        assert "Overdue" in html

    def test_filters_keep_a_bad_value_harmless(self, client, authority, child):
        _raise(authority, child)
        response = login(client, authority, "iro").get("/?status=nonsense&sort=nonsense&page=99")
        assert response.status_code == 200


class TestChildren:
    def test_list_and_search(self, client, authority, child):
        _children(authority, 2)
        login(client, authority, "iro")
        html = client.get("/children/").content.decode()
        assert "Amelia Jones" in html and "Child0 Smith" in html
        html = client.get("/children/?q=amelia").content.decode()
        assert "Amelia Jones" in html and "Child0 Smith" not in html
        html = client.get("/children/?q=LCS900001").content.decode()
        assert "Child1 Smith" in html and "Amelia Jones" not in html

    def test_child_page_shows_details_challenges_and_chronology(self, client, authority, child):
        challenge = _raise(authority, child)
        html = login(client, authority, "iro").get(f"/children/{child.case_number}/").content.decode()
        assert "9 March 2014" in html
        assert "Isla Reid" in html  # the allocated IRO
        assert f"/challenges/{challenge.pk}/" in html
        assert "Challenge raised" in html  # the chronology
        assert "Raise a challenge" in html

    def test_someone_who_may_not_see_the_child_gets_404(self, client, authority, child):
        outsider = authority.staff.get("social_worker_2")
        if outsider is None:
            pytest.skip("no second social worker in the demo authority")
        client.force_login(outsider)
        assert client.get(f"/children/{child.case_number}/").status_code == 404

    def test_unknown_child_is_404(self, client, authority):
        assert login(client, authority, "iro").get("/children/NOPE/").status_code == 404


class TestChallengeList:
    def test_filters(self, client, authority, child):
        open_one = _raise(authority, child)
        withdrawn = _raise(authority, child)
        services.challenge_withdraw(
            user=authority.staff["iro"], challenge_id=withdrawn.pk, reason="Moved away"
        )
        login(client, authority, "iro")
        html = client.get("/challenges/?status=open").content.decode()
        assert f"/challenges/{open_one.pk}/" in html and f"/challenges/{withdrawn.pk}/" not in html
        html = client.get("/challenges/?status=withdrawn").content.decode()
        assert f"/challenges/{withdrawn.pk}/" in html
        html = client.get("/challenges/?policy=national").content.decode()
        assert "No challenges match these filters" in html
        html = client.get("/challenges/?stage=informal&overdue=no&sort=child").content.decode()
        assert f"/challenges/{open_one.pk}/" in html


class TestRaise:
    URL = "/children/LCS100001/raise/iro/challenge_and_resolution/"

    def form(self, **overrides):
        return raise_form(**overrides)

    def test_only_the_chair_may_start(self, client, authority, child):
        assert login(client, authority, "team_manager").get("/children/LCS100001/raise/").status_code == 403

    def test_start_page_chooses_track_and_procedure(self, client, authority, child):
        login(client, authority, "iro")
        assert client.get("/children/LCS100001/raise/").status_code == 200
        response = client.get("/children/LCS100001/raise/?track=iro&procedure=challenge_and_resolution")
        assert response["Location"] == self.URL

    def test_the_whole_journey(self, client, authority, child):
        login(client, authority, "iro")
        assert client.get(self.URL).status_code == 200
        response = client.post(self.URL, self.form())
        assert response.status_code == 302 and response["Location"].endswith("/check/")
        html = client.get(response["Location"]).content.decode()
        assert "Check your answers" in html, html
        # 10 working days from Monday 21 December 2026, past Christmas Day, Boxing Day and New Year's Day.
        assert (
            "Respond by Thursday 7 January 2027: 10 working days, skipping Christmas Day on 25 December 2026"
            in html
        )
        assert "Boxing Day" in html and "New Year" in html
        assert not Challenge.objects.exists()
        response = client.post(response["Location"])
        challenge = Challenge.objects.get()
        assert response["Location"] == f"/challenges/{challenge.pk}/"
        assert challenge.actions.get().owner == "Sophie Walker"
        assert challenge.themes == ["voice_of_child"]

    def test_add_another_action_posts_back_with_one_more_row(self, client, authority, child):
        login(client, authority, "iro")
        html = client.post(self.URL, self.form(add_action="1", **{"continue": ""})).content.decode()
        assert 'name="actions-3-action"' in html
        assert "There is a problem" not in html
        assert "Visits are late" in html

    @pytest.mark.parametrize(
        ("overrides", "message", "anchor"),
        [
            ({"concern": ""}, "Enter what you are worried about", "#id_concern"),
            ({"impact_on_child": ""}, "Enter the outcome and impact for the child", "#id_impact_on_child"),
            ({"on_0": "31", "on_1": "2", "on_2": "2026"}, "must be a real date", "#id_on_0"),
            ({"on_0": "1", "on_1": "1", "on_2": "2027"}, "cannot be in the future", "#id_on_0"),
            ({"stage": "stage_2"}, "Give the reason for going straight to", "#id_bypass_reason"),
            (
                {"stage": "stage_2", "bypass_reason": "Urgent"},
                "needs the agreement of the IRO/CP Service Manager",
                "#id_bypass_agreed_by",
            ),
            (
                {"actions-0-owner": ""},
                "Choose who will do it, or name someone outside Resolve",
                "#id_actions-0-owner_user",
            ),
            (
                {"actions-0-due_2": "2025"},
                "cannot be due before the challenge is raised",
                "#id_actions-0-due_0",
            ),
        ],
    )
    def test_bad_answers_show_the_error_summary_and_record_nothing(
        self, client, authority, child, overrides, message, anchor
    ):
        login(client, authority, "iro")
        response = client.post(self.URL, self.form(**overrides))
        html = response.content.decode()
        assert response.status_code == 400
        assert "There is a problem" in html
        assert message in html
        assert f'href="{anchor}"' in html
        assert not Challenge.objects.exists()

    def test_check_page_without_answers_goes_back_to_the_form(self, client, authority, child):
        login(client, authority, "iro")
        assert client.get(self.URL + "check/")["Location"] == self.URL


class TestChallengePage:
    def test_iro_sees_their_actions_only(self, client, authority, child):
        challenge = _raise(authority, child)
        html = login(client, authority, "iro").get(f"/challenges/{challenge.pk}/").content.decode()
        assert "What you can do now" in html
        for words in (
            "Escalate the challenge",
            "Resolve the challenge",
            "Withdraw the challenge",
            "Refer to Cafcass",
        ):
            assert words in html
        assert "Record your response" not in html
        assert "Sent to" in html and "Sophie Walker" in html
        assert "IRO Informal Resolution" in html or "Case notes" in html

    def test_recipient_sees_respond_not_escalate(self, client, authority, child):
        challenge = _raise(
            authority, child, stage="stage_1", bypass_reason="Urgent", bypass_agreed_by="iro_service_manager"
        )
        html = login(client, authority, "team_manager").get(f"/challenges/{challenge.pk}/").content.decode()
        assert "Record your response" in html
        assert "Escalate the challenge" not in html
        assert client.get(f"/challenges/{challenge.pk}/escalate/").status_code == 403

    def test_respond(self, client, authority, child):
        challenge = _raise(
            authority, child, stage="stage_1", bypass_reason="Urgent", bypass_agreed_by="iro_service_manager"
        )
        login(client, authority, "team_manager")
        url = f"/challenges/{challenge.pk}/respond/"
        response = client.post(url, {"expected_version": challenge.version, "comments": "x"})
        assert response.status_code == 400
        assert 'href="#id_response_0">Choose your response' in response.content.decode()
        response = client.post(
            url, {"expected_version": challenge.version, "response": "agree", "comments": "Booked"}
        )
        assert response["Location"] == f"/challenges/{challenge.pk}/"
        assert Challenge.objects.get().stage_responded_on == TODAY

    def test_a_stale_form_is_refused_with_a_clear_message(self, client, authority, child):
        challenge = _raise(authority, child)
        login(client, authority, "iro")
        services.challenge_record_meeting(
            user=authority.staff["iro"], challenge_id=challenge.pk, summary="Met"
        )
        response = client.post(
            f"/challenges/{challenge.pk}/withdraw/", {"expected_version": 1, "reason": "Moved"}
        )
        assert response.status_code == 400
        assert "Someone changed this challenge while you had this page open" in response.content.decode()
        assert Challenge.objects.get().status == "open"

    @pytest.mark.parametrize(
        ("action", "data", "message"),
        [
            ("escalate", {"to_stage": "stage_1", "reason": ""}, "Enter why you are escalating"),
            ("escalate", {"to_stage": "stage_3", "reason": "Urgent"}, "needs the agreement of"),
            ("resolve", {"outcome": ""}, "Enter the outcome for the child"),
            ("withdraw", {"reason": ""}, "Enter why you are withdrawing"),
            ("record_meeting", {"summary": ""}, "Enter a summary of the meeting"),
            (
                "record_meeting",
                {"summary": "x", "on_0": "1", "on_1": "1", "on_2": "2027"},
                "cannot be in the future",
            ),
            ("refer_to_cafcass", {"reason": ""}, "Enter why you are referring"),
            ("refer_to_cafcass", {"reason": "Rights at risk", "urgent": "on"}, "ask for agreement first"),
        ],
    )
    def test_action_errors(self, client, authority, child, action, data, message):
        challenge = _raise(authority, child)
        login(client, authority, "iro")
        assert client.get(f"/challenges/{challenge.pk}/{action}/").status_code == 200
        events = Event.objects.count()
        response = client.post(
            f"/challenges/{challenge.pk}/{action}/", {"expected_version": challenge.version, **data}
        )
        html = response.content.decode()
        assert response.status_code == 400, html
        assert "There is a problem" in html and message in html
        assert Event.objects.count() == events

    def test_escalate_resolve_reopen(self, client, authority, child):
        challenge = _raise(authority, child)
        login(client, authority, "iro")
        url = f"/challenges/{challenge.pk}/"
        response = client.post(
            url + "escalate/", {"expected_version": 1, "to_stage": "stage_1", "reason": "No reply"}
        )
        assert response.status_code == 302
        response = client.post(
            url + "resolve/", {"expected_version": 2, "outcome": "Visited", "learning_points": ""}
        )
        assert response.status_code == 302, response.content.decode()
        response = client.post(url + "reopen/", {"expected_version": 3, "reason": "Not delivered"})
        assert response.status_code == 302
        assert Challenge.objects.get().status == "open"

    def test_mark_an_action(self, client, authority, child):
        challenge = _raise(authority, child)
        action = challenge.actions.get()
        login(client, authority, "iro")
        url = f"/challenges/{challenge.pk}/actions/{action.pk}/"
        response = client.post(url, {"expected_version": 99, "status": "done"})
        assert response.status_code == 400
        assert "Someone changed this challenge" in response.content.decode()
        response = client.post(url, {"expected_version": 1, "status": "done"})
        assert response.status_code == 302
        action.refresh_from_db()
        assert action.status == "done"

    def test_cafcass_referral(self, client, authority, child):
        challenge = _raise(authority, child)
        login(client, authority, "iro")
        html = client.get(f"/challenges/{challenge.pk}/refer_to_cafcass/").content.decode()
        assert "(required)" in html and "Before you refer" in html

    def test_unknown_or_invisible_challenge_is_404(self, client, authority, child):
        assert login(client, authority, "iro").get("/challenges/999999/").status_code == 404
        assert client.get("/challenges/999999/respond/").status_code == 404


class TestQueryCounts:
    """The number of queries a page makes does not grow with the number of rows it shows."""

    def count(self, client, url):
        client.get(url)  # warm the per-process caches (procedures, calendars)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    def test_lists_and_pages(self, client, authority, child):
        urls = ["/", "/?queue=others", "/children/", "/challenges/", f"/children/{child.case_number}/"]
        for _ in range(2):
            _raise(authority, child)
        challenge = _raise(authority, child)
        login(client, authority, "iro")
        small = {url: self.count(client, url) for url in urls}
        small_page = self.count(client, f"/challenges/{challenge.pk}/")
        for kid in _children(authority, 6):
            _raise(authority, kid)
        for _ in range(6):
            _raise(authority, child)
        for note in range(4):
            services.challenge_record_meeting(
                user=authority.staff["iro"], challenge_id=challenge.pk, summary=f"Met {note}"
            )
            services.challenge_action_mark(
                user=authority.staff["iro"],
                challenge_id=challenge.pk,
                action_id=challenge.actions.get().pk,
                status="done",
            )
        big = {url: self.count(client, url) for url in urls}
        assert big == small
        assert self.count(client, f"/challenges/{challenge.pk}/") == small_page


def test_correcting_a_case_note_from_the_challenge_page(client, authority, child):
    from django.test import Client

    from resolve.api.models import api_token_create
    from resolve.api.tests.helpers import raise_challenge
    from resolve.children.models import CaseNote
    from resolve.testing.fixtures import Api

    body = raise_challenge(Api(Client(), api_token_create(user=authority.staff["iro"])), child.case_number)
    note = CaseNote.objects.get(child=child)
    client.force_login(authority.staff["iro"])
    page = client.get(f"/challenges/{body['id']}/")
    assert f"/case-notes/{note.pk}/correct/" in page.content.decode()
    blank = client.post(f"/case-notes/{note.pk}/correct/", {"body": ""})
    assert blank.status_code == 200 and "Enter the correction" in blank.content.decode()
    assert CaseNote.objects.filter(child=child).count() == 1
    done = client.post(f"/case-notes/{note.pk}/correct/", {"body": "Raised by phone."}, follow=True)
    text = done.content.decode()
    assert "This corrects" in text and "Raised by phone." in text
    assert CaseNote.objects.filter(child=child, corrects=note).count() == 1
