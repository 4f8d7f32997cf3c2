"""``manage.py export_extracts --user USERNAME [--folder DIR] [--full]``: the data warehouse's extracts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from resolve.casesystem.extracts import extracts_export
from resolve.core.errors import ServiceError


class Command(BaseCommand):
    help = (
        "Write the tables the reports use as CSV (with manifest.json, their schema) into a new folder: "
        "reference tables whole, challenges and events changed since the last run. Schedule it nightly."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--user", required=True, help="The account it runs as: only the records it may see are written."
        )
        parser.add_argument("--folder", help="Where to write (default: RESOLVE_EXTRACTS_DIR).")
        parser.add_argument(
            "--full", action="store_true", help="Every challenge and event, not only changes."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        folder = options["folder"] or settings.RESOLVE_EXTRACTS_DIR
        if not folder:
            raise CommandError("Name the folder: --folder DIR, or set RESOLVE_EXTRACTS_DIR.")
        user = User.objects.filter(username=options["user"], is_active=True).first()
        if user is None:
            raise CommandError(f"There is no active user called {options['user']!r}.")
        try:
            run = extracts_export(user=user, folder=Path(folder), full=options["full"])
        except ServiceError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"Wrote {run.folder}:")
        for table, count in run.rows.items():
            self.stdout.write(f"  {table}: {count} rows")
