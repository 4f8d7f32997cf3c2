"""The demo authority's children and challenges, built through the real services.

Every challenge is raised and moved by the same services the API and the pages use, with dates in
the past, so the demo's evidence (events, case notes, due dates) is what real use would produce.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import User

from resolve.calendars.services import working_calendar
from resolve.calendars.types import Nation
from resolve.challenges import engine, services
from resolve.challenges.models import Challenge
from resolve.children.models import Child
from resolve.children.services import child_create
from resolve.people.demo import Authority
from resolve.procedures.selectors import procedure_get, procedure_version_model

FIRST_NAMES = [
    "Amelia", "Noah", "Olivia", "Leo", "Isla", "Oscar", "Ava", "Arthur", "Freya", "Theo", "Lily", "Finley",
    "Grace", "Harry", "Ivy", "Jack", "Mia", "Jacob", "Poppy", "Alfie", "Rosie", "Charlie", "Evie", "Freddie",
    "Ella", "Archie", "Sophia", "Henry", "Daisy", "Louie", "Willow", "Reggie", "Ruby", "Tommy", "Esme",
    "Albie",
]  # fmt: skip
LAST_NAMES = [
    "Jones", "Taylor", "Brown", "Williams", "Wilson", "Evans", "Thomas", "Roberts", "Johnson", "Walker",
    "Wright", "Robinson", "Thompson", "White", "Hughes", "Edwards", "Green", "Hall", "Wood", "Harris",
]  # fmt: skip
CONCERNS = [
    (
        "Statutory visits to the child have not taken place for nine weeks.",
        "The child has not been seen alone and their wishes are not known.",
    ),
    (
        "The permanence plan agreed at the second review has not progressed.",
        "Drift in permanence planning leaves the child uncertain about where they will grow up.",
    ),
    (
        "The pathway plan has not been updated since the child turned 16.",
        "The young person has no plan for leaving care.",
    ),
    (
        "The placement is unregistered and the agreed process was not followed.",
        "The child may be living somewhere that does not keep them safe.",
    ),
    (
        "Life story work agreed at the last review has not started.",
        "The child does not understand why they are in care.",
    ),
    (
        "Core group meetings have not taken place within the timescales of the child protection plan.",
        "Risks to the child are not being reviewed by the professionals around them.",
    ),
]
THEMES = ["voice_of_child", "drift_delay_planning", "management_oversight", "placement", "safeguarding"]


@dataclass
class DemoSummary:
    children: int
    challenges: dict[str, int]


def _back(today: dt.date, working_days: int) -> dt.date:
    """The working day ``working_days`` before ``today`` (England and Wales)."""
    cal = working_calendar(Nation.ENGLAND_AND_WALES)
    day = today
    while cal.add_working_days(day, working_days) > today:
        day -= dt.timedelta(days=1)
    return day


def demo_build(
    *, authority: Authority, today: dt.date, seed: int = 7, children: list[Child] | None = None
) -> DemoSummary:
    """Children in both social work teams and challenges in every state, under every shipped procedure.

    ``children`` already recorded (imported from the sample case-system export) are used instead of
    adding the demo's own.
    """
    rng = random.Random(seed)
    staff = authority.staff
    admin = staff["admin"]
    given = children is not None
    children = list(children or [])
    for index in range(0 if given else 36):
        worker = "social_worker" if index % 3 else "social_worker_2"
        children.append(
            child_create(
                user=admin,
                case_number=f"LCS{200100 + index}",
                first_name=FIRST_NAMES[index],
                last_name=LAST_NAMES[index % len(LAST_NAMES)],
                date_of_birth=dt.date(2008 + index % 16, 1 + index % 12, 1 + (index * 7) % 28),
                social_worker=worker,
                iro="iro",
                cp_chair="cp_chair" if index % 2 else None,
            )
        )
    counts: dict[str, int] = {}

    def raise_for(
        child: Child, procedure: str, started: dt.date, track: str = "iro", **kwargs: object
    ) -> Challenge:
        concern, impact = rng.choice(CONCERNS)
        chair = staff["iro"] if track == "iro" else staff["cp_chair"]
        return services.challenge_raise(
            user=chair,
            child=child,
            track=track,
            procedure_key=procedure,
            concern=concern,
            impact_on_child=impact,
            themes=rng.sample(THEMES, 2),
            actions=[
                services.ActionInput(
                    action="Visit the child and see them alone",
                    owner="social_worker",
                    due=started + dt.timedelta(days=14),
                ),
                services.ActionInput(
                    action="Update the care plan", owner="team_manager", due=started + dt.timedelta(days=21)
                ),
            ],
            on=started,
            **kwargs,  # type: ignore[arg-type]
        )

    def count(label: str) -> None:
        counts[label] = counts.get(label, 0) + 1

    iro = staff["iro"]
    scenarios: list[Callable[[Child], None]] = []

    def due_soon(child: Child) -> None:
        raise_for(child, "challenge_and_resolution", _back(today, 8))
        count("open, due soon")

    def overdue(child: Child) -> None:
        raise_for(child, "national", _back(today, 9))
        count("open, overdue")

    def answered(child: Child) -> None:
        c = raise_for(child, "qa_issue_resolution", _back(today, 12))
        services.challenge_escalate(
            user=iro, challenge_id=c.pk, on=_back(today, 6), reason="No response in 10 working days"
        )
        services.challenge_respond(
            user=staff["team_manager"],
            challenge_id=c.pk,
            response="agree",
            comments="Visit booked",
            on=_back(today, 4),
        )
        count("open, answered")

    def escalated(child: Child) -> None:
        c = raise_for(child, "outcome_resolution", _back(today, 14))
        services.challenge_escalate(
            user=iro, challenge_id=c.pk, on=_back(today, 10), reason="Team Manager did not respond"
        )
        services.challenge_respond(
            user=staff["service_manager"], challenge_id=c.pk, response="no_remit", on=_back(today, 8)
        )
        services.challenge_escalate(
            user=iro, challenge_id=c.pk, on=_back(today, 6), reason="Service Manager has no remit"
        )
        count("open, escalated")

    def bypassed(child: Child) -> None:
        c = raise_for(
            child,
            "challenge_and_resolution",
            _back(today, 2),
            stage="stage_3",
            bypass_reason="The placement is breaking down and the child is at risk this week.",
            bypass_agreed_by="iro_service_manager",
        )
        # The IRO/CP Service Manager is asked to confirm the bypass (on their home page), and the
        # stage's meeting is asked for.
        services.challenge_request_meeting(
            user=iro,
            challenge_id=c.pk,
            scheduled_for=today + dt.timedelta(days=7),
            attendees=["iro_service_manager", "head_of_safeguarding"],
            note="To agree how the placement is supported.",
            on=today,
        )
        count("open, bypassed to a later stage")

    def resolved(child: Child) -> None:
        c = raise_for(child, "qa_issue_resolution", _back(today, 20))
        services.challenge_respond(
            user=staff["social_worker"]
            if child.social_worker.get_username() == "social_worker"
            else staff["social_worker_2"],
            challenge_id=c.pk,
            response="agree",
            on=_back(today, 18),
        )
        services.challenge_resolve(
            user=iro,
            challenge_id=c.pk,
            outcome="The child was visited and seen alone.",
            learning_points="Diarise statutory visits at allocation.",
            on=_back(today, 15),
        )
        count("resolved")

    def reopened(child: Child) -> None:
        c = raise_for(
            child,
            "challenge_and_resolution",
            _back(today, 25),
            stage="stage_2",
            bypass_reason="Second time this year",
            bypass_agreed_by="iro_service_manager",
        )
        services.challenge_resolve(
            user=iro, challenge_id=c.pk, outcome="Action plan agreed at the meeting.", on=_back(today, 20)
        )
        services.challenge_reopen(
            user=iro, challenge_id=c.pk, reason="The agreed actions were not delivered.", on=_back(today, 3)
        )
        count("re-opened")

    def withdrawn(child: Child) -> None:
        c = raise_for(child, "informal_challenge_dispute_resolution", _back(today, 10))
        services.challenge_withdraw(
            user=iro, challenge_id=c.pk, reason="The child moved to another authority.", on=_back(today, 7)
        )
        count("withdrawn")

    def cafcass(child: Child) -> None:
        c = raise_for(child, "informal_challenge_dispute_resolution", _back(today, 12))
        services.challenge_escalate(
            user=iro,
            challenge_id=c.pk,
            to_stage="stage_4",
            reason="Permanence delayed for a year.",
            on=_back(today, 8),
        )
        services.challenge_refer_to_cafcass(
            user=iro,
            challenge_id=c.pk,
            reason="The child's human rights are at risk.",
            checklist={},
            on=_back(today, 2),
        )
        count("referred to Cafcass")

    def cp_track(child: Child) -> None:
        raise_for(child, "challenge_and_resolution", _back(today, 3), track="cpc")
        count("open, CP Chair track")

    scenarios = [due_soon, overdue, answered, escalated, bypassed, resolved, reopened, withdrawn, cafcass]
    for index, child in enumerate(children[:27]):
        scenarios[index % len(scenarios)](child)
    for child in children[27:]:
        if child.cp_chair_id:
            cp_track(child)
    _demo_plans_and_concerns(children[27:], staff, today, raise_for, count)
    return DemoSummary(children=len(children), challenges=counts)


def _demo_plans_and_concerns(
    children: list[Child],
    staff: dict[str, User],
    today: dt.date,
    raise_for: Callable[..., Challenge],
    count: Callable[[str], None],
) -> None:
    """A concern noted at a review, a challenge from a review with an agreed extension, and an action
    agreed later with a person outside Resolve: on the children that have no challenge yet."""
    iro = staff["iro"]
    free = [child for child in children if not child.cp_chair_id]
    if len(free) < 2:
        return
    services.concern_record(
        user=iro,
        child=free[0],
        track="iro",
        procedure_key="cla_dispute_resolution",
        concern="The pathway plan has not been reviewed since the last Looked After Review.",
        review="midway_review",
        review_on=_back(today, 3),
        on=_back(today, 2),
    )
    count("concern noted, no challenge")
    c = raise_for(
        free[1], "outcome_resolution", _back(today, 4), review="cla_review", review_on=_back(today, 6)
    )
    due = c.stage_due_on or today
    services.challenge_deadline_extend(
        user=iro,
        challenge_id=c.pk,
        due=due + dt.timedelta(days=7),
        reason="The Team Manager is in court this week; agreed by phone.",
        agreed_by="iro_service_manager",
        on=_back(today, 3),
    )
    services.challenge_action_add(
        user=iro,
        challenge_id=c.pk,
        action="Send the health assessment to the IRO",
        owner="Dr A Patel, looked-after children's nurse",
        due=today + dt.timedelta(days=10),
        on=_back(today, 2),
    )
    count("open, extension agreed")
    if len(free) < 3:
        return
    # Seed 000: "Alongside or out with the Outcome Resolution the IRO can consider whether to make a
    # referral to Cafcass": a referral with no challenge, where the authority's procedure needs no
    # one's agreement first and lets one be made without a challenge.
    rules = procedure_version_model(procedure_get(key=settings.RESOLVE_DEFAULT_POLICY)).cafcass
    if rules.requires or rules.earliest_stage or rules.form_completed_by or "iro" not in rules.tracks:
        return
    services.child_refer_to_cafcass(
        user=iro,
        child_id=free[2].pk,
        reason="The final care order hearing was adjourned again; the child's timetable cannot wait.",
        checklist={item.key: True for item in rules.checklist},
        urgent=True,
        on=_back(today, 1),
    )
    count("referred to Cafcass, no challenge")
    if len(free) < 4:
        return
    # Seed 000 section 2: a concern about a partner agency is raised with the practitioner there,
    # then their manager. The school's reply is recorded by the IRO and it goes to the next level.
    c = services.challenge_raise(
        user=iro,
        child=free[3],
        track="iro",
        procedure_key="multi_agency_escalation",
        on=_back(today, 6),
        themes=["information"],
        concern="The school did not send its report to the child's review, and the PEP is out of date.",
        impact_on_child="The review could not consider the child's education or their support in school.",
        desired_outcome="Send the school report and hold the PEP meeting before the next review.",
        agency="Brampton Primary School",
        agency_kind="education",
        contact=engine.AgencyContact(
            name="Ann Hale", role="Class teacher", email="ann.hale@brampton-primary.example"
        ),
    )
    services.challenge_respond(
        user=iro,
        challenge_id=c.pk,
        response="disagree",
        comments="Ms Hale says the report is the designated teacher's to send.",
        on=_back(today, 3),
    )
    services.challenge_escalate(
        user=iro,
        challenge_id=c.pk,
        to_stage="level_2",
        reason="The report is still missing; the designated teacher's manager is asked.",
        contact=engine.AgencyContact(
            name="Joe Park", role="Headteacher", email="head@brampton-primary.example"
        ),
        on=_back(today, 2),
    )
    count("open, to a partner agency")
