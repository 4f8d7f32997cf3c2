"""``manage.py subject_access_export CASE_NUMBER --user USERNAME [--out FOLDER]``"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from resolve.access import NotVisible
from resolve.casesystem.subject_access import subject_access_export
from resolve.core.errors import ServiceError


class Command(BaseCommand):
    help = (
        "Write everything Resolve holds about a child (record, case notes, challenges, documents, who "
        "viewed them) as a zip with a readable index.html, for a subject access request."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("case_number")
        parser.add_argument("--user", required=True, help="Who answers the request (they review access).")
        parser.add_argument("--out", default=".", help="The folder to write the zip to (default: here).")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["user"], is_active=True).first()
        if user is None:
            raise CommandError(f"There is no active user called {options['user']!r}.")
        try:
            name, content = subject_access_export(user=user, case_number=options["case_number"])
        except ServiceError as error:
            raise CommandError(error.message) from None
        except NotVisible:
            raise CommandError(f"There is no child {options['case_number']!r} that {user} may see.") from None
        path = Path(options["out"]) / name
        path.write_bytes(content)
        self.stdout.write(f"Wrote {path}")
