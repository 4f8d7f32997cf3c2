"""The web pages. Each view parses the request, calls selectors and renders; nothing more."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from resolve.policies.models import PolicyVersion
from resolve.policies.selectors import policy_get, policy_list, policy_version_model
from resolve.web import procedures
from resolve.web.flowchart import flowchart_svg
from resolve.web.forms import SignInForm


@login_required
def home(request: HttpRequest) -> HttpResponse:
    # Phase 2 replaces this with the user's own work (what waits on them, what is overdue).
    return redirect("web:procedure_list")


class SignInView(auth_views.LoginView):
    template_name = "registration/sign_in.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True
    next_page = "web:home"


class SignOutView(auth_views.LogoutView):
    # Django's LogoutView takes POST only, so a link or a prefetch cannot sign anyone out.
    next_page = "web:sign_in"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        messages.success(request, "You have signed out")
        return response


@login_required
def procedure_list(request: HttpRequest) -> HttpResponse:
    return render(request, "procedures/procedure_list.html", {"policies": list(policy_list())})


@login_required
def procedure_detail(request: HttpRequest, key: str) -> HttpResponse:
    try:
        version = policy_get(key=key)
    except PolicyVersion.DoesNotExist:
        raise Http404("No procedure with that key") from None
    policy = policy_version_model(version)
    return render(
        request,
        "procedures/procedure_detail.html",
        {
            "version": version,
            "policy": policy,
            "flowchart": flowchart_svg(policy),
            "overview_rows": procedures.overview_rows(policy),
            "nation": procedures.nation_label(policy.nation),
            "stage_table_head": procedures.STAGE_TABLE_HEAD,
            "stage_table_rows": procedures.stage_table_rows(policy),
            "stages": procedures.stage_summaries(policy),
            "cafcass_rows": procedures.cafcass_rows(policy) if "iro" in policy.tracks else [],
            "resolution_rows": procedures.resolution_rows(policy),
        },
    )
