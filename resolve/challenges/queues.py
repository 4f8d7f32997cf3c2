"""Reads for "what is waiting on me?": the queues every home page is built from.

Each queue is a filter on the challenges a person may see (``challenges_visible_to``), so nothing here
widens anyone's view. Three questions, one queue each, plus the chairs' own two:

- **waiting on me**: I must do something. Which somethings count is the list ``WAITING_ON_ME``: one
  ``QueueSource`` each (the stage was sent to me; I own an open agreed action; a meeting I chair is
  due; a request for my agreement waits for my answer). A new kind of work is one more
  ``QueueSource`` with its query and its way in (how the queue reads it in order from an index).
- **my team's / my part of the line's / my service's**: open challenges where the people I manage
  must answer, overdue first (for a post whose role's scope is a team, a line or a service).
- **copied to me**: open challenges whose current stage copied or told me.
- **needs my decision** (a chair's): a response came in, the stage is overdue, the formal limit has
  passed, or after resolution an agreed action is past its date; **waiting on others**: the rest of
  the chair's open challenges.

Every queue answers a ``Queued``: its challenges, and the ways into them that read its order ("overdue
first") from indexes and stop after a page, so a page reads a queue's first rows and its count (to
the lists' bound) in two queries whose cost does not grow with the table; which sources matched a row
(``why_<key>``) comes with it. Whom a current stage sends to, copies and tells is read from
``StageWait`` (rows the database keeps with the stage visits), not from the visits' JSON lists.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, overload

from django.contrib.auth.models import User
from django.core.exceptions import EmptyResultSet
from django.db.models import (
    BooleanField,
    Case,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.lookups import IsNull
from django.utils import timezone

from resolve.access import (
    chaired_by_q,
    challenges_chaired_by,
    challenges_visible_in_ways,
    challenges_visible_to,
    scope_moment,
)
from resolve.access.permissions import GRANTS, Perm, Scope
from resolve.calendars.services import working_calendar
from resolve.calendars.types import Nation
from resolve.challenges.models import Action, Agreement, Challenge, StageVisit, StageWait
from resolve.challenges.overdue import due_not_past_q, due_past_q, overdue_q, past_cap_q
from resolve.challenges.selectors import COUNT_BOUND
from resolve.core import kept
from resolve.core.kept import Built
from resolve.people.selectors import user_posts, user_roles
from resolve.procedures.models import PolicyVersion
from resolve.procedures.selectors import PROCEDURE_DOCUMENT_DEFERRED, procedure_version_model

OPEN = Challenge.Status.OPEN


def _stage_names(user: User, *hows: str, unanswered: bool = False) -> Q:
    """The challenge's current stage names ``user`` in one of ``hows`` (sent to, copied in, told).

    Asked of each challenge on its own ``StageWait`` rows (kept by the database with the stage visits,
    a few per challenge): a test as cheap for a person named on thousands of current stages as for
    one named on none, where matching the quoted name in every current visit's JSON lists read them
    all. The queues walk a person's rows themselves where the rows are what they list
    (``by_stage_rows``).

    Asked as a value (``IS NOT NULL`` of a one-row subquery), not ``EXISTS``: for a stretch it
    expects to be long, PostgreSQL answers an ``EXISTS`` by hashing every row of the person first
    (115,000 for a team manager at a million challenges, 34 ms) where the walk stops after 1,001."""
    rows = StageWait.objects.filter(challenge_id=OuterRef("pk"), username=user.get_username(), how__in=hows)
    if unanswered:
        rows = rows.filter(answered__in=[False])
    return Q(IsNull(Subquery(rows.values("challenge_id")[:1]), False))


def _past_due_cutoff_q(field: str, today: dt.date, nation_field: str) -> Q:
    """``field`` is past due today in the challenge's own nation's working days (``overdue.past_due``)."""
    by_nation = Q()
    for nation in Nation:
        cutoff = working_calendar(nation).last_working_day_on_or_before(today)
        by_nation |= Q(**{nation_field: nation.value, f"{field}__lt": cutoff})
    return by_nation


# -- the queues' order, read from indexes -------------------------------------------------------------
#
# Every queue is overdue first, then by the stage's due date (none last), the day raised and the id.
# Sorting every challenge of a queue to show ten cost as much as the queue is long (every open
# challenge in a service, for its manager). That order is made of stretches an index already holds in
# order (``Part``): the overdue (open, unanswered, due date past), the rest of the unanswered with a due
# date, the answered, those with no due date, and the challenges no longer open. The first N rows of a
# queue are among the first N of each stretch of each way into it (``Feed``), so one statement takes
# the first N of each (a ``LIMIT`` each, the database walking an index and stopping there) and sorts
# those few. The ways in: the challenges' own indexes of open challenges by due date
# (``challenge_unanswered_due``, ``challenge_answered_due``); a person's rows of the current stages
# (``StageWait``, ``stage_wait_queue_order``: sent to, copied in, told); and a person's own small sets
# (their open actions, the requests for their agreement, the challenges at a stage whose meeting their
# role chairs), read whole and sorted.


@dataclass(frozen=True)
class Part:
    """One stretch of the queues' order: the challenges in it (``where``) and their order within it, and
    the same for a person's ``StageWait`` rows (``rows``; None where a challenge has no current stage)."""

    where: Callable[[dt.date], Q]
    order: tuple[str, ...]
    rows: Callable[[dt.date], Q] | None = None
    rows_order: tuple[str, ...] = ("due_on", "raised_on", "challenge_id")


