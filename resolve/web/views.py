"""The web pages. Each view parses the request, calls selectors and renders; nothing more."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from resolve.access import (
    NotVisible,
    Perm,
    access_record_list,
    case_note_get_for_user,
    challenge_get_for_user,
    child_get_for_allocation,
    child_get_for_user,
    child_id_for_allocation,
    children_visible_to,
    user_has_perm,
)
from resolve.challenges import selectors, services
from resolve.challenges.events import REVIEWS
from resolve.children.models import Child
from resolve.children.services import case_note_correct as case_note_correct_service
from resolve.children.services import child_allocate
from resolve.core import limits
from resolve.core.clock import today
from resolve.core.errors import ServiceError
from resolve.people.roles import role_label
from resolve.people.selectors import role_members, staff_list
from resolve.procedures import selectors as procedure_selectors
from resolve.procedures.models import PolicyVersion
from resolve.procedures.schema import Procedure
from resolve.procedures.selectors import procedure_get, procedure_version_model
from resolve.signin.selectors import sso_enabled
from resolve.web import forms, pages, procedures
from resolve.web.flowchart import flowchart_svg
from resolve.web.forms import ChildSearchForm, SignInForm
from resolve.web.home import home_page, waiting_on_words


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """What is waiting on me, my team's or my line's, and what is copied to me (``resolve.web.home``)."""
    page = home_page(user=request.user, params=request.GET, today=today())  # type: ignore[arg-type]
    return render(
        request,
        "home.html",
        {
            "home": page,
            "can_allocate": user_has_perm(user=request.user, perm=Perm.ADD_CHILDREN),
            "can_hand_over": user_has_perm(user=request.user, perm=Perm.HAND_OVER_WORK),
        },
    )


class SignInView(auth_views.LoginView):
    template_name = "registration/sign_in.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True
    next_page = "web:home"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        # The organisation's account (OpenID Connect) is offered only when it is set up.
        if sso_enabled():
            start = reverse("oidc_authentication_init")
            after = context.get(self.redirect_field_name)
            context["sso_url"] = f"{start}?{urlencode({'next': after})}" if after else start
        return context


class SignOutView(auth_views.LogoutView):
    # Django's LogoutView takes POST only, so a link or a prefetch cannot sign anyone out.
    next_page = "web:sign_in"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        messages.success(request, "You have signed out")
        return response


@login_required
def procedure_list(request: HttpRequest) -> HttpResponse:
    return render(
        request, "procedures/procedure_list.html", {"procedures": list(procedure_selectors.procedure_list())}
    )


@login_required
def procedure_detail(request: HttpRequest, key: str) -> HttpResponse:
    try:
        version = procedure_get(key=key)
    except PolicyVersion.DoesNotExist:
        raise Http404("No procedure with that key") from None
    procedure = procedure_version_model(version)
    return render(
        request,
        "procedures/procedure_detail.html",
        {
            "version": version,
            "procedure": procedure,
            "flowchart": flowchart_svg(procedure),
            "overview_rows": procedures.overview_rows(procedure),
            "nation": procedures.nation_label(procedure.nation),
            "stage_table_head": procedures.STAGE_TABLE_HEAD,
            "stage_table_rows": procedures.stage_table_rows(procedure),
            "stages": procedures.stage_summaries(procedure),
            "cafcass_rows": procedures.cafcass_rows(procedure) if "iro" in procedure.tracks else [],
            "resolution_rows": procedures.resolution_rows(procedure),
        },
    )


# -- children ------------------------------------------------------------------------------------


@login_required
def child_list(request: HttpRequest) -> HttpResponse:
    form = ChildSearchForm(request.GET)
    children = selectors.child_search(user=request.user, query=form.query())
    page = pages.paginate(children, request.GET.get("page"))
    access_record_list(user=request.user, children=page.object_list)
    return render(request, "children/child_list.html", {"form": form, "page": page, "query": form.query()})


@login_required
def child_detail(request: HttpRequest, case_number: str) -> HttpResponse:
    try:
        page = pages.child_page(user=request.user, case_number=case_number, today=today())  # type: ignore[arg-type]
    except NotVisible:
        raise Http404("No such child") from None
    return render(
        request,
        "children/child_detail.html",
        {
            "child_page": page,
            "child": page.child,
            "detail_rows": pages.child_detail_rows(page.child),
            "can_allocate": user_has_perm(user=request.user, perm=Perm.ADD_CHILDREN),
        },
    )


# -- challenges ----------------------------------------------------------------------------------


@login_required
def challenge_list(request: HttpRequest) -> HttpResponse:
    listing = pages.challenge_list_page(user=request.user, params=request.GET, today=today())  # type: ignore[arg-type]
    can_raise = user_has_perm(user=request.user, perm=Perm.RAISE_CHALLENGE)
    return render(request, "challenges/challenge_list.html", {"listing": listing, "can_raise": can_raise})


@login_required
def challenge_detail(request: HttpRequest, challenge_id: int) -> HttpResponse:
    return _challenge_detail(request, challenge_id)


def _challenge_detail(
    request: HttpRequest, challenge_id: int, errors: list[dict[str, str]] | None = None
) -> HttpResponse:
    try:
        page = pages.challenge_page(user=request.user, challenge_id=challenge_id, today=today())  # type: ignore[arg-type]
    except NotVisible:
        raise Http404("No such challenge") from None
    return render(
        request,
        "challenges/challenge_detail.html",
        {
            "page": page,
            "challenge": page.challenge,
            "waiting_on": waiting_on_words(page.challenge, today()),
            "errors": errors or [],
            "can_correct_notes": user_has_perm(user=request.user, perm=Perm.CORRECT_CASE_NOTE),
        },
        status=400 if errors else 200,
    )


def _action_form(action: str, ctx: pages.TransitionContext, data: Any) -> forms.ChallengeChangeForm:
    version = ctx.challenge.version
    procedure = ctx.procedure
    match action:
        case "respond":
            return forms.RespondForm(
                data,
                version=version,
                labels={str(key): text for key, text in procedure.response_labels.items()},
            )
        case "escalate":
            return forms.EscalateForm(
                data,
                version=version,
                stages=ctx.later_stages,
                people=ctx.people,
                briefing=bool(ctx.briefing_for),
                contact=procedure.partner_agency,
            )
        case "resolve":
            return forms.ResolveForm(
                data, version=version, learning_required=procedure.resolution.requires_learning_points
            )
        case "reopen":
            return forms.ReasonForm(
                data,
                version=version,
                label="Why are you re-opening the challenge?",
                required_message="Enter why you are re-opening the challenge",
                briefing=bool(ctx.reopen_briefing_for),
                respond_by=True,
                contact=procedure.partner_agency,
            )
        case "withdraw":
            return forms.ReasonForm(
                data,
                version=version,
                label="Why are you withdrawing the challenge?",
                required_message="Enter why you are withdrawing the challenge",
            )
        case "record_meeting":
            return forms.MeetingForm(
                data, version=version, requests=ctx.my_meetings, people=ctx.meeting_people
            )
        case "request_meeting":
            return forms.RequestMeetingForm(
                data,
                version=version,
                meetings=ctx.meeting_choices,
                chairs=ctx.meeting_chairs,
                people=ctx.meeting_people,
                invited=ctx.meeting_invited,
            )
        case "final_comments":
            return forms.FinalCommentsForm(data, version=version)
        case "learning_points":
            return forms.LearningPointsForm(data, version=version)
        case "refer_to_cafcass":
            return forms.CafcassForm(
                data,
                version=version,
                checklist=ctx.checklist,
                required_checklist=ctx.required_checklist,
                urgent_required=ctx.urgent_required,
                urgent_before=ctx.urgent_before,
                preconditions_unmet=ctx.preconditions_unmet,
            )
        case "request_agreement":
            return forms.RequestAgreementForm(
                data, version=version, subjects=ctx.agreement_subjects, people=ctx.agreement_people
            )
        case "add_action":
            return forms.ActionAddForm(data, version=version, people=ctx.line_people)
        case "extend_deadline":
            return forms.ExtensionForm(data, version=version, people=ctx.line_people)
        case "answer_agreement":
            return forms.AnswerAgreementForm(data, version=version, requests=ctx.waiting_for_me)
        case "ask_agency":
            return forms.AskAgencyForm(data, version=version)
    raise Http404("No such action")


def _action_call(
    action: str, request: HttpRequest, challenge_id: int, form: forms.ChallengeChangeForm
) -> None:
    data = form.cleaned_data
    common: dict[str, Any] = {
        "user": request.user,
        "challenge_id": challenge_id,
        "expected_version": data["expected_version"],
    }
    match action:
        case "respond":
            services.challenge_respond(**common, response=data["response"], comments=data["comments"])
        case "escalate":
            briefing = form.briefing(data) if isinstance(form, forms.EscalateForm) else None
            services.challenge_escalate(
                **common,
                to_stage=data["to_stage"],
                reason=data["reason"],
                bypass_agreed_by=data["bypass_agreed_by"] or None,
                directors_briefing=briefing,
                respond_by=data.get("respond_by"),
                notify_optional={"yes": True, "no": False}.get(data["notify_optional"]),
                contact=form.contact() if isinstance(form, forms.EscalateForm) else None,
            )
        case "resolve":
            services.challenge_resolve(
                **common, outcome=data["outcome"], learning_points=data["learning_points"]
            )
        case "reopen":
            briefing = form.briefing(data) if isinstance(form, forms.ReasonForm) else None
            services.challenge_reopen(
                **common,
                reason=data["reason"],
                directors_briefing=briefing,
                respond_by=data.get("respond_by"),
                contact=form.contact() if isinstance(form, forms.ReasonForm) else None,
            )
        case "withdraw":
            services.challenge_withdraw(**common, reason=data["reason"])
        case "record_meeting":
            assert isinstance(form, forms.MeetingForm)
            if data["number"]:
                # The minutes of a requested meeting: held on the date given, recorded today.
                services.challenge_record_meeting(
                    **common,
                    summary=data["summary"],
                    number=int(data["number"]),
                    held_on=data["on"],
                    attendees=data["attendees"],
                    outsiders=form.outsider_names(),
                    actions=[services.ActionInput(*row) for row in form.actions()],
                )
            else:
                services.challenge_record_meeting(
                    **common,
                    summary=data["summary"],
                    on=data["on"],
                    actions=[services.ActionInput(*row) for row in form.actions()],
                )
        case "request_meeting":
            assert isinstance(form, forms.RequestMeetingForm)
            services.challenge_request_meeting(
                **common,
                key=data["key"],
                scheduled_for=data["scheduled_for"],
                chair=data["chair"] or None,
                attendees=data["attendees"],
                outsiders=form.outsider_names(),
                note=data["note"],
            )
        case "final_comments":
            services.challenge_add_final_comments(**common, comments=data["comments"])
        case "learning_points":
            services.challenge_add_learning_points(**common, learning_points=data["learning_points"])
        case "refer_to_cafcass":
            assert isinstance(form, forms.CafcassForm)
            ticked = set(data["checklist"])
            services.challenge_refer_to_cafcass(
                **common,
                reason=data["reason"],
                urgent=data["urgent"],
                checklist={key: key in ticked for key, _label in form.fields["checklist"].choices},  # type: ignore[attr-defined]
            )
        case "request_agreement":
            purpose, _, key = data["subject"].partition(":")
            services.challenge_request_agreement(
                **common, purpose=purpose, key=key, person=data["person"], note=data["note"]
            )
        case "answer_agreement":
            services.challenge_answer_agreement(
                **common, number=int(data["number"]), answer=data["answer"], comments=data["comments"]
            )
        case "add_action":
            services.challenge_action_add(
                **common,
                action=data["action"],
                due=data["due"],
                owner=data["owner"],
                owner_user=data["owner_user"] or None,
            )
        case "extend_deadline":
            services.challenge_deadline_extend(
                **common, due=data["due"], reason=data["reason"], agreed_by=data["agreed_by"] or None
            )
        case "ask_agency":
            assert isinstance(form, forms.AskAgencyForm)
            services.challenge_ask_agency(**common, contact=form.contact())


@login_required
def challenge_transition(request: HttpRequest, challenge_id: int, action: str) -> HttpResponse:
    """One action's short form: GET shows it (only when this person may take it now), POST records it."""
    if action not in pages.TRANSITIONS or action in pages.PER_ACTION:
        raise Http404("No such action")
    try:
        ctx = pages.transition_context(user=request.user, challenge_id=challenge_id, today=today())  # type: ignore[arg-type]
    except NotVisible:
        raise Http404("No such challenge") from None
    if request.method == "POST":
        form = _action_form(action, ctx, request.POST)
        if form.is_valid():
            try:
                _action_call(action, request, challenge_id, form)
            except ServiceError as error:
                forms.service_error_to_form(form, error)
            else:
                messages.success(request, pages.TRANSITIONS[action].done)
                return redirect("web:challenge_detail", challenge_id=challenge_id)
    else:
        if action not in ctx.available:
            raise PermissionDenied(pages.not_available_words(ctx.challenge, action, today()))
        form = _action_form(action, ctx, None)
    return render(
        request,
        f"challenges/transitions/{action}.html",
        {"ctx": ctx, "challenge": ctx.challenge, "form": form, "spec": pages.TRANSITIONS[action]},
        status=400 if form.is_bound else 200,
    )


