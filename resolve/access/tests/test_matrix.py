"""The permission matrix: every role against every API endpoint and page, for a record in their
scope (allowed or denied) and one outside it. Each allowed write asserts its event row.

Adding an endpoint is one line in ``WRITES`` or ``READS``; pages are found in resolve/web/urls.py
and checked by the record their URL names (see ``test_pages``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from resolve.access.permissions import Perm, roles_with
from resolve.access.tests.world import SEES_A, SEES_B, TODAY, USERNAMES, World, world_build
from resolve.audit.models import AccessLogEntry
from resolve.audit.verify import verify_all
from resolve.challenges.models import Challenge, Concern, Event
from resolve.challenges.services import concern_record

pytestmark = pytest.mark.django_db

CHAIR_MANAGERS = {"iro_team_manager", "iro_service_manager"}
ON = TODAY.isoformat()


@dataclass(frozen=True)
class Write:
    """A POST on a challenge (or a child): who may do it on child A's challenge, and the event it writes."""

    path: str  # {challenge}, {action} and {child} are filled in
    body: dict[str, Any]
    allowed: frozenset[str]
    perm: Perm
    event: str
    procedure: str = "national"
    resolved: bool = False
    track: str = "iro"
    creates: bool = False  # the write creates the challenge (its event is on the new one)
    extra: dict[str, Any] = field(default_factory=dict)


WRITES: dict[str, Write] = {
    "raise_iro": Write(
        "/challenges",
        {"child": "{child}", "track": "iro", "concern": "Drift", "impact_on_child": "Delay", "on": ON},
        frozenset({"iro"}),
        Perm.RAISE_CHALLENGE,
        "raised",
        creates=True,
    ),
    "raise_cpc": Write(
        "/challenges",
        {"child": "{child}", "track": "cpc", "concern": "Drift", "impact_on_child": "Delay", "on": ON},
        frozenset({"cp_chair"}),
        Perm.RAISE_CHALLENGE,
        "raised",
        creates=True,
    ),
    "respond": Write(
        "/challenges/{challenge}/responses",
        {"response": "agree", "comments": "Will visit", "on": ON},
        frozenset({"social_worker"}),
        Perm.RESPOND,
        "response_recorded",
    ),
    "escalate": Write(
        "/challenges/{challenge}/escalations",
        {"reason": "No visit", "on": ON},
        frozenset({"iro"} | CHAIR_MANAGERS),
        Perm.ESCALATE,
        "escalated",
    ),
    "resolve": Write(
        "/challenges/{challenge}/resolution",
        {"outcome": "Visited", "learning_points": "", "on": ON},
        frozenset({"iro"} | CHAIR_MANAGERS),
        Perm.RESOLVE,
        "resolved",
    ),
    "reopen": Write(
        "/challenges/{challenge}/reopening",
        {"reason": "Visits stopped again", "on": ON},
        frozenset({"iro"} | CHAIR_MANAGERS),
        Perm.REOPEN,
        "reopened",
        resolved=True,
    ),
    "withdraw": Write(
        "/challenges/{challenge}/withdrawal",
        {"reason": "Raised in error", "on": ON},
        frozenset({"iro"} | CHAIR_MANAGERS),
        Perm.WITHDRAW,
        "withdrawn",
    ),
    "refer_to_cafcass": Write(
        "/challenges/{challenge}/cafcass-referral",
        {"reason": "Urgent: the plan has drifted", "checklist": {}, "urgent": True, "on": ON},
        frozenset({"iro"}),
        Perm.REFER_TO_CAFCASS,
        "cafcass_referred",
    ),
    "mark_action": Write(
        "/challenges/{challenge}/actions/{action}",
        {"status": "done", "on": ON},
        # The chair, the chair's managers, and the child's social work team who carry the actions out.
        frozenset({"iro", "social_worker", "team_manager"} | CHAIR_MANAGERS),
        Perm.UPDATE_ACTION,
        "action_updated",
    ),
    "record_meeting": Write(
        "/challenges/{challenge}/meetings",
        {"summary": "Met the team", "on": ON},
        frozenset({"iro", "social_worker"} | CHAIR_MANAGERS),
        Perm.RECORD_MEETING,
        "meeting_recorded",
    ),
    "final_comments": Write(
        "/challenges/{challenge}/final-comments",
        {"comments": "Good resolution", "on": ON},
        frozenset({"iro_service_manager"}),
        Perm.ADD_FINAL_COMMENTS,
        "final_comments_added",
        procedure="challenge_and_resolution",
        resolved=True,
    ),
}

