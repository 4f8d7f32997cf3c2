"""Drive the pure engine in tests: the shipped procedures, a real calendar, no database."""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

from django.conf import settings

from resolve.calendars.services import bank_holidays
from resolve.calendars.types import Nation
from resolve.calendars.workingdays import FIRST_YEAR, LAST_YEAR, WorkingCalendar
from resolve.challenges import engine
from resolve.procedures.loader import procedure_load_file
from resolve.procedures.schema import Procedure

CHAIR = engine.Actor("iro", frozenset({engine.CHAIR}))
RECIPIENT = engine.Actor("team_manager", frozenset({engine.RECIPIENT}))
SOCIAL_WORKER = engine.Actor("social_worker", frozenset())
CHAIR_MANAGER = engine.Actor("iro_service_manager", frozenset({engine.CHAIR_MANAGER, engine.FINAL_COMMENTER}))


@cache
def procedure(key: str) -> Procedure:
    return procedure_load_file(settings.RESOLVE_POLICY_DIR / f"{key}.toml")


@cache
def calendar(nation: Nation = Nation.ENGLAND_AND_WALES) -> WorkingCalendar:
    return WorkingCalendar(nation, bank_holidays(nation=nation, years=range(FIRST_YEAR, LAST_YEAR + 1)))


def person(username: str, *roles: str) -> engine.Person:
    return engine.Person(username, frozenset(roles))


class Run:
    """A challenge under one procedure, moved by commands; refusals raise AssertionError unless expected."""

    def __init__(self, key: str, *, track: str = "iro", today: dt.date) -> None:
        self.procedure = procedure(key)
        self.state = engine.ChallengeState(track=track)  # type: ignore[arg-type]
        self.today = today
        self.events: list[engine.Event] = []

    def try_(self, command: engine.Command, actor: engine.Actor = CHAIR) -> engine.Decision:
        return engine.decide(
            procedure=self.procedure,
            state=self.state,
            command=command,
            actor=actor,
            today=self.today,
            calendar=calendar(self.procedure.nation),
        )

    def do(self, command: engine.Command, actor: engine.Actor = CHAIR) -> engine.ChallengeState:
        decision = self.try_(command, actor)
        assert isinstance(decision, engine.Accepted), decision
        self.state = decision.state
        self.events.extend(decision.events)
        return self.state

    def refused(self, command: engine.Command, actor: engine.Actor = CHAIR) -> engine.Refused:
        decision = self.try_(command, actor)
        assert isinstance(decision, engine.Refused), f"expected a refusal, got {decision}"
        return decision

    def agree(
        self, purpose: str, key: str, who: engine.Person, on: dt.date, answer: str = "confirmed"
    ) -> None:
        """Ask ``who`` for agreement (or tell them) as the chair, and record their answer."""
        self.do(engine.RequestAgreement(on=on, purpose=purpose, key=key, person=who, note="Please agree"))
        number = self.state.agreements[-1].number
        if answer:
            self.do(
                engine.AnswerAgreement(
                    on=on, number=number, answer=answer, comments="No" * (answer != "confirmed")
                ),
                engine.Actor(who.username, frozenset()),
            )

    @property
    def stage(self) -> str:
        assert self.state.current is not None
        return self.state.current.stage

    @property
    def due(self) -> dt.date | None:
        assert self.state.current is not None
        return self.state.current.due_on


def raise_(on: dt.date, **kwargs: Any) -> engine.Raise:
    return engine.Raise(
        on=on, concern="No statutory visit for 8 weeks", impact_on_child="Unseen child", **kwargs
    )
