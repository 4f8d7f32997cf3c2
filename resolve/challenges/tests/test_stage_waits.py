"""Who the current stage waits on, as rows (``StageWait``): kept by the database with the stage visits
in every writer's own statement, so they always say what the current visits say; and the home page's
queues, read from them and from the due-date indexes a stretch at a time, list exactly what a plain
sort of each queue's challenges lists."""

from __future__ import annotations

import datetime as dt
import importlib
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resolve.access.tests.world import World, world_build
from resolve.audit.verify import verify_all
from resolve.challenges import queues, services
from resolve.challenges.models import Challenge, StageVisit, StageWait
from resolve.children.services import child_allocate
from resolve.core.errors import ServiceError
from resolve.people.models import Post

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 12, 1)
PEOPLE = (
    "iro",
    "iro_2",
    "cp_chair",
    "social_worker",
    "team_manager",
    "service_manager",
    "head_of_service",
    "director",
)


@pytest.fixture
def world(authority: Any) -> Any:
    with time_machine.travel(dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC), tick=False):
        world = world_build(authority)
        person = get_user_model().objects.create_user(username="team_manager_3")
        Post.objects.create(user=person, role="team_manager", team=authority.teams["social_work"])
        yield world


def _expected() -> set[tuple[Any, ...]]:
    """What the rows must say: one per person each current stage visit sends to, copies or tells."""
    raised = dict(Challenge.objects.values_list("pk", "raised_on"))
    rows = set()
    for visit in StageVisit.objects.filter(left_on__isnull=True):
        for how, usernames in (
            ("to", visit.to_users),
            ("cc", visit.cc_users),
            ("notify", visit.notify_users),
        ):
            for username in usernames:
                rows.add(
                    (
                        visit.challenge_id,
                        visit.pk,
                        username,
                        how,
                        visit.responded_on is not None,
                        visit.due_on,
                        raised[visit.challenge_id],
                    )
                )
    return rows


def _rows() -> set[tuple[Any, ...]]:
    columns = ("challenge_id", "visit_id", "username", "how", "answered", "due_on", "raised_on")
    rows = list(StageWait.objects.values_list(*columns))
    assert len(rows) == len(set(rows))  # one row per person, kind and visit
    return set(rows)


def _agree() -> None:
    assert _rows() == _expected()


def _queues_read_in_order(world: World, today: dt.date) -> None:
    """Each queue read from its ways in, a slice at a time and first with its count, lists what the
    plain sort of all its challenges lists ("overdue first", then due date, raised, id)."""
    for username in PEOPLE:
        user = get_user_model().objects.get(username=username)
        for select in (
            queues.waiting_on_me,
            queues.needs_my_decision,
            queues.waiting_on_others,
            queues.my_people,
            queues.copied_to_me,
        ):
            queue = select(user=user, today=today)
            plain = list(queues._in_order(queue.make().rows, today).values_list("pk", flat=True))
            assert [c.pk for c in queue[0:50]] == plain[:50], (username, select.__name__)
            assert [c.pk for c in queue[2:5]] == plain[2:5], (username, select.__name__)
            first, count = queue.first_counted(3)
            assert ([c.pk for c in first], count) == (plain[:3], len(plain)), (username, select.__name__)


def _stage_user(challenge: Challenge) -> Any:
    visit = challenge.visits.filter(left_on__isnull=True).first()
    users = get_user_model().objects
    return users.get(username=visit.to_users[0]) if visit is not None and visit.to_users else None


def _chair(challenge: Challenge) -> Any:
    challenge.refresh_from_db()
    chair_id = challenge.iro_id if challenge.track == "iro" else challenge.cp_chair_id
    assert chair_id is not None
    return get_user_model().objects.get(pk=chair_id)


STEPS = ("respond", "escalate", "resolve", "reopen", "withdraw", "extend", "hand_over", "allocate")


