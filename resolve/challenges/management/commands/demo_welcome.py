"""What `make demo` prints last, once the server answers and the worker has started: where to go, how
to sign in, and a first walk through the demo as the people who use it."""

from __future__ import annotations

import os
import textwrap
import time
import urllib.error
import urllib.request
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from resolve.notifications.selectors import sweep_health_get

FIRST_WALK = (
    ("iro", "Isla Reid, an IRO", "'Your work' starts with what needs your decision: a response came in, a "
     "response is overdue, the formal limit has passed. Open one: the page says whom it waits on and since "
     "when. Escalate it, or resolve it."),
    ("team_manager", "Tom Mitchell, a Team Manager", "'Waiting on you' lists the stages sent to you and the "
     "actions you own, with the due date in working days. Open one and record your response: the page shows "
     "what the challenge asks first."),
    ("head_of_service", "Helen Owens, Head of Service", "what was copied to you, and your part of the line, "
     "overdue first."),
    ("iro_service_manager", "Sam Mensah, IRO/CP Service Manager", "your service's challenges; then "
     "Challenges, to search by child, chair, team or theme."),
)  # fmt: skip


def _answers(url: str) -> bool:
    if not url.startswith(("http://", "https://")):
        return False
    try:
        # The demo's own address, http(s) only (checked above).
        with urllib.request.urlopen(url, timeout=2):  # noqa: S310  # nosec B310
            return True
    except urllib.error.HTTPError:
        return True  # it answered, even if not 200
    except (urllib.error.URLError, OSError):
        return False


class Command(BaseCommand):
    help = "Print the demo's address, sign-ins and a first walk, once its server and worker are up."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000/", help="The demo's address.")
        parser.add_argument("--wait", type=float, default=60.0, help="Seconds to wait for the server.")

    def handle(self, *args: Any, url: str, wait: float, **options: Any) -> None:
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and not _answers(url + "sign-in/"):
            time.sleep(0.5)
        # The worker has started once it has looked at the sweep's lease (a new install has no row).
        while time.monotonic() < deadline and sweep_health_get().last_completed_at is None:
            time.sleep(0.5)
        password = os.environ.get("DEMO_PASSWORD") or "the one `load_demo` printed above"
        mail = settings.EMAIL_BACKEND.rsplit(".", 2)[-2]
        lines = [
            "",
            "=" * 72,
            f"Resolve demo: {url}",
            "",
            "Sign in with a role as the username (iro, team_manager, social_worker, head_of_service,",
            "iro_service_manager, director, admin, ...).",
            f"Password: {password}",
            "",
            "A first walk:",
        ]
        for number, (username, who, what) in enumerate(FIRST_WALK, start=1):
            text = f"{number}. Sign in as {username} ({who}): {what}"
            lines.append(textwrap.fill(text, width=96, initial_indent="  ", subsequent_indent="     "))
        lines += [
            "  5. Try it on a phone, or a narrow window: every page reflows to 320 px.",
            "",
            "The worker sweeps deadlines and sends email in the background"
            + (f"; emails are written to {settings.EMAIL_FILE_PATH}/" if mail == "filebased" else "")
            + ".",
            "Ctrl-C stops the server and the worker.",
            "=" * 72,
        ]
        self.stdout.write("\n".join(lines))
