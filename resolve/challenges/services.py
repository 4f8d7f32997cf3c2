"""The one write path for every change to a challenge.

Each service loads the challenge's state, asks the engine, and writes — in one transaction — the new
state, the event, the typed case note on the child's record, and whatever the change recorded
(a response, a meeting, a referral). A refused command raises ``ServiceError`` and writes nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction

from resolve.access import NotVisible, challenge_get_for_change, child_get_for_change
from resolve.calendars.services import working_calendar
from resolve.calendars.types import Nation
from resolve.challenges import engine
from resolve.challenges.case_notes import StagePeople, case_note_body, case_note_type, enters_stage
from resolve.challenges.documents import directors_briefing_clean
from resolve.challenges.events import detail_to_json
from resolve.challenges.models import (
    Action,
    CafcassReferral,
    Challenge,
    Document,
    Event,
    Meeting,
    Response,
    StageVisit,
)
from resolve.challenges.selectors import (
    DueDate,
    challenge_actor,
    challenge_state,
    due_date_explain,
    person_for_command,
)
from resolve.children.models import CaseNote, Child
from resolve.children.selectors import child_chair, child_role_holders
from resolve.core import limits
from resolve.core.clock import today
from resolve.core.errors import ServiceError
from resolve.core.retry import retried
from resolve.notifications.services import notifications_for_events
from resolve.people.roles import CHAIR_ROLE_FOR_TRACK, role_label
from resolve.procedures.models import PolicyVersion
from resolve.procedures.schema import Procedure
from resolve.procedures.selectors import procedure_get, procedure_version_model

# -- writing -------------------------------------------------------------------------------------


def _stage_people(visit: StageVisit) -> StagePeople:
    names = _people_named([*visit.to_users, *visit.cc_users, *visit.notify_users])
    return StagePeople(
        to=[names[username] for username in visit.to_users],
        copied=[names[username] for username in visit.cc_users],
        told=[names[username] for username in visit.notify_users],
        due_on=visit.due_on,
    )


def _people_named(usernames: Sequence[str]) -> dict[str, str]:
    """'Full Name (username)' for each username, so a case note reads well and still names the account."""
    found = {
        user.username: f"{user.get_full_name() or user.username} ({user.username})"
        for user in User.objects.filter(username__in=usernames)
    }
    return {username: found.get(username, username) for username in usernames}


def _sync_visits(
    challenge: Challenge, procedure: Procedure, old: engine.ChallengeState, new: engine.ChallengeState
) -> list[StageVisit]:
    """Write the engine's visits back; returns the visit rows in order."""
    rows = list(challenge.visits.all())
    for index, visit in enumerate(new.visits):
        if index < len(rows):
            row = rows[index]
            if index < len(old.visits) and old.visits[index] == visit:
                continue
            row.left_on, row.left_how = visit.left_on, visit.left_how or ""
            row.response, row.responded_on = visit.response or "", visit.responded_on
            row.meetings = visit.meetings
            row.save()
        else:
            stage = procedure.stage(visit.stage)
            to_users = [
                u.get_username()
                for u in child_role_holders(child=challenge.child, track=challenge.track, role=stage.to_role)
            ]
            cc_users = _usernames_for(stage.cc_roles, challenge, exclude=to_users)
            notify_users = _usernames_for(stage.notify_roles, challenge, exclude=[*to_users, *cc_users])
            rows.append(
                StageVisit.objects.create(
                    challenge=challenge,
                    sequence=index + 1,
                    stage_key=visit.stage,
                    entered_on=visit.entered_on,
                    due_on=visit.due_on,
                    to_users=to_users,
                    cc_users=cc_users,
                    notify_users=notify_users,
                )
            )
    return rows


def _usernames_for(roles: Sequence[str], challenge: Challenge, *, exclude: Sequence[str]) -> list[str]:
    """The people holding ``roles`` for this challenge, each once, leaving out those already named."""
    found = {
        user.get_username()
        for role in roles
        for user in child_role_holders(child=challenge.child, track=challenge.track, role=role)
    }
    return sorted(found - set(exclude))


