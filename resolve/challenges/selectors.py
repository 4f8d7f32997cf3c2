"""Reads of challenges, always through the access chokepoint."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet

from resolve.access import challenges_visible_to
from resolve.challenges.models import Challenge, Event
from resolve.children.models import Child


def challenge_list(
    *,
    user: AbstractBaseUser | AnonymousUser,
    today: dt.date,
    status: str | None = None,
    overdue: bool | None = None,
    child: str | None = None,
    stage: str | None = None,
) -> QuerySet[Challenge]:
    """Challenges this person may see, filtered; overdue ones are open, past due, and not yet answered."""
    challenges = challenges_visible_to(user).select_related("child", "policy", "raised_by")
    if status:
        challenges = challenges.filter(status=status)
    if child:
        challenges = challenges.filter(child__case_number=child)
    if stage:
        challenges = challenges.filter(stage_key=stage)
    overdue_q = Q(status=Challenge.Status.OPEN, stage_due_on__lt=today, stage_responded_on__isnull=True)
    if overdue is True:
        challenges = challenges.filter(overdue_q)
    elif overdue is False:
        challenges = challenges.exclude(overdue_q)
    return challenges.order_by("-raised_on", "-id")


def challenge_detail(*, challenge: Challenge) -> Challenge:
    """The challenge with everything its page or API answer shows, fetched in a fixed number of queries."""
    return (
        Challenge.objects.select_related("child", "policy", "raised_by", "child__social_worker", "child__team")
        .prefetch_related("visits", "actions", "events__by", "responses", "meetings")
        .get(pk=challenge.pk)
    )


def child_chronology(*, child: Child, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Event]:
    """Every event on every challenge of the child that this person may see, oldest first."""
    visible = challenges_visible_to(user).filter(child=child).values("pk")
    return Event.objects.filter(challenge_id__in=visible).select_related("by", "challenge").order_by("on", "created_at", "id")
