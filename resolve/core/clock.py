"""Today, in the authority's time zone (Europe/London): the one clock every service reads."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone


def today() -> dt.date:
    return timezone.localdate()