def _write(
    *,
    challenge: Challenge,
    procedure: Procedure,
    user: User | None,
    old: engine.ChallengeState,
    decision: engine.Accepted,
    after: Callable[[Challenge, list[StageVisit], engine.ChallengeState], None] | None = None,
) -> Challenge:
    new = decision.state
    current = new.current
    challenge.status = new.status if new.status != "new" else Challenge.Status.OPEN
    challenge.stage_key = current.stage if current else ""
    challenge.stage_entered_on = current.entered_on if current else None
    challenge.stage_due_on = current.due_on if current else None
    challenge.stage_responded_on = current.responded_on if current else None
    challenge.formal_started_on = new.formal_started_on
    challenge.formal_due_on = new.formal_due_on
    challenge.cafcass_referred_on = new.cafcass_referred_on
    challenge.last_event_on = new.last_event_on or challenge.last_event_on
    challenge.documents = sorted(new.documents)
    challenge.final_comments_on = new.final_comments_on
    if challenge.pk is None:
        challenge.save()
    else:
        challenge.version += 1
        challenge.save()
    visits = _sync_visits(challenge, procedure, old, new)
    last_sequence = challenge.events.count()
    entered = visits[-1] if visits else None
    for offset, event in enumerate(decision.events, start=1):
        Event.objects.create(
            challenge=challenge,
            sequence=last_sequence + offset,
            type=event.type.value,
            stage_key=event.stage or "",
            on=event.on,
            by=user,
            detail=detail_to_json(event.detail),
        )
        people = _stage_people(entered) if entered is not None and enters_stage(event) else None
        CaseNote.objects.create(
            child=challenge.child,
            challenge=challenge,
            note_type=case_note_type(procedure, event),
            body=case_note_body(procedure, event, people),
            on=event.on,
            author=user,
        )
    # The messages this change causes, in its own transaction: rolled back with it, never lost after.
    notifications_for_events(
        challenge=challenge, procedure=procedure, events=decision.events, visits=visits, state=new
    )
    if after is not None:
        after(challenge, visits, new)
    return challenge


def _load_for_change(
    *, user: User | None, challenge_id: int, command: engine.Command, expected_version: int | None
) -> tuple[Challenge, Procedure]:
    """The challenge, locked, through the write chokepoint: in the user's scope, with the permission
    the transition declares."""
    transition = engine.TRANSITION_FOR[type(command)]
    try:
        challenge = challenge_get_for_change(
            user=user, challenge_id=challenge_id, perm=transition.perm, owner_may=transition.owner_may
        )
    except NotVisible:
        raise ServiceError("not_found", "not_found", "There is no such challenge.") from None
    if expected_version is not None and expected_version != challenge.version:
        raise ServiceError(
            "conflict",
            "stale_version",
            "Someone changed this challenge after you read it: read it again, then retry.",
            "version",
        )
    return challenge, procedure_version_model(challenge.policy)


def _command_bounds_check(command: engine.Command) -> None:
    """Every text a change carries (a reason, comments, an outcome, a summary) within MAX_TEXT."""
    for item in dataclasses.fields(command):
        value = getattr(command, item.name)
        if isinstance(value, str):
            limits.text_check(field=item.name, value=value)


@retried
def _change(
    *,
    challenge_id: int,
    user: User | None,
    command: engine.Command,
    expected_version: int | None,
    after: Callable[[Challenge, list[StageVisit], engine.ChallengeState], None] | None = None,
    prepare: Callable[[Challenge, Procedure], engine.Command] | None = None,
) -> Challenge:
    _command_bounds_check(command)
    with transaction.atomic():
        challenge, procedure = _load_for_change(
            user=user, challenge_id=challenge_id, command=command, expected_version=expected_version
        )
        if prepare is not None:
            command = prepare(challenge, procedure)
            _command_bounds_check(command)
        state = challenge_state(challenge=challenge)
        # No user: Resolve itself acts (an automatic escalation); the engine decides whether it may.
        actor = (
            engine.Actor(username="", relations=frozenset({engine.SYSTEM}))
            if user is None
            else challenge_actor(
                user=user,
                child=challenge.child,
                track=challenge.track,
                procedure=procedure,
                stage_key=challenge.stage_key or None,
            )
        )
        decision = engine.decide(
            procedure=procedure,
            state=state,
            command=command,
            actor=actor,
            today=today(),
            calendar=working_calendar(Nation(procedure.nation)),
        )
        if isinstance(decision, engine.Refused):
            raise ServiceError(decision.kind, decision.code, decision.message, decision.field)
        return _write(
            challenge=challenge, procedure=procedure, user=user, old=state, decision=decision, after=after
        )


