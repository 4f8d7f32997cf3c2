"""The JSON API at /api/v1/ (see ../shared/API.md). Views parse, call one service or selector, answer."""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Callable, Sequence
from typing import Annotated, Any

from django.db import OperationalError, connection, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from ninja import NinjaAPI, Query, Schema, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer
from pydantic import Field

from resolve.access import (
    NotVisible,
    access_record_list,
    case_notes_visible_to,
    challenge_get_for_user,
    child_get_for_user,
    child_id_for_allocation,
    documents_visible_to,
)
from resolve.api import serializers
from resolve.api.idempotency import idempotent
from resolve.api.models import ApiToken, token_digest
from resolve.api.schemas import (
    ActionAddIn,
    ActionRedateIn,
    ActionStatusIn,
    AgencyContactChangeIn,
    AgencyContactIn,
    AgreementAnswerIn,
    AgreementOut,
    AgreementRequestIn,
    AllocationIn,
    AllocationOut,
    CafcassReferralIn,
    CafcassReferralOut,
    CaseNoteOut,
    ChallengeIn,
    ChallengeOut,
    ChallengePage,
    ChildAgreementAnswerIn,
    ChildAgreementRequestIn,
    ChildCafcassReferralIn,
    ChildIn,
    ChildOut,
    ChronologyEntry,
    ConcernCloseIn,
    ConcernIn,
    ConcernOut,
    CorrectionIn,
    DirectorsBriefingIn,
    DocumentOut,
    ErrorOut,
    EscalationIn,
    ExtensionIn,
    FinalCommentsIn,
    HandOverIn,
    HandOverOut,
    IsoDate,
    LearningPointsIn,
    MeetingIn,
    MeetingRequestIn,
    PolicyOut,
    PolicySummary,
    ReasonIn,
    ReopenIn,
    ResolutionIn,
    ResponseIn,
    SafeStr,
    WorkingDaysOut,
)
from resolve.calendars.services import working_calendar
from resolve.calendars.types import Nation
from resolve.calendars.workingdays import CalendarRangeError
from resolve.challenges import services
from resolve.challenges.engine import AgencyContact
from resolve.challenges.models import Challenge
from resolve.challenges.selectors import (
    COUNT_BOUND,
    DETAIL_DEFERRED,
    DETAIL_RELATED,
    challenge_cursor,
    challenge_detail,
    challenge_detail_rows,
    challenge_list,
    challenge_summaries,
    challenges_after,
    child_cafcass_agreements,
    child_cafcass_referrals,
    child_chronology,
    child_concerns,
    count_bounded,
)
from resolve.children.services import case_note_correct, child_allocate, child_create
from resolve.core import limits
from resolve.core.errors import ServiceError
from resolve.core.retry import BUSY_MESSAGE, is_lock_conflict
from resolve.people.selectors import user_posts_remember, user_posts_with
from resolve.procedures.models import PolicyVersion
from resolve.procedures.selectors import procedure_get, procedure_list

logger = logging.getLogger(__name__)

# Identifiers are database keys: bounded so a huge number is a 422, never a database overflow.
RowId = Annotated[int, Field(ge=1, le=limits.ROW_ID_MOST)]

STATUS_FOR_KIND = {"invalid": 422, "forbidden": 403, "conflict": 409, "not_found": 404}
PAGE_SIZE = 50
TOKEN_USE_RECORDED_EVERY = dt.timedelta(minutes=1)


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        quote = connection.ops.quote_name
        found = list(
            ApiToken.objects.select_related("user")
            .annotate(user_posts=user_posts_with(f"{quote(ApiToken._meta.db_table)}.{quote('user_id')}"))
            .filter(digest=token_digest(token), revoked_at__isnull=True, user__is_active=True)
            .order_by()[:1]  # the digest is unique
        )
        if not found:
            return None
        record = found[0]
        # The person's posts, read with the token: the scope and the permissions need not read them.
        user_posts_remember(user=record.user, posts=record.user_posts)
        # To the minute, so a client's run of reads costs no write each: a token's last use is a
        # question of days ("is this token still used?"), not of seconds. After the request's
        # transaction: an update now would lock the token's row for all of it.
        used = timezone.now()
        if record.last_used_at is None or used - record.last_used_at >= TOKEN_USE_RECORDED_EVERY:
            transaction.on_commit(lambda: ApiToken.objects.filter(pk=record.pk).update(last_used_at=used))
        request.user = record.user
        return record.user


