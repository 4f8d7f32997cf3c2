"""The raise journey's rough edges (issue 13): only the procedures that fit, a question with one answer
skipped, bypass fields only when bypassing, the people named before raising, an old date confirmed."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from resolve.challenges.models import Challenge
from resolve.children.services import child_create
from resolve.web import pages
from resolve.web.tests.factories import raise_form

pytestmark = pytest.mark.django_db

URL = "/children/LCS100001/raise/iro/challenge_and_resolution/"


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(dt.datetime(2026, 11, 30, 10, 0), tick=False):
        yield


def form(**overrides):
    return raise_form(action=False, **overrides)


def test_the_procedure_question_names_procedures_without_source_notes(client, authority, child):
    client.force_login(authority.staff["iro"])
    html = client.get("/children/LCS100001/raise/").content.decode()
    assert "Challenge and Resolution</label>" in html
    assert "(Rotherham)" not in html and "seed 001" not in html


def test_a_question_with_one_answer_is_not_asked(client, authority, settings):
    """Amelia has an IRO but no CP Chair: the role question has one answer, so it is not asked."""
    child_create(
        user=authority.staff["admin"],
        case_number="LCS100009",
        first_name="Amelia",
        last_name="Stone",
        date_of_birth=dt.date(2014, 3, 9),
        social_worker="social_worker",
        iro="iro",
    )
    client.force_login(authority.staff["iro"])
    html = client.get("/children/LCS100009/raise/").content.decode()
    assert 'type="hidden" name="track" value="iro"' in html
    assert "Which role are you raising this challenge as?" not in html
    assert "Which procedure does this challenge follow?" in html


def test_only_procedures_for_the_track_are_offered(authority):
    for track in ("iro", "cpc"):
        offered = pages.raise_procedures([track])
        assert offered
        for key, _name in offered:
            procedure = pages.procedure_for(key)
            assert procedure is not None and track in procedure.tracks


def test_bypass_fields_sit_in_a_reveal_and_count_only_when_bypassing(client, authority, child):
    client.force_login(authority.staff["iro"])
    html = client.get(URL).content.decode()
    assert 'data-app-reveal-radios="stage" data-app-reveal-unless="informal"' in html
    # Typed in, then the first stage chosen: the reason is dropped, not recorded as a bypass.
    response = client.post(URL, form(bypass_reason="Typed before changing my mind"))
    assert response.status_code == 302
    html = client.get(response["Location"]).content.decode()
    assert "Typed before changing my mind" not in html


def test_the_check_page_names_who_it_goes_to_and_is_copied_to(client, authority, child):
    client.force_login(authority.staff["iro"])
    response = client.post(
        URL,
        form(stage="stage_1", bypass_reason="The child cannot wait", bypass_agreed_by="iro_service_manager"),
    )
    html = client.get(response["Location"]).content.decode()
    people = html[html.index('id="people"') :]
    assert "Tom Mitchell (Team Manager)" in people
    assert "Sophie Walker (Social Worker)" in people
    assert "Sarah Moore (Service Manager)" in people
    assert "Sam Mensah (IRO/CP Service Manager)" in people


def test_a_date_of_notification_long_past_asks_for_confirmation(client, authority, child):
    client.force_login(authority.staff["iro"])
    old = form(on_0="30", on_1="11", on_2="2025")
    response = client.post(URL, old)
    assert response.status_code == 400
    html = response.content.decode()
    assert "The date of notification is more than 30 days ago" in html
    assert "Yes, the challenge was raised on this date" in html
    response = client.post(URL, {**old, "confirm_on": "on"})
    assert response.status_code == 302
    client.post(response["Location"])
    assert Challenge.objects.get().raised_on == dt.date(2025, 11, 30)


def test_a_recent_date_needs_no_confirmation(client, authority, child):
    client.force_login(authority.staff["iro"])
    response = client.post(URL, form(on_0="20", on_1="11", on_2="2026"))
    assert response.status_code == 302


def test_an_actions_error_names_its_row(client, authority, child):
    client.force_login(authority.staff["iro"])
    response = client.post(URL, form(**{"actions-1-action": "Visit the child alone"}))
    assert response.status_code == 400
    html = response.content.decode()
    summary = html[html.index("govuk-error-summary__list") :]
    assert "Action 2: Choose who will do it, or name someone outside Resolve" in summary
    assert 'href="#id_actions-1-owner_user"' in summary


# -- "by whom": a person in Resolve, or someone outside it named in words ---------------------------


def _action(row: int = 0, **parts: str) -> dict[str, str]:
    data = {"action": "Visit the child alone", "due_0": "4", "due_1": "1", "due_2": "2027", **parts}
    return {f"actions-{row}-{name}": value for name, value in data.items()}


def test_by_whom_offers_the_people_who_work_with_the_child_and_a_box_for_an_outsider(
    client, authority, child
):
    """Issue 13: '"by whom" picks a person (with free text for an outsider)'. A plain select and a text
    box: it works without JavaScript."""
    client.force_login(authority.staff["iro"])
    html = client.get(URL).content.decode()
    select = html[html.index('<select class="govuk-select" id="id_actions-0-owner_user"') :]
    select = select[: select.index("</select>")]
    assert '<option value="social_worker">Sophie Walker, Social Worker</option>' in select
    # The child's line, not everyone: the other team's social worker is not offered.
    assert 'value="social_worker_2"' not in select
    assert "Team Manager" in select and "IRO/CP Service Manager" in select
    assert 'name="actions-0-owner"' in html and "Dr A Patel, school nurse" in html
    assert "<script" not in select


def test_a_person_chosen_owns_the_action_through_their_account(client, authority, child):
    client.force_login(authority.staff["iro"])
    answer = client.post(URL, form(**_action(owner_user="social_worker")))
    assert answer.status_code == 302, answer.content.decode()
    check = client.get(answer["Location"]).content.decode()
    assert "Visit the child alone: by Sophie Walker, by" in check
    client.post(answer["Location"])
    action = Challenge.objects.get().actions.get()
    assert action.owner_user == authority.staff["social_worker"] and action.owner == "social_worker"


def test_someone_outside_resolve_is_named_in_words(client, authority, child):
    client.force_login(authority.staff["iro"])
    answer = client.post(URL, form(**_action(owner="Dr A Patel, school nurse")))
    assert answer.status_code == 302
    assert "by Dr A Patel, school nurse, by" in client.get(answer["Location"]).content.decode()
    client.post(answer["Location"])
    action = Challenge.objects.get().actions.get()
    assert action.owner_user is None and action.owner == "Dr A Patel, school nurse"


@pytest.mark.parametrize(
    ("parts", "message", "field"),
    [
        ({}, "Choose who will do it, or name someone outside Resolve", "owner_user"),
        (
            {"owner_user": "social_worker", "owner": "Dr A Patel"},
            "Choose a person in Resolve or name someone outside it, not both",
            "owner",
        ),
        (
            {"owner_user": "no_such_person"},
            "Choose a person from the list, or name someone outside Resolve",
            "owner_user",
        ),
        ({"owner": "x" * 201}, "Use 200 characters or fewer", "owner"),
    ],
)
def test_a_bad_by_whom_names_the_row_and_the_field_and_records_nothing(
    client, authority, child, parts, message, field
):
    client.force_login(authority.staff["iro"])
    response = client.post(URL, form(**_action(row=1, **parts)))
    assert response.status_code == 400
    html = response.content.decode()
    summary = html[html.index("govuk-error-summary__list") :]
    assert f"Action 2: {message}" in summary
    assert f'href="#id_actions-1-{field}"' in summary
    assert f'id="id_actions-1-{field}-error"' in html  # beside the field too
    assert not Challenge.objects.exists()
