from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import DEFAULT_DB_ALIAS

from resolve.calendars.services import calendar_seed
from resolve.calendars.workingdays import FIRST_YEAR, LAST_YEAR


class Command(BaseCommand):
    help = (
        f"Bring the bank holidays of every nation for {FIRST_YEAR}-{LAST_YEAR} in line with the holidays "
        "package. Idempotent; closure days are never touched. Migrate runs it too."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="Database alias to seed.")

    def handle(self, *args: Any, **options: Any) -> None:
        result = calendar_seed(using=options["database"])
        self.stdout.write(
            self.style.SUCCESS(
                f"Bank holidays: {result.created} created, {result.renamed} renamed, "
                f"{result.deleted} deleted, {result.under_closure} already covered by a closure day."
            )
        )