@login_required
@require_POST
def challenge_action_mark(request: HttpRequest, challenge_id: int, action_id: int) -> HttpResponse:
    """Mark one agreed action done or not done, from the buttons beside it on the challenge page."""
    form = forms.ActionMarkForm(request.POST, version=0)
    errors: list[dict[str, str]] = []
    if form.is_valid():
        try:
            challenge_get_for_user(user=request.user, challenge_id=challenge_id)
            services.challenge_action_mark(
                user=request.user,  # type: ignore[arg-type]
                challenge_id=challenge_id,
                action_id=action_id,
                status=form.cleaned_data["status"],
                expected_version=form.cleaned_data["expected_version"],
                reason=form.cleaned_data["reason"],
            )
        except NotVisible:
            raise Http404("No such challenge") from None
        except ServiceError as error:
            forms.service_error_to_form(form, error)
        else:
            messages.success(request, pages.TRANSITIONS["mark_action"].done)
            return redirect("web:challenge_detail", challenge_id=challenge_id)
    if form.data.get("status") == "not_done" and "confirm" in form.data:
        # From the "Not done" page: show it again with its error beside the reason.
        return _action_not_done_page(request, challenge_id, action_id, form)
    errors = [{"text": str(message), "href": f"#action-{action_id}"} for message in form.non_field_errors()]
    errors += [
        {"text": str(m), "href": f"#action-{action_id}"}
        for name, ms in form.errors.items()
        if name != "__all__"
        for m in ms
    ]
    return _challenge_detail(request, challenge_id, errors=errors)