api = NinjaAPI(
    title="Resolve API",
    version="1",
    description="Challenge, escalation and dispute resolution for IROs and CP Chairs. "
    "Authenticate with `Authorization: Bearer <token>` (`python manage.py create_api_token <username>`).",
    openapi_url="/openapi.json",
    # No interactive docs page: it loaded Swagger UI from a CDN, unpinned and outside our CSP.
    # openapi.json is the reference; load it into any OpenAPI viewer (docs/security.md).
    docs_url=None,
    auth=BearerToken(),
    urls_namespace="api",
)

ERRORS: dict[int, type[Schema]] = dict.fromkeys((400, 401, 403, 404, 409, 422), ErrorOut)


def error(
    request: HttpRequest, status: int, code: str, message: str, field: str | None = None
) -> HttpResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        body["field"] = field
    return api.create_response(request, {"error": body}, status=status)


# -- turning every failure into the error shape --------------------------------------------------
# Where a parameter came from, and the name of the view argument that holds it: neither is a field.
_LOC_SOURCES = {"body", "query", "path", "header", "cookie"}
_LOC_ARGUMENTS = {"payload", "filters", "data"}


def _field_from_loc(loc: Sequence[Any]) -> str | None:
    rest = list(loc)
    if rest and rest[0] in _LOC_SOURCES:
        rest = rest[1:]
    if rest and rest[0] in _LOC_ARGUMENTS:
        rest = rest[1:]
    parts: list[str] = []
    for part in rest:
        if isinstance(part, int):
            if parts:
                parts[-1] = f"{parts[-1]}[{part}]"
            continue
        parts.append(str(part))
    return ".".join(parts) or None


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    first = exc.errors[0] if exc.errors else {"loc": (), "msg": "The request is not valid.", "type": ""}
    field = _field_from_loc(first.get("loc", ()))
    kind = first.get("type", "")
    if field is None and kind in {"missing", "dict_type", "model_type", "model_attributes_type"}:
        return error(request, 400, "malformed", "Send a JSON object as the request body.")
    message = str(first.get("msg", "is not valid"))
    message = message.removeprefix("Value error, ")
    if kind == "missing":
        message = "This field is required."
    elif kind == "extra_forbidden":
        message = "This field is not recognised; check its spelling against the API reference."
    return error(request, 422, "invalid", f"{field}: {message}" if field else message, field)


@api.exception_handler(AuthenticationError)
def on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error(request, 401, "unauthenticated", "Send a valid token as 'Authorization: Bearer <token>'.")


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 400:
        return error(request, 400, "malformed", "The request body is not valid JSON.")
    return error(request, exc.status_code, "error", str(exc))


