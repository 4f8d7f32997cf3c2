"""``manage.py export_case_notes --user USERNAME [--folder DIR]``: the footprint for the case system."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from resolve.casesystem.footprint import footprint_export
from resolve.core.errors import ServiceError


class Command(BaseCommand):
    help = (
        "Write the case notes written since the last run (and an IRO challenge summary per child) to the "
        "case system's folder, as CSV and JSON. Schedule it; running it again sends nothing twice."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--user",
            required=True,
            help="The account the export runs as: only the records it may see are sent, and each is logged.",
        )
        parser.add_argument("--folder", help="The folder to write to (default: RESOLVE_CASE_SYSTEM_DIR).")

    def handle(self, *args: Any, **options: Any) -> None:
        folder = options["folder"] or settings.RESOLVE_CASE_SYSTEM_DIR
        if not folder:
            raise CommandError("Name the folder: --folder DIR, or set RESOLVE_CASE_SYSTEM_DIR.")
        user = User.objects.filter(username=options["user"], is_active=True).first()
        if user is None:
            raise CommandError(f"There is no active user called {options['user']!r}.")
        try:
            delivery = footprint_export(user=user, folder=Path(folder))
        except ServiceError as error:
            raise CommandError(error.message) from None
        if not delivery.notes:
            self.stdout.write("No case notes written since the last delivery.")
            return
        self.stdout.write(f"Delivered {delivery.notes} case notes of {delivery.children} children:")
        for path in delivery.files:
            self.stdout.write(f"  {path}")