# GETs on a record: allowed exactly when the role sees the record.
READS: dict[str, str] = {
    "child": "/children/{child}",
    "chronology": "/children/{child}/chronology",
    "challenge": "/challenges/{challenge}",
}


@pytest.fixture
def world(authority: Any) -> World:
    with time_machine.travel(dt.datetime(2026, 12, 1, 10, 0), tick=False):
        return world_build(authority)


def _fill(value: Any, **names: Any) -> Any:
    if isinstance(value, str):
        return value.format(**names)
    if isinstance(value, dict):
        return {key: _fill(item, **names) for key, item in value.items()}
    return value


def test_matrix_agrees_with_the_permission_map() -> None:
    for name, write in WRITES.items():
        assert write.allowed <= roles_with(write.perm), (
            f"{name}: the map does not allow {write.allowed - roles_with(write.perm)}"
        )


@time_machine.travel(dt.datetime(2026, 12, 1, 10, 0), tick=False)
@pytest.mark.parametrize("username", USERNAMES)
@pytest.mark.parametrize("endpoint", sorted(WRITES))
@pytest.mark.parametrize("where", ["in_scope", "out_of_scope"])
def test_writes(api_as: Callable[[str], Any], world: World, username: str, endpoint: str, where: str) -> None:
    write = WRITES[endpoint]
    child = world.a if where == "in_scope" else world.b
    sees = username in (SEES_A if where == "in_scope" else SEES_B)
    if where == "out_of_scope" and sees:
        pytest.skip("this role sees the second child too; covered by the in-scope case")
    challenge = world.challenge(child, procedure=write.procedure, resolved=write.resolved, track=write.track)
    names = {"challenge": challenge.pk, "child": child.case_number, "action": challenge.actions.get().pk}
    events_before = Event.objects.count()
    challenges_before = set(Challenge.objects.values_list("pk", flat=True))

    answer = api_as(username).post(_fill(write.path, **names), _fill(write.body, **names))

    if not sees:
        assert answer.status_code == 404, answer.content
        assert answer.json()["error"]["code"] == "not_found"
        assert Event.objects.count() == events_before
    elif username in write.allowed:
        assert answer.status_code in (200, 201), answer.content
        if write.creates:
            (new,) = set(Challenge.objects.values_list("pk", flat=True)) - challenges_before
            latest = Event.objects.filter(challenge_id=new).order_by("-sequence").first()
        else:
            latest = Event.objects.filter(challenge=challenge).order_by("-sequence").first()
        assert latest is not None and latest.type == write.event
        assert latest.by_id == world.user(username).pk
        assert Event.objects.count() > events_before
    else:
        assert answer.status_code == 403, answer.content
        assert Event.objects.count() == events_before
    assert list(verify_all()) == []