@login_required
def challenge_action_not_done(request: HttpRequest, challenge_id: int, action_id: int) -> HttpResponse:
    """ "Not done" asks why, and to confirm, before anything is recorded (the POST goes to the mark view)."""
    return _action_not_done_page(request, challenge_id, action_id, None)


def _action_not_done_page(
    request: HttpRequest, challenge_id: int, action_id: int, form: forms.ActionMarkForm | None
) -> HttpResponse:
    try:
        page = pages.challenge_page(user=request.user, challenge_id=challenge_id, today=today())  # type: ignore[arg-type]
    except NotVisible:
        raise Http404("No such challenge") from None
    found = next(((a, owner) for a, _tag, owner in page.actions if a.pk == action_id), None)
    if found is None:
        raise Http404("No such action")
    if "mark_action" not in page.available:
        raise PermissionDenied(pages.not_available_words(page.challenge, "mark_action", today()))
    action, owner = found
    if form is None:
        form = forms.ActionMarkForm(version=page.challenge.version)
    return render(
        request,
        "challenges/action_not_done.html",
        {"challenge": page.challenge, "action": action, "owner": owner, "form": form},
        status=400 if form.is_bound else 200,
    )


# -- raising a challenge: choose the track and procedure, fill in the form, check, record --------


def _raise_child(request: HttpRequest, case_number: str) -> Child:
    try:
        return child_get_for_user(user=request.user, case_number=case_number)
    except NotVisible:
        raise Http404("No such child") from None