# ``answered__in=[...]``, not ``answered=...``: the latter is written ``NOT answered`` on SQLite, which
# the index cannot look up, and the walk would then sort every row of the person instead.


def _unanswered() -> Q:
    return Q(status=OPEN, stage_responded_on__isnull=True)


def _cutoff_range(today: dt.date) -> tuple[dt.date, dt.date]:
    # A stage row holds no nation: the widest range of due dates the part can hold, the rest is checked
    # on the challenge (``due_past_q``).
    cutoffs = [working_calendar(nation).last_working_day_on_or_before(today) for nation in Nation]
    return min(cutoffs), max(cutoffs)


BY_DUE = ("stage_due_on", "raised_on", "id")
LATE = Part(
    lambda today: _unanswered() & due_past_q(today=today),
    BY_DUE,
    lambda today: Q(answered__in=[False], due_on__lt=_cutoff_range(today)[1]),
)
COMING = Part(
    lambda today: _unanswered() & due_not_past_q(today=today),
    BY_DUE,
    lambda today: Q(answered__in=[False], due_on__gte=_cutoff_range(today)[0]),
)
ANSWERED = Part(
    lambda today: Q(status=OPEN, stage_responded_on__isnull=False, stage_due_on__isnull=False),
    BY_DUE,
    lambda today: Q(answered__in=[True], due_on__isnull=False),
)
# The stretches with no due date are ordered by the due date first too, though it is the same (none)
# throughout: so the order is the due-date indexes' own, and no planner walks another index in the
# order raised instead (PostgreSQL did, through every open challenge, to find none without a date).
UNDATED = Part(
    lambda today: _unanswered() & Q(stage_due_on__isnull=True),
    BY_DUE,
    lambda today: Q(answered__in=[False], due_on__isnull=True),
)
UNDATED_ANSWERED = Part(
    lambda today: Q(status=OPEN, stage_responded_on__isnull=False, stage_due_on__isnull=True),
    BY_DUE,
    lambda today: Q(answered__in=[True], due_on__isnull=True),
)
CLOSED = Part(lambda today: ~Q(status=OPEN), (), None)
OPEN_PARTS = (LATE, COMING, ANSWERED, UNDATED, UNDATED_ANSWERED)


def _late_first(today: dt.date) -> Case:
    return Case(When(overdue_q(today=today), then=Value(0)), default=Value(1))


def _in_order(challenges: QuerySet[Challenge], today: dt.date) -> QuerySet[Challenge]:
    return challenges.annotate(late_first=_late_first(today)).order_by(
        "late_first", F("stage_due_on").asc(nulls_last=True), "raised_on", "id"
    )


# A way into a queue: given today and N, querysets of challenge ids, each in the queue's order and at
# most N long, whose first N rows between them hold the queue's first N (each of the queue, no other).
Feed = Callable[[dt.date, int], list[QuerySet[Any]]]


def by_due(members: QuerySet[Challenge], *parts: Part) -> Feed:
    """``members``, stretch by stretch, each walked on the challenges' due-date indexes (for a queue
    that holds many of the challenges its person can see: a service's)."""

    def feed(today: dt.date, stop: int) -> list[QuerySet[Any]]:
        answer = []
        for part in parts:
            if part.order:
                answer.append(members.filter(part.where(today)).order_by(*part.order).values("pk")[:stop])
            else:  # no longer open: few, and no index holds them in this order
                answer.append(_in_order(members.filter(part.where(today)), today).values("pk")[:stop])
        return answer

    return feed


