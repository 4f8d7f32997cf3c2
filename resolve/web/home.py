"""The home page: each queue of ``resolve.challenges.queues`` as rows a busy person can act on.

Every row names the child, the issue (the first words of the concern), the stage, why it is in this
queue and when it is due, in words and counted in the procedure's working days ("due Wednesday
2 December, in 3 working days", "4 working days overdue").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.models import User
from django.core.paginator import Page
from django.db.models import Prefetch
from django.http import QueryDict
from django.urls import reverse

from resolve.access import Perm, access_record_list, user_has_perm
from resolve.calendars.services import working_calendar
from resolve.calendars.types import MONTHS, WEEKDAYS, Nation, WorkingDays
from resolve.challenges import queues, selectors
from resolve.challenges.models import Action, Agreement, Challenge
from resolve.challenges.overdue import past_due
from resolve.children.models import Child
from resolve.people.selectors import user_roles
from resolve.procedures.selectors import procedure_get, procedure_version_model
from resolve.web.pages import BoundedPaginator, Tag, agreement_words, cap_tag, challenge_tag

HOME_ROWS = 10  # rows of each queue on the home page; "See all" shows the rest, a page at a time
PAGE_ROWS = 20
ISSUE_WORDS = 12
ISSUE_CHARS = 90


def day_words(day: dt.date, today: dt.date) -> str:
    """``Wednesday 2 December``, with the year only when it is not this year's."""
    words = f"{WEEKDAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]}"
    return words if day.year == today.year else f"{words} {day.year}"


def _count(n: int) -> str:
    return f"{n} working day" if n == 1 else f"{n} working days"


def due_words(due_on: dt.date, today: dt.date, calendar: WorkingDays) -> str:
    """When something is due, in words and in working days from today (the overdue rule of
    ``resolve.challenges.overdue``: overdue from the first working day after the due date)."""
    if past_due(due_on, today, calendar):
        late = calendar.working_days_between(due_on, today)
        return f"{_count(late)} overdue (was due {day_words(due_on, today)})"
    if due_on == today:
        return f"due today, {day_words(due_on, today)}"
    if due_on < today:  # due on the last working day, and today is not one
        return f"was due {day_words(due_on, today)}; overdue from the next working day"
    ahead = calendar.working_days_between(today, due_on)
    return f"due {day_words(due_on, today)}, in {_count(ahead)}"


def issue_words(challenge: Challenge, theme_labels: dict[str, str]) -> str:
    """The first words of the concern (or the main theme when there is none): what the row is about."""
    words = challenge.concern.split()
    if not words:
        return theme_labels.get(challenge.themes[0], challenge.themes[0]) if challenge.themes else "Challenge"
    text = " ".join(words[:ISSUE_WORDS])
    if len(text) > ISSUE_CHARS:
        text = text[:ISSUE_CHARS].rsplit(" ", 1)[0]
    return text if text == " ".join(words) else text.rstrip(".,;:") + "…"


@dataclass
class QueueRow:
    challenge: Challenge
    issue: str
    stage: str
    procedure: str
    why: list[str]
    due: str
    tag: Tag
    cap_tag: Tag | None


@dataclass(frozen=True)
class QueueSpec:
    key: str
    title: str
    description: str
    empty: str
    select: Callable[..., queues.Queued]
    sources: tuple[queues.QueueSource, ...] = ()


@dataclass
class Queue:
    spec: QueueSpec
    rows: list[QueueRow]
    total: int  # counted no further than ``selectors.COUNT_BOUND`` + 1, like the lists' counts
    page: Page | None = None

    @property
    def total_words(self) -> str:
        """The count in words: "more than 1,000" past the bound."""
        if self.total > selectors.COUNT_BOUND:
            return f"more than {selectors.COUNT_BOUND:,}"
        return str(self.total)

    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def more(self) -> int:
        return self.total - len(self.rows)


NEEDS_DECISION = QueueSpec(
    "decide",
    "Needs your decision",
    "A response came in, a response is overdue, the formal limit has passed, or an agreed action is "
    "late after the challenge was resolved.",
    "Nothing needs your decision.",
    queues.needs_my_decision,
    queues.NEEDS_MY_DECISION,
)
WAITING_ON_ME = QueueSpec(
    "mine",
    "Waiting on you",
    "Stages sent to you for a response, agreed actions you own, meetings you chair and requests for "
    "your agreement.",
    "Nothing is waiting on you.",
    queues.waiting_on_me,
    queues.WAITING_ON_ME,
)
WAITING_ON_OTHERS = QueueSpec(
    "others",
    "Waiting on others",
    "Your open challenges where someone else must answer.",
    "None of your challenges is waiting on someone else.",
    queues.waiting_on_others,
)
COPIED = QueueSpec(
    "copied",
    "Copied to you",
    "Open challenges whose current stage copied you in or tells you of it.",
    "No open challenge is copied to you.",
    queues.copied_to_me,
)