@time_machine.travel(dt.datetime(2026, 12, 1, 10, 0), tick=False)
@pytest.mark.parametrize("username", USERNAMES)
@pytest.mark.parametrize("endpoint", sorted(READS))
@pytest.mark.parametrize("where", ["in_scope", "out_of_scope"])
def test_reads(api_as: Callable[[str], Any], world: World, username: str, endpoint: str, where: str) -> None:
    child = world.a if where == "in_scope" else world.b
    sees = username in (SEES_A if where == "in_scope" else SEES_B)
    challenge = world.challenge(child)
    logged_before = AccessLogEntry.objects.filter(user=world.user(username)).count()

    answer = api_as(username).get(READS[endpoint].format(child=child.case_number, challenge=challenge.pk))

    if sees:
        assert answer.status_code == 200, answer.content
        entry = AccessLogEntry.objects.filter(user=world.user(username)).order_by("-id").first()
        assert entry is not None and entry.child_id == child.pk
        assert (entry.channel, entry.ip_address, entry.method) == ("api", "127.0.0.1", "GET")
    else:
        assert answer.status_code == 404, answer.content
        assert answer.json()["error"]["code"] == "not_found"
        assert AccessLogEntry.objects.filter(user=world.user(username)).count() == logged_before


@time_machine.travel(dt.datetime(2026, 12, 1, 10, 0), tick=False)
@pytest.mark.parametrize("username", USERNAMES)
def test_lists_hold_only_what_one_sees(api_as: Callable[[str], Any], world: World, username: str) -> None:
    in_a, in_b = world.challenge(world.a), world.challenge(world.b)
    answer = api_as(username).get("/challenges")
    assert answer.status_code == 200
    listed = {row["id"] for row in answer.json()["results"]}
    expected = {in_a.pk} if username in SEES_A else set()
    expected |= {in_b.pk} if username in SEES_B else set()
    assert listed == expected


@time_machine.travel(dt.datetime(2026, 12, 1, 10, 0), tick=False)
@pytest.mark.parametrize("username", USERNAMES)
def test_adding_children(api_as: Callable[[str], Any], world: World, username: str) -> None:
    answer = api_as(username).post(
        "/children",
        {
            "case_number": "LCS-NEW",
            "first_name": "Cara",
            "last_name": "Lee",
            "date_of_birth": "2016-01-02",
            "social_worker": "social_worker",
        },
    )
    assert answer.status_code == (201 if username in roles_with(Perm.ADD_CHILDREN) else 403), answer.content


# -- pages -----------------------------------------------------------------------------------------
# Pages whose URL names a record are checked by that record; list others here with what to pass.
# name -> (kwargs, roles allowed: None means every signed-in person). One line per page.
PAGE_KWARGS: dict[str, dict[str, Any]] = {
    "procedure_detail": {"key": "national"},
    "challenge_raise": {"track": "iro", "procedure": "national"},
    "challenge_raise_check": {"track": "iro", "procedure": "national"},
    "challenge_transition": {"action": "respond"},
    "challenge_action_mark": {"action_id": "{action}"},
    "challenge_action_redate": {"action_id": "{action}"},
    "challenge_action_close": {"action_id": "{action}"},
    "challenge_action_not_done": {"action_id": "{action}"},
    "case_note_correct": {"note_id": "{note}"},
    "concern_close": {"concern_id": "{concern}"},
}
# Pages only some of those who see the record may open; the others get 403 or 404 like anyone.
PAGE_ROLES: dict[str, frozenset[str]] = {
    "challenge_raise": frozenset({"iro"}),
    "challenge_raise_check": frozenset({"iro"}),
    # By role: the second team's staff hold the same roles as the first's.
    "case_note_correct": frozenset(
        name for name in USERNAMES if name.removesuffix("_2") in roles_with(Perm.CORRECT_CASE_NOTE)
    ),
}
# Pages that reach a child by its case number for those whose role does that job, whatever they see
# (those who add children allocate every child, as the API does); everyone else is scoped as usual.
PAGE_REACH: dict[str, frozenset[str]] = {"child_allocation": roles_with(Perm.ADD_CHILDREN)}
PAGE_ROLES["child_allocation"] = roles_with(Perm.ADD_CHILDREN)
# Pages about no record that only some roles may open (the others get 403).
PAGES_FOR_ROLES: dict[str, frozenset[str]] = {
    "allocation_start": roles_with(Perm.ADD_CHILDREN),
    "leaver_hand_over": roles_with(Perm.HAND_OVER_WORK),
}
PAGES_SKIPPED = {"sign_in", "sign_out"}
# Pages about a record named by something other than the child or challenge (a case note's id).
PAGES_ON_A_RECORD = {"case_note_correct"}
RECORD_KWARGS = {"case_number": "child", "challenge_id": "challenge", "pk": "challenge", "id": "challenge"}


