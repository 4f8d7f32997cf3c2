"""Issue 10 item 8 on the pages: input no view can handle gets a GOV.UK 400 (413 for size), never a 500,
and changes nothing; the raise and case-note correction forms are fuzzed with hypothesis."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

import pytest
import time_machine
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resolve.api.tests.helpers import db_state, unchanged
from resolve.children.models import CaseNote
from resolve.core import limits
from resolve.testing.challenges import raise_challenge
from resolve.web.tests.factories import raise_form

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 12, 21)
RAISE = "/children/LCS100001/raise/iro/challenge_and_resolution/"


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(dt.datetime(2026, 12, 21, 10, 0), tick=False):
        yield


@pytest.fixture
def iro(client, authority, child):
    client.force_login(authority.staff["iro"])
    return client


def _form_body(data: dict[str, Any]) -> str:
    """A urlencoded body as a browser would send it; a lone surrogate goes as its (invalid) UTF-8 bytes."""
    pairs = []
    for key, value in data.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append(f"{quote(key)}={quote(str(item).encode('utf-8', 'surrogatepass'))}")
    return "&".join(pairs)


def _post_form(client: Client, path: str, data: dict[str, Any]) -> Any:
    return client.post(path, _form_body(data), content_type="application/x-www-form-urlencoded")


def _raise_form(**overrides: Any) -> dict[str, Any]:
    return raise_form(rows=1, **overrides)


def _a_note(authority, child) -> CaseNote:
    raise_challenge(
        authority,
        child,
        procedure_key="challenge_and_resolution",
        concern="Statutory visits have not happened.",
        impact_on_child="The child has not been seen alone.",
        on=TODAY,
    )
    return CaseNote.objects.filter(child=child).get()


# -- the inputs the probe found -------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/children/%00/", "/children/%00/raise/", "/children/?q=%00"])
def test_nul_in_a_page_address_is_a_govuk_400(iro, path):
    with unchanged():
        response = iro.get(path)
    assert response.status_code == 400
    html = response.content.decode()
    assert "There is a problem with the request" in html and "govuk-heading-l" in html


def test_nul_in_the_calendar_feed_address_is_400_without_signing_in(client, child):
    with unchanged():
        response = client.get("/calendar/%00.ics")
    assert response.status_code == 400


@pytest.mark.parametrize("total", ["abc", "-1", "99999999999999999999", ""])
@pytest.mark.parametrize("button", ["continue", "add_action"])
def test_a_made_up_action_count_on_the_raise_form_is_not_a_500(iro, total, button):
    data = _raise_form(**{"actions-TOTAL_FORMS": total})
    data.pop("continue")
    data[button] = "1"
    with unchanged():
        response = iro.post(RAISE, data)
    # A negative count is read as no actions: the answers go on to the check page, unsaved.
    assert response.status_code in {200, 302, 400}, response.status_code


def test_nul_in_the_raise_form_is_a_govuk_400(iro):
    with unchanged():
        response = _post_form(iro, RAISE, _raise_form(concern="Late\x00"))
    assert response.status_code == 400
    assert "NUL" in response.content.decode()


def test_a_page_body_past_the_limit_is_413(iro):
    with unchanged():
        response = _post_form(iro, RAISE, _raise_form(concern="x" * 2_500_000))
    assert response.status_code == 413
    assert "too large" in response.content.decode()


def test_too_long_a_concern_is_shown_beside_the_field(iro):
    response = _post_form(iro, RAISE, _raise_form(concern="x" * (limits.MAX_TEXT + 1)))
    assert response.status_code == 400
    html = response.content.decode()
    assert f"Use {limits.MAX_TEXT:,} characters or fewer" in html
    assert 'href="#id_concern"' in html


def test_too_many_actions_are_refused_on_the_page(iro):
    rows = limits.MAX_ACTIONS + 1
    data = _raise_form(**{"actions-TOTAL_FORMS": str(rows)})
    for n in range(rows):
        data[f"actions-{n}-action"] = "Visit"
        data[f"actions-{n}-owner"] = "Sophie Walker"
        data[f"actions-{n}-due_0"], data[f"actions-{n}-due_1"], data[f"actions-{n}-due_2"] = "4", "1", "2027"
    response = iro.post(RAISE, data)
    assert response.status_code == 400


def test_too_long_a_correction_is_shown_beside_the_field(iro, authority, child):
    note = _a_note(authority, child)
    with unchanged():
        response = iro.post(f"/case-notes/{note.pk}/correct/", {"body": "x" * (limits.MAX_TEXT + 1)})
    assert response.status_code in {200, 400}
    assert f"The correction must be {limits.MAX_TEXT:,} characters or fewer" in response.content.decode()


# -- a form fuzz ------------------------------------------------------------------------------------
AWKWARD = st.sampled_from(["\x00", "\ud800", "\udfff", "\r\n", "%00", "'; DROP TABLE x; --", "é", "🙂"])
TEXT = st.one_of(
    st.text(max_size=50),
    st.builds(lambda a, b, c: a + b + c, st.text(max_size=10), AWKWARD, st.text(max_size=10)),
    st.integers(min_value=limits.MAX_TEXT - 2, max_value=limits.MAX_TEXT + 2).map(lambda n: "y" * n),
    st.just("z" * 1_100_000),
)
NUMBER = st.one_of(
    st.integers(min_value=-5, max_value=70).map(str),
    st.sampled_from(["", "abc", "1e9", "99999999999999999999", "-0", "3.5", "\x00", "\ud800"]),
)
FUZZ = settings(
    max_examples=40, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck)
)


@FUZZ
@given(
    concern=TEXT,
    impact=TEXT,
    owner=TEXT,
    total=NUMBER,
    initial=NUMBER,
    day=NUMBER,
    year=NUMBER,
    button=st.sampled_from(["continue", "add_action"]),
)
def test_fuzz_the_raise_form(iro, concern, impact, owner, total, initial, day, year, button):
    data = _raise_form(
        concern=concern,
        impact_on_child=impact,
        **{
            "actions-0-owner": owner,
            "actions-TOTAL_FORMS": total,
            "actions-INITIAL_FORMS": initial,
            "actions-0-due_0": day,
            "actions-0-due_2": year,
            "on_0": day,
        },
    )
    data.pop("continue")
    data[button] = "1"
    before = db_state()
    response = _post_form(iro, RAISE, data)
    assert response.status_code in {200, 302, 400, 413}, response.status_code
    # The raise form only keeps the answers for the check page: nothing is written yet.
    assert db_state() == before


@FUZZ
@given(body=TEXT)
def test_fuzz_the_case_note_correction_form(iro, authority, child, body):
    note = CaseNote.objects.filter(child=child, corrects__isnull=True).first() or _a_note(authority, child)
    before = db_state()
    response = _post_form(iro, f"/case-notes/{note.pk}/correct/", {"body": body})
    assert response.status_code in {200, 302, 400, 413}, response.status_code
    if response.status_code != 302:
        assert db_state() == before
    else:
        saved = CaseNote.objects.filter(corrects=note).latest("pk").body
        assert "\x00" not in saved and len(saved) <= limits.MAX_TEXT
        saved.encode("utf-8")  # no unpaired surrogate reached the database
