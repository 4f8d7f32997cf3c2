"""``manage.py file_sent_forms``: file the form as sent with each stage case note that has none yet."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from resolve.exports.services import sent_forms_file


class Command(BaseCommand):
    help = "File the Challenge and Resolution form, as sent, with each stage's case note that has none yet."

    def handle(self, *args: Any, **options: Any) -> None:
        filed = sent_forms_file()
        self.stdout.write(f"Filed {filed} form{'s' if filed != 1 else ''} as sent.")
