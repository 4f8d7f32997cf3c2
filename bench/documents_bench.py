"""The child's chronology as a PDF (WeasyPrint) against the same chronology as an HTML page.

One child with 25 challenges of 8 events each (200 events), built through the real write path:
raised informally, escalated to stage 1, answered, escalated to stage 2, answered, two actions marked
done, resolved. Both sides read the record through the chokepoint and render the same template;
the PDF side then lays it out as paginated, tagged PDF. Goal: the PDF under 10 times the HTML page
and under 2 seconds.
"""

from __future__ import annotations

import datetime as dt
import io
import statistics
import time

from django.contrib.auth import get_user_model
from pypdf import PdfReader

from resolve.challenges import services
from resolve.challenges.models import Event
from resolve.children.services import child_create
from resolve.core.clock import today
from resolve.exports.downloads import chronology_context
from resolve.exports.pdf import html_render, pdf_render
from resolve.people.demo import authority_build

CHALLENGES = 25
REPEATS = 3
GOAL_RATIO = 10
GOAL_SECONDS = 2.0


def _populate() -> str:
    authority = authority_build(password=None)
    staff = authority.staff
    child = child_create(
        user=staff["admin"],
        case_number="LCS777001",
        first_name="Bench",
        last_name="Child",
        date_of_birth=dt.date(2013, 5, 1),
        social_worker="social_worker",
        iro="iro",
        cp_chair="cp_chair",
    )
    day = today() - dt.timedelta(days=CHALLENGES * 9 + 10)
    for index in range(CHALLENGES):
        challenge = services.challenge_raise(
            user=staff["iro"],
            child=child,
            track="iro",
            procedure_key="national",
            concern=f"Concern {index}: statutory visits have not happened and the plan is out of date.",
            impact_on_child="The child has not been seen alone; their views are missing from the plan.",
            themes=["voice_of_child"],
            actions=[
                services.ActionInput("Visit the child alone", "social_worker", day + dt.timedelta(days=20)),
                services.ActionInput("Update the care plan", "team_manager", day + dt.timedelta(days=30)),
            ],
            on=day,
        )
        pk = challenge.pk
        services.challenge_escalate(
            user=staff["iro"], challenge_id=pk, reason="No reply.", on=day + dt.timedelta(days=1)
        )
        services.challenge_respond(
            user=staff["team_manager"],
            challenge_id=pk,
            response="disagree",
            comments="Planned.",
            on=day + dt.timedelta(days=2),
        )
        services.challenge_escalate(
            user=staff["iro"], challenge_id=pk, reason="Unresolved.", on=day + dt.timedelta(days=3)
        )
        services.challenge_respond(
            user=staff["service_manager"],
            challenge_id=pk,
            response="agree",
            comments="Agreed.",
            on=day + dt.timedelta(days=4),
        )
        for action in challenge.actions.all():
            services.challenge_action_mark(
                user=staff["iro"],
                challenge_id=pk,
                action_id=action.pk,
                status="done",
                on=day + dt.timedelta(days=5),
            )
        services.challenge_resolve(
            user=staff["iro"],
            challenge_id=pk,
            outcome="Visits made.",
            learning_points="Sooner.",
            on=day + dt.timedelta(days=6),
        )
        day += dt.timedelta(days=9)
    return authority.staff["service_manager"].get_username()


def _time(work: object) -> tuple[float, float, object]:
    """Median wall-clock and CPU seconds of ``REPEATS`` runs: on a shared machine the CPU time (this
    process's own) is the steadier figure; both sides are measured the same way."""
    walls, cpus, result = [], [], None
    for _ in range(REPEATS):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = work()  # type: ignore[operator]
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - started_cpu)
    return statistics.median(walls), statistics.median(cpus), result


def run() -> None:
    started = time.perf_counter()
    username = _populate()
    user = get_user_model().objects.get(username=username)
    events = Event.objects.count()
    print(
        f"One child, {CHALLENGES} challenges, {events} events, built in {time.perf_counter() - started:.1f} s"
    )

    def page() -> str:
        return html_render(
            "exports/chronology.html", chronology_context(user=user, case_number="LCS777001", today=today())
        )

    def pdf() -> bytes:
        return pdf_render(
            "exports/chronology.html", chronology_context(user=user, case_number="LCS777001", today=today())
        )

    html_seconds, html_cpu, html = _time(page)
    pdf_seconds, pdf_cpu, document = _time(pdf)
    pages = len(PdfReader(io.BytesIO(document)).pages)  # type: ignore[arg-type]
    ratio, cpu_ratio = pdf_seconds / html_seconds, pdf_cpu / html_cpu
    print(f"Chronology of {events} events (median of {REPEATS}; wall clock, and this process's CPU time):")
    html_kib, pdf_kib = len(str(html)) // 1024, len(document) // 1024  # type: ignore[arg-type]
    for label, wall, cpu, kib in (
        ("HTML page (baseline):", html_seconds, html_cpu, html_kib),
        (f"PDF, {pages} pages:", pdf_seconds, pdf_cpu, pdf_kib),
    ):
        print(f"  {label:22} {wall * 1000:8.1f} ms wall {cpu * 1000:8.1f} ms CPU  ({kib} KiB)")
    print(f"  ratio PDF / HTML:      {ratio:8.1f}x wall  {cpu_ratio:8.1f}x CPU  (goal under {GOAL_RATIO}x)")
    print(
        f"  goal under {GOAL_SECONDS:.0f} s (CPU): {'met' if pdf_cpu < GOAL_SECONDS else 'NOT met'}; "
        f"under {GOAL_RATIO}x (CPU): {'met' if cpu_ratio < GOAL_RATIO else 'NOT met'}"
    )