@login_required
def challenge_raise_choose(request: HttpRequest) -> HttpResponse:
    """Raise a challenge from home or the challenge list: choose the child first (only those you chair)."""
    form = ChildSearchForm(request.GET)
    children = selectors.children_to_raise_for(user=request.user, query=form.query())
    page = pages.paginate(children, request.GET.get("page"))
    return render(
        request, "challenges/raise_choose.html", {"form": form, "page": page, "query": form.query()}
    )


@login_required
def challenge_raise_start(request: HttpRequest, case_number: str) -> HttpResponse:
    child = _raise_child(request, case_number)
    tracks = pages.raise_tracks(user=request.user, child=child)  # type: ignore[arg-type]
    if not tracks:
        raise PermissionDenied("Only the child's allocated IRO or CP Chair can raise a challenge")
    keys = [key for key, _words in tracks]
    choices = pages.raise_procedures(keys, partner_agency=False)
    # A challenge to a partner agency is its own journey (seed 000 section 2), under its own procedure.
    agency_choices = pages.raise_procedures(keys, partner_agency=True)
    # A question with one answer is not asked: with one track and one procedure, go straight on.
    if len(tracks) == 1 and len(choices) == 1 and not agency_choices:
        return redirect(
            "web:challenge_raise", case_number=child.case_number, track=tracks[0][0], procedure=choices[0][0]
        )
    form = forms.RaiseStartForm(
        request.GET or None, tracks=tracks, procedures=choices, agency_procedures=agency_choices
    )
    if form.is_bound and form.is_valid():
        track, procedure = form.cleaned_data["track"], form.cleaned_data["procedure"]
        if (procedure, dict([*choices, *agency_choices])[procedure]) in pages.raise_procedures([track]):
            return redirect(
                "web:challenge_raise", case_number=child.case_number, track=track, procedure=procedure
            )
        form.add_error("procedure", "This procedure is not for the role you chose: choose one that is")
    if not form.is_bound:
        default = settings.RESOLVE_DEFAULT_POLICY
        form.initial = {"track": tracks[0][0], "procedure": default if default in dict(choices) else ""}
    return render(
        request,
        "challenges/raise_start.html",
        {
            "child": child,
            "form": form,
            "ask_track": len(tracks) > 1,
            "ask_procedure": len(choices) > 1,
            "ask_to": bool(agency_choices),
            "authority_procedures": choices,
        },
        status=400 if form.is_bound else 200,
    )


def _raise_setup(
    request: HttpRequest, case_number: str, track: str, procedure: str
) -> tuple[Child, Procedure]:
    child = _raise_child(request, case_number)
    chosen = pages.procedure_for(procedure)
    if chosen is None or track not in dict(pages.raise_tracks(user=request.user, child=child)):  # type: ignore[arg-type]
        raise Http404("No such procedure or track")
    return child, chosen


def _raise_forms(procedure: Procedure, data: Any, *, child: Child, track: str) -> tuple[forms.RaiseForm, Any]:
    form = forms.RaiseForm(
        data,
        themes=[(theme.key, theme.label) for theme in procedure.themes],
        stages=[(stage.key, stage.name) for stage in procedure.stages],
        people=pages.bypass_people(procedure),
        briefing=bool(pages.needs_briefing(procedure.stages)),
        agency_kinds=[(kind.key, kind.label) for kind in procedure.agency_kinds] or None,
    )
    # "By whom": a person in Resolve, chosen from those who work with the child, or someone named.
    owners = {"people": pages.action_owner_people(child=child, track=track, procedure=procedure)}
    if data is None:
        formset = forms.ActionFormSet(prefix="actions", initial=[{}] * forms.ACTION_ROWS, form_kwargs=owners)
    else:
        formset = forms.ActionFormSet(data, prefix="actions", form_kwargs=owners)
    return form, formset


def _raise_answers(form: forms.RaiseForm, formset: Any) -> dict[str, Any]:
    data = form.cleaned_data
    bypassing = data["stage"] != form.fields["stage"].choices[0][0]  # type: ignore[attr-defined]
    return {
        "concern": data["concern"],
        "impact_on_child": data["impact_on_child"],
        "desired_outcome": data["desired_outcome"],
        "stage": data["stage"],
        # The bypass fields count only when starting after the first stage (they are hidden otherwise).
        "bypass_reason": data["bypass_reason"] if bypassing else "",
        "bypass_agreed_by": (data["bypass_agreed_by"] or None) if bypassing else None,
        "notify_optional": {"yes": True, "no": False}.get(data["notify_optional"]),
        "themes": tuple(data["themes"]),
        "on": data["on"] or today(),
        "directors_briefing": form.briefing(data),
        "actions": [row.cleaned_data for row in formset if not row.is_blank()],
        "review": data["review"],
        "review_on": data["review_on"],
        "respond_by": data["respond_by"],
        "concern_id": data["concern_id"],
        **form.agency_answers(),
    }


