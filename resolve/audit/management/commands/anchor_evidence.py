"""Append a signed digest of every evidence chain head to the anchor folder (the worker runs it daily)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from resolve.audit.anchor import AnchorNotConfigured, anchor_write


class Command(BaseCommand):
    help = (
        "Write the day's anchor: each evidence chain's length and last hash, signed with the evidence "
        "key, appended to a file in RESOLVE_EVIDENCE_ANCHOR_DIR that the database cannot touch."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            path = anchor_write()
        except AnchorNotConfigured as error:
            raise CommandError(str(error)) from None
        self.stdout.write(self.style.SUCCESS(f"Anchored every evidence chain head in {path}."))
