from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from resolve.procedures.loader import ProcedureError
from resolve.procedures.services import procedure_sync


class Command(BaseCommand):
    help = "Validate the procedure files and record a new version of each one whose content changed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dir",
            type=Path,
            default=None,
            help="Folder of *.toml procedures (default: RESOLVE_POLICY_DIR).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        directory = options["dir"] or Path(settings.RESOLVE_POLICY_DIR)
        try:
            result = procedure_sync(directory)
        except ProcedureError as exc:
            raise CommandError(f"no procedure was recorded:\n{exc}") from exc
        for pv in result.created:
            self.stdout.write(f"recorded: {pv.key} v{pv.version}")
        for pv in result.unchanged:
            self.stdout.write(f"unchanged: {pv.key} v{pv.version}")