def _raise_error(form: forms.RaiseForm, formset: Any, error: ServiceError) -> None:
    match = re.fullmatch(r"actions\[(\d+)\]\.(\w+)", error.field or "")
    if match:
        rows = [row for row in formset if not row.is_blank()]
        index = int(match.group(1))
        if index < len(rows) and match.group(2) in rows[index].fields:
            rows[index].add_error(match.group(2), error.message)
            return
    forms.service_error_to_form(form, error)


def _raise_render(
    request: HttpRequest,
    child: Child,
    procedure: Procedure,
    track: str,
    form: Any,
    formset: Any,
    status: int = 200,
) -> HttpResponse:
    # Each action's errors name its row in the summary ("Action 2: Enter who will do it").
    row_errors = [
        {
            "text": f"Action {number}: {message}",
            "href": f"#{row[name].auto_id}{'_0' if name == 'due' else ''}",
        }
        for number, row in enumerate(formset, start=1)
        for name, messages_ in (row.errors.items() if row.is_bound else [])
        for message in messages_
    ]
    return render(
        request,
        "challenges/raise_form.html",
        {
            "child": child,
            "procedure": procedure,
            "track": track,
            "track_words": pages.TRACK_WORDS[track],
            "form": form,
            "formset": formset,
            "row_errors": row_errors,
            "briefing_for": pages.needs_briefing(procedure.stages),
            "briefing_fields": [form[name] for name in pages.briefing_field_names() if name in form.fields],
            "has_bypass_rule": bool(pages.bypass_people(procedure)),
            "optional_notify": " ".join(
                f"If you start at {stage.name}: should the "
                + " and the ".join(role_label(role) for role in stage.optional_notify_roles)
                + " be told?"
                for stage in procedure.stages
                if stage.optional_notify_roles
            ),
            "first_stage": procedure.stages[0].key,
        },
        status=status,
    )


def _action_inputs(answers: dict[str, Any]) -> list[services.ActionInput]:
    return [
        services.ActionInput(a["action"], a["owner"], a["due"], owner_user=a["owner_user"] or None)
        for a in answers["actions"]
    ]


def _raise_arguments(
    request: HttpRequest, child: Child, track: str, procedure: str, answers: dict[str, Any]
) -> dict[str, Any]:
    """The arguments of ``challenge_raise`` (and of its preview) for the challenge form's answers: each
    answer by its name (``_raise_answers``), the actions as the services take them."""
    return {
        "user": request.user,
        "child": child,
        "track": track,
        "procedure_key": procedure,
        **answers,
        "actions": _action_inputs(answers),
    }


def _raise_preview(
    request: HttpRequest, child: Child, track: str, procedure: str, answers: dict[str, Any]
) -> Any:
    """What raising with these answers would do, or the ServiceError it would give; records nothing."""
    return services.challenge_raise_preview(**_raise_arguments(request, child, track, procedure, answers))


def _from_concern(form: forms.RaiseForm, child: Child, track: str, concern_id: str) -> None:
    """Start the challenge form from a concern on the child's record: its words and its review."""
    if not concern_id.isdigit() or len(concern_id) > 18:
        return
    for row in selectors.child_concerns(child=child):
        concern = row.concern
        if concern.pk == int(concern_id) and concern.track == track and row.challenge_id is None:
            form.initial.update(
                {
                    "concern": concern.concern,
                    "review": concern.review,
                    "review_on": concern.review_on,
                    "concern_id": concern.pk,
                }
            )


def _session_key(case_number: str, track: str, procedure: str) -> str:
    return f"raise:{case_number}:{track}:{procedure}"


def _quiet(form: Any) -> Any:
    """Show a bound form as filled in without judging it yet (after "Add another action")."""
    from django.forms.utils import ErrorDict

    form._errors = ErrorDict()
    for row in getattr(form, "forms", []):
        row._errors = ErrorDict()
    return form


@login_required
def challenge_raise(request: HttpRequest, case_number: str, track: str, procedure: str) -> HttpResponse:
    child, chosen = _raise_setup(request, case_number, track, procedure)
    key = _session_key(child.case_number, track, procedure)
    if request.method != "POST":
        saved = request.session.get(key)
        form, formset = _raise_forms(chosen, QueryDict(saved) if saved else None, child=child, track=track)
        if not saved:
            _from_concern(form, child, track, request.GET.get("concern", ""))
        return _raise_render(request, child, chosen, track, form, formset)
    data = request.POST.copy()
    if "add_action" in data:
        total = data.get("actions-TOTAL_FORMS") or "0"
        rows = int(total) if total.isdigit() and len(total) < 6 else 0  # a made-up count: start again
        data["actions-TOTAL_FORMS"] = str(min(rows + 1, limits.MAX_ACTIONS))
        form, formset = _raise_forms(chosen, data, child=child, track=track)
        return _raise_render(request, child, chosen, track, _quiet(form), _quiet(formset))
    form, formset = _raise_forms(chosen, data, child=child, track=track)
    if form.is_valid() and formset.is_valid():
        answers = _raise_answers(form, formset)
        try:
            _raise_preview(request, child, track, procedure, answers)
        except ServiceError as error:
            _raise_error(form, formset, error)
        else:
            data.pop("csrfmiddlewaretoken", None)
            request.session[key] = data.urlencode()
            return redirect(
                "web:challenge_raise_check", case_number=child.case_number, track=track, procedure=procedure
            )
    return _raise_render(request, child, chosen, track, form, formset, status=400)