# -- the services --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ActionInput:
    action: str
    owner: str
    due: dt.date


def _documents_for(
    *, child: Child, directors_briefing: Mapping[str, Any] | None
) -> tuple[frozenset[str], dict[str, dict[str, Any]]]:
    """Validate the documents supplied with a move; returns their kinds and cleaned contents."""
    contents: dict[str, dict[str, Any]] = {}
    if directors_briefing is not None:
        contents["directors_briefing"] = directors_briefing_clean(data=directors_briefing, child=child)
    return frozenset(contents), contents


def _store_documents(
    challenge: Challenge, contents: Mapping[str, dict[str, Any]], on: dt.date, user: User
) -> None:
    for kind, content in contents.items():
        Document.objects.create(challenge=challenge, kind=kind, content=content, on=on, by=user)


@dataclass(frozen=True)
class _RaiseDecision:
    version: PolicyVersion
    procedure: Procedure
    child: Child
    state: engine.ChallengeState
    decision: engine.Accepted
    documents: dict[str, dict[str, Any]]


def _raise_bounds_check(
    *,
    concern: str,
    impact_on_child: str,
    bypass_reason: str,
    themes: Sequence[str],
    actions: Sequence[ActionInput],
    directors_briefing: Mapping[str, Any] | None,
) -> None:
    """Refuse input past resolve.core.limits before anything is loaded or locked."""
    limits.count_check(field="actions", count=len(actions), most=limits.MAX_ACTIONS)
    limits.count_check(field="themes", count=len(themes), most=limits.MAX_CHOICES)
    limits.texts_check(
        [("concern", concern), ("impact_on_child", impact_on_child), ("bypass_reason", bypass_reason)]
    )
    for index, item in enumerate(actions):
        limits.text_check(field=f"actions[{index}].action", value=item.action)
        limits.text_check(field=f"actions[{index}].owner", value=item.owner, max_length=limits.MAX_KEY)
    for key, value in (directors_briefing or {}).items():
        if isinstance(value, str):
            limits.text_check(field=f"directors_briefing.{key}", value=value)


def _raise_decide(
    *,
    user: User,
    child: Child,
    track: str,
    concern: str,
    impact_on_child: str,
    desired_outcome: str = "",
    procedure_key: str | None,
    stage: str | None,
    bypass_reason: str,
    bypass_agreed_by: str | None,
    themes: Sequence[str],
    actions: Sequence[ActionInput],
    directors_briefing: Mapping[str, Any] | None,
    on: dt.date,
) -> _RaiseDecision:
    """Everything raising decides, written by ``challenge_raise`` and shown by its preview."""
    _raise_bounds_check(
        concern=concern,
        impact_on_child=impact_on_child,
        bypass_reason=bypass_reason,
        themes=themes,
        actions=actions,
        directors_briefing=directors_briefing,
    )
    if track not in engine.TRACKS:
        raise ServiceError("invalid", "unknown_track", "Choose a track: iro or cpc.", "track")
    try:
        child = child_get_for_change(
            user=user, child_id=child.pk, perm=engine.TRANSITION_FOR[engine.Raise].perm
        )
    except NotVisible:
        raise ServiceError("not_found", "not_found", "There is no such child.") from None
    key = procedure_key or settings.RESOLVE_DEFAULT_POLICY
    try:
        version = procedure_get(key=key)
    except PolicyVersion.DoesNotExist:
        raise ServiceError(
            "invalid", "unknown_policy", f"There is no procedure called {key!r}.", "policy"
        ) from None
    procedure = procedure_version_model(version)
    if child_chair(child=child, track=track) is None:
        raise ServiceError(
            "conflict",
            "no_chair",
            f"{child.full_name} has no allocated {role_label(CHAIR_ROLE_FOR_TRACK[track])}: "
            "allocate one first.",
            "track",
        )
    kinds, contents = _documents_for(child=child, directors_briefing=directors_briefing)
    command = engine.Raise(
        on=on,
        concern=concern,
        impact_on_child=impact_on_child,
        desired_outcome=desired_outcome,
        stage=stage,
        bypass_reason=bypass_reason,
        bypass_agreed_by=person_for_command(username=bypass_agreed_by, field="bypass_agreed_by"),
        themes=tuple(themes),
        actions=tuple(engine.NewAction(action=a.action, owner=a.owner, due=a.due) for a in actions),
        documents=kinds,
    )
    state = engine.ChallengeState(track=track)  # type: ignore[arg-type]
    actor = challenge_actor(user=user, child=child, track=track, procedure=procedure, stage_key=None)
    decision = engine.decide(
        procedure=procedure,
        state=state,
        command=command,
        actor=actor,
        today=today(),
        calendar=working_calendar(Nation(procedure.nation)),
    )
    if isinstance(decision, engine.Refused):
        raise ServiceError(decision.kind, decision.code, decision.message, decision.field)
    return _RaiseDecision(version, procedure, child, state, decision, contents)