def _people_spec(user: User) -> QueueSpec | None:
    scope = queues.managed_scope(user=user)
    if scope is None:
        return None
    title = queues.SCOPE_QUEUE_TITLES[scope]
    return QueueSpec(
        "people",
        title,
        "Open challenges where the people you manage must answer or decide, overdue first.",
        "No open challenge in your team, line or service is waiting on someone else.",
        queues.my_people,
    )


def queue_specs(user: User) -> list[QueueSpec]:
    """The queues of this person's home, most pressing first: a chair decides before anything else."""
    chair = bool(user_roles(user=user) & {"iro", "cp_chair"})
    specs = [NEEDS_DECISION, WAITING_ON_ME] if chair else [WAITING_ON_ME]
    people = _people_spec(user)
    if people is not None:
        specs.append(people)
    if chair:
        specs.append(WAITING_ON_OTHERS)
    specs.append(COPIED)
    return specs


def _rows(challenges: list[Challenge], spec: QueueSpec, user: User, today: dt.date) -> list[QueueRow]:
    rows = []
    for challenge in challenges:
        procedure = procedure_version_model(challenge.policy)
        calendar = working_calendar(Nation(procedure.nation))
        themes = {theme.key: theme.label for theme in procedure.themes}
        why = [source.words for source in spec.sources if getattr(challenge, f"why_{source.key}", False)]
        due = ""
        if challenge.status == Challenge.Status.OPEN and challenge.stage_responded_on is not None:
            due = f"response received {day_words(challenge.stage_responded_on, today)}"
        elif challenge.status == Challenge.Status.OPEN and challenge.stage_due_on is not None:
            due = "response " + due_words(challenge.stage_due_on, today, calendar)
        tag = challenge_tag(challenge, today)
        open_actions = [a for a in challenge.actions.all() if a.status == Action.Status.OPEN]
        mine = [a for a in open_actions if a.owner_user_id == user.pk]
        shown = mine or (open_actions if challenge.status == Challenge.Status.RESOLVED else [])
        if shown:
            first = min(shown, key=lambda a: a.due)
            action = f"action “{first.action[:60]}” {due_words(first.due, today, calendar)}"
            # Here only for an action they own: the action's date is what waits on them, not the stage's.
            only_action = getattr(challenge, "why_action_owner", False) and not getattr(
                challenge, "why_recipient", False
            )
            if only_action or not due:
                due = action
                late = past_due(first.due, today, calendar)
                tag = Tag("Action overdue", "red") if late else Tag("Action open", "blue")
            else:
                due = f"{due}; {action}"
        rows.append(
            QueueRow(
                challenge=challenge,
                issue=issue_words(challenge, themes),
                stage=procedure.stage(challenge.stage_key).name if challenge.stage_key else "Resolved",
                procedure=procedure.name,
                why=why,
                due=due[:1].upper() + due[1:],
                tag=tag,
                cap_tag=cap_tag(challenge, today),
            )
        )
    return rows


def queue_build(spec: QueueSpec, *, user: User, today: dt.date, page_number: str | None = None) -> Queue:
    """One queue: its first rows for the home page, or (``page_number`` given) one page of all of it."""
    challenges = spec.select(user=user, today=today).prefetch_related(
        Prefetch("actions", queryset=Action.objects.order_by("due", "id"))
    )
    if page_number is not None:
        page = BoundedPaginator(challenges, PAGE_ROWS).get_page(page_number)
        return Queue(spec, _rows(list(page.object_list), spec, user, today), page.paginator.count, page)
    # Counted every time, with its first rows in one statement, so the page's queries do not depend on
    # how long a queue is; the count stops past the bound, so a service's queue costs the same with a
    # million challenges as with a thousand.
    first, total = challenges.first_counted(HOME_ROWS)
    return Queue(spec, _rows(first, spec, user, today), total)


@dataclass
class AskedItem:
    """A request for agreement made to this person, waiting for their answer (seeds 001, 002, 003)."""

    challenge_id: int | None
    child: str
    about: str
    requested_on: dt.date
    link: str = ""


