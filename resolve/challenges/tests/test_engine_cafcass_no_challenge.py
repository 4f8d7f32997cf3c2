"""The engine's rules for a referral to Cafcass with no challenge (``engine.decide_for_child``): pure,
against the shipped procedures, with the seed sentences they come from.

Seed 000: "Alongside or out with the Outcome Resolution the IRO can consider whether to make a
referral to Cafcass". Seed 004: "Should the IRO/CP Chair be dissatisfied by the outcome a referral to
CAFCASS can be made" (only IROs may refer: Children Act 1989 s25B(3)).
"""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from resolve.challenges import engine
from resolve.challenges.events import AgreementAnswered, AgreementRequested, CafcassReferred
from resolve.challenges.tests.kit import CHAIR, CHAIR_MANAGER, SOCIAL_WORKER, person, procedure
from resolve.testing.agreements import REFERRAL_CHECKLIST

TODAY = dt.date(2027, 3, 1)
CHECKLIST_003 = dict(REFERRAL_CHECKLIST)


def decide(
    key: str,
    command: engine.ChildCommand,
    actor: engine.Actor = CHAIR,
    state: engine.ChildReferralState | None = None,
    track: str = "iro",
) -> engine.ChildDecision:
    return engine.decide_for_child(
        procedure=procedure(key),
        track=track,
        state=state or engine.ChildReferralState(),
        command=command,
        actor=actor,
        today=TODAY,
    )


def refer(**over: object) -> engine.ReferToCafcass:
    values: dict[str, object] = {"on": TODAY, "reason": "The plan has drifted.", "urgent": True}
    values.update(over)
    return engine.ReferToCafcass(**values)  # type: ignore[arg-type]


def test_seed_000_out_with_the_outcome_resolution_when_urgent() -> None:
    refused = decide("outcome_resolution", refer(urgent=False))
    assert isinstance(refused, engine.Refused) and refused.code == "cafcass_urgency_required"
    accepted = decide("outcome_resolution", refer())
    assert isinstance(accepted, engine.ChildAccepted)
    assert accepted.detail == CafcassReferred(
        reason="The plan has drifted.", urgent=True, checklist={}, preconditions={}
    )


def test_seed_004_the_iro_refers_a_cp_chair_track_is_refused() -> None:
    accepted = decide("informal_challenge_dispute_resolution", refer(urgent=False))
    assert isinstance(accepted, engine.ChildAccepted)
    refused = decide("informal_challenge_dispute_resolution", refer(), track="cpc")
    assert isinstance(refused, engine.Refused)
    assert (refused.kind, refused.code) == ("forbidden", "cafcass_iro_only")
    assert "CP Chairs have no such power" in refused.message


def test_only_the_chair_or_the_form_completer_records_it() -> None:
    refused = decide("national", refer(), actor=SOCIAL_WORKER)
    assert isinstance(refused, engine.Refused) and refused.kind == "forbidden"
    # Seed 001 names the CPRU Service Manager to complete the form, and refers only from stage 3.
    completer = engine.Actor("iro_service_manager", frozenset({engine.CAFCASS_FORM}))
    assert decide("cla_dispute_resolution", refer(), actor=CHAIR).code == "not_allowed"  # type: ignore[union-attr]
    first = decide("cla_dispute_resolution", refer(), actor=completer)
    assert isinstance(first, engine.Refused) and first.code == "cafcass_challenge_first"


