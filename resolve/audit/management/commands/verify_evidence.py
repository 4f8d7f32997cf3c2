"""Recompute every evidence hash chain and name the first row of each that does not match."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from resolve.audit.verify import verify_all


class Command(BaseCommand):
    help = "Check that no event or case note was edited, removed or reordered in the database."

    def handle(self, *args: Any, **options: Any) -> None:
        breaks = list(verify_all())
        if not breaks:
            self.stdout.write(
                self.style.SUCCESS("Every evidence chain holds: nothing was edited, removed or reordered.")
            )
            return
        for found in breaks:
            self.stderr.write(f"TAMPERED {found}")
        raise CommandError(
            f"{len(breaks)} evidence chain(s) do not hold; the first bad row of each is named above."
        )