def _web_pages() -> list[tuple[str, list[str]]]:
    resolver = get_resolver()
    found: list[tuple[str, list[str]]] = []
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver) and getattr(pattern, "namespace", None) == "web":
            for sub in pattern.url_patterns:
                if isinstance(sub, URLPattern) and sub.name and sub.name not in PAGES_SKIPPED:
                    found.append((sub.name, sorted(sub.pattern.converters) or _route_names(str(sub.pattern))))
    return found


def _concern(child: Any) -> Concern:
    """A concern on ``child``'s record, recorded by its IRO (once)."""
    found = Concern.objects.filter(child=child).first()
    return found or concern_record(user=child.iro, child=child, track="iro", concern="Visits are late.")


def _route_names(route: str) -> list[str]:
    import re

    return sorted(re.findall(r"<(?:\w+:)?(\w+)>", route))


@time_machine.travel(dt.datetime(2026, 12, 1, 10, 0), tick=False)
@pytest.mark.parametrize("username", USERNAMES)
def test_pages(world: World, username: str) -> None:
    """Every page of resolve/web: a page about a record shows it to those who see it, 404 to the rest."""
    challenge_a, challenge_b = world.challenge(world.a), world.challenge(world.b)
    client = Client()
    client.force_login(world.user(username))
    anonymous = Client()
    for name, kwargs_names in _web_pages():
        unknown = [k for k in kwargs_names if k not in RECORD_KWARGS and k not in PAGE_KWARGS.get(name, {})]
        if unknown:
            pytest.fail(f"Page web:{name} takes {unknown}: add a line for it to PAGE_KWARGS in {__file__}")
        record_kwargs = [k for k in kwargs_names if k in RECORD_KWARGS]
        for child, challenge, sees in ((world.a, challenge_a, SEES_A), (world.b, challenge_b, SEES_B)):
            values = {"child": child.case_number, "challenge": challenge.pk}
            first_note = challenge.case_notes.order_by("id").first()
            assert first_note is not None
            filled = {"{action}": challenge.actions.get().pk, "{note}": first_note.pk}
            if "{concern}" in PAGE_KWARGS.get(name, {}).values():
                filled["{concern}"] = _concern(child).pk
            extra = {k: filled.get(v, v) for k, v in PAGE_KWARGS.get(name, {}).items()}
            kwargs = {**extra, **{k: values[RECORD_KWARGS[k]] for k in record_kwargs}}
            url = reverse(f"web:{name}", kwargs=kwargs)
            assert anonymous.get(url).status_code in (302, 404), f"{url} answers a signed-out visitor"
            status = client.get(url).status_code
            if status == 405:
                continue  # a POST-only page: the form page that posts to it is checked
            if username in PAGE_REACH.get(name, ()):
                assert status in (200, 302), f"{username} on {url}: {status}, expected to reach it"
            elif record_kwargs or name in PAGES_ON_A_RECORD:
                # Those who see the record get the page (or are told they may not act: 403, or sent on:
                # 302); everyone else gets 404, exactly as for a record that does not exist.
                if username in sees and username in PAGE_ROLES.get(name, {username}):
                    assert status in (200, 302, 403), f"{username} on {url}: {status}, expected to see it"
                elif username in sees:
                    assert status in (403, 404), f"{username} on {url}: {status}, expected 403 or 404"
                else:
                    assert status == 404, f"{username} on {url}: {status}, expected 404"
            else:
                role = username.removesuffix("_2")  # the second team's staff hold the first's roles
                allowed = role in PAGES_FOR_ROLES.get(name, {role})
                assert status in ((200, 302) if allowed else (403,)), f"{username} on {url}: {status}"
                break  # no record in the URL: once is enough