@api.exception_handler(ServiceError)
def on_service_error(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    return error(request, STATUS_FOR_KIND.get(exc.kind, 422), exc.code, exc.message, exc.field)


@api.exception_handler(NotVisible)
def on_not_visible(request: HttpRequest, exc: NotVisible) -> HttpResponse:
    return error(request, 404, "not_found", "There is no such record, or you cannot see it.")


@api.exception_handler(Http404)
def on_404(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error(request, 404, "not_found", "There is no such record, or you cannot see it.")


@api.exception_handler(OperationalError)
def on_database_error(request: HttpRequest, exc: OperationalError) -> HttpResponse:
    """A deadlock or serialization failure goes on to the transaction that can run it again
    (``@idempotent``'s); outside one it is a conflict to retry. Any other is a server error."""
    if is_lock_conflict(exc):
        if transaction.get_connection().in_atomic_block:
            raise exc
        return error(request, 409, "conflict", BUSY_MESSAGE)
    return on_unexpected(request, exc)


@api.exception_handler(Exception)
def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("Unexpected error answering %s %s", request.method, request.path)
    return error(request, 500, "server_error", "Something went wrong on our side; nothing was changed.")


def _today() -> dt.date:
    return timezone.localdate()


def _briefing(data: DirectorsBriefingIn | None) -> dict[str, Any] | None:
    return data.model_dump() if data is not None else None


# -- policies and the calendar -------------------------------------------------------------------
@api.get("/policies", response={200: list[PolicySummary], **ERRORS}, tags=["policies"])
def policies(request: HttpRequest) -> Any:
    return [serializers.policy_summary(version) for version in procedure_list()]


@api.get("/policies/{key}", response={200: PolicyOut, **ERRORS}, tags=["policies"])
def policy(request: HttpRequest, key: SafeStr) -> Any:
    try:
        return serializers.policy_detail(procedure_get(key=key))
    except PolicyVersion.DoesNotExist:
        return error(request, 404, "not_found", f"There is no procedure called {key!r}.")


class WorkingDaysQuery(Schema):
    start: IsoDate
    days: int = Field(ge=0, le=366, description="How many working days after start (0 to 366).")
    nation: Nation = Nation.ENGLAND_AND_WALES


@api.get("/calendar/add-working-days", response={200: WorkingDaysOut, **ERRORS}, tags=["calendar"])
def add_working_days(request: HttpRequest, filters: Query[WorkingDaysQuery]) -> Any:
    try:
        day = working_calendar(filters.nation).add_working_days(filters.start, filters.days)
    except CalendarRangeError as exc:
        return error(request, 422, "out_of_range", str(exc), "start")
    return {"start": filters.start, "days": filters.days, "nation": filters.nation.value, "date": day}


# -- children ------------------------------------------------------------------------------------
def _child_answer(request: HttpRequest, case_number: str) -> dict[str, Any]:
    child = child_get_for_user(user=request.user, case_number=case_number)
    challenges = list(
        challenge_summaries(challenge_list(user=request.user, today=_today(), child=child.case_number))
    )
    return serializers.child_detail(child, challenges, _today())


@api.post("/children", response={201: ChildOut, **ERRORS}, tags=["children"])
@idempotent
def children_create(request: HttpRequest, payload: ChildIn) -> Any:
    child = child_create(
        user=request.user,  # type: ignore[arg-type]
        case_number=payload.case_number,
        first_name=payload.first_name,
        last_name=payload.last_name,
        date_of_birth=payload.date_of_birth,
        social_worker=payload.social_worker,
        iro=payload.iro,
        cp_chair=payload.cp_chair,
    )
    return Status(201, serializers.child_detail(child, [], _today()))


@api.post("/children/{case_number}/allocation", response={200: AllocationOut, **ERRORS}, tags=["children"])
@idempotent
def child_allocation(request: HttpRequest, case_number: SafeStr, payload: AllocationIn) -> Any:
    """Change who works with a child (the team follows the social worker): for those who add children.
    The change is written on the child's record as a case note saying who changed what."""
    allocated = child_allocate(
        user=request.user,  # type: ignore[arg-type]
        child_id=child_id_for_allocation(user=request.user, case_number=case_number),
        social_worker=payload.social_worker,
        iro=payload.iro,
        cp_chair=payload.cp_chair,
        reason=payload.reason,
    )
    return {
        "case_number": allocated.case_number,
        "social_worker": allocated.social_worker.get_username(),
        "team": allocated.team.name,
        "iro": allocated.iro.get_username() if allocated.iro else None,
        "cp_chair": allocated.cp_chair.get_username() if allocated.cp_chair else None,
    }


@api.post("/people/{username}/hand-over", response={200: HandOverOut, **ERRORS}, tags=["children"])
@idempotent
def hand_over(request: HttpRequest, username: SafeStr, payload: HandOverIn) -> Any:
    """Hand everything that waits on a leaver (children, stages, open actions, requests for agreement
    waiting on their answer) to another person in one step, with a reason written as events and case
    notes. For those who hand over work: managers within their scope, administrators for everyone.
    All or nothing."""
    done = services.leaver_hand_over(
        user=request.user,  # type: ignore[arg-type]
        leaver=username,
        successor=payload.to,
        reason=payload.reason,
    )
    return {
        "leaver": done.leaver,
        "to": done.successor,
        "children": done.children,
        "challenges": done.challenges,
        "stages": done.stages,
        "actions": done.actions,
        "agreements": done.agreements,
        "meetings": done.meetings,
    }


@api.get("/children/{case_number}", response={200: ChildOut, **ERRORS}, tags=["children"])
def child(request: HttpRequest, case_number: SafeStr) -> Any:
    return _child_answer(request, case_number)


@api.get(
    "/children/{case_number}/chronology", response={200: list[ChronologyEntry], **ERRORS}, tags=["children"]
)
def chronology(request: HttpRequest, case_number: SafeStr, child_records: bool = False) -> Any:
    """Every event on every challenge of the child you may see, oldest first. With
    ``child_records=true``, also each referral of the child's case to Cafcass made with no challenge
    (evidence chain ``child-records:<child id>``), as a ``cafcass_referred`` entry whose ``challenge``
    is null and whose ``referral`` is its id in ``/children/{case_number}/cafcass-referrals``; asked
    for, because every entry had a challenge until they were added."""
    child = child_get_for_user(user=request.user, case_number=case_number)
    entries = [
        {**serializers.event_out(event), "challenge": event.challenge_id}
        for event in child_chronology(child=child, user=request.user)
    ]
    if child_records:
        entries.extend(
            serializers.child_record_referral_out(referral)
            for referral in child_cafcass_referrals(child=child)
            if referral.challenge_id is None
        )
        entries.sort(key=lambda entry: entry["on"])  # stable: a day's challenge events keep their order
    return entries


@api.get("/children/{case_number}/case-notes", response={200: list[CaseNoteOut], **ERRORS}, tags=["children"])
def case_notes(request: HttpRequest, case_number: SafeStr) -> Any:
    child = child_get_for_user(user=request.user, case_number=case_number)
    notes = (
        case_notes_visible_to(request.user)
        .filter(child=child)
        .select_related("author")
        .prefetch_related("corrections")
        .order_by("on", "id")
    )
    return [serializers.case_note_out(note) for note in notes]


@api.post("/case-notes/{note_id}/corrections", response={201: CaseNoteOut, **ERRORS}, tags=["children"])
@idempotent
def correct_case_note(request: HttpRequest, note_id: RowId, payload: CorrectionIn) -> Any:
    """Add a correction to a case note. The original is never changed; both are kept and shown."""
    note = case_note_correct(user=request.user, note_id=note_id, body=payload.body)  # type: ignore[arg-type]
    return Status(201, serializers.case_note_out(note))


# -- challenges ----------------------------------------------------------------------------------
def _challenge_answer(challenge_id: int, request: HttpRequest) -> dict[str, Any]:
    challenge = challenge_get_for_user(
        user=request.user,
        challenge_id=challenge_id,
        related=DETAIL_RELATED,
        deferred=DETAIL_DEFERRED,
        with_rows=challenge_detail_rows(),
    )
    return serializers.challenge_detail(challenge_detail(challenge=challenge), _today())


@api.post("/challenges", response={201: ChallengeOut, **ERRORS}, tags=["challenges"])
@idempotent
def challenges_create(request: HttpRequest, payload: ChallengeIn) -> Any:
    child = child_get_for_user(user=request.user, case_number=payload.child)
    challenge = services.challenge_raise(
        user=request.user,  # type: ignore[arg-type]
        child=child,
        track=payload.track,
        procedure_key=payload.policy,
        stage=payload.stage,
        bypass_reason=payload.bypass_reason,
        bypass_agreed_by=payload.bypass_agreed_by,
        themes=payload.themes,
        concern=payload.concern,
        impact_on_child=payload.impact_on_child,
        desired_outcome=payload.desired_outcome,
        actions=[
            services.ActionInput(action=a.action, owner=a.owner, due=a.due, owner_user=a.owner_user)
            for a in payload.actions
        ],
        directors_briefing=_briefing(payload.directors_briefing),
        on=payload.on,
        respond_by=payload.respond_by,
        review=payload.review or "",
        review_on=payload.review_on,
        concern_id=payload.concern_id,
        notify_optional=payload.notify_optional,
        agency=payload.agency.name if payload.agency else "",
        agency_kind=payload.agency.kind if payload.agency else "",
        contact=_contact(payload.contact),
    )
    return Status(201, _challenge_answer(challenge.pk, request))


def _contact(data: AgencyContactIn | None) -> AgencyContact | None:
    return AgencyContact(name=data.name, role=data.role, email=data.email) if data is not None else None


class ChallengeFilters(Schema):
    status: SafeStr | None = None
    overdue: bool | None = None
    past_cap: bool | None = None
    child: SafeStr | None = None
    stage: SafeStr | None = None
    page: int = Field(default=1, ge=1, le=1_000_000)
    trigger_review: SafeStr | None = Field(
        default=None,
        description="Only challenges triggered by this review (cla_review, midway_review, cp_conference, "
        "mid_point_review); 'none' for those not triggered by a review.",
    )
    cursor: SafeStr | None = Field(default=None, max_length=40)
    policy: SafeStr | None = Field(
        default=None, description="Only challenges under this procedure (its key)."
    )
    agency_kind: SafeStr | None = Field(
        default=None,
        description="Only challenges to partner agencies of this kind (health, police, ...); 'any' for "
        "every challenge to a partner agency, 'none' for those on the authority's own ladder.",
    )


@api.get("/challenges", response={200: ChallengePage, **ERRORS}, tags=["challenges"])
def challenges(request: HttpRequest, filters: Query[ChallengeFilters]) -> Any:
    if filters.status and filters.status not in Challenge.Status.values:
        return error(request, 422, "invalid", "status: use open, resolved or withdrawn.", "status")
    today = _today()
    found = challenge_summaries(
        challenge_list(
            user=request.user,
            today=today,
            status=filters.status,
            overdue=filters.overdue,
            past_cap=filters.past_cap,
            child=filters.child,
            stage=filters.stage,
            policy=filters.policy,
            agency_kind=filters.agency_kind,
        )
    )
    if filters.trigger_review:
        found = found.filter(
            trigger_review="" if filters.trigger_review == "none" else filters.trigger_review
        )
    counted = count_bounded(found)
    count = min(counted, COUNT_BOUND)
    pages = max(1, math.ceil(count / PAGE_SIZE))
    if filters.cursor:
        page = list(challenges_after(found, filters.cursor)[: PAGE_SIZE + 1])
    else:
        start = (filters.page - 1) * PAGE_SIZE
        page = list(found[start : start + PAGE_SIZE + 1])
    rows, more = page[:PAGE_SIZE], len(page) > PAGE_SIZE
    access_record_list(user=request.user, children=[row.child for row in rows])
    return {
        "count": count,
        "count_exact": counted <= COUNT_BOUND,
        "page": filters.page,
        "pages": pages,
        "results": [serializers.challenge_summary(row, today) for row in rows],
        "next_cursor": challenge_cursor(rows[-1]) if more and rows else None,
    }


@api.get("/challenges/{challenge_id}", response={200: ChallengeOut, **ERRORS}, tags=["challenges"])
def challenge(request: HttpRequest, challenge_id: RowId) -> Any:
    return _challenge_answer(challenge_id, request)


@api.get(
    "/challenges/{challenge_id}/documents", response={200: list[DocumentOut], **ERRORS}, tags=["challenges"]
)
def challenge_documents(request: HttpRequest, challenge_id: RowId) -> Any:
    """The documents recorded on a challenge (the Director's briefing of seed 002), oldest first, each
    field with its label; scoped and access-logged like the challenge."""
    found = challenge_get_for_user(user=request.user, challenge_id=challenge_id)
    documents = (
        documents_visible_to(request.user).filter(challenge=found).select_related("by").order_by("on", "id")
    )
    return [serializers.document_out(document) for document in documents]


def _transition(request: HttpRequest, challenge_id: int, change: Callable[..., Any], **kwargs: Any) -> Any:
    """Carry out one change on a challenge the user can see, and answer with it as it now stands.

    The change's service finds the challenge through the user's scope and locks it before anything
    is written (reading it first would write the access log and lock it in the wrong order)."""
    change(user=request.user, challenge_id=challenge_id, **kwargs)
    return _challenge_answer(challenge_id, request)


@api.post(
    "/challenges/{challenge_id}/learning-points",
    response={200: ChallengeOut, **ERRORS},
    tags=["transitions"],
)
@idempotent
def add_learning_points(request: HttpRequest, challenge_id: RowId, payload: LearningPointsIn) -> Any:
    """Add key learning points: the chair, the stage's recipient or the child's social work team."""
    return _transition(
        request,
        challenge_id,
        services.challenge_add_learning_points,
        learning_points=payload.learning_points,
        on=payload.on,
        expected_version=payload.version,
    )


@api.post(
    "/challenges/{challenge_id}/responses", response={200: ChallengeOut, **ERRORS}, tags=["transitions"]
)
@idempotent
def respond(request: HttpRequest, challenge_id: RowId, payload: ResponseIn) -> Any:
    return _transition(
        request,
        challenge_id,
        services.challenge_respond,
        response=payload.response,
        comments=payload.comments,
        further=payload.further,
        on=payload.on,
        expected_version=payload.version,
    )


@api.post(
    "/challenges/{challenge_id}/escalations", response={200: ChallengeOut, **ERRORS}, tags=["transitions"]
)
@idempotent
def escalate(request: HttpRequest, challenge_id: RowId, payload: EscalationIn) -> Any:
    return _transition(
        request,
        challenge_id,
        services.challenge_escalate,
        to_stage=payload.to_stage,
        reason=payload.reason,
        bypass_agreed_by=payload.bypass_agreed_by,
        directors_briefing=_briefing(payload.directors_briefing),
        on=payload.on,
        expected_version=payload.version,
        respond_by=payload.respond_by,
        notify_optional=payload.notify_optional,
        contact=_contact(payload.contact),
    )


@api.post(
    "/challenges/{challenge_id}/agency-contact", response={200: ChallengeOut, **ERRORS}, tags=["transitions"]
)
@idempotent
def ask_agency(request: HttpRequest, challenge_id: RowId, payload: AgencyContactChangeIn) -> Any:
    """A challenge to a partner agency: send it to another contact at its current stage (the first
    left, or did not answer). The same question and reply date; the new contact is emailed."""
    return _transition(
        request,
        challenge_id,
        services.challenge_ask_agency,
        contact=_contact(payload.contact),
        on=payload.on,
        expected_version=payload.version,
    )


@api.post(
    "/challenges/{challenge_id}/resolution", response={200: ChallengeOut, **ERRORS}, tags=["transitions"]
)
@idempotent
def resolve(request: HttpRequest, challenge_id: RowId, payload: ResolutionIn) -> Any:
    return _transition(
        request,
        challenge_id,
        services.challenge_resolve,
        outcome=payload.outcome,
        learning_points=payload.learning_points,
        on=payload.on,
        expected_version=payload.version,
    )


@api.post(
    "/challenges/{challenge_id}/reopening", response={200: ChallengeOut, **ERRORS}, tags=["transitions"]
)
@idempotent
def reopen(request: HttpRequest, challenge_id: RowId, payload: ReopenIn) -> Any:
    return _transition(
        request,
        challenge_id,
        services.challenge_reopen,
        reason=payload.reason,
        directors_briefing=_briefing(payload.directors_briefing),
        on=payload.on,
        expected_version=payload.version,
        respond_by=payload.respond_by,
        contact=_contact(payload.contact),
    )


@api.post(
    "/challenges/{challenge_id}/cafcass-referral",
    response={200: ChallengeOut, **ERRORS},
    tags=["transitions"],
)
@idempotent
def refer_to_cafcass(request: HttpRequest, challenge_id: RowId, payload: CafcassReferralIn) -> Any:
    return _transition(
        request,
        challenge_id,
        services.challenge_refer_to_cafcass,
        reason=payload.reason,
        checklist=payload.checklist,
        preconditions=payload.preconditions,
        urgent=payload.urgent,
        on=payload.on,
        expected_version=payload.version,
    )


@api.post(
    "/challenges/{challenge_id}/actions/{action_id}",
    response={200: ChallengeOut, **ERRORS},
    tags=["transitions"],
)
@idempotent
def mark_action(request: HttpRequest, challenge_id: RowId, action_id: RowId, payload: ActionStatusIn) -> Any:
    return _transition(
        request,
        challenge_id,
        services.challenge_action_mark,
        action_id=action_id,
        status=payload.status,
        on=payload.on,
        expected_version=payload.version,
        reason=payload.reason,
        # This route predates the reason: "not done" without one is still recorded, for existing scripts.
        reason_required=False,
    )


@api.post(
    "/challenges/{challenge_id}/withdrawal", response={200: ChallengeOut, **ERRORS}, tags=["transitions"]
)
@idempotent
def withdraw(request: HttpRequest, challenge_id: RowId, payload: ReasonIn) -> Any:
    return _transition(
        request,
        challenge_id,
        services.challenge_withdraw,
        reason=payload.reason,
        on=payload.on,
        expected_version=payload.version,
    )


@api.post("/challenges/{challenge_id}/meetings", response={200: ChallengeOut, **ERRORS}, tags=["transitions"])
@idempotent
def record_meeting(request: HttpRequest, challenge_id: RowId, payload: MeetingIn) -> Any:
    """Record a meeting; with `number`, the minutes of a requested meeting by the person it names, with
    who was there and the actions agreed (sent to the attendees)."""
    return _transition(
        request,
        challenge_id,
        services.challenge_record_meeting,
        summary=payload.summary,
        on=payload.on,
        expected_version=payload.version,
        number=payload.number,
        held_on=payload.held_on,
        attendees=payload.attendees,
        outsiders=payload.outsiders,
        actions=[services.ActionInput(action=a.action, owner=a.owner, due=a.due) for a in payload.actions],
    )


@api.post(
    "/challenges/{challenge_id}/final-comments", response={200: ChallengeOut, **ERRORS}, tags=["transitions"]
)
@idempotent
def final_comments(request: HttpRequest, challenge_id: RowId, payload: FinalCommentsIn) -> Any:
    return _transition(
        request,
        challenge_id,
        services.challenge_add_final_comments,
        comments=payload.comments,
        on=payload.on,
        expected_version=payload.version,
    )


# -- the action plan, agreed timescales and concerns ---------------------------------------------
@api.post("/challenges/{challenge_id}/actions", response={200: ChallengeOut, **ERRORS}, tags=["transitions"])
@idempotent
def add_action(request: HttpRequest, challenge_id: RowId, payload: ActionAddIn) -> Any:
    """Agree a SMART action (what, by when, by whom) at any point while the challenge is open or
    monitored after resolution: the chair, the stage's recipient or the chair's manager."""
    return _transition(
        request,
        challenge_id,
        services.challenge_action_add,
        action=payload.action,
        due=payload.due,
        owner=payload.owner,
        owner_user=payload.owner_user,
        on=payload.on,
        expected_version=payload.version,
    )


@api.post(
    "/challenges/{challenge_id}/actions/{action_id}/due-date",
    response={200: ChallengeOut, **ERRORS},
    tags=["transitions"],
)
@idempotent
def redate_action(
    request: HttpRequest, challenge_id: RowId, action_id: RowId, payload: ActionRedateIn
) -> Any:
    """Change an open action's date, with the reason; its reminders move with it."""
    return _transition(
        request,
        challenge_id,
        services.challenge_action_redate,
        action_id=action_id,
        due=payload.due,
        reason=payload.reason,
        on=payload.on,
        expected_version=payload.version,
    )


@api.post(
    "/challenges/{challenge_id}/extensions", response={200: ChallengeOut, **ERRORS}, tags=["transitions"]
)
@idempotent
def extend_deadline(request: HttpRequest, challenge_id: RowId, payload: ExtensionIn) -> Any:
    """Record an agreed extension of the current stage's response date (who agreed, why, the new date,
    within the procedure's maximum): the overdue day and the reminders move with it."""
    return _transition(
        request,
        challenge_id,
        services.challenge_deadline_extend,
        due=payload.due,
        reason=payload.reason,
        agreed_by=payload.agreed_by,
        on=payload.on,
        expected_version=payload.version,
    )


@api.post("/children/{case_number}/concerns", response={201: ConcernOut, **ERRORS}, tags=["children"])
@idempotent
def concern_create(request: HttpRequest, case_number: SafeStr, payload: ConcernIn) -> Any:
    """Record a concern on the child's record without starting a challenge (the child's chair)."""
    child = child_get_for_user(user=request.user, case_number=case_number)
    concern = services.concern_record(
        user=request.user,  # type: ignore[arg-type]
        child=child,
        track=payload.track,
        concern=payload.concern,
        review=payload.review or "",
        review_on=payload.review_on,
        procedure_key=payload.policy,
        on=payload.on,
    )
    rows = [row for row in child_concerns(child=child) if row.concern.pk == concern.pk]
    return Status(201, serializers.concern_out(rows[0]))


@api.post(
    "/children/{case_number}/concerns/{concern_id}/closing",
    response={200: ConcernOut, **ERRORS},
    tags=["children"],
)
@idempotent
def concern_closing(
    request: HttpRequest, case_number: SafeStr, concern_id: RowId, payload: ConcernCloseIn
) -> Any:
    """Close a concern without a challenge (the child's chair on its track), with the reason: the
    reminders of the chair's deadline stop, and no challenge can carry it afterwards."""
    child = child_get_for_user(user=request.user, case_number=case_number)
    if not any(row.concern.pk == concern_id for row in child_concerns(child=child)):
        raise ServiceError("not_found", "not_found", "There is no such concern on this child's record.")
    services.concern_close(
        user=request.user,  # type: ignore[arg-type]
        concern_id=concern_id,
        reason=payload.reason,
        on=payload.on,
    )
    rows = [row for row in child_concerns(child=child) if row.concern.pk == concern_id]
    return Status(200, serializers.concern_out(rows[0]))


@api.get("/children/{case_number}/concerns", response={200: list[ConcernOut], **ERRORS}, tags=["children"])
def concerns(request: HttpRequest, case_number: SafeStr) -> Any:
    """The concerns on the child's record, newest first, with the challenge each became."""
    child = child_get_for_user(user=request.user, case_number=case_number)
    return [serializers.concern_out(row) for row in child_concerns(child=child)]


@api.post(
    "/challenges/{challenge_id}/actions/{action_id}/closing",
    response={200: ChallengeOut, **ERRORS},
    tags=["transitions"],
)
@idempotent
def close_action(request: HttpRequest, challenge_id: RowId, action_id: RowId, payload: ActionStatusIn) -> Any:
    """Close an agreed action: done, or not done with the reason why (a reason is needed for not_done)."""
    return _transition(
        request,
        challenge_id,
        services.challenge_action_mark,
        action_id=action_id,
        status=payload.status,
        reason=payload.reason,
        on=payload.on,
        expected_version=payload.version,
    )


@api.post(
    "/challenges/{challenge_id}/agreement-requests",
    response={200: ChallengeOut, **ERRORS},
    tags=["transitions"],
)
@idempotent
def request_agreement(request: HttpRequest, challenge_id: RowId, payload: AgreementRequestIn) -> Any:
    """Ask a named person to agree to a bypass or a Cafcass referral, or tell them of it first (the
    procedure says which): the chair or their manager. The person confirms or declines in Resolve."""
    return _transition(
        request,
        challenge_id,
        services.challenge_request_agreement,
        purpose=payload.purpose,
        key=payload.key,
        person=payload.person,
        note=payload.note,
        on=payload.on,
        expected_version=payload.version,
    )


@api.post(
    "/challenges/{challenge_id}/agreement-requests/{number}/answer",
    response={200: ChallengeOut, **ERRORS},
    tags=["transitions"],
)
@idempotent
def answer_agreement(
    request: HttpRequest,
    challenge_id: RowId,
    number: Annotated[int, Field(ge=1, le=10_000)],
    payload: AgreementAnswerIn,
) -> Any:
    """Confirm or decline a request made to you (recorded with its date and time)."""
    return _transition(
        request,
        challenge_id,
        services.challenge_answer_agreement,
        number=number,
        answer=payload.answer,
        comments=payload.comments,
        on=payload.on,
        expected_version=payload.version,
    )


@api.post(
    "/challenges/{challenge_id}/meeting-requests",
    response={200: ChallengeOut, **ERRORS},
    tags=["transitions"],
)
@idempotent
def request_meeting(request: HttpRequest, challenge_id: RowId, payload: MeetingRequestIn) -> Any:
    """Ask for one of the current stage's meetings: its date within the procedure's bound, its chair
    (the role the procedure names) and who is invited; the invitations go through the outbox."""
    return _transition(
        request,
        challenge_id,
        services.challenge_request_meeting,
        key=payload.key,
        scheduled_for=payload.scheduled_for,
        chair=payload.chair,
        attendees=payload.attendees,
        outsiders=payload.outsiders,
        note=payload.note,
        on=payload.on,
        expected_version=payload.version,
    )


# -- a Cafcass referral with no challenge (seeds 000 and 004) ---------------------------------------
@api.get(
    "/children/{case_number}/cafcass-referrals",
    response={200: list[CafcassReferralOut], **ERRORS},
    tags=["children"],
)
def cafcass_referrals(request: HttpRequest, case_number: SafeStr) -> Any:
    """Every referral to Cafcass of the child's case, oldest first: of its challenges and with none."""
    child = child_get_for_user(user=request.user, case_number=case_number)
    return [serializers.cafcass_referral_out(row) for row in child_cafcass_referrals(child=child)]


@api.post(
    "/children/{case_number}/cafcass-referrals",
    response={201: CafcassReferralOut, **ERRORS},
    tags=["children"],
)
@idempotent
def cafcass_referral_create(
    request: HttpRequest, case_number: SafeStr, payload: ChildCafcassReferralIn
) -> Any:
    """Refer a looked-after child's case to Cafcass with no challenge (seed 000: "Alongside or out with
    the Outcome Resolution"): the child's IRO (or the role the procedure names), IRO track only, once
    the authority's procedure's preconditions are met as for a challenge's referral."""
    child = child_get_for_user(user=request.user, case_number=case_number)
    referral = services.child_refer_to_cafcass(
        user=request.user,  # type: ignore[arg-type]
        child_id=child.pk,
        reason=payload.reason,
        checklist=payload.checklist,
        preconditions=payload.preconditions,
        urgent=payload.urgent,
        on=payload.on,
    )
    return Status(201, serializers.cafcass_referral_out(referral))


@api.get(
    "/children/{case_number}/cafcass-agreement-requests",
    response={200: list[AgreementOut], **ERRORS},
    tags=["children"],
)
def child_agreement_requests(request: HttpRequest, case_number: SafeStr) -> Any:
    """The requests for agreement made on the child for a referral to Cafcass with no challenge."""
    child = child_get_for_user(user=request.user, case_number=case_number)
    return [serializers.agreement_out(row) for row in child_cafcass_agreements(child=child)]


@api.post(
    "/children/{case_number}/cafcass-agreement-requests",
    response={201: AgreementOut, **ERRORS},
    tags=["children"],
)
@idempotent
def child_agreement_request(
    request: HttpRequest, case_number: SafeStr, payload: ChildAgreementRequestIn
) -> Any:
    """Ask a named person to agree to (or tell them first of) a referral of the child's case to Cafcass
    with no challenge, as the procedure's preconditions say (the child's IRO or their manager)."""
    child = child_get_for_user(user=request.user, case_number=case_number)
    row = services.child_request_cafcass_agreement(
        user=request.user,  # type: ignore[arg-type]
        child_id=child.pk,
        key=payload.key,
        person=payload.person,
        note=payload.note,
        on=payload.on,
    )
    return Status(201, serializers.agreement_out(row))


@api.post(
    "/children/{case_number}/cafcass-agreement-requests/{number}/answer",
    response={200: AgreementOut, **ERRORS},
    tags=["children"],
)
@idempotent
def child_agreement_answer(
    request: HttpRequest,
    case_number: SafeStr,
    number: Annotated[int, Field(ge=1, le=10_000)],
    payload: ChildAgreementAnswerIn,
) -> Any:
    """Confirm or decline a request made to you (recorded with its date and time)."""
    child = child_get_for_user(user=request.user, case_number=case_number)
    row = services.child_answer_cafcass_agreement(
        user=request.user,  # type: ignore[arg-type]
        child_id=child.pk,
        number=number,
        answer=payload.answer,
        comments=payload.comments,
        on=payload.on,
    )
    return Status(200, serializers.agreement_out(row))