@login_required
def challenge_raise_check(request: HttpRequest, case_number: str, track: str, procedure: str) -> HttpResponse:
    """Check your answers, with the due date in words; POST records the challenge."""
    child, chosen = _raise_setup(request, case_number, track, procedure)
    key = _session_key(child.case_number, track, procedure)
    saved = request.session.get(key)
    back = redirect("web:challenge_raise", case_number=child.case_number, track=track, procedure=procedure)
    if not saved:
        return back
    form, formset = _raise_forms(chosen, QueryDict(saved), child=child, track=track)
    if not (form.is_valid() and formset.is_valid()):
        return back
    answers = _raise_answers(form, formset)
    if request.method == "POST":
        try:
            challenge = services.challenge_raise(
                **_raise_arguments(request, child, track, procedure, answers)
            )
        except ServiceError as error:
            _raise_error(form, formset, error)
            return _raise_render(request, child, chosen, track, form, formset, status=400)
        del request.session[key]
        messages.success(
            request,
            "Challenge raised. The case note is on the child's record"
            + (f" and {answers['contact'].name} is emailed" if answers["contact"] else ""),
        )
        return redirect("web:challenge_detail", challenge_id=challenge.pk)
    try:
        preview = _raise_preview(request, child, track, procedure, answers)
    except ServiceError:
        return back
    theme_words = dict(form.fields["themes"].choices)  # type: ignore[attr-defined]
    owners = selectors.people_named(usernames={a["owner_user"] or a["owner"] for a in answers["actions"]})
    people = dict(pages.bypass_people(chosen))
    return render(
        request,
        "challenges/raise_check.html",
        {
            "child": child,
            "procedure": chosen,
            "track": track,
            "track_words": pages.TRACK_WORDS[track],
            "answers": answers,
            "preview": preview,
            "themes": [theme_words[key] for key in answers["themes"]],
            "agreed_by": people.get(answers["bypass_agreed_by"] or "", ""),
            "review_words": REVIEWS.get(answers["review"], ""),
            "agency_kind_words": chosen.agency_kind_label(answers["agency_kind"]),
            "briefing": [
                (form.fields[f"briefing_{k}"].label, v)
                for k, v in (answers["directors_briefing"] or {}).items()
                if v
            ],
            "change_url": reverse("web:challenge_raise", args=[child.case_number, track, procedure]),
            "action_rows": [
                (a["action"], owners.get(a["owner_user"] or a["owner"], a["owner"]), a["due"])
                for a in answers["actions"]
            ],
            "people": pages.raise_people(
                child=child, track=track, procedure=chosen, stage_key=answers["stage"]
            ),
        },
    )


# -- case notes ----------------------------------------------------------------------------------
@login_required
def case_note_correct(request: HttpRequest, note_id: int) -> HttpResponse:
    """Add a correction to a case note: a new note linked to the original, which stays as it was."""
    try:
        note = case_note_get_for_user(user=request.user, note_id=note_id)
    except NotVisible:
        raise Http404("No such case note") from None
    if not user_has_perm(user=request.user, perm=Perm.CORRECT_CASE_NOTE):
        raise PermissionDenied("Your role cannot add corrections to case notes.")
    form = forms.CaseNoteCorrectionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            case_note_correct_service(user=request.user, note_id=note.pk, body=form.cleaned_data["body"])  # type: ignore[arg-type]
        except ServiceError as error:
            form.add_error("body" if error.field == "body" else None, error.message)
        else:
            messages.success(request, "Correction added. The original case note is kept as it was.")
            if note.challenge_id:
                return redirect("web:challenge_detail", challenge_id=note.challenge_id)
            return redirect("web:child_detail", case_number=note.child.case_number)
    return render(request, "children/case_note_correct.html", {"note": note, "form": form})


# -- allocations ---------------------------------------------------------------------------------


def _may_allocate(request: HttpRequest, case_number: str | None = None) -> None:
    """Those who add children allocate them; anyone else is refused, and a child they do not see is
    not found, exactly as one that does not exist."""
    if user_has_perm(user=request.user, perm=Perm.ADD_CHILDREN):
        return
    if case_number is not None:
        normalised = limits.case_number_normalise(case_number)
        if not children_visible_to(request.user).filter(case_number=normalised).exists():
            raise Http404("No such child")
    raise PermissionDenied("Your role cannot change who works with a child.")


@login_required
def allocation_start(request: HttpRequest) -> HttpResponse:
    """Find the child whose allocation is to change, by case number (those who allocate see no lists)."""
    _may_allocate(request)
    form = forms.AllocationStartForm(request.GET if "case_number" in request.GET else None)
    if form.is_bound and form.is_valid():
        case_number = limits.case_number_normalise(form.cleaned_data["case_number"])
        try:
            child_id_for_allocation(user=request.user, case_number=case_number)
        except NotVisible:
            form.add_error("case_number", "No child has that case number: check it and try again")
        else:
            return redirect("web:child_allocation", case_number=case_number)
    return render(
        request, "children/allocation_start.html", {"form": form}, status=400 if form.errors else 200
    )


def _choice(person: Any) -> tuple[str, str]:
    name = person.get_full_name()
    return person.username, f"{name} ({person.username})" if name else person.username


def _people_choices() -> dict[str, list[tuple[str, str]]]:
    return {
        role: [_choice(person) for person in role_members(role=role)]
        for role in ("social_worker", "iro", "cp_chair")
    }


