"""The pages of a challenge to a partner agency (issue 9, section 8; seed 000 section 2): the raise
journey offers "a partner agency" as its own journey, the form asks for the agency and its contact,
the challenge page names them, and the chair records the reply, escalates and changes the contact."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine

from resolve.challenges.engine import AgencyContact
from resolve.challenges.models import Challenge, StageVisit
from resolve.children.models import CaseNote
from resolve.notifications.models import AgencyMessage
from resolve.testing.challenges import raise_challenge

pytestmark = pytest.mark.django_db

START = "/children/LCS100001/raise/"
FORM = "/children/LCS100001/raise/iro/multi_agency_escalation/"


@pytest.fixture(autouse=True)
def _frozen() -> Any:
    with time_machine.travel(dt.datetime(2026, 11, 2, 10, 0), tick=False):
        yield


def answers(**overrides: Any) -> dict[str, Any]:
    data = {
        "on_0": "",
        "on_1": "",
        "on_2": "",
        "agency_name": "Cumbria Constabulary",
        "agency_kind": "police",
        "contact_name": "DS Morgan Lee",
        "contact_role": "Detective sergeant, public protection unit",
        "contact_email": "morgan.lee@police.example",
        "concern": "No police information was provided for the last two reviews",
        "impact_on_child": "The review could not consider the risk from the father",
        "desired_outcome": "Share the police checks one week before the next review",
        "themes": ["information"],
        "stage": "level_1",
        "actions-TOTAL_FORMS": "3",
        "actions-INITIAL_FORMS": "0",
        "continue": "1",
    }
    data.update(overrides)
    return data


def test_the_raise_journey_offers_a_partner_agency_as_its_own_journey(
    client: Any, authority: Any, child: Any
) -> None:
    client.force_login(authority.staff["iro"])
    html = client.get(f"{START}?track=iro").content.decode()
    assert "Who is the challenge to?" in html
    assert "A partner agency: health, police, education, another local authority, a provider" in html
    # Unanswered, the question is asked again, naming itself.
    response = client.get(f"{START}?track=iro&to=")
    assert response.status_code == 400
    assert (
        "Choose whether the challenge is to the local authority or a partner agency"
        in response.content.decode()
    )
    response = client.get(f"{START}?track=iro&to=agency")
    assert response.status_code == 302 and response["Location"] == FORM
    # The procedure question lists the authority's own procedures only; naming the partner agency
    # procedure in the address still works.
    assert "Challenge to a partner agency (multi-agency escalation)</label>" not in html
    response = client.get(f"{START}?track=iro&procedure=multi_agency_escalation")
    assert response.status_code == 302 and response["Location"] == FORM
    response = client.get(f"{START}?track=iro&to=authority&procedure=national")
    assert response.status_code == 302 and response["Location"].endswith("/raise/iro/national/")


def test_raising_through_the_pages_logs_it_and_emails_the_contact(
    client: Any, authority: Any, child: Any
) -> None:
    client.force_login(authority.staff["iro"])
    html = client.get(FORM).content.decode()
    for words in (
        "Name of the partner agency",
        "Contact&#x27;s name",
        "Their email address",
        "What are you asking the agency to do?",
        "Another local authority",
    ):
        assert words in html, words
    response = client.post(FORM, answers())
    assert response.status_code == 302, response.content.decode()[:2000]
    check = client.get(response["Location"]).content.decode()
    assert (
        "It goes to DS Morgan Lee, Detective sergeant, public protection unit, at Cumbria Constabulary"
        in check
    )
    assert "morgan.lee@police.example" in check
    done = client.post(response["Location"])
    challenge = Challenge.objects.get()
    assert done["Location"] == f"/challenges/{challenge.pk}/"
    assert challenge.agency == "Cumbria Constabulary"
    assert AgencyMessage.objects.get().address == "morgan.lee@police.example"
    assert (
        CaseNote.objects.filter(
            child=child, note_type__startswith="External challenge to partner agency"
        ).count()
        == 2
    )
    page = client.get(done["Location"]).content.decode()
    assert "Cumbria Constabulary" in page and ">Police<" in page
    assert "DS Morgan Lee, Detective sergeant, public protection unit" in page
    assert "What the agency is asked to do" in page
    assert "Record your response" in page  # the chair records the agency's reply
    assert (
        "Waiting on DS Morgan Lee, Detective sergeant, public protection unit, Cumbria Constabulary "
        "for a reply" in page
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("agency_name", "", "Enter the name of the partner agency"),
        ("agency_kind", "", "Choose the kind of agency"),
        ("contact_name", "", "Enter the contact&#x27;s name"),
        ("contact_email", "", "Enter the contact&#x27;s email address"),
        (
            "contact_email",
            "morgan.lee at police",
            "Enter the contact&#x27;s email address in the correct format",
        ),
        ("desired_outcome", "", "Enter what you are asking the agency to do"),
    ],
)
def test_bad_answers_are_shown_beside_their_field(
    client: Any, authority: Any, child: Any, field: str, value: str, message: str
) -> None:
    client.force_login(authority.staff["iro"])
    response = client.post(FORM, answers(**{field: value}))
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert f'href="#id_{field}' in html  # the error summary links to the field
    assert not Challenge.objects.exists()


def _raised(authority: Any, child: Any) -> Challenge:
    return raise_challenge(
        authority,
        child,
        procedure_key="multi_agency_escalation",
        concern="The school did not send a report to the review",
        impact_on_child="Her education needs were not considered",
        desired_outcome="Send the report to the next review",
        agency="Brampton Primary School",
        agency_kind="education",
        contact=AgencyContact(name="Ann Hale", role="Class teacher", email="ann.hale@school.example"),
    )


def test_the_chair_records_the_reply_escalates_with_a_new_contact_and_changes_it(
    client: Any, authority: Any, child: Any
) -> None:
    challenge = _raised(authority, child)
    client.force_login(authority.staff["iro"])
    base = f"/challenges/{challenge.pk}"
    respond = client.get(f"{base}/respond/").content.decode()
    assert "record the reply they gave you, on their behalf" in respond
    assert (
        client.post(
            f"{base}/respond/", {"expected_version": 1, "response": "disagree", "comments": "No time"}
        ).status_code
        == 302
    )
    escalate = client.get(f"{base}/escalate/").content.decode()
    assert "Who to send it to at Brampton Primary School" in escalate
    response = client.post(
        f"{base}/escalate/", {"expected_version": 2, "to_stage": "level_2", "reason": "Not agreed"}
    )
    assert response.status_code == 400 and "Enter the contact&#x27;s name" in response.content.decode()
    response = client.post(
        f"{base}/escalate/",
        {
            "expected_version": 2,
            "to_stage": "level_2",
            "reason": "Not agreed",
            "contact_name": "Joe Park",
            "contact_role": "Headteacher",
            "contact_email": "head@school.example",
        },
    )
    assert response.status_code == 302
    assert StageVisit.objects.filter(challenge=challenge).latest("sequence").contact_name == "Joe Park"
    response = client.post(
        f"{base}/ask_agency/",
        {
            "expected_version": 3,
            "contact_name": "Kim Ward",
            "contact_role": "Deputy headteacher",
            "contact_email": "deputy@school.example",
        },
    )
    assert response.status_code == 302
    page = client.get(f"{base}/").content.decode()
    assert "Kim Ward, Deputy headteacher" in page and "Joe Park" in page
    assert AgencyMessage.objects.count() == 3


def test_only_those_who_may_see_the_child_see_it(client: Any, authority: Any, child: Any) -> None:
    challenge = _raised(authority, child)
    client.force_login(authority.staff["social_worker_2"])
    assert client.get(f"/challenges/{challenge.pk}/").status_code == 404
    client.force_login(authority.staff["social_worker"])
    page = client.get(f"/challenges/{challenge.pk}/").content.decode()
    assert "Brampton Primary School" in page
    assert "Record your response" not in page  # the chair records the agency's reply, not the team


def test_the_challenge_list_filters_by_who_the_challenge_is_to(
    client: Any, authority: Any, child: Any
) -> None:
    _raised(authority, child)
    raise_challenge(
        authority,
        child,
        procedure_key="national",
        concern="Visits are late",
        impact_on_child="Not seen alone",
    )
    client.force_login(authority.staff["iro"])
    html = client.get("/challenges/").content.decode()
    assert "Challenge to" in html and "A partner agency: Education" in html
    shown = client.get("/challenges/", {"agency_kind": "education"}).context["listing"]
    assert [row.challenge.agency for row in shown.rows] == ["Brampton Primary School"]
    shown = client.get("/challenges/", {"agency_kind": "none"}).context["listing"]
    assert [row.challenge.agency for row in shown.rows] == [""]
    shown = client.get("/challenges/", {"agency_kind": "police"}).context["listing"]
    assert list(shown.rows) == []


def test_the_procedure_page_shows_the_levels_at_the_agency(client: Any, authority: Any) -> None:
    client.force_login(authority.staff["iro"])
    response = client.get("/procedures/multi_agency_escalation/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Level 3: Safeguarding lead" in html
    assert "the partner agency&#x27;s safeguarding lead" in html
