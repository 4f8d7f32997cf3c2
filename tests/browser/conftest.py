"""Browser tests: Playwright drives Debian's Chromium against pytest-django's live server.

Every page visited is checked with axe-core (zero violations allowed), must load all its
resources without an error, and is saved as a screenshot under ``test-artifacts/screenshots/``.
Playwright's own browser downloads are never used: ``RESOLVE_CHROMIUM`` (default
``/usr/bin/chromium``) names the browser.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from playwright.sync_api import Request

from resolve.web.tests.factories import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("RESOLVE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Static files the pages cannot work without; missing means `npm ci && npm run build` was not run
# or STATICFILES_DIRS does not name govuk-frontend.
REQUIRED_STATIC = ["web/build/resolve.css", "govuk/govuk-frontend.min.js", "govuk/assets/fonts"]


@pytest.fixture(scope="session")
def _browser_ready() -> None:
    problems = []
    if not Path(CHROMIUM).exists():
        problems.append(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set RESOLVE_CHROMIUM)")
    if not AXE.exists():
        problems.append(f"no axe-core at {AXE} (run npm ci)")
    problems += [
        f"static file {path!r} not found (run npm ci && npm run build; check STATICFILES_DIRS)"
        for path in REQUIRED_STATIC
        if not finders.find(path)
    ]
    if problems:
        pytest.fail("Browser tests cannot run:\n  " + "\n  ".join(problems), pytrace=False)


@dataclass
class Browser:
    """One page in Chromium, with what it noticed going wrong."""

    page: object
    base_url: str
    failures: list[str] = field(default_factory=list)

    def goto(self, path: str) -> object:
        return self.page.goto(self.base_url + path)  # type: ignore[attr-defined]

    def check(self, name: str) -> None:
        """Axe finds nothing, nothing failed to load, and the page is saved as ``name``.png."""
        page = self.page
        page.wait_for_load_state("networkidle")  # type: ignore[attr-defined]
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]
        page.add_script_tag(path=str(AXE))  # type: ignore[attr-defined]
        result = page.evaluate("async () => await axe.run(document)")  # type: ignore[attr-defined]
        violations = [
            {
                "id": v["id"],
                "impact": v["impact"],
                "help": v["help"],
                "nodes": [n["target"] for n in v["nodes"]][:5],
            }
            for v in result["violations"]
        ]
        assert not violations, f"axe found problems on {name}:\n" + json.dumps(violations, indent=2)
        assert not self.failures, f"{name}: " + "; ".join(self.failures)
        assert page.evaluate(  # type: ignore[attr-defined]
            "document.body.classList.contains('govuk-frontend-supported')"
        ), "GOV.UK Frontend's js-enabled script did not run"

    def check_both_widths(self, name: str) -> None:
        """``check`` at a desk's width and a phone's, saved as ``name``-1280.png and ``name``-390.png."""
        for width, height in ((1280, 900), (390, 844)):
            self.page.set_viewport_size({"width": width, "height": height})  # type: ignore[attr-defined]
            self.check(f"{name}-{width}")

    def sign_in(self, username: str, password: str = PASSWORD, *, arrive: bool = True) -> None:
        """Sign in through the sign-in page; with ``arrive``, wait until the home page has loaded."""
        self.goto("/sign-in/")
        page = self.page
        page.get_by_label("Username").fill(username)  # type: ignore[attr-defined]
        page.get_by_label("Password").fill(password)  # type: ignore[attr-defined]
        page.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]
        if arrive:
            page.wait_for_url(self.base_url + "/")  # type: ignore[attr-defined]


@pytest.fixture
def browser(_browser_ready, live_server, transactional_db, monkeypatch) -> Iterator[Browser]:
    # Playwright's sync API keeps an event loop in this thread; the ORM calls made by test
    # fixtures and teardown are still synchronous, so Django's async guard is relaxed here only.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        # axe is injected as a script tag; bypassing CSP keeps that working once a strict CSP lands.
        context = chromium.new_context(viewport={"width": 1024, "height": 768}, bypass_csp=True)
        page = context.new_page()
        here = Browser(page=page, base_url=live_server.url)
        origin = re.escape(live_server.url)
        page.on(
            "response",
            lambda r: (
                here.failures.append(f"{r.status} {r.url}")
                if r.status >= 400 and re.match(origin, r.url) and not r.request.is_navigation_request()
                else None
            ),
        )
        page.on("pageerror", lambda error: here.failures.append(f"script error: {error}"))
        page.on("requestfailed", lambda r: _request_failed(here, r))
        try:
            yield here
        finally:
            context.close()
            chromium.close()


@pytest.fixture
def demo(transactional_db):
    """The demo authority (``make demo``'s people, children and challenges) as of today."""
    from resolve.challenges.demo import demo_build
    from resolve.people.demo import authority_build

    authority = authority_build(password=PASSWORD)
    demo_build(authority=authority, today=dt.date.today())
    return authority


def _request_failed(here: Browser, request: Request) -> None:
    """A request the page could not load is a failure; one the browser itself abandoned (a favicon
    still loading when the test moves to the next page: net::ERR_ABORTED) is not."""
    if "ERR_ABORTED" in (request.failure or ""):
        return
    here.failures.append(f"failed: {request.url} ({request.failure})")