@login_required
def child_allocation(request: HttpRequest, case_number: str) -> HttpResponse:
    """Change who works with a child, with a reason written on their record (as the API does)."""
    _may_allocate(request, case_number)
    try:
        child_id = child_id_for_allocation(user=request.user, case_number=case_number)
    except NotVisible:
        raise Http404("No such child") from None
    child = child_get_for_allocation(user=request.user, child_id=child_id, lock=False)
    current = {
        "social_worker": child.social_worker.username,
        "iro": child.iro.username if child.iro else "",
        "cp_chair": child.cp_chair.username if child.cp_chair else "",
    }
    form = forms.AllocationForm(request.POST or None, people=_people_choices(), initial=current)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            child_allocate(
                user=request.user,  # type: ignore[arg-type]
                child_id=child_id,
                social_worker=data["social_worker"],
                iro=data["iro"] or None,
                cp_chair=data["cp_chair"] or None,
                reason=data["reason"],
                reason_required=True,
            )
        except ServiceError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(
                request, f"Allocation changed for {child.full_name}. A case note records the change."
            )
            if children_visible_to(request.user).filter(pk=child.pk).exists():
                return redirect("web:child_detail", case_number=child.case_number)
            return redirect("web:allocation_start")
    return render(
        request,
        "children/allocation.html",
        {"child": child, "form": form},
        status=400 if form.errors else 200,
    )


