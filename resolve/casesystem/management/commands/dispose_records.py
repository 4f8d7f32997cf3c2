"""``manage.py dispose_records CASE_NUMBER [...] --user admin --confirm``: dispose of records that are due."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from resolve.access import NotVisible
from resolve.casesystem.retention import child_dispose
from resolve.core.errors import ServiceError


class Command(BaseCommand):
    help = (
        "Remove the personal data of children's records whose retention date has come, keeping an "
        "anonymised tombstone that the evidence chains still verify. It cannot be undone."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("case_numbers", nargs="+", help="Case numbers, as retention_review lists them.")
        parser.add_argument(
            "--user", required=True, help="The administrator the disposal is recorded against."
        )
        parser.add_argument("--confirm", action="store_true", help="Required: disposal cannot be undone.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["confirm"]:
            raise CommandError("Disposal cannot be undone: add --confirm to go ahead.")
        user = User.objects.filter(username=options["user"], is_active=True).first()
        if user is None:
            raise CommandError(f"There is no active user called {options['user']!r}.")
        failed = 0
        for case_number in options["case_numbers"]:
            try:
                disposal = child_dispose(user=user, case_number=case_number)
            except ServiceError as error:
                self.stderr.write(f"{case_number}: not disposed of. {error.message}")
                failed += 1
                continue
            except NotVisible:
                self.stderr.write(f"{case_number}: there is no such record.")
                failed += 1
                continue
            removed = ", ".join(
                f"{count} {table.replace('_', ' ')}" for table, count in disposal.redacted.items()
            )
            self.stdout.write(
                f"{case_number}: disposed of (record {disposal.child_id}); text removed from {removed}."
            )
        if failed:
            raise CommandError(f"{failed} record(s) not disposed of.")
