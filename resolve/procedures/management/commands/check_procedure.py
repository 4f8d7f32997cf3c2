from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from resolve.procedures.loader import ProcedureError, procedure_load_file


class Command(BaseCommand):
    help = "Validate procedure files without recording them; exits non-zero when any has a problem."
    # Checking a file needs neither the database nor the project's system checks.
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path, metavar="FILE")

    def handle(self, *args: Any, **options: Any) -> None:
        files: list[Path] = options["files"]
        failed = 0
        seen: dict[str, Path] = {}
        for file in files:
            try:
                procedure = procedure_load_file(file)
            except ProcedureError as exc:
                failed += 1
                for problem in exc.problems:
                    self.stderr.write(problem)
                continue
            if procedure.key in seen:
                failed += 1
                self.stderr.write(
                    f'{file}: key: "{procedure.key}" is already the key of {seen[procedure.key]}'
                )
                continue
            seen[procedure.key] = file
            self.stdout.write(f"ok: {file} ({procedure.key} v{procedure.version})")
        if failed:
            raise CommandError(f"{failed} of {len(files)} procedure files have problems", returncode=1)
