"""``manage.py word_template PATH``: write the built-in Word template, for an authority to restyle."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from resolve.exports.word import STYLES_USED, template_docx


class Command(BaseCommand):
    help = (
        "Write the Word documents' built-in template to PATH: restyle it in Word (its styles, header "
        "and footer), then set RESOLVE_WORD_TEMPLATE to it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="Where to write the .docx (an existing file is not replaced).")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["path"])
        if path.suffix.lower() != ".docx":
            raise CommandError(f"Name the file with .docx at the end, not {path.name!r}.")
        if path.exists():
            raise CommandError(f"{path} already exists: name a new file, or move that one first.")
        path.write_bytes(template_docx())
        self.stdout.write(
            f"Wrote {path}. Change its styles ({', '.join(STYLES_USED)}), header and footer in Word, "
            "keep its body empty, and set RESOLVE_WORD_TEMPLATE to its path."
        )
