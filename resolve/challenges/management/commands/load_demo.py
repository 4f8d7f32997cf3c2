from __future__ import annotations

import os
import secrets
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from resolve.challenges.demo import demo_build
from resolve.children.models import Child
from resolve.people.demo import authority_build
from resolve.people.roles import ROLES


class Command(BaseCommand):
    help = "Build a demo authority: staff in every role, teams, children and challenges in every state."

    def handle(self, *args: Any, **options: Any) -> None:
        password = os.environ.get("DEMO_PASSWORD") or secrets.token_urlsafe(12)
        with transaction.atomic():
            authority = authority_build(password=password)
            if Child.objects.exists():
                self.stdout.write(
                    "Children are already recorded: the demo's children and challenges were not added again."
                )
            else:
                summary = demo_build(authority=authority, today=timezone.localdate())
                self.stdout.write(f"Added {summary.children} children and these challenges:")
                for label, number in sorted(summary.challenges.items()):
                    self.stdout.write(f"  {number:3} {label}")
        self.stdout.write("")
        self.stdout.write("Demo sign-ins (username = role):")
        self.stdout.write("  " + ", ".join([*ROLES, "social_worker_2", "team_manager_2"]))
        self.stdout.write(f"  password: {password}")
