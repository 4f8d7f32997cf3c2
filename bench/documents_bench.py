"""The child's chronology as a PDF (laid out by Typst) against the same chronology as an HTML page.

One child with 25 challenges of 8 events each (200 events), built through the real write path:
raised informally, escalated to stage 1, answered, escalated to stage 2, answered, two actions marked
done, resolved. Goal: the PDF under 10 times the HTML page and under 2 seconds.

The baseline is the HTML chronology a person actually gets: the child's page (``/children/<case
number>/``), whose Chronology section lists the same 200 events with the 25 challenges above it, and
from whose Download section the PDF is taken. Both sides are asked for as that person, signed in,
through Django's test client, so each includes what serving it costs (middleware, the session, the
access chokepoint, the access log's export entry for the PDF) and nothing else.

The PDF was laid out by WeasyPrint until its layout (about 0.66 s, 20 times the page) was found to be
the whole cost; it is now laid out by Typst (``resolve.exports.typeset``). Beside the request, the PDF's
two parts are timed apart: reading the record (the chronology built through the access chokepoint)
and laying it out (Typst, from the same chronology), so that either can be watched on its own.

Typst keeps what it laid out for its next few documents, so laying out the same chronology again costs
a sixth of the first time. A person downloads a chronology once, so every round here starts cold:
before each timed call, untimed, Typst lays out a one-line document often enough to forget the
chronology (it forgets whatever its last ten documents did not use).
"""

from __future__ import annotations

import datetime as dt
import io
import statistics
import time
from collections.abc import Callable

import typst
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from pypdf import PdfReader

from resolve.challenges.models import Event
from resolve.core.clock import today
from resolve.exports.selectors import chronology_for_user
from resolve.exports.typeset import chronology_pdf
from resolve.people.demo import authority_build
from resolve.testing.chronologies import CARE_PLAN, VISIT, long_chronology_build

CHALLENGES = 25
REPEATS = 5
GOAL_RATIO = 10
GOAL_SECONDS = 2.0
CASE_NUMBER = "LCS777001"
# Typst forgets what its last this-many documents did not use (typst-py evicts after each compile).
TYPST_MEMORY = 10


def _populate() -> str:
    authority = authority_build(password=None)
    long_chronology_build(
        authority,
        case_number=CASE_NUMBER,
        first_name="Bench",
        last_name="Child",
        date_of_birth=dt.date(2013, 5, 1),
        challenges=CHALLENGES,
        first_day=today() - dt.timedelta(days=CHALLENGES * 9 + 10),
        days_apart=9,
        stages=2,
        actions=(VISIT, CARE_PLAN),
        actions_done=True,
    )
    return authority.staff["service_manager"].get_username()


def _forget() -> None:
    """Make Typst's next layout a first one: lay out another, tiny document until it has forgotten the
    chronology. Untimed."""
    for index in range(TYPST_MEMORY + 1):
        typst.compile(f"{index}".encode(), format="pdf")


def _time(*works: Callable[[], object]) -> list[tuple[float, float, object]]:
    """Median wall-clock and CPU seconds of ``REPEATS`` runs of each, taken in turns (one of each per
    round) so that a busy spell on the shared machine falls on every side alike; the CPU time (this
    process's own, all its threads) is the steadier figure. Typst starts cold before each run."""
    walls: list[list[float]] = [[] for _ in works]
    cpus: list[list[float]] = [[] for _ in works]
    results: list[object] = [None for _ in works]
    for _ in range(REPEATS):
        for index, work in enumerate(works):
            _forget()
            started, started_cpu = time.perf_counter(), time.process_time()
            results[index] = work()
            walls[index].append(time.perf_counter() - started)
            cpus[index].append(time.process_time() - started_cpu)
    return [
        (statistics.median(wall), statistics.median(cpu), result)
        for wall, cpu, result in zip(walls, cpus, results, strict=True)
    ]


def _row(label: str, wall: float, cpu: float, kib: int) -> None:
    print(f"  {label:34} {wall * 1000:8.1f} ms wall {cpu * 1000:8.1f} ms CPU  ({kib} KiB)")


def _ratio(label: str, wall: float, cpu: float, goal: str = "") -> None:
    print(f"  {label:34} {wall:8.1f}x wall  {cpu:8.1f}x CPU{goal}")


def run() -> None:
    started = time.perf_counter()
    username = _populate()
    user = get_user_model().objects.get(username=username)
    events = Event.objects.count()
    print(
        f"One child, {CHALLENGES} challenges, {events} events, built in {time.perf_counter() - started:.1f} s"
    )
    client = Client()
    client.force_login(user)
    page_url = reverse("web:child_detail", kwargs={"case_number": CASE_NUMBER})
    pdf_url = reverse("exports:chronology", kwargs={"case_number": CASE_NUMBER})

    def page() -> bytes:
        response = client.get(page_url)
        assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
        return response.content

    def download() -> bytes:
        response = client.get(pdf_url)
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        return response.content

    chronology = chronology_for_user(user=user, case_number=CASE_NUMBER, today=today())

    def read() -> object:
        return chronology_for_user(user=user, case_number=CASE_NUMBER, today=today())

    def lay_out() -> bytes:
        return chronology_pdf(chronology)

    (
        (page_seconds, page_cpu, html_page),
        (download_seconds, download_cpu, document),
        (read_seconds, read_cpu, _),
        (layout_seconds, layout_cpu, _),
    ) = _time(page, download, read, lay_out)
    # The page really is the chronology: one row for each event, as well as the challenges' table.
    assert str(html_page).count('data-label="What happened"') == events, "the page lacks the chronology"
    pages = len(PdfReader(io.BytesIO(document)).pages)  # type: ignore[arg-type]
    print(f"Chronology of {events} events (median of {REPEATS}; wall clock, and this process's CPU time):")
    _row("HTML: the child's page (baseline)", page_seconds, page_cpu, len(html_page) // 1024)  # type: ignore[arg-type]
    _row(f"PDF: the download, {pages} pages", download_seconds, download_cpu, len(document) // 1024)  # type: ignore[arg-type]
    ratio, cpu_ratio = download_seconds / page_seconds, download_cpu / page_cpu
    _ratio("ratio PDF / HTML page:", ratio, cpu_ratio, f"  (goal under {GOAL_RATIO}x)")
    print("The PDF's two parts, no request:")
    _row("reading the record (the chronology)", read_seconds, read_cpu, 0)
    _row("laying it out (Typst)", layout_seconds, layout_cpu, len(document) // 1024)  # type: ignore[arg-type]
    print(
        f"  goal under {GOAL_SECONDS:.0f} s (CPU): {'met' if download_cpu < GOAL_SECONDS else 'NOT met'}; "
        f"under {GOAL_RATIO}x the child's page (CPU): {'met' if cpu_ratio < GOAL_RATIO else 'NOT met'}"
    )