def by_stage_rows(
    user: User, hows: tuple[str, ...], members: QuerySet[Challenge], *parts: Part, unanswered: bool = False
) -> Feed:
    """``members`` whose current stage names ``user`` in one of ``hows`` (only where the stage is
    not answered, with ``unanswered``), walked on the person's ``StageWait`` rows in order
    (``stage_wait_queue_order``), each row's challenge checked as it comes."""

    def feed(today: dt.date, stop: int) -> list[QuerySet[Any]]:
        # One ``how`` is walked in the index's order; two (copied in, told) are the person's rows of
        # both in the stretch, sorted: as many as their copies, and one query per stretch, not two.
        mine = StageWait.objects.filter(username=user.get_username(), how__in=hows)
        if unanswered:
            mine = mine.filter(answered__in=[False])
        answer = []
        for part in parts:
            assert part.rows is not None  # only the open stretches have stage rows
            member = (
                members.filter(part.where(today), pk=OuterRef("challenge_id")).order_by().values("pk")[:1]
            )
            # Asked of each row as it comes, as a value (``IS NOT NULL``), not ``EXISTS``: PostgreSQL
            # makes an ``EXISTS`` a join, reads every challenge of the stretch to hash them, and sorts.
            walked = (
                mine.filter(part.rows(today))
                .alias(member=Subquery(member))
                .filter(member__isnull=False)
                .order_by(*part.rows_order)
            )
            answer.append(walked.values("challenge_id")[:stop])
        return answer

    return feed


def by_set(members: QuerySet[Challenge]) -> Feed:
    """A person's own few challenges (``members``: those of their open actions, of the requests for
    their agreement, at the stages whose meeting their role chairs), read whole and sorted: as many as
    they have, however many challenges there are."""

    def feed(today: dt.date, stop: int) -> list[QuerySet[Any]]:
        return [_in_order(members, today).values("pk")[:stop]]

    return feed


# -- each queue's statements built once --------------------------------------------------------------
#
# Building a queue's statements (its ways in, the scope in each, the order) with the ORM costs far more
# than the database takes to run them: about two thirds of a home page's time at 1,000 challenges. A
# queue's statements are the same text with the same values for everything they are built from (the
# queue's ``signature``: the person, their posts, the day and each nation's last working day, the
# stages whose meeting their roles chair), but for the moment break-glass access is asked about (a
# slot: ``resolve/core/kept.py``). So each is built once per signature and kept; its rows are read
# every time.


def _kept_rows(
    key: tuple[Any, ...] | None,
    build: Callable[[], Built],
    around: str = "{}",
    empty: tuple[tuple[Any, ...], ...] = (),
) -> list[tuple[Any, ...]]:
    """The rows of ``build``'s statement (inside ``around``), built once for ``key`` and kept (built
    every time for no key); ``empty`` where nothing can match."""

    def built(slots: Mapping[str, Any]) -> Built:
        with scope_moment(slots["moment"]):
            answer = build()
            sql, params = answer if isinstance(answer, tuple) else answer.query.sql_with_params()
        return around.format(sql), list(params)

    moment = {"moment": timezone.now()}
    return kept.rows(None if key is None else ("queue", around, *key), built, moment, empty=empty)


def _signature(queue: str, user: User, today: dt.date) -> tuple[Any, ...]:
    """Everything ``queue``'s statements for ``user`` today are built from (but the moment)."""
    posts = tuple(sorted(user_posts(user=user), key=lambda post: (post[0], post[1] or 0)))
    cutoffs = tuple(working_calendar(nation).last_working_day_on_or_before(today) for nation in Nation)
    return (queue, user.pk, user.get_username(), user.is_active, posts, today, cutoffs, _meeting_stages(user))