@retried
def challenge_raise(
    *,
    user: User,
    child: Child,
    track: str,
    concern: str,
    impact_on_child: str,
    procedure_key: str | None = None,
    stage: str | None = None,
    bypass_reason: str = "",
    bypass_agreed_by: str | None = None,
    themes: Sequence[str] = (),
    desired_outcome: str = "",
    actions: Sequence[ActionInput] = (),
    directors_briefing: Mapping[str, Any] | None = None,
    on: dt.date | None = None,
) -> Challenge:
    """Raise a challenge for a child under a procedure, at its first stage or (with a reason) a later one."""
    on = on or today()
    limits.text_check(field="desired_outcome", value=desired_outcome)
    raised = _raise_decide(
        user=user,
        child=child,
        track=track,
        concern=concern,
        impact_on_child=impact_on_child,
        desired_outcome=desired_outcome,
        procedure_key=procedure_key,
        stage=stage,
        bypass_reason=bypass_reason,
        bypass_agreed_by=bypass_agreed_by,
        themes=themes,
        actions=actions,
        directors_briefing=directors_briefing,
        on=on,
    )

    def after(challenge: Challenge, visits: list[StageVisit], new: engine.ChallengeState) -> None:
        for item in actions:
            Action.objects.create(
                challenge=challenge, action=item.action.strip(), owner=item.owner.strip(), due=item.due
            )
        _store_documents(challenge, raised.documents, on, user)

    with transaction.atomic():
        challenge = Challenge(
            child=raised.child,
            track=track,
            policy=raised.version,
            raised_by=user,
            raised_on=on,
            concern=concern.strip(),
            impact_on_child=impact_on_child.strip(),
            desired_outcome=desired_outcome.strip(),
            themes=list(themes),
            last_event_on=on,
        )
        return _write(
            challenge=challenge,
            procedure=raised.procedure,
            user=user,
            old=raised.state,
            decision=raised.decision,
            after=after,
        )


@dataclass(frozen=True)
class RaisePreview:
    stage_name: str
    to_role: str
    due: DueDate
    bypassed: tuple[str, ...] = ()


def challenge_raise_preview(
    *,
    user: User,
    child: Child,
    track: str,
    procedure_key: str,
    concern: str,
    impact_on_child: str,
    stage: str | None = None,
    bypass_reason: str = "",
    bypass_agreed_by: str | None = None,
    themes: Sequence[str] = (),
    actions: Sequence[ActionInput] = (),
    directors_briefing: Mapping[str, Any] | None = None,
    on: dt.date,
) -> RaisePreview:
    """What ``challenge_raise`` would do with these answers, without writing anything.

    The same decision the service makes, so a check-your-answers page shows the stage and due date
    and catches what raising would refuse; raises ``ServiceError`` exactly as the service would.
    """
    raised = _raise_decide(
        user=user,
        child=child,
        track=track,
        concern=concern,
        impact_on_child=impact_on_child,
        procedure_key=procedure_key,
        stage=stage,
        bypass_reason=bypass_reason,
        bypass_agreed_by=bypass_agreed_by,
        themes=themes,
        actions=actions,
        directors_briefing=directors_briefing,
        on=on,
    )
    procedure = raised.procedure
    target = procedure.stage(raised.decision.state.visits[0].stage)
    return RaisePreview(
        stage_name=target.name,
        to_role=role_label(target.to_role),
        due=due_date_explain(nation=procedure.nation, start=on, working_days=target.response_working_days),
        bypassed=tuple(s.name for s in procedure.stages[: procedure.order(target.key) - 1]),
    )


