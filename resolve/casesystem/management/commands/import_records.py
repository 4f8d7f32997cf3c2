"""``manage.py import_records FILE [FILE ...] --mapping lcs-example --user admin [--apply]``"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from resolve.casesystem.mapping import MappingError, mapping_keys, mapping_load
from resolve.casesystem.services import records_import
from resolve.core.errors import ServiceError


class Command(BaseCommand):
    help = (
        "Import teams, staff, posts, children and allocations from a case system's CSV or XLSX export. "
        "Without --apply it is a dry run: it reports row by row what would be created, changed or "
        "refused, and writes nothing. With --apply the export is imported whole, or not at all."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", help="CSV files or XLSX workbooks (or folders of them).")
        parser.add_argument(
            "--mapping",
            required=True,
            help=f"A mapping file (.toml) or a shipped mapping: {', '.join(mapping_keys())}.",
        )
        parser.add_argument("--user", required=True, help="The administrator the import is recorded against.")
        parser.add_argument("--apply", action="store_true", help="Import (otherwise a dry run).")
        parser.add_argument(
            "--all-rows", action="store_true", help="List the unchanged rows too (the report lists changes)."
        )
        parser.add_argument("--report", help="Also write the full report to this file.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            mapping = mapping_load(options["mapping"])
        except MappingError as error:
            raise CommandError(str(error)) from None
        user = User.objects.filter(username=options["user"], is_active=True).first()
        if user is None:
            raise CommandError(f"There is no active user called {options['user']!r}.")
        paths: list[Path] = []
        for name in options["files"]:
            path = Path(name)
            if path.is_dir():
                paths += sorted(p for p in path.iterdir() if p.suffix.lower() in {".csv", ".xlsx"})
            elif path.is_file():
                paths.append(path)
            else:
                raise CommandError(f"{name}: there is no such file.")
        try:
            report = records_import(
                user=user,
                mapping=mapping,
                files=[(path.name, path.read_bytes()) for path in paths],
                apply=options["apply"],
            )
        except ServiceError as error:
            raise CommandError(error.message) from None
        lines = report.lines(changes_only=not options["all_rows"])
        for line in lines:
            self.stdout.write(line)
        if options["report"]:
            Path(options["report"]).write_text("\n".join(report.lines()) + "\n", encoding="utf-8")
        if report.refused:
            raise CommandError(report.summary())
