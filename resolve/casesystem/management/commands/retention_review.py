"""``manage.py retention_review --user admin [--on YYYY-MM-DD]``: the records due for disposal."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from resolve.casesystem.retention import retention_review
from resolve.core.errors import ServiceError


class Command(BaseCommand):
    help = "List the children's records whose retention date has come (case numbers only), oldest first."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="The administrator asking.")
        parser.add_argument("--on", type=dt.date.fromisoformat, help="The day to review for (default today).")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["user"], is_active=True).first()
        if user is None:
            raise CommandError(f"There is no active user called {options['user']!r}.")
        try:
            due = retention_review(user=user, on=options["on"])
        except ServiceError as error:
            raise CommandError(error.message) from None
        if not due:
            self.stdout.write("No record is due for disposal.")
            return
        self.stdout.write(f"{len(due)} record(s) due for disposal:")
        for item in due:
            self.stdout.write(
                f"  {item.case_number}  kept until {item.retention_date:%-d %B %Y}  ({item.rule})"
            )