@dataclass(frozen=True)
class QueueParts:
    """What a queue's statements are built from: ``rows`` (every challenge of it, unordered), the ways
    in (``feeds``) that read its order from indexes, and ``annotations`` (its ``why_<key>``)."""

    rows: QuerySet[Challenge]
    feeds: tuple[Feed, ...]
    annotations: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Queued:
    """A queue: the challenges its person may see, which its rows are read from (``visible``), and its
    parts (``make``). Both are worked out when they are needed, each time: its parts only when a
    statement must be built or its rows need their ``why_<key>`` (the scope in them holds the moment
    it was worked out for). Read a slice at a time, or its first rows with its count
    (``first_counted``), each at a cost that does not grow with the table; counted no further than the
    lists' bound."""

    visible: Callable[[], QuerySet[Challenge]]
    today: dt.date
    make: Callable[[], QueueParts]
    prefetch: tuple[str | Prefetch[Any], ...] = field(default=())
    # Everything the queue's statements are built from (``_signature``): the statements that order and
    # count it are built once for it and kept (``_kept_rows``). None: built every time.
    signature: tuple[Any, ...] | None = None
    # Whether its rows are marked ``why_<key>`` (its parts' ``annotations``): only then are the parts
    # worked out to read the rows shown.
    marked: bool = False

    def prefetch_related(self, *lookups: str | Prefetch[Any]) -> Queued:
        return replace(self, prefetch=(*self.prefetch, *lookups))

    def _ways(self, parts: QueueParts, stop: int) -> tuple[list[str], list[Any]]:
        """The first ``stop`` of each stretch of each way in, each a statement of challenge ids, with
        their values (none for a stretch nothing can be in)."""
        ways: list[str] = []
        params: list[Any] = []
        for feed in parts.feeds:
            for ids in feed(self.today, stop):
                try:
                    sql, values = ids.query.sql_with_params()
                except EmptyResultSet:
                    continue
                # The ORM's own statement for the stretch; every value is a parameter.
                ways.append(f"SELECT * FROM ({sql}) way_{len(ways)}")  # noqa: S608  # nosec B608
                params.extend(values)
        return ways, params

    def _first(self, parts: QueueParts, stop: int) -> QuerySet[Challenge]:
        """The challenges among the first ``stop`` of each way in: the queue's first ``stop`` among them.

        One ``IN`` over the ways together, not one per way joined by ``OR``: PostgreSQL reads the
        ``OR`` of many subqueries by checking every challenge of the table against each."""
        ways, params = self._ways(parts, stop)
        if not ways:
            return self.visible().none()
        chosen = RawSQL(" UNION ALL ".join(ways), params)  # noqa: S611  # nosec B611
        return self.visible().filter(pk__in=chosen)

    def _read(self, ids: list[int]) -> list[Challenge]:
        """The rows of ``ids``, in that order, with their ``why_<key>`` and what the page prefetches."""
        visible = self.visible()
        marked = visible.annotate(**self.make().annotations) if self.marked else visible
        rows = marked.filter(pk__in=ids).prefetch_related(*self.prefetch)
        place = {pk: index for index, pk in enumerate(ids)}
        return sorted(rows, key=lambda challenge: place[challenge.pk])

    def _ran(
        self,
        what: tuple[Any, ...],
        build: Callable[[], Built],
        around: str = "{}",
        empty: tuple[tuple[Any, ...], ...] = (),
    ) -> list[tuple[Any, ...]]:
        """The rows of the statement ``build`` answers (inside ``around``), built once per signature
        and ``what`` (``_kept_rows``)."""
        key = None if self.signature is None else (*self.signature, *what)
        return _kept_rows(key, build, around, empty)

    def _counted_sql(self, parts: QueueParts) -> tuple[str, list[Any]]:
        """How many the queue holds, no further than ``selectors.COUNT_BOUND`` + 1, as a subquery: the
        first that many of each way in's stretches together, read one after another (``UNION ALL``)
        only as far as the bound. Read that way, a count past the bound stops there instead of
        sorting every stretch's first rows.

        The stretches of one way in never share a challenge; two ways in may, so theirs are counted
        without repeats. Both databases stop reading at a ``LIMIT`` over a ``UNION ALL``, but neither
        does over a ``UNION`` (SQLite fills a table of its own first), and PostgreSQL does not over a
        ``DISTINCT`` either (it sorts or hashes every row first): every stretch read to the bound,
        two to three times the rows at a million challenges, each checked against its challenge. So
        the first rows are read as they come, and if they hold no repeat (the queue is long, the
        usual case at the bound) the count is the bound; only otherwise is it counted ``DISTINCT``
        over all of them. Both databases work out a ``CASE``'s other branch only when it is taken."""
        ways, params = self._ways(parts, COUNT_BOUND + 1)
        if not ways:
            return "0", []
        joined, bound = " UNION ALL ".join(ways), COUNT_BOUND + 1
        first = f"SELECT * FROM ({joined}) ways LIMIT {bound}"  # noqa: S608  # nosec B608
        if len(parts.feeds) == 1:
            return f"(SELECT COUNT(*) FROM ({first}) counted)", params  # noqa: S608  # nosec B608
        repeats = f"SELECT COUNT(*) FROM (SELECT DISTINCT * FROM ({first}) first_rows) once"  # noqa: S608  # nosec B608
        counted = f"SELECT COUNT(*) FROM (SELECT DISTINCT * FROM ({joined}) ways LIMIT {bound}) counted"  # noqa: S608  # nosec B608
        return f"(CASE WHEN ({repeats}) = {bound} THEN {bound} ELSE ({counted}) END)", [*params, *params]

    def count(self) -> int:
        """How many, no further than ``selectors.COUNT_BOUND`` + 1 (the first that many of each way in)."""
        ((counted,),) = self._ran(
            ("count",), lambda: self._counted_sql(self.make()), "SELECT {}", empty=((0,),)
        )
        return int(counted)

    def __len__(self) -> int:  # what a paginator asks of a list that is not a queryset
        return self.count()

    def first_counted(self, stop: int) -> tuple[list[Challenge], int]:
        """The queue's first ``stop`` rows and how many it holds (no further than the bound).

        One statement orders the ids and counts them: the queue's first ``stop`` are among the first
        ``stop`` of each way in, sorted; the count is a subquery of it (``_counted_sql``), worked out
        once. One more reads the rows shown."""

        def build() -> Built:
            parts = self.make()
            counted = RawSQL(*self._counted_sql(parts), output_field=IntegerField())  # noqa: S611  # nosec B611
            return _in_order(self._first(parts, stop), self.today).values_list("pk", counted)[:stop]

        first = self._ran(("first", stop), build)
        if not first:
            return [], 0
        return self._read([pk for pk, _ in first]), min(first[0][1], COUNT_BOUND + 1)

    def __iter__(self) -> Iterator[Challenge]:  # the queue as far as it is counted
        return iter(self[0 : COUNT_BOUND + 1])

    @overload
    def __getitem__(self, index: int) -> Challenge: ...

    @overload
    def __getitem__(self, index: slice) -> list[Challenge]: ...

    def __getitem__(self, index: int | slice) -> Challenge | list[Challenge]:
        if isinstance(index, int):
            return self[index : index + 1][0]
        start, stop = index.start or 0, index.stop
        if stop is None or index.step is not None:
            raise TypeError("A queue is read a slice at a time, with its end: queue[start:stop].")
        ids = [
            pk
            for (pk,) in self._ran(
                ("slice", start, stop),
                lambda: _in_order(self._first(self.make(), stop), self.today).values_list("pk")[start:stop],
            )
        ]
        return self._read(ids)


