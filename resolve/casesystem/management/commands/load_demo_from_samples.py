"""``manage.py load_demo_from_samples``: the demo authority, imported from the sample LCS-style export."""

from __future__ import annotations

import os
import secrets
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from resolve.casesystem.demo import SAMPLES, demo_from_samples


class Command(BaseCommand):
    help = (
        "Build the demo authority from the sample case-system exports in resolve/casesystem/samples "
        "(teams, staff, posts, children), then raise the demo's challenges."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        password = os.environ.get("DEMO_PASSWORD") or secrets.token_urlsafe(12)
        report, summary = demo_from_samples(password=password, today=timezone.localdate())
        self.stdout.write(f"Imported the sample exports in {SAMPLES}: {report.summary()}")
        if not report.applied:
            for line in report.lines(changes_only=True):
                self.stdout.write(line)
            raise CommandError("The sample export was refused; nothing was imported.")
        if summary is None:
            self.stdout.write("Children were already recorded: the demo's challenges were not added again.")
        else:
            self.stdout.write(f"Raised challenges on {summary.children} children:")
            for label, number in sorted(summary.challenges.items()):
                self.stdout.write(f"  {number:3} {label}")
        self.stdout.write("")
        self.stdout.write("Demo sign-ins: username = role key (as load_demo); the administrator is 'admin'.")
        self.stdout.write(f"  password: {password}")
