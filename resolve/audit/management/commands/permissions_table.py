"""Write docs/permissions.md from the role-to-permission map."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from resolve.access.permissions import permissions_markdown


class Command(BaseCommand):
    help = "Write docs/permissions.md from resolve/access/permissions.py (--check: fail if out of date)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", default=str(Path(settings.BASE_DIR) / "docs" / "permissions.md"))
        parser.add_argument("--check", action="store_true", help="Exit non-zero when the file differs.")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["output"])
        text = permissions_markdown()
        if options["check"]:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                raise CommandError(f"{path} is out of date: run python manage.py permissions_table")
            self.stdout.write(f"{path} is up to date.")
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        self.stdout.write(f"Wrote {path}.")