def challenge_respond(
    *,
    user: User,
    challenge_id: int,
    response: str,
    comments: str = "",
    further: bool = False,
    on: dt.date | None = None,
    expected_version: int | None = None,
) -> Challenge:
    """Record the stage recipient's response: agree, disagree, or no remit to implement. A second
    response at the same stage is refused unless it is sent as a further response."""
    on = on or today()

    def after(challenge: Challenge, visits: list[StageVisit], new: engine.ChallengeState) -> None:
        Response.objects.create(
            challenge=challenge,
            visit=visits[-1],
            response=response,
            comments=comments.strip(),
            on=on,
            by=user,
        )

    command = engine.Respond(on=on, response=response, comments=comments, further=further)
    return _change(
        challenge_id=challenge_id, user=user, command=command, expected_version=expected_version, after=after
    )


def challenge_escalate(
    *,
    user: User,
    challenge_id: int,
    to_stage: str | None = None,
    reason: str = "",
    bypass_agreed_by: str | None = None,
    directors_briefing: Mapping[str, Any] | None = None,
    on: dt.date | None = None,
    expected_version: int | None = None,
) -> Challenge:
    """Move a challenge up the ladder: to the next stage, or with a reason past several."""
    on = on or today()
    agreed = person_for_command(username=bypass_agreed_by, field="bypass_agreed_by")
    contents: dict[str, dict[str, Any]] = {}

    def prepare(challenge: Challenge, procedure: Procedure) -> engine.Command:
        kinds, cleaned = _documents_for(child=challenge.child, directors_briefing=directors_briefing)
        contents.update(cleaned)
        return engine.Escalate(
            on=on, to_stage=to_stage, reason=reason, bypass_agreed_by=agreed, documents=kinds
        )

    def after(challenge: Challenge, visits: list[StageVisit], new: engine.ChallengeState) -> None:
        _store_documents(challenge, contents, on, user)

    return _change(
        challenge_id=challenge_id,
        user=user,
        command=engine.Escalate(on=on),
        expected_version=expected_version,
        prepare=prepare,
        after=after,
    )


def challenge_escalate_overdue(*, challenge_id: int, reason: str, on: dt.date | None = None) -> Challenge:
    """Escalate, as the system, a stage whose procedure escalates it automatically once overdue.

    The event and case note have no author; ``reason`` says why (the missed due date).
    """
    command = engine.Escalate(on=on or today(), reason=reason)
    return _change(challenge_id=challenge_id, user=None, command=command, expected_version=None)


def challenge_resolve(
    *,
    user: User,
    challenge_id: int,
    outcome: str,
    learning_points: str = "",
    on: dt.date | None = None,
    expected_version: int | None = None,
) -> Challenge:
    """Close a challenge as resolved, with the outcome for the child and the learning."""
    on = on or today()

    def after(challenge: Challenge, visits: list[StageVisit], new: engine.ChallengeState) -> None:
        challenge.outcome, challenge.learning_points, challenge.resolved_on = (
            outcome.strip(),
            learning_points.strip(),
            on,
        )
        challenge.save(update_fields=["outcome", "learning_points", "resolved_on"])

    command = engine.Resolve(on=on, outcome=outcome, learning_points=learning_points)
    return _change(
        challenge_id=challenge_id, user=user, command=command, expected_version=expected_version, after=after
    )


def challenge_reopen(
    *,
    user: User,
    challenge_id: int,
    reason: str,
    on: dt.date | None = None,
    expected_version: int | None = None,
) -> Challenge:
    """Re-open a resolved challenge at the re-entry stage of the stage it last left."""
    command = engine.Reopen(on=on or today(), reason=reason)

    def after(challenge: Challenge, visits: list[StageVisit], new: engine.ChallengeState) -> None:
        # The resolution being re-opened is kept in the events and case notes; the form starts afresh.
        challenge.resolved_on = None
        challenge.outcome = challenge.learning_points = challenge.final_comments = ""
        challenge.save(update_fields=["resolved_on", "outcome", "learning_points", "final_comments"])

    return _change(
        challenge_id=challenge_id, user=user, command=command, expected_version=expected_version, after=after
    )


