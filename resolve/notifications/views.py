"""Notification pages and the calendar feed. Each view parses, calls one service or selector, renders."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from resolve.access import access_record_list
from resolve.challenges import selectors as challenge_selectors
from resolve.challenges.selectors import BoundedPaginator
from resolve.core.conf import conf
from resolve.notifications.calendar_feed import calendar_feed
from resolve.notifications.forms import EmailPreferenceForm
from resolve.notifications.selectors import (
    due_dates_for_user,
    notification_list,
    notification_unread_count,
    preference_by_calendar_secret,
    sweep_health_get,
)
from resolve.notifications.services import (
    calendar_secret_reset,
    notification_open,
    notifications_mark_read,
    preference_get,
    preference_set_email,
)


@login_required
def notifications(request: HttpRequest) -> HttpResponse:
    return _notifications_page(request, calendar_url=None)


def _notifications_page(request: HttpRequest, *, calendar_url: str | None) -> HttpResponse:
    """The list, with the calendar address only when it was just made: only its digest is kept."""
    preference = preference_get(user=request.user)  # type: ignore[arg-type]
    # Counted no further than the lists' bound: a long history costs no more than a short one.
    page = BoundedPaginator(notification_list(user=request.user), 25).get_page(request.GET.get("page"))  # type: ignore[arg-type]
    bound = challenge_selectors.COUNT_BOUND  # the unread, too, counted no further than the lists
    # A notification about a challenge names its child: one access-log row for the page.
    access_record_list(
        user=request.user,
        children=[n.message.challenge.child for n in page.object_list if n.message.challenge is not None],
    )
    return render(
        request,
        "notifications/notification_list.html",
        {
            "page": page,
            "unread": notification_unread_count(user=request.user, bound=bound),  # type: ignore[arg-type]
            "unread_bound": bound,
            "unread_bound_words": f"{bound:,}",
            "form": EmailPreferenceForm(initial={"email": preference.email}),
            "calendar_url": calendar_url,
        },
    )


@login_required
def notification_detail(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Open one notification: it is marked read, and the page it is about opens (else the list)."""
    notification = notification_open(user=request.user, notification_id=notification_id)  # type: ignore[arg-type]
    if notification is None:
        raise Http404("No such notification")
    link = notification.message.link
    # Only a path within Resolve: a link is never a way off the site.
    if link.startswith("/") and not link.startswith("//"):
        return redirect(link)
    return redirect("notifications:list")


@login_required
@require_POST
def mark_read(request: HttpRequest) -> HttpResponse:
    notifications_mark_read(user=request.user)  # type: ignore[arg-type]
    messages.success(request, "All notifications marked as read")
    return redirect("notifications:list")


@login_required
@require_POST
def email_preference(request: HttpRequest) -> HttpResponse:
    form = EmailPreferenceForm(request.POST)
    if form.is_valid():
        preference_set_email(user=request.user, email=form.cleaned_data["email"])  # type: ignore[arg-type]
        messages.success(request, "Your email preference has been saved")
    else:
        messages.error(request, "Choose how we should email you")
    return redirect("notifications:list")


@login_required
@require_POST
def calendar_reset(request: HttpRequest) -> HttpResponse:
    """Answered with the page itself, not a redirect: the new address is shown this once and kept
    nowhere (not in the session, not in a message), since Resolve stores only its digest."""
    secret = calendar_secret_reset(user=request.user)  # type: ignore[arg-type]
    calendar_url = request.build_absolute_uri(reverse("notifications:calendar", args=[secret]))
    return _notifications_page(request, calendar_url=calendar_url)


@require_GET
def calendar(request: HttpRequest, secret: str) -> HttpResponse:
    """Reached by its secret alone (calendar programs send no session); an unknown secret is a 404.

    The feed lists due dates that name children (by initials and case number), so each fetch is in
    the access log as its owner's view of a list (channel "calendar"): one row per fetch naming the
    children shown, as for any list page, not one per challenge (a calendar program fetches every
    few minutes). At most ``MAX_CALENDAR_DATES`` dates, the earliest first.
    """
    preference = preference_by_calendar_secret(secret=secret)
    if preference is None or not preference.user.is_active:
        raise Http404
    due_dates = due_dates_for_user(user=preference.user)  # at most MAX_CALENDAR_DATES
    access_record_list(user=preference.user, children=[item.challenge.child for item in due_dates])
    body = calendar_feed(
        due_dates=due_dates,
        base_url=conf.base_url,
        now=timezone.now(),
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, max-age=300"
    response["Content-Disposition"] = 'inline; filename="resolve.ics"'
    return response


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """For monitors, without signing in: is the deadline sweep completing? No personal data.

    200 with ``"status": "ok"``, or 503 with ``"status": "stale"`` when no sweep has completed in
    ``RESOLVE_SWEEP_STALE_MINUTES``.
    """
    health = sweep_health_get()
    last = health.last_completed_at.isoformat() if health.last_completed_at is not None else None
    response = JsonResponse(
        {
            "status": health.status,
            "sweep": {"last_completed_at": last, "stale_after_minutes": health.stale_after_minutes},
        },
        status=503 if health.stale else 200,
    )
    response["Cache-Control"] = "no-store"
    return response