@dataclass
class HomePage:
    queues: list[Queue]
    one: Queue | None = None  # "See all" of one queue
    can_raise: bool = False
    specs: list[QueueSpec] = field(default_factory=list)
    asked: list[AskedItem] = field(default_factory=list)


def _asked(agreements: list[Agreement]) -> list[AskedItem]:
    items = []
    for agreement in agreements:
        if agreement.challenge is None:  # a Cafcass referral with no challenge: asked on the child
            child = agreement.child
            assert child is not None
            procedure = procedure_version_model(procedure_get(key=settings.RESOLVE_DEFAULT_POLICY))
            link = reverse("web:child_cafcass", kwargs={"case_number": child.case_number})
        else:
            child = agreement.challenge.child
            procedure = procedure_version_model(agreement.challenge.policy)
            link = reverse(
                "web:challenge_transition",
                kwargs={"challenge_id": agreement.challenge_id, "action": "answer_agreement"},
            )
        items.append(
            AskedItem(
                challenge_id=agreement.challenge_id,
                child=child.full_name,
                about=agreement_words(procedure, agreement),
                requested_on=agreement.requested_on,
                link=link,
            )
        )
    return items


def home_page(*, user: User, params: QueryDict, today: dt.date) -> HomePage:
    specs = queue_specs(user)
    chosen = next((spec for spec in specs if spec.key == params.get("queue")), None)
    can_raise = user_has_perm(user=user, perm=Perm.RAISE_CHALLENGE)
    if chosen is not None:
        one = queue_build(chosen, user=user, today=today, page_number=params.get("page") or "1")
        _logged(user, [one])
        return HomePage(queues=[], one=one, can_raise=can_raise, specs=specs)
    built = [queue_build(spec, user=user, today=today) for spec in specs]
    waiting = list(selectors.agreements_waiting_for(user=user))
    asked_children = [a.challenge.child if a.challenge else a.child for a in waiting]
    _logged(user, built, also=[child for child in asked_children if child is not None])
    return HomePage(queues=built, can_raise=can_raise, specs=specs, asked=_asked(waiting))


def _logged(user: User, shown: list[Queue], also: list[Child] | None = None) -> None:
    """The queues (and the requests waiting for an answer) name each child: one access-log row for the
    page view, like the challenge list."""
    children = [row.challenge.child for queue in shown for row in queue.rows]
    access_record_list(user=user, children=[*children, *(also or [])])


# -- whom a challenge waits on, in words -------------------------------------------------------------


def waiting_on_words(challenge: Challenge, today: dt.date) -> str:
    """ "Waiting on Tom Mitchell (the stage's recipient) for a response since Monday 2 November; ...",
    and on anyone whose answer to a request for agreement is still awaited."""
    return " ".join(
        part
        for part in (_stage_waiting_words(challenge, today), _answers_waiting_words(challenge, today))
        if part
    )


def _answers_waiting_words(challenge: Challenge, today: dt.date) -> str:
    """ "Waiting on Sam Mensah to confirm or decline request 1 for agreement, asked Wednesday 25
    November." """
    asked = queues.challenge_answers_waiting(challenge=challenge)
    if not asked:
        return ""
    names = selectors.people_named(usernames={agreement.person.get_username() for agreement in asked})
    parts = [
        f"{names.get(agreement.person.get_username(), agreement.person.get_username())} to confirm or "
        f"decline request {agreement.number} for agreement, asked {day_words(agreement.requested_on, today)}"
        for agreement in asked
    ]
    return "Waiting on " + "; ".join(parts) + "."


def _stage_waiting_words(challenge: Challenge, today: dt.date) -> str:
    waiting = queues.challenge_waiting_on(challenge=challenge)
    if waiting is None:
        return ""
    names = selectors.people_named(usernames=set(waiting.usernames))
    who = [names.get(u, u) for u in waiting.usernames] + list(waiting.outsiders)
    people = ", ".join(who[:-1]) + f" and {who[-1]}" if len(who) > 1 else (who[0] if who else "")
    if not people:
        people = "no one: no active person holds the role this stage goes to"
    text = f"Waiting on {people} for {waiting.what}"
    if waiting.since is not None:
        text += f" since {day_words(waiting.since, today)}"
    if waiting.due_on is not None:
        calendar = working_calendar(Nation(challenge.policy.nation))
        text += f"; {due_words(waiting.due_on, today, calendar)}"
    return text + "."