# -- waiting on me: one source per kind of work ------------------------------------------------------


@dataclass(frozen=True)
class QueueSource:
    """One reason a challenge waits on a person: its key (``why_<key>`` on each row), the words a row
    shows for it, the filter that finds those challenges for a person today, and how the queue reads
    them in its order from an index (``way_in``, given the person, the challenges they may see and the
    filter: see ``Feed``)."""

    key: str
    words: str
    matches: Callable[[User, dt.date], Q]
    way_in: Callable[[User, QuerySet[Challenge], Q], Feed]


def _stage_sent_to_me(user: User, today: dt.date) -> Q:
    return Q(
        _stage_names(user, StageWait.How.TO, unanswered=True), status=OPEN, stage_responded_on__isnull=True
    )


def _action_i_own(user: User, today: dt.date) -> Q:
    # An action's owner is a person in Resolve only through its account (``Action.owner_user``). The
    # person's open actions as a set of challenge ids, read on the owner's index once per query.
    owned = Action.objects.filter(owner_user_id=user.pk, status=Action.Status.OPEN).values("challenge_id")
    return Q(pk__in=owned, status__in=[OPEN, Challenge.Status.RESOLVED])


def _meeting_stages(user: User) -> tuple[tuple[int, str], ...]:
    """(procedure version, stage) of every stage whose meeting a role this person holds chairs: of
    every version, since a challenge keeps the one it began under."""
    known: tuple[tuple[int, str], ...] | None = getattr(user, "_resolve_meeting_stages", None)
    if known is not None:  # read already for this request's person, as their posts are
        return known
    roles = user_roles(user=user)
    known = tuple(
        (version.pk, stage.key)
        for version in PolicyVersion.objects.order_by("pk")
        for stage in procedure_version_model(version).stages
        if stage.meeting is not None and stage.meeting.chair_role in roles
    )
    user._resolve_meeting_stages = known  # type: ignore[attr-defined]
    return known


