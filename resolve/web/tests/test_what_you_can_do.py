"""A challenge page's "What you can do now": short, near the top, the step waiting on you first.

Issue 13: "at 320-390 px no page scrolls sideways ... action buttons stay in view". The block comes
before the record; the step that waits on the person is its one button and the others are links, so
on a phone it is a few lines, not a screen of full-width buttons.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine

from resolve.challenges import services
from resolve.testing.challenges import raise_challenge

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 12, 1)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(dt.datetime(2026, 12, 1, 10, 0), tick=False):
        yield


def _raise(authority, child, **kwargs):
    return raise_challenge(
        authority,
        child,
        procedure_key="challenge_and_resolution",
        concern="Statutory visits have not happened.",
        impact_on_child="The child has not been seen alone.",
        actions=[services.ActionInput("Visit the child", "", TODAY, owner_user="social_worker")],
        on=TODAY,
        **kwargs,
    )


def _block(client, authority, username, challenge) -> tuple[str, str]:
    """The page, and its "What you can do now" block."""
    client.force_login(authority.staff[username])
    html = client.get(f"/challenges/{challenge.pk}/").content.decode()
    match = re.search(r'<div class="app-next-steps" id="what-you-can-do">(.*?)</div>', html, re.S)
    return html, match.group(1) if match else ""


def _buttons(block: str) -> list[str]:
    return [
        re.sub(r"\s+", " ", text).strip()
        for text in re.findall(r'class="govuk-button[^"]*"[^>]*>(.*?)</a>', block, re.S)
    ]


def _links(block: str) -> list[str]:
    return re.findall(r'<a class="govuk-link" href="[^"]*">(.*?)</a>', block)


def test_the_chairs_steps_are_one_button_and_links_before_the_record(client, authority, child):
    challenge = _raise(authority, child)
    html, block = _block(client, authority, "iro", challenge)
    assert _buttons(block) == ["Escalate the challenge"]
    links = _links(block)
    assert links[:3] == ["Resolve the challenge", "Refer to Cafcass", "Withdraw the challenge"]
    assert "Mark an agreed action done or not done, or change its date" in links
    # Each step is a link to its own page, which works without JavaScript.
    assert f'href="/challenges/{challenge.pk}/resolve/"' in block
    assert f'href="/challenges/{challenge.pk}/escalate/"' in block
    assert 'href="#actions"' in block and 'id="actions"' in html
    # Before the record, not after it.
    assert html.index('id="what-you-can-do"') < html.index(">The challenge</h2>")


def test_the_recipients_response_is_the_button(client, authority, child):
    challenge = _raise(
        authority, child, stage="stage_1", bypass_reason="Urgent", bypass_agreed_by="iro_service_manager"
    )
    _html, block = _block(client, authority, "team_manager", challenge)
    assert _buttons(block) == ["Record your response"]
    assert "Escalate the challenge" not in block


def _bypassed(authority, child):
    """Seed 001: raised at stage 3, the CPRU Service Manager is asked to confirm the bypass in Resolve."""
    return raise_challenge(
        authority,
        child,
        procedure_key="cla_dispute_resolution",
        stage="stage_3",
        bypass_reason="The plan has drifted for a year",
        bypass_agreed_by="iro_service_manager",
        concern="The care plan is not being implemented",
        impact_on_child="Drift in permanence",
        on=TODAY,
    )


def test_an_answer_asked_of_you_comes_first(client, authority, child):
    challenge = _bypassed(authority, child)
    _html, block = _block(client, authority, "iro_service_manager", challenge)
    assert _buttons(block) == ["Confirm or decline"]
    assert "Record a meeting" in _links(block)


def test_nothing_to_do_shows_no_empty_block(client, authority, child):
    challenge = _raise(authority, child)
    html, block = _block(client, authority, "director", challenge)
    assert block == "" and "What you can do now" not in html
    assert 'id="waiting-on"' in html  # the page still says whom it waits on


def test_the_requests_for_agreement_stack_on_a_phone(client, authority, child):
    """The requests' table stacks its rows at phone width, each value led by its heading."""
    challenge = _bypassed(authority, child)
    html, _block_html = _block(client, authority, "iro", challenge)
    table = html[html.index('id="agreements"') :]
    table = table[: table.index("</table>")]
    assert "app-table--stack" in table
    for label in ("About", "Asked", "Status", "Answered"):
        assert f'data-label="{label}"' in table
