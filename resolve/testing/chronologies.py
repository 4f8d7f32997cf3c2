"""Test and benchmark histories: one child with a long chronology, every challenge taken through the
real services from raised to resolved."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from resolve.challenges import services
from resolve.children.models import Child
from resolve.children.services import child_create
from resolve.people.demo import Authority

# (action, owner, due this many days after the challenge is raised)
VISIT = ("Visit the child alone", "social_worker", 20)
CARE_PLAN = ("Update the care plan", "team_manager", 30)


def long_chronology_build(
    authority: Authority,
    *,
    case_number: str,
    first_name: str,
    last_name: str,
    date_of_birth: dt.date,
    challenges: int,
    first_day: dt.date,
    days_apart: int,
    stages: int = 1,
    actions: Sequence[tuple[str, str, int]] = (VISIT,),
    actions_done: bool = False,
) -> Child:
    """A new child with ``challenges`` challenges raised ``days_apart`` days apart from ``first_day``.

    Each is raised by the IRO with ``actions``, escalated to stage 1 (no reply) and, with ``stages=2``,
    disagreed with there by the team manager and escalated to stage 2; the last stage's manager (team
    manager, then service manager) agrees; with ``actions_done`` every action is marked done; then the
    IRO resolves it ("Visits made (N)."). Each step is taken one day after the one before; the
    resolution is on the day of the agreement unless actions were marked done."""
    staff = authority.staff
    child = child_create(
        user=staff["admin"],
        case_number=case_number,
        first_name=first_name,
        last_name=last_name,
        date_of_birth=date_of_birth,
        social_worker="social_worker",
        iro="iro",
        cp_chair="cp_chair",
    )
    responders = ("team_manager", "service_manager")
    day = first_day
    for index in range(challenges):
        challenge = services.challenge_raise(
            user=staff["iro"],
            child=child,
            track="iro",
            procedure_key="national",
            concern=f"Concern {index}: statutory visits have not happened and the plan is out of date.",
            impact_on_child="The child has not been seen alone; their views are missing from the plan.",
            themes=["voice_of_child"],
            actions=[
                services.ActionInput(action, owner, day + dt.timedelta(days=due))
                for action, owner, due in actions
            ],
            on=day,
        )
        pk = challenge.pk
        step = day
        for stage in range(stages):
            step += dt.timedelta(days=1)
            reason = "No reply." if stage == 0 else "Unresolved."
            services.challenge_escalate(user=staff["iro"], challenge_id=pk, reason=reason, on=step)
            step += dt.timedelta(days=1)
            last = stage == stages - 1
            services.challenge_respond(
                user=staff[responders[stage]],
                challenge_id=pk,
                response="agree" if last else "disagree",
                comments="Agreed." if last else "Planned.",
                on=step,
            )
        if actions_done:
            step += dt.timedelta(days=1)
            for action_id in challenge.actions.values_list("pk", flat=True):
                services.challenge_action_mark(
                    user=staff["iro"], challenge_id=pk, action_id=action_id, status="done", on=step
                )
            step += dt.timedelta(days=1)
        services.challenge_resolve(
            user=staff["iro"],
            challenge_id=pk,
            outcome=f"Visits made ({index}).",
            learning_points="Sooner.",
            on=step,
        )
        day += dt.timedelta(days=days_apart)
    return child