@login_required
def leaver_hand_over(request: HttpRequest) -> HttpResponse:
    """Hand a leaver's children, stages, actions and requests for agreement to another person in one
    step, with a reason."""
    if not user_has_perm(user=request.user, perm=Perm.HAND_OVER_WORK):
        raise PermissionDenied("Your role cannot hand over someone's work.")
    form = forms.HandOverForm(
        request.POST or None,
        leavers=[_choice(person) for person in staff_list(active_only=False)],
        successors=[_choice(person) for person in staff_list(active_only=True)],
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            done = services.leaver_hand_over(
                user=request.user,  # type: ignore[arg-type]
                leaver=data["leaver"],
                successor=data["successor"],
                reason=data["reason"],
            )
        except ServiceError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            moved = ", ".join(
                f"{count} {word if count == 1 else plural}"
                for count, word, plural in (
                    (len(done.children), "child", "children"),
                    (len(done.challenges), "challenge", "challenges"),
                    (done.stages, "stage", "stages"),
                    (done.actions, "action", "actions"),
                    (done.agreements, "request for agreement", "requests for agreement"),
                    (done.meetings, "meeting to chair", "meetings to chair"),
                )
            )
            messages.success(
                request,
                f"{done.leaver}'s work is now {done.successor}'s ({moved}). "
                "Each change is in the case notes.",
            )
            return redirect("web:leaver_hand_over")
    return render(
        request,
        "children/hand_over.html",
        {"form": form, "can_allocate": user_has_perm(user=request.user, perm=Perm.ADD_CHILDREN)},
        status=400 if form.errors else 200,
    )


# -- one agreed action: change its date, close it ----------------------------------------------
def _agreed_action(ctx: pages.TransitionContext, action_id: int) -> Any:
    for action in ctx.challenge.actions.all():
        if action.pk == action_id:
            return action
    raise Http404("No such action")


def _per_action(
    request: HttpRequest, challenge_id: int, action_id: int, key: str, template: str
) -> HttpResponse:
    try:
        ctx = pages.transition_context(user=request.user, challenge_id=challenge_id, today=today())  # type: ignore[arg-type]
    except NotVisible:
        raise Http404("No such challenge") from None
    agreed = _agreed_action(ctx, action_id)
    version = ctx.challenge.version
    form: forms.ChallengeChangeForm
    if key == "redate_action":
        form = forms.ActionRedateForm(request.POST if request.method == "POST" else None, version=version)
    else:
        form = forms.ActionCloseForm(request.POST if request.method == "POST" else None, version=version)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                if key == "redate_action":
                    services.challenge_action_redate(
                        user=request.user,  # type: ignore[arg-type]
                        challenge_id=challenge_id,
                        action_id=action_id,
                        due=data["due"],
                        reason=data["reason"],
                        expected_version=data["expected_version"],
                    )
                else:
                    services.challenge_action_mark(
                        user=request.user,  # type: ignore[arg-type]
                        challenge_id=challenge_id,
                        action_id=action_id,
                        status=data["status"],
                        reason=data["reason"],
                        expected_version=data["expected_version"],
                    )
            except ServiceError as error:
                forms.service_error_to_form(form, error)
            else:
                messages.success(request, pages.TRANSITIONS[key].done)
                return redirect("web:challenge_detail", challenge_id=challenge_id)
    elif key not in ctx.available:
        raise PermissionDenied("You cannot do this to the action now")
    return render(
        request,
        template,
        {
            "ctx": ctx,
            "challenge": ctx.challenge,
            "form": form,
            "spec": pages.TRANSITIONS[key],
            "agreed": agreed,
        },
        status=400 if form.is_bound else 200,
    )


@login_required
def challenge_action_redate(request: HttpRequest, challenge_id: int, action_id: int) -> HttpResponse:
    """Change an open action's date, with the reason why."""
    return _per_action(
        request, challenge_id, action_id, "redate_action", "challenges/transitions/redate_action.html"
    )


@login_required
def challenge_action_close(request: HttpRequest, challenge_id: int, action_id: int) -> HttpResponse:
    """Close an action: done, or not done with the reason why."""
    return _per_action(
        request, challenge_id, action_id, "mark_action", "challenges/transitions/close_action.html"
    )


# -- concerns before a challenge ---------------------------------------------------------------
@login_required
def concern_new(request: HttpRequest, case_number: str) -> HttpResponse:
    """Record a concern on the child's record without starting a challenge (the child's chair)."""
    child = _raise_child(request, case_number)
    tracks = pages.raise_tracks(user=request.user, child=child)  # type: ignore[arg-type]
    if not tracks:
        raise PermissionDenied("Only the child's allocated IRO or CP Chair can record a concern")
    form = forms.ConcernForm(
        request.POST if request.method == "POST" else None, tracks=tracks, procedures=pages.raise_procedures()
    )
    if not form.is_bound:
        form.initial["procedure"] = settings.RESOLVE_DEFAULT_POLICY
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            services.concern_record(
                user=request.user,  # type: ignore[arg-type]
                child=child,
                track=data["track"],
                concern=data["concern"],
                review=data["review"],
                review_on=data["review_on"],
                procedure_key=data["procedure"],
                on=data["on"],
            )
        except ServiceError as error:
            forms.service_error_to_form(form, error, extra={"policy": "procedure"})
        else:
            messages.success(request, "Concern recorded on the child's record. No challenge was started")
            return redirect("web:child_detail", case_number=child.case_number)
    return render(
        request,
        "children/concern_new.html",
        {"child": child, "form": form},
        status=400 if form.is_bound else 200,
    )


# -- a Cafcass referral with no challenge (seeds 000 and 004) -------------------------------------
@login_required
def child_cafcass(request: HttpRequest, case_number: str) -> HttpResponse:
    """Refer a looked-after child's case to Cafcass with no challenge: ask for the agreements the
    procedure needs, answer one made to you, and record the referral, each with its own form."""
    try:
        page = pages.child_cafcass_page(user=request.user, case_number=case_number)  # type: ignore[arg-type]
    except NotVisible:
        raise Http404("No such child") from None
    chosen = request.POST.get("form", "") if request.method == "POST" else ""
    data = request.POST if chosen else None
    refer = forms.ChildCafcassForm(
        data if chosen == "refer" else None,
        checklist=page.checklist,
        required_checklist=page.required_checklist,
        urgent_before=page.urgent_before,
        preconditions_unmet=page.preconditions_unmet,
    )
    ask = forms.ChildAgreementRequestForm(
        data if chosen == "ask" else None, subjects=page.subjects, people=page.people
    )
    answer = forms.ChildAgreementAnswerForm(
        data if chosen == "answer" else None, requests=page.waiting_for_me
    )
    user = request.user
    child_id = page.child.pk
    bound = {"refer": refer, "ask": ask, "answer": answer}.get(chosen)
    if request.method == "POST" and bound is None:
        return HttpResponse("Choose a form to send.", status=400, content_type="text/plain; charset=utf-8")
    if bound is not None and bound.is_valid():
        cleaned = bound.cleaned_data
        try:
            if chosen == "refer":
                services.child_refer_to_cafcass(
                    user=user,  # type: ignore[arg-type]
                    child_id=child_id,
                    reason=cleaned["reason"],
                    checklist={key: key in cleaned["checklist"] for key, _ in page.checklist},
                    urgent=cleaned["urgent"],
                    on=cleaned["on"],
                )
                done = "The referral to Cafcass has been recorded on the child's record"
            elif chosen == "ask":
                services.child_request_cafcass_agreement(
                    user=user,  # type: ignore[arg-type]
                    child_id=child_id,
                    key=cleaned["key"],
                    person=cleaned["person"],
                    note=cleaned["note"],
                )
                done = "Your request has been sent"
            else:
                services.child_answer_cafcass_agreement(
                    user=user,  # type: ignore[arg-type]
                    child_id=child_id,
                    number=int(cleaned["number"]),
                    answer=cleaned["answer"],
                    comments=cleaned["comments"],
                )
                done = "Your answer has been recorded"
        except ServiceError as error:
            forms.service_error_to_form(bound, error)
        else:
            messages.success(request, done)
            return redirect("web:child_cafcass", case_number=page.child.case_number)
    return render(
        request,
        "children/cafcass_referral.html",
        {"page": page, "child": page.child, "refer": refer, "ask": ask, "answer": answer, "chosen": bound},
        status=400 if bound is not None else 200,
    )


@login_required
def concern_close(request: HttpRequest, case_number: str, concern_id: int) -> HttpResponse:
    """Close a concern without a challenge (the child's chair): its reminders stop."""
    child = _raise_child(request, case_number)
    row = next((row for row in selectors.child_concerns(child=child) if row.concern.pk == concern_id), None)
    if row is None:
        raise Http404("No such concern")
    if row.concern.track not in {track for track, _ in pages.raise_tracks(user=request.user, child=child)}:  # type: ignore[arg-type]
        raise PermissionDenied("Only the child's allocated chair on the concern's track can close it")
    form = forms.ConcernCloseForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        try:
            services.concern_close(
                user=request.user,  # type: ignore[arg-type]
                concern_id=concern_id,
                reason=form.cleaned_data["reason"],
                on=form.cleaned_data["on"],
            )
        except ServiceError as error:
            forms.service_error_to_form(form, error)
        else:
            messages.success(request, "Concern closed without a challenge. Its reminders have stopped")
            return redirect("web:child_detail", case_number=child.case_number)
    return render(
        request,
        "children/concern_close.html",
        {"child": child, "row": row, "form": form},
        status=400 if form.is_bound else 200,
    )