def _meeting_i_chair(user: User, today: dt.date) -> Q:
    """Open challenges at a stage whose procedure has a meeting chaired by a role this person holds,
    with no meeting recorded at it yet. Which holder of the role is meant follows their scope: the
    queue reads only challenges they may see (an IRO/CP Service Manager sees their own service's)."""
    stages = _meeting_stages(user)
    at_stage = Q(pk__in=[])
    for version, key in stages:
        at_stage |= Q(policy_id=version, stage_key=key)
    # The stages and versions first, as lists the index ``challenge_stage`` looks up with the status.
    if stages:
        keys = sorted({key for _, key in stages})
        versions = sorted({version for version, _ in stages})
        at_stage = Q(stage_key__in=keys, policy_id__in=versions) & at_stage
    no_meeting_yet = Exists(
        StageVisit.objects.filter(challenge_id=OuterRef("pk"), left_on__isnull=True, meetings=0)
    )
    return Q(at_stage, no_meeting_yet, status=OPEN)


def _agreement_asked_of_me(user: User, today: dt.date) -> Q:
    """A request for agreement (to a bypass or a Cafcass referral) made to me and not yet answered; one
    that only told me something waits for nothing (``selectors.agreements_waiting_for``)."""
    asked = Agreement.objects.filter(
        person_id=user.pk, status=Agreement.Status.PENDING, kind="agree", challenge__isnull=False
    ).values("challenge_id")
    return Q(pk__in=asked, status__in=[OPEN, Challenge.Status.RESOLVED])


WAITING_ON_ME: tuple[QueueSource, ...] = (
    QueueSource(
        "recipient",
        "Sent to you for a response",
        _stage_sent_to_me,
        # The stage rows say whom it was sent to; the challenge, that it is open and unanswered.
        lambda user, visible, where: by_stage_rows(
            user,
            (StageWait.How.TO,),
            visible.filter(status=OPEN, stage_responded_on__isnull=True),
            LATE,
            COMING,
            UNDATED,
            unanswered=True,
        ),
    ),
    QueueSource(
        "action_owner",
        "An agreed action is yours",
        _action_i_own,
        lambda user, visible, where: by_set(visible.filter(where)),
    ),
    QueueSource(
        "meeting_chair",
        "A meeting you chair is due at this stage",
        _meeting_i_chair,
        # The challenges at those stages, found on ``challenge_stage``: few beside all the open ones.
        lambda user, visible, where: by_set(visible.filter(where)),
    ),
    QueueSource(
        "agreement_asked",
        "Your agreement is asked: confirm or decline",
        _agreement_asked_of_me,
        lambda user, visible, where: by_set(visible.filter(where)),
    ),
)


def _with_sources(
    challenges: Callable[[], QuerySet[Challenge]],
    sources: tuple[QueueSource, ...],
    user: User,
    today: dt.date,
    signature: tuple[Any, ...],
) -> Queued:
    """Keep the challenges any source matches, each marked ``why_<key>`` for the sources that did, read
    by each source's way in."""

    def make() -> QueueParts:
        # Each filter worked out once (a meeting's reads the procedures), for the rows and ways in alike.
        wheres = {source.key: source.matches(user, today) for source in sources}
        annotations = {
            f"why_{key}": ExpressionWrapper(where, output_field=BooleanField())
            for key, where in wheres.items()
        }
        matched = Q()
        for where in wheres.values():
            matched |= where
        visible = challenges()
        feeds = tuple(source.way_in(user, visible, wheres[source.key]) for source in sources)
        return QueueParts(visible.filter(matched), feeds, annotations)

    return Queued(challenges, today, make, signature=signature, marked=True)


def _waiting_on_me_q(user: User, today: dt.date) -> Q:
    """Any of ``WAITING_ON_ME`` (the queues that leave those out)."""
    mine = Q()
    for source in WAITING_ON_ME:
        mine |= source.matches(user, today)
    return mine


def _visible(user: User) -> QuerySet[Challenge]:
    return (
        challenges_visible_to(user)
        .select_related("child", "policy", "child__team")
        .defer(*PROCEDURE_DOCUMENT_DEFERRED)
    )


def waiting_on_me(*, user: User, today: dt.date) -> Queued:
    """Challenges waiting on ``user`` (any of ``WAITING_ON_ME``), the most overdue first."""
    return _with_sources(lambda: _visible(user), WAITING_ON_ME, user, today, _signature("mine", user, today))


# -- the chair's own challenges ------------------------------------------------------------------------


