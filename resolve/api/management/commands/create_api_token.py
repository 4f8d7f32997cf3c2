from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from resolve.api.models import api_token_create


class Command(BaseCommand):
    help = "Print a new API token for a user; the API then acts with exactly that user's permissions."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--label", default="", help="What the token is for (shown to administrators).")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"], is_active=True).first()
        if user is None:
            raise CommandError(f"There is no active user called {options['username']!r}.")
        self.stdout.write(api_token_create(user=user, label=options["label"]))