def test_seed_003_agreements_asked_confirmed_and_spent() -> None:
    """Seed 003: "Such a step would require the oversight and approval of the Service Manager and HoS
    for Safeguarding"."""
    state = engine.ChildReferralState()
    for key, username, role in (
        ("service_manager_approval", "iro_service_manager", "iro_service_manager"),
        ("hos_safeguarding_approval", "head_of_safeguarding", "head_of_safeguarding"),
    ):
        asked = decide(
            "challenge_and_resolution",
            engine.RequestAgreement(
                on=TODAY, purpose="cafcass", key=key, person=person(username, role), note="n"
            ),
            state=state,
        )
        assert isinstance(asked, engine.ChildAccepted) and isinstance(asked.detail, AgreementRequested)
        state = engine.ChildReferralState(agreements=asked.agreements, last_on=TODAY)
        early = decide("challenge_and_resolution", refer(checklist=CHECKLIST_003), state=state)
        assert isinstance(early, engine.Refused) and early.code == "cafcass_precondition_missing"
        number = asked.agreements[-1].number
        answered = decide(
            "challenge_and_resolution",
            engine.AnswerAgreement(on=TODAY, number=number, answer="confirmed"),
            actor=engine.Actor(username),
            state=state,
        )
        assert isinstance(answered, engine.ChildAccepted) and isinstance(answered.detail, AgreementAnswered)
        state = engine.ChildReferralState(agreements=answered.agreements, last_on=TODAY)
    accepted = decide("challenge_and_resolution", refer(checklist=CHECKLIST_003), state=state)
    assert isinstance(accepted, engine.ChildAccepted), accepted
    # The same requests count for no later referral.
    spent = engine.ChildReferralState(agreements=state.agreements, last_on=TODAY, spent=2)
    again = decide("challenge_and_resolution", refer(checklist=CHECKLIST_003), state=spent)
    assert isinstance(again, engine.Refused) and again.code == "cafcass_precondition_missing"


def test_requests_are_for_a_cafcass_referral_by_the_chair_or_their_manager() -> None:
    bypass = engine.RequestAgreement(
        on=TODAY, purpose="bypass", key="stage_3", person=person("iro_service_manager", "iro_service_manager")
    )
    refused = decide("challenge_and_resolution", bypass, actor=CHAIR_MANAGER)
    assert isinstance(refused, engine.Refused) and (refused.code, refused.field) == (
        "unknown_purpose",
        "purpose",
    )
    cafcass = engine.RequestAgreement(
        on=TODAY,
        purpose="cafcass",
        key="service_manager_approval",
        person=person("iro_service_manager", "iro_service_manager"),
        note="n",
    )
    refused = decide("challenge_and_resolution", cafcass, actor=SOCIAL_WORKER)
    assert isinstance(refused, engine.Refused) and refused.kind == "forbidden"


@settings(max_examples=60, deadline=None)
@given(
    statuses=st.lists(st.sampled_from(["pending", "confirmed", "declined"]), min_size=0, max_size=4),
    spent=st.integers(min_value=0, max_value=4),
)
def test_a_referral_is_accepted_only_with_a_fresh_confirmation_of_each_agreement(
    statuses: list[str], spent: int
) -> None:
    """Invariant: with seed 003's two approvals, a referral goes ahead exactly when each has a
    confirmed request made since the last referral (as a challenge's referral counts them)."""
    keys = ("service_manager_approval", "hos_safeguarding_approval")
    agreements = tuple(
        engine.AgreementState(
            number=index + 1, purpose="cafcass", key=keys[index % 2], username="someone", status=status
        )
        for index, status in enumerate(statuses)
    )
    state = engine.ChildReferralState(agreements=agreements, spent=spent)
    decision = decide("challenge_and_resolution", refer(checklist=CHECKLIST_003), state=state)
    fresh = [a for a in agreements if a.number > spent]
    met = all(any(a.key == key and a.status == "confirmed" for a in fresh) for key in keys)
    assert isinstance(decision, engine.ChildAccepted) == met


def test_dates_are_checked() -> None:
    future = decide("national", refer(on=TODAY + dt.timedelta(days=1)))
    assert isinstance(future, engine.Refused) and future.field == "on"
    before = decide(
        "national", refer(), state=engine.ChildReferralState(last_on=TODAY + dt.timedelta(days=0))
    )
    assert isinstance(before, engine.ChildAccepted)
    earlier = decide(
        "national", refer(on=TODAY - dt.timedelta(days=2)), state=engine.ChildReferralState(last_on=TODAY)
    )
    assert isinstance(earlier, engine.Refused) and earlier.code == "date_before_previous_event"
