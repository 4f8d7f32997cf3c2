"""Invariants of the engine over random sequences of commands, under every shipped procedure."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from resolve.challenges import engine
from resolve.challenges.tests.kit import (
    CHAIR,
    CHAIR_MANAGER,
    RECIPIENT,
    SOCIAL_WORKER,
    calendar,
    person,
    procedure,
)

PROCEDURES = [
    "outcome_resolution",
    "cla_dispute_resolution",
    "qa_issue_resolution",
    "challenge_and_resolution",
    "informal_challenge_dispute_resolution",
    "national",
]
START = dt.date(2026, 11, 2)
TODAY = dt.date(2028, 12, 31)
ACTORS = [CHAIR, RECIPIENT, SOCIAL_WORKER, CHAIR_MANAGER]
ANYONE = person(
    "anyone", "iro_service_manager", "service_director", "deputy_director", "head_of_safeguarding"
)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[str, str, list[tuple[int, engine.Actor, engine.Command]]]:
    key = draw(st.sampled_from(PROCEDURES))
    rules = procedure(key)
    track = draw(st.sampled_from(rules.tracks))
    stage_keys = [stage.key for stage in rules.stages]
    steps: list[tuple[int, engine.Actor, engine.Command]] = []
    day = START
    for _ in range(draw(st.integers(min_value=1, max_value=12))):
        day = day + dt.timedelta(days=draw(st.integers(min_value=-3, max_value=15)))
        kind = draw(
            st.sampled_from(
                ["respond", "escalate", "resolve", "reopen", "refer", "meeting", "withdraw", "action"]
            )
        )
        command: engine.Command
        if kind == "respond":
            command = engine.Respond(
                on=day, response=draw(st.sampled_from(["agree", "disagree", "no_remit", "maybe"]))
            )
        elif kind == "escalate":
            command = engine.Escalate(
                on=day,
                to_stage=draw(st.one_of(st.none(), st.sampled_from(stage_keys))),
                reason=draw(st.sampled_from(["", "Drift"])),
                bypass_agreed_by=draw(st.sampled_from([None, ANYONE])),
                documents=draw(st.sampled_from([frozenset(), frozenset({"directors_briefing"})])),
            )
        elif kind == "resolve":
            command = engine.Resolve(
                on=day, outcome="Done", learning_points=draw(st.sampled_from(["", "Learn"]))
            )
        elif kind == "reopen":
            command = engine.Reopen(on=day, reason="Not delivered")
        elif kind == "refer":
            command = engine.ReferToCafcass(
                on=day,
                reason="Breach",
                urgent=draw(st.booleans()),
                checklist={item.key: True for item in rules.cafcass.checklist},
                preconditions={item.key: ANYONE for item in rules.cafcass.requires},
            )
        elif kind == "meeting":
            command = engine.RecordMeeting(on=day, summary="Met")
        elif kind == "withdraw":
            command = engine.Withdraw(on=day, reason="Moved")
        else:
            command = engine.MarkAction(on=day, action_id=draw(st.integers(1, 3)), status="done")
        steps.append((0, draw(st.sampled_from(ACTORS)), command))
    first_stage = draw(st.sampled_from(stage_keys))
    raise_command = engine.Raise(
        on=START,
        concern="Drift",
        impact_on_child="Delay",
        stage=first_stage,
        bypass_reason="Serious",
        bypass_agreed_by=ANYONE,
        actions=(engine.NewAction("Visit", "social_worker", START + dt.timedelta(days=10)),),
        documents=frozenset({"directors_briefing"}),
    )
    return key, track, [(0, CHAIR, raise_command), *steps]


def check_invariants(key: str, state: engine.ChallengeState) -> None:
    rules = procedure(key)
    cal = calendar(rules.nation)
    assert state.visits, "a raised challenge has a stage"
    # Only the last visit may still be in progress, and it is in progress exactly when open.
    for visit in state.visits[:-1]:
        assert visit.left_on is not None
    assert (state.visits[-1].left_on is None) == (state.status == "open")
    for visit in state.visits:
        days = rules.stage(visit.stage).response_working_days
        assert visit.due_on == (cal.add_working_days(visit.entered_on, days) if days else None)
        if visit.left_on is not None:
            assert visit.left_on >= visit.entered_on
    for earlier, later in zip(state.visits, state.visits[1:], strict=False):
        assert later.entered_on >= earlier.entered_on
        if earlier.left_how == "escalated":
            assert rules.order(later.stage) > rules.order(earlier.stage)
        else:  # re-opened: the re-entry stage of the stage last exited
            assert later.stage == rules.reentry_for(earlier.stage)
    formal = [visit for visit in state.visits if rules.stage(visit.stage).kind == "formal"]
    assert state.formal_started_on == (formal[0].entered_on if formal else None)
    if state.formal_started_on is not None:
        assert state.formal_due_on == cal.add_working_days(
            state.formal_started_on, rules.formal_cap_working_days
        )
    if state.cafcass_referred_on is not None:
        assert state.track in rules.cafcass.tracks


@settings(max_examples=300)
@given(scenarios())
def test_engine_invariants(scenario: tuple[str, str, list[tuple[int, engine.Actor, engine.Command]]]) -> None:
    key, track, steps = scenario
    rules = procedure(key)
    state = engine.ChallengeState(track=track)  # type: ignore[arg-type]
    last_on: dt.date | None = None
    for _, actor, command in steps:
        decision = engine.decide(
            procedure=rules,
            state=state,
            command=command,
            actor=actor,
            today=TODAY,
            calendar=calendar(rules.nation),
        )
        if isinstance(decision, engine.Refused):
            assert decision.message.strip()
            assert decision.kind in {"forbidden", "conflict", "invalid", "not_found"}
            continue
        assert decision.events, "an accepted command always records an event"
        for event in decision.events:
            assert event.on == command.on <= TODAY
            assert last_on is None or event.on >= last_on
            last_on = event.on
        state = decision.state
        assert state.last_event_on == command.on
        if isinstance(command, engine.Respond):
            assert actor.is_(engine.RECIPIENT)
        if isinstance(command, engine.Escalate | engine.Resolve | engine.Withdraw | engine.Reopen):
            assert actor.is_(engine.CHAIR, engine.CHAIR_MANAGER)
        if state.status != "new":
            check_invariants(key, state)
