"""What each document says, read from the record through the access chokepoint.

Each ``*_for_user`` function finds its record the way the page it comes from does
(``challenge_get_for_user``, ``child_get_for_user``), so a document is scoped exactly like its page and
"not allowed" looks like "not found" (``NotVisible``). The look is written in the access log with the
channel ``export``, whatever the address it came through (``exporting``).

The content is plain data (dataclasses of text and dates); ``resolve.exports.word`` and
``resolve.exports.pdf`` lay it out. Nothing here writes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, F, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from resolve.access import NotVisible, challenge_get_for_user, challenges_visible_to, child_get_for_user
from resolve.access.context import AccessContext, access_context, current
from resolve.audit.models import EvidenceHead
from resolve.calendars.services import working_calendar
from resolve.calendars.types import Nation
from resolve.challenges import events as ev
from resolve.challenges.case_notes import enters_stage, fmt_date
from resolve.challenges.documents import directors_briefing_rows
from resolve.challenges.engine import EVENT_WORDS
from resolve.challenges.models import (
    Agreement,
    CafcassReferral,
    Challenge,
    Event,
    StageVisit,
    child_records_chain,
)
from resolve.challenges.overdue import Timing, stage_timing
from resolve.challenges.selectors import (
    challenge_page,
    child_cafcass_agreements,
    child_cafcass_referrals,
    people_named,
)
from resolve.children.models import CaseNote, Child
from resolve.children.selectors import child_role_holders
from resolve.exports.models import SentForm
from resolve.people.roles import role_label
from resolve.procedures.schema import Procedure
from resolve.procedures.selectors import procedure_version_model

UserLike = AbstractBaseUser | AnonymousUser

CHAIR_WORDS = {"iro": "IRO", "cpc": "Child Protection Conference Chair"}
ACTION_STATUS_WORDS = {"open": "Open", "done": "Done", "not_done": "Not done"}
TIMING_WORDS: dict[Timing, str] = {
    Timing.NO_TIMESCALE: "No timescale",
    Timing.ON_TIME: "On time",
    Timing.LATE: "Late",
    Timing.MISSED: "No response in time",
    Timing.NOT_ANSWERED: "No response",
    Timing.OVERDUE: "Overdue",
    Timing.WAITING: "Waiting for a response",
}


@contextmanager
def exporting() -> Iterator[AccessContext]:
    """Log the looks made inside the block as an export, keeping who asked, how and from where.

    Inside an export already (a pack that reads several documents), the same one: each record is
    still logged once per request."""
    asked = current()
    if asked is not None and asked.channel == "export":
        yield asked
        return
    context = AccessContext(
        channel="export",
        method=asked.method if asked else "",
        path=asked.path if asked else "",
        ip_address=asked.ip_address if asked else None,
    )
    with access_context(context):
        yield context


def person_name(user: Any) -> str:
    if user is None:
        return "Resolve (automatic)"
    return f"{user.first_name} {user.last_name}".strip() or user.get_username()


# -- the Challenge and Resolution form ------------------------------------------------------------


@dataclass(frozen=True)
class FormStage:
    name: str
    record: str  # the procedure's name for the stage's form or case note
    timescale: str
    ticked: bool


@dataclass(frozen=True)
class FormAction:
    action: str
    by_when: dt.date
    by_whom: str
    status: str


@dataclass(frozen=True)
class FormResponse:
    stage: str
    by: str
    on: dt.date
    response: str
    comments: str
    timing: str


@dataclass(frozen=True)
class FormVisit:
    stage: str
    entered_on: dt.date
    to: list[str]
    copied: list[str]
    due_on: dt.date | None
    how: str


@dataclass(frozen=True)
class ChallengeForm:
    """The Challenge and Resolution form (seed 003's fields), in the procedure's own words."""

    challenge_id: int
    title: str
    procedure: str
    authority: str
    stage_record: str
    status_words: str  # "As it stands on ..." or "As sent at Stage 2 on ..."
    date_of_notification: dt.date
    from_: str
    to: list[str]
    copied: list[str]
    child_name: str
    date_of_birth: dt.date
    case_number: str
    social_worker: str
    team: str
    team_manager: str
    stages: list[FormStage]
    cafcass_ticked: bool
    cafcass_words: str
    concern: str
    impact_on_child: str
    desired_outcome: str
    themes: list[tuple[str, bool]]
    actions: list[FormAction]
    responses: list[FormResponse]
    visits: list[FormVisit]
    meetings: list[tuple[dt.date, str]]
    outcome: str
    resolved_on: dt.date | None
    learning_points: str
    final_comments: str
    final_comments_by: str
    final_comments_on: dt.date | None
    evidence_chain: str
    evidence_length: int
    evidence_hash: str
    produced_by: str
    produced_on: dt.datetime
    as_at_sequence: int


def _challenge_loaded(challenge: Challenge) -> Challenge:
    """The challenge with everything a document reads, in a fixed number of queries (the challenge
    page's own selector); a challenge already loaded that way is used as it is."""
    if getattr(challenge, "_prefetched_objects_cache", None):
        return challenge
    return challenge_page(challenge=challenge)


def _entered_visits(
    events: Sequence[Event], visits: Sequence[StageVisit], details: Sequence[ev.Detail] | None = None
) -> dict[int, StageVisit]:
    """The stage visit each stage-entering event opened, by event sequence (the visits are written in
    the same order as the events that enter a stage). ``details``: the events' typed details when the
    caller has already read them (in the same order), so that each is read once."""
    found: dict[int, StageVisit] = {}
    index = 0
    for position, event in enumerate(events):
        detail = details[position] if details is not None else _detail(event)
        if enters_stage(ev.Event(stage=event.stage_key or None, on=event.on, detail=detail)):
            if index < len(visits) and visits[index].stage_key == event.stage_key:
                found[event.sequence] = visits[index]
            index += 1
    return found


def _detail(event: Event) -> ev.Detail:
    return ev.detail_from_json(event.type, event.detail)


def _stage_name(procedure: Procedure, key: str) -> str:
    return procedure.stage(key).name if key and procedure.has_stage(key) else key


def form_build(
    *, challenge: Challenge, produced_by: str, upto: int | None = None, now: dt.datetime | None = None
) -> ChallengeForm:
    """The form from a challenge already found through the chokepoint.

    ``upto``: the form as it stood just after the event with that sequence (the version sent when the
    challenge entered that stage); ``None``: as it stands now.
    """
    challenge = _challenge_loaded(challenge)
    procedure = procedure_version_model(challenge.policy)
    all_events = list(challenge.events.select_related("by").order_by("sequence"))
    visits = sorted(challenge.visits.all(), key=lambda v: v.sequence)
    entered = _entered_visits(all_events, visits)
    shown = [e for e in all_events if upto is None or e.sequence <= upto]
    last = shown[-1] if shown else None
    shown_sequences = {e.sequence for e in shown}
    shown_visits = [visit for sequence, visit in entered.items() if sequence in shown_sequences]
    usernames = {u for visit in shown_visits for u in (*visit.to_users, *visit.cc_users)}
    # An action's owner is a username when chosen from the people list, else words typed in.
    usernames |= {action.owner for action in challenge.actions.all()}
    names = people_named(usernames=usernames)
    current_visit = shown_visits[-1] if shown_visits else None
    child = challenge.child

    action_status: dict[int, str] = {}
    responses: list[FormResponse] = []
    meetings: list[tuple[dt.date, str]] = []
    outcome, resolved_on, learning = "", None, ""
    final_comments, final_by, final_on = "", "", None
    cafcass_on: dt.date | None = None
    for event in shown:
        detail = _detail(event)
        match detail:
            case ev.ActionUpdated():
                action_status[detail.action_id] = detail.status
            case ev.ResponseRecorded():
                responses.append(
                    FormResponse(
                        stage=_stage_name(procedure, event.stage_key),
                        by=person_name(event.by),
                        on=event.on,
                        response=detail.response_label,
                        comments=detail.comments,
                        timing="On time" if detail.on_time else f"Late (due {fmt_date(detail.due_on)})",
                    )
                )
            case ev.MeetingRecorded():
                meetings.append((event.on, detail.summary))
            case ev.Resolved():
                outcome, resolved_on, learning = detail.outcome, event.on, detail.learning_points or learning
            case ev.LearningPointsAdded():
                learning = detail.learning_points
            case ev.FinalCommentsAdded():
                final_comments, final_by, final_on = detail.comments, person_name(event.by), event.on
            case ev.CafcassReferred():
                cafcass_on = event.on
            case _:
                pass

    live = upto is None
    actions = [
        FormAction(
            action=action.action,
            by_when=action.due,
            by_whom=names.get(action.owner, action.owner),
            status=ACTION_STATUS_WORDS.get(
                action.status if live else action_status.get(action.pk, "open"), action.status
            ),
        )
        for action in challenge.actions.all()
    ]
    at_stage = current_visit.stage_key if current_visit else challenge.stage_key
    stages = [
        FormStage(
            name=stage.name,
            record=stage.case_note,
            timescale=(
                f"{stage.response_working_days} working days"
                if stage.response_working_days
                else "No set timescale"
            ),
            ticked=stage.key == at_stage,
        )
        for stage in procedure.stages
    ]
    types = {event.sequence: event.type for event in all_events}
    visit_rows = [
        FormVisit(
            stage=_stage_name(procedure, visit.stage_key),
            entered_on=visit.entered_on,
            to=[names.get(u, u) for u in visit.to_users],
            copied=[names.get(u, u) for u in visit.cc_users],
            due_on=visit.due_on,
            how=EVENT_WORDS.get(types[sequence], types[sequence]),
        )
        for sequence, visit in entered.items()
        if sequence in shown_sequences
    ]
    team_managers = child_role_holders(child=child, track=challenge.track, role="team_manager")
    when = now or timezone.now()
    stage_name = _stage_name(procedure, at_stage)
    stage_record = procedure.stage(at_stage).case_note if at_stage and procedure.has_stage(at_stage) else ""
    if live:
        status_words = f"As it stands on {fmt_date(timezone.localdate(when))}"
    else:
        assert last is not None
        status_words = f"As sent at {stage_name} on {fmt_date(last.on)}"
    chain = f"challenge:{challenge.pk}"
    if live:
        head = EvidenceHead.objects.filter(chain=chain).first()
        length, digest = (head.length, head.hash) if head else (0, "")
    else:
        length, digest = len(shown), (last.hash if last else "")
    return ChallengeForm(
        challenge_id=challenge.pk,
        title=f"{procedure.name} form",
        procedure=procedure.name,
        authority=procedure.authority,
        stage_record=stage_record,
        status_words=status_words,
        date_of_notification=current_visit.entered_on if current_visit else challenge.raised_on,
        from_=f"{person_name(challenge.raised_by)} ({CHAIR_WORDS.get(challenge.track, challenge.track)})",
        to=[names.get(u, u) for u in current_visit.to_users] if current_visit else [],
        copied=[names.get(u, u) for u in current_visit.cc_users] if current_visit else [],
        child_name=child.full_name,
        date_of_birth=child.date_of_birth,
        case_number=child.case_number,
        social_worker=person_name(child.social_worker),
        team=child.team.name,
        team_manager=", ".join(person_name(u) for u in team_managers) or "None recorded",
        stages=stages,
        cafcass_ticked=cafcass_on is not None,
        cafcass_words=f"Referred on {fmt_date(cafcass_on)}" if cafcass_on else "Not referred",
        concern=challenge.concern,
        impact_on_child=challenge.impact_on_child,
        desired_outcome=challenge.desired_outcome,
        themes=[(theme.label, theme.key in challenge.themes) for theme in procedure.themes],
        actions=actions,
        responses=responses,
        visits=visit_rows,
        meetings=meetings,
        outcome=outcome,
        resolved_on=resolved_on,
        learning_points=learning,
        final_comments=final_comments,
        final_comments_by=final_by,
        final_comments_on=final_on,
        evidence_chain=chain,
        evidence_length=length,
        evidence_hash=digest,
        produced_by=produced_by,
        produced_on=when,
        as_at_sequence=last.sequence if last else 0,
    )


def challenge_form_for_user(*, user: UserLike, challenge_id: int) -> ChallengeForm:
    """The live form, as it stands now. Raises ``NotVisible`` like the challenge's page."""
    with exporting():
        challenge = challenge_get_for_user(user=user, challenge_id=challenge_id)
    return form_build(challenge=challenge, produced_by=person_name(user))


@dataclass(frozen=True)
class SentFormRow:
    """One stage's case note and the form sent with it (stored, or not yet filed by the worker)."""

    case_note_id: int
    note_type: str
    on: dt.date
    stage: str
    event_sequence: int
    stored: Any  # SentForm | None


def stage_notes(*, challenge: Challenge) -> list[tuple[CaseNote, Event]]:
    """Each case note written when the challenge entered a stage, with its event.

    The write path writes one case note per event, in the event's order, so the n-th original note of
    a challenge is the note of its n-th event (corrections are later notes that name the one they
    correct, and are left out).
    """
    all_events = list(challenge.events.select_related("by").order_by("sequence"))
    notes = [
        note for note in sorted(challenge.case_notes.all(), key=lambda n: n.pk) if note.corrects_id is None
    ]
    paired = []
    for note, event in zip(notes, all_events, strict=False):
        if enters_stage(ev.Event(stage=event.stage_key or None, on=event.on, detail=_detail(event))):
            paired.append((note, event))
    return paired


def sent_form_rows(*, challenge: Challenge) -> list[SentFormRow]:
    """The forms as sent at each stage of a challenge already found through the chokepoint."""
    procedure = procedure_version_model(challenge.policy)
    stored = {sent.case_note_id: sent for sent in challenge.sent_forms.all()}
    return [
        SentFormRow(
            case_note_id=note.pk,
            note_type=note.note_type,
            on=note.on,
            stage=_stage_name(procedure, event.stage_key),
            event_sequence=event.sequence,
            stored=stored.get(note.pk),
        )
        for note, event in stage_notes(challenge=challenge)
    ]


# The events that put a challenge at a stage (``case_notes.enters_stage``): each one's case note gets
# the form as sent.
STAGE_ENTERING = (ev.EventType.RAISED, ev.EventType.ESCALATED, ev.EventType.REOPENED)


def challenges_without_sent_forms() -> QuerySet[Challenge]:
    """For the worker (no person): challenges that entered more stages than they have forms filed."""
    entered = (
        Event.objects.filter(challenge=OuterRef("pk"), type__in=STAGE_ENTERING)
        .values("challenge")
        .annotate(count=Count("pk"))
        .values("count")
    )
    filed = (
        SentForm.objects.filter(challenge=OuterRef("pk"))
        .values("challenge")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return (
        Challenge.objects.annotate(entered=Coalesce(Subquery(entered), 0), filed=Coalesce(Subquery(filed), 0))
        .filter(entered__gt=F("filed"))
        .order_by("pk")
    )


def challenge_for_filing(*, challenge_id: int) -> Challenge:
    """For the worker (no person): one challenge with everything its form reads."""
    return challenge_page(challenge=Challenge.objects.get(pk=challenge_id))


# -- the Director's briefing -------------------------------------------------------------------------


@dataclass(frozen=True)
class Briefing:
    """Seed 002, Appendix B: "Case Briefing for Deputy Director/DCS"."""

    challenge_id: int
    authority: str
    date_of_briefing: dt.date
    completed_by: str
    rows: list[tuple[str, str]]
    case_number: str
    child_name: str
    produced_by: str
    produced_on: dt.datetime


def briefing_for_user(*, user: UserLike, challenge_id: int) -> Briefing | None:
    """The newest Director's briefing of a challenge; ``None`` when none was completed."""
    with exporting():
        challenge = challenge_get_for_user(user=user, challenge_id=challenge_id)
    challenge = _challenge_loaded(challenge)
    documents = [d for d in challenge.document_records.all() if d.kind == "directors_briefing"]
    if not documents:
        return None
    document = documents[-1]
    procedure = procedure_version_model(challenge.policy)
    rows = directors_briefing_rows(document.content)
    # The date of birth is stored as ISO; the briefing says it as people write dates.
    rows = [
        (label, fmt_date(dt.date.fromisoformat(text)) if label == "Date of birth" and text else text)
        for label, text in rows
    ]
    return Briefing(
        challenge_id=challenge.pk,
        authority=procedure.authority,
        date_of_briefing=document.on,
        completed_by=person_name(document.by),
        rows=rows,
        case_number=challenge.child.case_number,
        child_name=challenge.child.full_name,
        produced_by=person_name(user),
        produced_on=timezone.now(),
    )


# -- the child's chronology ------------------------------------------------------------------------


@dataclass(frozen=True)
class ChronologyRow:
    on: dt.date
    challenge: str
    what: str
    stage: str
    detail: str
    by: str
    told: str


@dataclass(frozen=True)
class ChronologyChallenge:
    number: str
    procedure: str
    raised_on: dt.date
    status: str
    stages: list[tuple[str, str, str, str, str]]  # stage, entered, to and copied, due, response and timing
    actions: list[FormAction]
    outcome: str


@dataclass(frozen=True)
class Chronology:
    """Every challenge of a child and its events in date order, for a court bundle or Ofsted."""

    child_name: str
    case_number: str
    date_of_birth: dt.date
    social_worker: str
    team: str
    challenges: list[ChronologyChallenge]
    rows: list[ChronologyRow]
    evidence: list[tuple[str, int, str]] = field(default_factory=list)  # chain, links, head hash
    produced_by: str = ""
    produced_on: dt.datetime | None = None


def _event_words(detail: ev.Detail) -> str:
    match detail:
        case ev.Raised():
            return detail.concern
        case ev.Escalated():
            return detail.reason
        case ev.ResponseRecorded():
            text = detail.response_label + (f": {detail.comments}" if detail.comments else "")
            return text + (" (on time)" if detail.on_time else f" (late: due {fmt_date(detail.due_on)})")
        case ev.Resolved():
            return detail.outcome
        case ev.Reopened() | ev.Withdrawn():
            return detail.reason
        case ev.CafcassReferred():
            return ("Urgent. " if detail.urgent else "") + detail.reason
        case ev.ActionUpdated():
            return f"Action marked {detail.status.replace('_', ' ')} (due {fmt_date(detail.due)})"
        case ev.MeetingRecorded():
            return detail.summary
        case ev.FinalCommentsAdded():
            return detail.comments
        case ev.LearningPointsAdded():
            return detail.learning_points
        case _:
            return ""


def chronology_for_user(*, user: UserLike, case_number: str, today: dt.date) -> Chronology:
    """The child's chronology, from the challenges this person may see (as on the child's page)."""
    with exporting():
        child = child_get_for_user(user=user, case_number=case_number)
        challenges = list(
            challenges_visible_to(user)
            .filter(child=child)
            .select_related("policy", "raised_by")
            .prefetch_related(
                Prefetch("events", queryset=Event.objects.select_related("by").order_by("sequence")),
                "visits",
                "actions",
            )
            .order_by("raised_on", "pk")
        )
    referrals = [row for row in child_cafcass_referrals(child=child) if row.challenge_id is None]
    return chronology_build(
        child=child,
        challenges=challenges,
        today=today,
        produced_by=person_name(user),
        now=timezone.now(),
        no_challenge=_no_challenge_rows(referrals, child_cafcass_agreements(child=child)),
    )


NO_CHALLENGE = "No challenge"


def _no_challenge_rows(
    referrals: Sequence[CafcassReferral], agreements: Sequence[Agreement]
) -> list[ChronologyRow]:
    """The rows of a referral to Cafcass with no challenge (seed 000) and of the requests it needed."""
    rows = [
        ChronologyRow(
            on=referral.on,
            challenge=NO_CHALLENGE,
            what=EVENT_WORDS.get(ev.EventType.CAFCASS_REFERRED.value, "Referred to Cafcass"),
            stage="",
            detail=("Urgent. " if referral.urgent else "") + referral.reason,
            by=person_name(referral.by),
            told="",
        )
        for referral in referrals
    ]
    for agreement in agreements:
        asked = "Asked to agree" if agreement.kind == "agree" else "Told before"
        rows.append(
            ChronologyRow(
                on=agreement.requested_on,
                challenge=NO_CHALLENGE,
                what=EVENT_WORDS.get(ev.EventType.AGREEMENT_REQUESTED.value, "Agreement asked"),
                stage="",
                detail=f"Request {agreement.number}: {agreement.note}",
                by=person_name(agreement.requested_by),
                told=f"{asked}: {person_name(agreement.person)}",
            )
        )
        if agreement.answered_on is not None:
            rows.append(
                ChronologyRow(
                    on=agreement.answered_on,
                    challenge=NO_CHALLENGE,
                    what=EVENT_WORDS.get(ev.EventType.AGREEMENT_ANSWERED.value, "Agreement answered"),
                    stage="",
                    detail=f"Request {agreement.number}: {agreement.status}"
                    + (f". {agreement.comments}" if agreement.comments else ""),
                    by=person_name(agreement.person),
                    told="",
                )
            )
    return rows


def chronology_build(
    *,
    child: Child,
    challenges: Sequence[Challenge],
    today: dt.date,
    produced_by: str,
    now: dt.datetime,
    no_challenge: Sequence[ChronologyRow] = (),
) -> Chronology:
    """``no_challenge``: rows recorded on the child with no challenge (a referral to Cafcass)."""
    usernames = {
        u for c in challenges for v in c.visits.all() for u in (*v.to_users, *v.cc_users, *v.notify_users)
    }
    usernames |= {a.owner for c in challenges for a in c.actions.all()}
    names = people_named(usernames=usernames)
    rows: list[ChronologyRow] = []
    summaries: list[ChronologyChallenge] = []
    for challenge in challenges:
        procedure = procedure_version_model(challenge.policy)
        calendar = working_calendar(Nation(procedure.nation))
        number = f"Challenge {challenge.pk}"
        events = list(challenge.events.all())
        visits = sorted(challenge.visits.all(), key=lambda v: v.sequence)
        details = [_detail(event) for event in events]
        entered = _entered_visits(events, visits, details)
        action_words = {a.pk: a.action for a in challenge.actions.all()}
        for event, detail in zip(events, details, strict=True):
            visit = entered.get(event.sequence)
            words = _event_words(detail)
            if isinstance(detail, ev.ActionUpdated) and detail.action_id in action_words:
                words = f"{action_words[detail.action_id]}: {words[0].lower()}{words[1:]}"
            told = ""
            if visit is not None:
                parts = []
                if visit.to_users:
                    parts.append("To " + ", ".join(names.get(u, u) for u in visit.to_users))
                if visit.cc_users:
                    parts.append("copied to " + ", ".join(names.get(u, u) for u in visit.cc_users))
                if visit.notify_users:
                    parts.append("told " + ", ".join(names.get(u, u) for u in visit.notify_users))
                parts.append(f"response due {fmt_date(visit.due_on)}" if visit.due_on else "no set timescale")
                told = "; ".join(parts)
            rows.append(
                ChronologyRow(
                    on=event.on,
                    challenge=number,
                    what=EVENT_WORDS.get(event.type, event.type),
                    stage=_stage_name(procedure, event.stage_key),
                    detail=words,
                    by=person_name(event.by),
                    told=told,
                )
            )
        stages = []
        for visit in visits:
            timing = stage_timing(
                due_on=visit.due_on,
                responded_on=visit.responded_on,
                left_on=visit.left_on,
                today=today,
                calendar=calendar,
            )
            response = visit.response and ev.RESPONSES.get(visit.response, visit.response)
            stages.append(
                (
                    _stage_name(procedure, visit.stage_key),
                    fmt_date(visit.entered_on),
                    ", ".join(names.get(u, u) for u in (*visit.to_users, *visit.cc_users)),
                    fmt_date(visit.due_on) if visit.due_on else "No set timescale",
                    (f"{response} ({fmt_date(visit.responded_on)}). " if response else "")
                    + TIMING_WORDS[timing],
                )
            )
        summaries.append(
            ChronologyChallenge(
                number=number,
                procedure=procedure.name,
                raised_on=challenge.raised_on,
                status=challenge.get_status_display(),
                stages=stages,
                actions=[
                    FormAction(
                        action=a.action,
                        by_when=a.due,
                        by_whom=names.get(a.owner, a.owner),
                        status=ACTION_STATUS_WORDS.get(a.status, a.status),
                    )
                    for a in challenge.actions.all()
                ],
                outcome=challenge.outcome,
            )
        )
    rows.extend(no_challenge)
    rows.sort(key=lambda row: row.on)  # stable: each challenge's events keep their order on a day
    chains = [f"child:{child.pk}", *(f"challenge:{c.pk}" for c in challenges)]
    if no_challenge:
        chains.append(child_records_chain(child.pk))
    heads = {head.chain: head for head in EvidenceHead.objects.filter(chain__in=chains)}
    evidence = [(chain, heads[chain].length, heads[chain].hash) for chain in chains if chain in heads]
    return Chronology(
        child_name=child.full_name,
        case_number=child.case_number,
        date_of_birth=child.date_of_birth,
        social_worker=person_name(child.social_worker),
        team=child.team.name,
        challenges=summaries,
        rows=rows,
        evidence=evidence,
        produced_by=produced_by,
        produced_on=now,
    )


# -- the Cafcass referral pack ----------------------------------------------------------------------

# Checklist items this pack writes itself from the record, by the key procedures give them.
PACK_WRITES: dict[str, str] = {
    "iro_report": "The IRO's report, written from the record: in this pack (referral.pdf)",
    "professional_contacts": "The contact list of professionals: in this pack (referral.pdf)",
    "previous_forms_released": "The form as sent at each stage: in this pack (forms/)",
    "resolution_form": "The challenge form as it stands: in this pack (forms/)",
}
# A referral with no challenge has no form of its own to put in (forms/): those items are uploaded.
CHALLENGE_ONLY_WRITES = frozenset({"previous_forms_released", "resolution_form"})
PACK_DRAFTS: dict[str, str] = {
    "wishes_and_feelings": "A draft for the IRO to complete is in this pack (wishes-and-feelings-draft.docx)",
}


@dataclass(frozen=True)
class PackItem:
    key: str
    label: str
    required: bool
    present: bool
    source: str
    documents: list[tuple[int, str, str, int, str]]  # id, filename, SHA-256, size, content type


@dataclass(frozen=True)
class Contact:
    name: str
    role: str
    email: str


@dataclass(frozen=True)
class Pack:
    """Regulation 45's referral to Cafcass, as one pack: seed 003's seven items, seed 002's two.

    The pack of a challenge's referral (``challenge_id``) or of a referral made with no challenge
    (``referral_id``; seed 000's "out with the Outcome Resolution"), built the same way."""

    challenge_id: int | None
    referral_id: int | None
    authority: str
    procedure: str
    child_name: str
    case_number: str
    date_of_birth: dt.date
    referred_on: dt.date | None
    urgent: bool
    reason: str
    agreed: list[str]
    iro: str
    iro_email: str
    concern: str
    impact_on_child: str
    desired_outcome: str
    steps: list[tuple[dt.date, str]]
    actions: list[FormAction]
    contacts: list[Contact]
    items: list[PackItem]
    produced_by: str
    produced_on: dt.datetime
    # With no challenge: the child's challenges you may see (number, procedure, raised, status, outcome).
    challenges: list[tuple[str, str, dt.date, str, str]] = field(default_factory=list)

    @property
    def missing(self) -> list[str]:
        return [item.label for item in self.items if item.required and not item.present]


def _contacts(
    *, child: Child, track: str, visits: Sequence[StageVisit], procedure: Procedure
) -> list[Contact]:
    people: dict[int, tuple[Any, list[str]]] = {}

    def add(user: Any, role: str) -> None:
        if user is None:
            return
        entry = people.setdefault(user.pk, (user, []))
        if role_label(role) not in entry[1]:
            entry[1].append(role_label(role))

    add(child.social_worker, "social_worker")
    add(child.iro, "iro")
    for role in ("team_manager", "service_manager"):
        for user in child_role_holders(child=child, track=track, role=role):
            add(user, role)
    for visit in visits:
        if not procedure.has_stage(visit.stage_key):
            continue
        to_role = procedure.stage(visit.stage_key).to_role
        if to_role is None:
            continue  # a partner agency's contact, outside Resolve
        for user in child_role_holders(child=child, track=track, role=to_role):
            if user.get_username() in visit.to_users:
                add(user, to_role)
    return [
        Contact(name=person_name(user), role=", ".join(roles), email=user.email or "Not recorded")
        for user, roles in people.values()
    ]


def _pack_items(*, procedure: Procedure, documents: QuerySet[Any], writes: dict[str, str]) -> list[PackItem]:
    """The procedure's checklist, each item present (uploaded, or written by the pack) or to follow."""
    uploaded: dict[str, list[tuple[int, str, str, int, str]]] = {}
    for document in documents.only("pk", "item", "filename", "sha256", "size", "content_type"):
        uploaded.setdefault(document.item, []).append(
            (document.pk, document.filename, document.sha256, document.size, document.content_type)
        )
    items = []
    for entry in procedure.cafcass.checklist:
        found = uploaded.get(entry.key, [])
        if found:
            present, source = True, "Uploaded: " + ", ".join(name for _, name, _, _, _ in found)
        elif entry.key in writes:
            present, source = True, writes[entry.key]
        elif entry.key in PACK_DRAFTS:
            present, source = False, f"To follow. {PACK_DRAFTS[entry.key]}"
        else:
            present, source = False, "To follow: not uploaded yet"
        items.append(PackItem(entry.key, entry.label, entry.required, present, source, found))
    return items


def _agreed(referral: CafcassReferral | None, procedure: Procedure) -> list[str]:
    """Who agreed to the referral or was told before it, as the procedure's preconditions name them."""
    if referral is None:
        return []
    names = people_named(usernames=set(referral.preconditions.values()))
    requires = {item.key: item.label for item in procedure.cafcass.requires}
    return [
        f"{requires.get(key, key)}: {names.get(username, username)}"
        for key, username in referral.preconditions.items()
    ]


def pack_for_user(*, user: UserLike, challenge_id: int) -> Pack:
    """The Cafcass referral pack of a challenge, scoped like its page; ``NotVisible`` otherwise."""
    with exporting():
        found = challenge_get_for_user(user=user, challenge_id=challenge_id)
    challenge = _challenge_loaded(found)
    procedure = procedure_version_model(challenge.policy)
    referral = getattr(challenge, "cafcass_referral", None)
    form = form_build(challenge=challenge, produced_by=person_name(user))
    steps: list[tuple[dt.date, str]] = []
    for visit in form.visits:
        sent = f"{visit.how} to {visit.stage}: sent to {', '.join(visit.to) or 'nobody recorded'}"
        if visit.copied:
            sent += f", copied to {', '.join(visit.copied)}"
        steps.append(
            (visit.entered_on, sent + (f"; response due {fmt_date(visit.due_on)}." if visit.due_on else "."))
        )
    for response in form.responses:
        steps.append(
            (
                response.on,
                f'{response.stage}: {response.by} answered "{response.response}" '
                f"({response.timing.lower()}){': ' + response.comments if response.comments else ''}.",
            )
        )
    for on, summary in form.meetings:
        steps.append((on, f"Meeting: {summary}"))
    steps.sort(key=lambda step: step[0])
    iro = challenge.child.iro or challenge.raised_by
    return Pack(
        challenge_id=challenge.pk,
        referral_id=None,
        authority=procedure.authority,
        procedure=procedure.name,
        child_name=challenge.child.full_name,
        case_number=challenge.child.case_number,
        date_of_birth=challenge.child.date_of_birth,
        referred_on=referral.on if referral else None,
        urgent=bool(referral and referral.urgent),
        reason=referral.reason if referral else "",
        agreed=_agreed(referral, procedure),
        iro=person_name(iro),
        iro_email=iro.email or "",
        concern=challenge.concern,
        impact_on_child=challenge.impact_on_child,
        desired_outcome=challenge.desired_outcome,
        steps=steps,
        actions=form.actions,
        contacts=_contacts(
            child=challenge.child,
            track=challenge.track,
            visits=list(challenge.visits.all()),
            procedure=procedure,
        ),
        items=_pack_items(procedure=procedure, documents=challenge.pack_documents.all(), writes=PACK_WRITES),
        produced_by=person_name(user),
        produced_on=timezone.now(),
    )


def child_referral_get_for_user(
    *, user: UserLike, case_number: str, referral_id: int
) -> tuple[Child, CafcassReferral]:
    """A referral to Cafcass made with no challenge, through the child it is of (scoped like the
    child's page, logged as an export); ``NotVisible`` for another child's or a challenge's referral."""
    with exporting():
        child = child_get_for_user(user=user, case_number=case_number)
    referral = (
        child.cafcass_referrals.filter(pk=referral_id, challenge__isnull=True)
        .select_related("policy", "by")
        .first()
    )
    if referral is None:
        raise NotVisible(referral_id)
    return child, referral


def _step_words(row: ChronologyRow) -> str:
    """A chronology row as a step of the IRO's report: "Challenge 1, Escalated (Stage 1): why. To ..."."""
    words = f"{row.challenge}, {row.what}" + (f" ({row.stage})" if row.stage else "")
    if row.detail:
        words += f": {row.detail.rstrip('.')}"
    if row.told:
        words += f". {row.told[0].upper()}{row.told[1:]}"
    return words.rstrip(".") + "."


def referral_pack_for_user(*, user: UserLike, case_number: str, referral_id: int, today: dt.date) -> Pack:
    """The Cafcass referral pack of a referral made with no challenge (seed 000): the IRO's report is
    the referral's reason and the child's challenges you may see with their steps, from the chronology.
    ``NotVisible`` like the child's page."""
    child, referral = child_referral_get_for_user(user=user, case_number=case_number, referral_id=referral_id)
    assert referral.policy is not None  # a referral with no challenge names its procedure
    procedure = procedure_version_model(referral.policy)
    chronology = chronology_for_user(user=user, case_number=child.case_number, today=today)
    steps = [
        (row.on, _step_words(row))
        for row in chronology.rows
        if row.challenge != NO_CHALLENGE and row.on <= referral.on
    ]
    iro = child.iro or referral.by
    writes = {key: words for key, words in PACK_WRITES.items() if key not in CHALLENGE_ONLY_WRITES}
    return Pack(
        challenge_id=None,
        referral_id=referral.pk,
        authority=procedure.authority,
        procedure=procedure.name,
        child_name=child.full_name,
        case_number=child.case_number,
        date_of_birth=child.date_of_birth,
        referred_on=referral.on,
        urgent=referral.urgent,
        reason=referral.reason,
        agreed=_agreed(referral, procedure),
        iro=person_name(iro),
        iro_email=iro.email or "",
        concern="",
        impact_on_child="",
        desired_outcome="",
        steps=steps,
        actions=[action for summary in chronology.challenges for action in summary.actions],
        contacts=_contacts(child=child, track="iro", visits=[], procedure=procedure),
        items=_pack_items(procedure=procedure, documents=referral.pack_documents.all(), writes=writes),
        produced_by=person_name(user),
        produced_on=timezone.now(),
        challenges=[
            (summary.number, summary.procedure, summary.raised_on, summary.status, summary.outcome)
            for summary in chronology.challenges
        ],
    )


def pack_document_content(
    *, owner: Challenge | CafcassReferral, document_id: int
) -> tuple[str, str, bytes] | None:
    """One uploaded document of a pack whose challenge or referral was found through the chokepoint."""
    found = (
        owner.pack_documents.filter(pk=document_id).values_list("filename", "content_type", "content").first()
    )
    return (found[0], found[1], bytes(found[2])) if found else None