def _chaired_by(user: User) -> Q:
    # The challenge's own copy of its child's allocation (indexed), not a join to the child.
    iro, cpc = chaired_by_q(user.pk)
    return iro | cpc


def by_due_chaired(user: User, where: Q, *parts: Part) -> Feed:
    """The challenges ``user`` chairs that ``where`` holds, stretch by stretch, each track walked on its
    chair's due-date indexes (``challenge_iro_unanswered_due`` and the like): as many rows as the chair's
    own, however many challenges others chair. (A chair sees every challenge they chair:
    ``access.challenges_chaired_by``.) The two tracks never share a challenge."""
    feeds = [by_due(chaired.filter(where), *parts) for chaired in challenges_chaired_by(user)]

    def feed(today: dt.date, stop: int) -> list[QuerySet[Any]]:
        return [ids for each in feeds for ids in each(today, stop)]

    return feed


def _response_in(user: User, today: dt.date) -> Q:
    return Q(status=OPEN, stage_responded_on__isnull=False)


def _stage_overdue(user: User, today: dt.date) -> Q:
    return overdue_q(today=today)


def _cap_passed(user: User, today: dt.date) -> Q:
    return past_cap_q(today=today)


def _action_past_due_after_resolution(user: User, today: dt.date) -> Q:
    # The open actions past their date on the chair's own challenges: a set of challenge ids, read once.
    iro, cpc = chaired_by_q(user.pk, via="challenge__")
    late = Action.objects.filter(
        _past_due_cutoff_q("due", today, "challenge__policy__nation"),
        iro | cpc,
        status=Action.Status.OPEN,
    ).values("challenge_id")
    return Q(pk__in=late, status=Challenge.Status.RESOLVED)


# What a chair must decide: the rows of "Needs your decision", with the words each reason shows.
NEEDS_MY_DECISION: tuple[QueueSource, ...] = (
    QueueSource(
        "response_in",
        "A response came in: resolve or escalate",
        _response_in,
        lambda user, visible, where: by_due_chaired(user, where, ANSWERED, UNDATED_ANSWERED),
    ),
    QueueSource(
        "stage_overdue",
        "The response is overdue",
        _stage_overdue,
        lambda user, visible, where: by_due_chaired(user, where, LATE),
    ),
    QueueSource(
        "cap_passed",
        "Past the formal limit",
        _cap_passed,
        # Only where no other source reads it: the overdue are read as overdue, the answered as answered.
        lambda user, visible, where: by_due_chaired(user, where, COMING, UNDATED),
    ),
    QueueSource(
        "action_late",
        "An agreed action is past its date after resolution",
        _action_past_due_after_resolution,
        lambda user, visible, where: by_set(visible.filter(where)),
    ),
)


def needs_my_decision(*, user: User, today: dt.date) -> Queued:
    """A chair's challenges that wait on their decision, overdue first."""
    return _with_sources(
        lambda: _visible(user).filter(_chaired_by(user)),
        NEEDS_MY_DECISION,
        user,
        today,
        _signature("decide", user, today),
    )


def waiting_on_others(*, user: User, today: dt.date) -> Queued:
    """A chair's open challenges that need nothing of them now: someone else must answer."""

    def make() -> QueueParts:
        decide = Q()
        for source in NEEDS_MY_DECISION:
            decide |= source.matches(user, today)
        chaired = _visible(user).filter(_chaired_by(user), status=OPEN).exclude(decide)
        # Open, unanswered and not overdue: the stretches where the others must still answer.
        feed = by_due_chaired(user, Q(status=OPEN) & ~decide, COMING, UNDATED)
        return QueueParts(chaired, (feed,))

    return Queued(lambda: _visible(user), today, make, signature=_signature("others", user, today))


# -- my team's, my part of the line's, my service's --------------------------------------------------

SCOPE_QUEUE_TITLES = {
    Scope.TEAM: "Your team's challenges",
    Scope.LINE: "Your part of the line",
    Scope.SERVICE: "Your service's challenges",
}


def managed_scope(*, user: User) -> Scope | None:
    """The widest team, line or service this person manages through a post (None when they manage none)."""
    scopes = set()
    for role in user_roles(user=user):
        grant = GRANTS.get(role)
        if grant is not None and Perm.VIEW_RECORDS in grant.perms and grant.scope in SCOPE_QUEUE_TITLES:
            scopes.add(grant.scope)
    for scope in (Scope.SERVICE, Scope.LINE, Scope.TEAM):
        if scope in scopes:
            return scope
    return None