def _step(world: World, challenge: Challenge, step: str, on: dt.date) -> None:
    """One change of the kind ``step`` on ``challenge``, as its person would make it; a refusal (the
    change is not possible now) changes nothing, which the rows must agree with too."""
    chair, pk = _chair(challenge), challenge.pk
    try:
        if step == "respond":
            recipient = _stage_user(challenge)
            if recipient is not None:
                services.challenge_respond(user=recipient, challenge_id=pk, response="disagree", on=on)
        elif step == "escalate":
            services.challenge_escalate(user=chair, challenge_id=pk, reason="No answer", on=on)
        elif step == "resolve":
            services.challenge_resolve(
                user=chair, challenge_id=pk, outcome="Done", learning_points="x", on=on
            )
        elif step == "reopen":
            services.challenge_reopen(user=chair, challenge_id=pk, reason="Actions not delivered", on=on)
        elif step == "withdraw":
            services.challenge_withdraw(user=chair, challenge_id=pk, reason="Raised in error", on=on)
        elif step == "extend":
            services.challenge_deadline_extend(
                user=chair,
                challenge_id=pk,
                due=on + dt.timedelta(days=21),
                reason="Agreed",
                agreed_by=None,
                on=on,
            )
        elif step == "hand_over":
            # The stage's recorded people change (a visit updated in place).
            leaver, successor = (
                ("team_manager", "team_manager_3")
                if get_user_model().objects.get(username="team_manager").is_active
                and StageWait.objects.filter(username="team_manager").exists()
                else ("team_manager_3", "team_manager")
            )
            services.leaver_hand_over(
                user=world.user("admin"), leaver=leaver, successor=successor, reason="Left"
            )
        elif step == "allocate":
            child_allocate(
                user=world.user("admin"),
                child_id=challenge.child_id,
                social_worker="social_worker_2"
                if challenge.child.social_worker.username == "social_worker"
                else "social_worker",
                iro=challenge.child.iro.username if challenge.child.iro else None,
                cp_chair=challenge.child.cp_chair.username if challenge.child.cp_chair else None,
                reason="Moved",
            )
    except ServiceError:
        pass


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(STEPS), st.integers(min_value=0, max_value=2), st.integers(0, 9)),
        min_size=1,
        max_size=10,
    )
)
def test_the_rows_agree_with_the_current_stages_after_any_history(world: World, steps: list[Any]) -> None:
    """Random histories of every kind of change (respond, escalate, resolve, re-open, withdraw, extend
    the due date, hand a leaver's work over, change the child's allocation): after each, the rows are
    exactly the current stage visits' people, and the queues read from them list what a plain sort
    lists."""
    challenges = [world.challenge(world.a), world.challenge(world.b), world.challenge(world.a, track="cpc")]
    _agree()
    day = TODAY
    for step, which, days in steps:
        day += dt.timedelta(days=days)
        with time_machine.travel(dt.datetime.combine(day, dt.time(10), tzinfo=dt.UTC), tick=False):
            _step(world, challenges[which], step, day)
            _agree()
    _queues_read_in_order(world, day)
    _queues_read_in_order(world, day + dt.timedelta(days=30))  # everything still open now overdue


def test_an_escalation_moves_the_rows_to_the_next_stage_in_the_same_statement(world: World) -> None:
    """The transition writes its visits in one statement and the rows come with it: no statement
    more (``test_transition_queries`` holds each transition to its count)."""
    challenge = world.challenge(world.a)
    first = set(StageWait.objects.filter(challenge=challenge).values_list("username", "how"))
    assert first and all(how in {"to", "cc", "notify"} for _, how in first)
    services.challenge_escalate(
        user=world.user("iro"), challenge_id=challenge.pk, reason="No answer", on=TODAY
    )
    _agree()
    now = StageWait.objects.filter(challenge=challenge)
    visit = challenge.visits.get(left_on__isnull=True)
    assert {row.visit_id for row in now} == {visit.pk}
    assert {row.username for row in now if row.how == "to"} == set(visit.to_users)
    services.challenge_resolve(
        user=world.user("iro"), challenge_id=challenge.pk, outcome="Done", learning_points="x", on=TODAY
    )
    assert not StageWait.objects.filter(challenge=challenge).exists()  # no current stage, no rows
    _agree()


def test_a_change_of_allocation_leaves_the_stage_and_its_rows_as_they_were(world: World) -> None:
    """A stage's people are recorded when it is entered; a new allocation re-addresses nothing."""
    world.challenge(world.a)
    before = _rows()
    child_allocate(
        user=world.user("admin"), child_id=world.a.pk, social_worker="social_worker_2", reason="Moved team"
    )
    assert _rows() == before
    _agree()
    assert list(verify_all()) == []


def test_a_hand_over_moves_the_rows_to_the_successor(world: World) -> None:
    challenge = world.challenge(world.a)
    services.challenge_escalate(
        user=world.user("iro"), challenge_id=challenge.pk, reason="No answer", on=TODAY
    )
    assert StageWait.objects.filter(challenge=challenge, username="team_manager", how="to").exists()
    services.leaver_hand_over(
        user=world.user("admin"), leaver="team_manager", successor="team_manager_3", reason="Left"
    )
    assert not StageWait.objects.filter(username="team_manager").exists()
    assert StageWait.objects.filter(challenge=challenge, username="team_manager_3", how="to").exists()
    _agree()
    successor = get_user_model().objects.get(username="team_manager_3")
    waiting = queues.waiting_on_me(user=successor, today=TODAY)
    assert [c.pk for c in waiting[0:10]] == [challenge.pk]


def test_the_rows_are_not_evidence(world: World) -> None:
    """Derived from the sealed visits and kept out of every seal: the chains still verify, and
    rewriting the rows by hand changes no seal."""
    challenge = world.challenge(world.a)
    services.challenge_escalate(
        user=world.user("iro"), challenge_id=challenge.pk, reason="No answer", on=TODAY
    )
    StageWait.objects.all().delete()
    assert list(verify_all()) == []


def test_the_migration_fills_the_rows_of_the_challenges_there_before_it(world: World) -> None:
    world.challenge(world.a), world.challenge(world.b)
    expected = _expected()
    assert expected
    StageWait.objects.all().delete()
    migration = importlib.import_module("resolve.challenges.migrations.0015_stage_waits_kept_by_triggers")
    with connection.cursor() as cursor:
        cursor.execute(migration._fill(connection.vendor))
    assert _rows() == expected


def test_load_bulk_writes_the_rows_with_its_stage_visits(authority: Any) -> None:
    call_command("load_bulk", "40", "--today", "2026-12-01", stdout=StringIO())
    assert StageWait.objects.exists()
    _agree()
