"""Signal receivers: thin, each calls one service."""

from __future__ import annotations

from typing import Any

from resolve.challenges.models import Action
from resolve.notifications.services import deadlines_schedule_action


def action_saved(
    sender: type[Action], instance: Action, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    if created and not raw:
        deadlines_schedule_action(action=instance)