def my_people(*, user: User, today: dt.date) -> Queued:
    """Open challenges in the team, line or service ``user`` manages, not already waiting on them,
    overdue first then by due date. Empty for a person who manages none."""
    if managed_scope(user=user) is None:
        return Queued(lambda: _visible(user), today, lambda: QueueParts(_visible(user).none(), ()))

    def make() -> QueueParts:
        mine = _waiting_on_me_q(user, today)
        members = _visible(user).filter(status=OPEN).exclude(mine)
        # A way in per part of the scope: each team's challenges walked on the team's due-date indexes
        # (a team manager's team may hold half the open challenges; with the other teams' in between,
        # the walk would read them all), the person's own part read whole.
        ways = challenges_visible_in_ways(user)
        feeds = [by_due(part.filter(status=OPEN).exclude(mine), *OPEN_PARTS) for part in ways.wide]
        if ways.own is not None:
            feeds.append(by_set(ways.own.filter(status=OPEN).exclude(mine)))
        return QueueParts(members, tuple(feeds))

    return Queued(lambda: _visible(user), today, make, signature=_signature("people", user, today))


# -- copied to me --------------------------------------------------------------------------------------


def copied_to_me(*, user: User, today: dt.date) -> Queued:
    """Open challenges whose current stage copied or told ``user`` (and that wait on them for nothing)."""

    def make() -> QueueParts:
        hows = (StageWait.How.CC, StageWait.How.NOTIFY)
        members = _visible(user).filter(status=OPEN).exclude(_waiting_on_me_q(user, today))
        feeds = (by_stage_rows(user, hows, members, *OPEN_PARTS),)
        return QueueParts(members.filter(_stage_names(user, *hows)), feeds)

    return Queued(lambda: _visible(user), today, make, signature=_signature("copied", user, today))


# -- whom one challenge waits on -----------------------------------------------------------------------


@dataclass(frozen=True)
class WaitingOn:
    """Whom a challenge waits on, for what, and since when: the usernames of people in Resolve, which
    the page turns into names, and the named outsiders who own an action (as typed)."""

    usernames: tuple[str, ...]
    what: str
    since: dt.date | None
    due_on: dt.date | None = None
    outsiders: tuple[str, ...] = ()


def challenge_answers_waiting(*, challenge: Challenge) -> list[Agreement]:
    """The requests for agreement on the challenge still waiting for the answer of the person asked
    (from ``challenge.agreements`` as its page loaded them), oldest first."""
    if challenge.status not in {OPEN, Challenge.Status.RESOLVED}:
        return []
    return sorted(
        (
            agreement
            for agreement in challenge.agreements.all()
            if agreement.status == Agreement.Status.PENDING and agreement.kind == "agree"
        ),
        key=lambda agreement: agreement.number,
    )


def challenge_waiting_on(*, challenge: Challenge) -> WaitingOn | None:
    """From the challenge as its page loaded it (visits and actions prefetched); None when nothing waits."""
    chair = challenge.child.iro if challenge.track == "iro" else challenge.child.cp_chair
    chair_names = (chair.get_username(),) if chair is not None else ()
    if challenge.status == OPEN:
        visit = next((v for v in challenge.visits.all() if v.left_on is None), None)
        if visit is None:
            return None
        if visit.responded_on is None and visit.contact_email:
            # A partner agency's contact, outside Resolve: the chair records their reply.
            contact = f"{visit.contact_name}, {visit.contact_role}, {challenge.agency}"
            return WaitingOn((), "a reply", visit.entered_on, visit.due_on, (contact,))
        if visit.responded_on is None:
            return WaitingOn(tuple(visit.to_users), "a response", visit.entered_on, visit.due_on)
        return WaitingOn(chair_names, "a decision: resolve or escalate", visit.responded_on)
    if challenge.status == Challenge.Status.RESOLVED:
        open_actions = [a for a in challenge.actions.all() if a.status == Action.Status.OPEN]
        if not open_actions:
            return None
        # ``owner`` holds the username of an owner in Resolve (``owner_user``), else an outsider's name.
        people = tuple(dict.fromkeys(a.owner for a in open_actions if a.owner_user_id is not None))
        outsiders = tuple(dict.fromkeys(a.owner for a in open_actions if a.owner_user_id is None))
        return WaitingOn(
            people,
            "the agreed actions",
            challenge.resolved_on,
            min(a.due for a in open_actions),
            outsiders,
        )
    return None