def challenge_refer_to_cafcass(
    *,
    user: User,
    challenge_id: int,
    reason: str,
    checklist: Mapping[str, bool],
    preconditions: Mapping[str, str] | None = None,
    urgent: bool = False,
    on: dt.date | None = None,
    expected_version: int | None = None,
) -> Challenge:
    """Refer a looked-after child's case to Cafcass (Regulation 45); the challenge may stay open alongside."""
    on = on or today()
    people = {
        key: person_for_command(username=username, field=f"preconditions.{key}")
        for key, username in (preconditions or {}).items()
    }
    command = engine.ReferToCafcass(
        on=on,
        reason=reason,
        checklist=dict(checklist),
        preconditions={key: person for key, person in people.items() if person is not None},
        urgent=urgent,
    )

    def after(challenge: Challenge, visits: list[StageVisit], new: engine.ChallengeState) -> None:
        CafcassReferral.objects.create(
            challenge=challenge,
            on=on,
            reason=reason.strip(),
            urgent=urgent,
            checklist=dict(checklist),
            preconditions=dict(preconditions or {}),
            by=user,
        )

    return _change(
        challenge_id=challenge_id, user=user, command=command, expected_version=expected_version, after=after
    )


def challenge_action_mark(
    *,
    user: User,
    challenge_id: int,
    action_id: int,
    status: str,
    on: dt.date | None = None,
    expected_version: int | None = None,
    reason: str = "",
) -> Challenge:
    """Mark an agreed action done or not done (with why it was not done, when given)."""
    on = on or today()

    def after(challenge: Challenge, visits: list[StageVisit], new: engine.ChallengeState) -> None:
        Action.objects.filter(pk=action_id, challenge=challenge).update(status=status, status_on=on)

    command = engine.MarkAction(on=on, action_id=action_id, status=status, reason=reason)
    return _change(
        challenge_id=challenge_id, user=user, command=command, expected_version=expected_version, after=after
    )


def challenge_record_meeting(
    *,
    user: User,
    challenge_id: int,
    summary: str,
    on: dt.date | None = None,
    expected_version: int | None = None,
) -> Challenge:
    """Record a meeting held at the current stage (some stages are resolved only at a meeting)."""
    on = on or today()

    def after(challenge: Challenge, visits: list[StageVisit], new: engine.ChallengeState) -> None:
        Meeting.objects.create(
            challenge=challenge, visit=visits[-1], held_on=on, summary=summary.strip(), recorded_by=user
        )

    command = engine.RecordMeeting(on=on, summary=summary)
    return _change(
        challenge_id=challenge_id, user=user, command=command, expected_version=expected_version, after=after
    )


def challenge_withdraw(
    *,
    user: User,
    challenge_id: int,
    reason: str,
    on: dt.date | None = None,
    expected_version: int | None = None,
) -> Challenge:
    """Withdraw an open challenge, with the reason."""
    command = engine.Withdraw(on=on or today(), reason=reason)
    return _change(challenge_id=challenge_id, user=user, command=command, expected_version=expected_version)


def challenge_add_final_comments(
    *,
    user: User,
    challenge_id: int,
    comments: str,
    on: dt.date | None = None,
    expected_version: int | None = None,
) -> Challenge:
    """The IRO/CP Service Manager's final comments on a resolved challenge, where the procedure has them."""
    on = on or today()

    def after(challenge: Challenge, visits: list[StageVisit], new: engine.ChallengeState) -> None:
        challenge.final_comments = comments.strip()
        challenge.save(update_fields=["final_comments"])

    command = engine.AddFinalComments(on=on, comments=comments)
    return _change(
        challenge_id=challenge_id, user=user, command=command, expected_version=expected_version, after=after
    )


def challenge_add_learning_points(
    *,
    user: User,
    challenge_id: int,
    learning_points: str,
    on: dt.date | None = None,
    expected_version: int | None = None,
) -> Challenge:
    """Add key learning points to the challenge form: the chair, the stage's recipient or the child's
    social work team, while the challenge is open or after it is resolved (seed 002 5.1)."""
    on = on or today()

    def after(challenge: Challenge, visits: list[StageVisit], new: engine.ChallengeState) -> None:
        added = learning_points.strip()
        challenge.learning_points = (
            f"{challenge.learning_points}\n{added}" if challenge.learning_points else added
        )
        challenge.save(update_fields=["learning_points"])

    command = engine.AddLearningPoints(on=on, learning_points=learning_points)
    return _change(
        challenge_id=challenge_id, user=user, command=command, expected_version=expected_version, after=after
    )
