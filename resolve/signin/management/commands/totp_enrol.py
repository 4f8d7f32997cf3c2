"""Give a person a TOTP device for signing in to the admin site, and print its otpauth:// URL."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from resolve.signin.services import totp_device_enrol


class Command(BaseCommand):
    help = "Enrol a TOTP device for a user; scan the printed otpauth:// URL into an authenticator app."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="Authenticator app")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"There is no user called {options['username']!r}.")
        device = totp_device_enrol(user=user, name=options["name"])
        self.stdout.write(device.config_url)
