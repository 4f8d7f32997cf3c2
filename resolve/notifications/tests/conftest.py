"""Fixtures for the notifications tests: challenges raised through the real services, at a chosen date,
and a real SMTP server on the loopback interface."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from aiosmtpd.controller import Controller

from resolve.challenges.models import Challenge
from resolve.challenges.services import ActionInput, challenge_raise
from resolve.children.models import Child
from resolve.people.demo import Authority
from resolve.procedures.models import PolicyVersion
from resolve.procedures.selectors import procedure_get, procedure_version_model
from resolve.procedures.services import procedure_document

LONDON = ZoneInfo("Europe/London")


def at(day: dt.date, hour: int = 10) -> time_machine.travel:
    """Travel to ``hour`` o'clock, London time, on ``day``."""
    return time_machine.travel(dt.datetime(day.year, day.month, day.day, hour, tzinfo=LONDON), tick=False)


@pytest.fixture
def raise_on(authority: Authority, child: Child) -> Callable[..., Challenge]:
    """``raise_on(date, **kwargs)`` raises a challenge for the child as the IRO on that date."""

    def make(
        day: dt.date, *, procedure_key: str = "national", actions: tuple[ActionInput, ...] = (), **kwargs: Any
    ) -> Challenge:
        with at(day):
            return challenge_raise(
                user=authority.staff["iro"],
                child=child,
                track="iro",
                concern="The care plan has not been updated since the last review.",
                impact_on_child="Amelia's move to her grandparents is delayed.",
                procedure_key=procedure_key,
                actions=actions,
                **kwargs,
            )

    return make


@pytest.fixture
def automatic_procedure(db: Any) -> PolicyVersion:
    """The national procedure with its informal stage escalating automatically when overdue."""
    procedure = procedure_version_model(procedure_get(key="national"))
    stages = [
        stage.model_copy(update={"escalates_automatically_when_overdue": True}) if index == 0 else stage
        for index, stage in enumerate(procedure.stages)
    ]
    automatic = procedure.model_copy(update={"key": "automatic", "stages": stages})
    document, sha256 = procedure_document(automatic)
    return PolicyVersion.objects.create(
        key="automatic",
        version=1,
        name="Automatic",
        authority="Test",
        nation=automatic.nation.value,
        document=document,
        sha256=sha256,
        is_current=True,
    )


@dataclass
class Received:
    envelopes: list[Any] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_server(settings: Any) -> Iterator[Received]:
    """A real SMTP server on 127.0.0.1, with Django's SMTP backend pointed at it."""
    handler = Received()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    try:
        yield handler
    finally:
        controller.stop()
