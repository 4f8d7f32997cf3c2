"""Seed 004: "STAGE 2 - 4 cannot take longer than 20 working days to resolve". A challenge is past
its formal limit from the first working day after it (``overdue.past_due``). The lists' and queues'
filter (``overdue.past_cap_q``) must say exactly what the challenge's own answer
(``selectors.challenge_past_cap``) says, on every day: on most days as one date range (every nation's
last working day the same), on a day when the nations' calendars differ per nation."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from resolve.challenges.models import Challenge
from resolve.challenges.overdue import _cutoffs, past_cap_q
from resolve.challenges.selectors import challenge_past_cap
from resolve.testing.challenges import raise_challenge

pytestmark = pytest.mark.django_db

D = dt.date


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


@pytest.mark.parametrize(
    ("limits", "days"),
    [
        # Easter 2027: Good Friday 26 March and Easter Monday 29 March are bank holidays in England and
        # Wales; Scotland works on Easter Monday, so that day the nations' last working days differ.
        (
            [D(2027, 3, 24), D(2027, 3, 25), D(2027, 3, 26), D(2027, 3, 29)],
            _days(D(2027, 3, 22), D(2027, 4, 2)),
        ),
        # Christmas and New Year: 25, 28 December and 1 January; 2 January 2027 is a Saturday, so
        # Scotland's second of January is Monday 4 January, a working day in England.
        (
            [D(2026, 12, 23), D(2026, 12, 24), D(2026, 12, 31), D(2027, 1, 4)],
            _days(D(2026, 12, 21), D(2027, 1, 6)),
        ),
    ],
)
def test_the_filter_and_the_challenge_agree_on_its_formal_limit_every_day(
    authority: Any, child: Any, limits: list[dt.date], days: list[dt.date]
) -> None:
    made = []
    for formal_due_on in limits:
        challenge = raise_challenge(authority, child)
        # The limit itself, set on the row: what is tested is the filter against the rule, not how
        # the limit is worked out (``test_engine_seeds``).
        Challenge.objects.filter(pk=challenge.pk).update(formal_due_on=formal_due_on)
        made.append(challenge.pk)
    challenges = list(Challenge.objects.filter(pk__in=made).select_related("policy"))
    ways = set()
    for day in days:
        ways.add(len(set(_cutoffs(day).values())) == 1)
        found = set(Challenge.objects.filter(past_cap_q(today=day), pk__in=made).values_list("pk", flat=True))
        expected = {c.pk for c in challenges if challenge_past_cap(challenge=c, today=day)}
        assert found == expected, day
    # Both ways of the filter were asked: a day when every nation's cutoff is the same, and one when not.
    assert ways == {True, False}
