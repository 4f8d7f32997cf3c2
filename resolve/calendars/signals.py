"""Signal receivers, connected in CalendarsConfig.ready(): thin, each calls one service."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db import connections

from resolve.calendars.models import NonWorkingDay
from resolve.calendars.services import calendar_seed, working_calendar_cache_clear


def non_working_day_changed(sender: type[NonWorkingDay], **kwargs: Any) -> None:
    working_calendar_cache_clear()


def calendar_seed_after_migrate(sender: AppConfig, *, using: str, verbosity: int = 1, **kwargs: Any) -> None:
    # Migrating to before our table existed (``migrate calendars zero``) leaves nothing to seed.
    if NonWorkingDay._meta.db_table not in connections[using].introspection.table_names():
        return
    result = calendar_seed(using=using)
    if verbosity >= 2:
        print(f"Calendar seeded: {result}")
