"""How much and what kind of input Resolve accepts: one home for every bound.

The API schemas (and so the OpenAPI document), the page forms and the services all read these, so a
limit is changed here once and documented in docs/api.md. The services check them too, so no caller
can write past them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any

from resolve.core.errors import ServiceError

# A request body larger than this is refused with 413 (``DATA_UPLOAD_MAX_MEMORY_SIZE`` reads it).
MAX_BODY_BYTES = 1_000_000
# A document uploaded for a Cafcass referral pack: the file up to 10 MB; the request has room for the
# form's other fields too.
MAX_UPLOAD_BYTES = 10_000_000
MAX_UPLOAD_BODY_BYTES = MAX_UPLOAD_BYTES + 100_000

# Free text: concerns, impacts, outcomes, reasons, comments, corrections, summaries, briefings.
MAX_TEXT = 10_000
# A person's name (first or last).
MAX_NAME = 100
# Short identifiers: usernames, procedure, stage, theme and checklist keys, an action's owner.
MAX_KEY = 200
# SMART actions agreed when raising a challenge.
MAX_ACTIONS = 50
# Themes chosen, checklist items and preconditions named in one request.
MAX_CHOICES = 50
# Children and challenges one hand-over of a leaver's work moves at once (an IRO carries 50 to 80).
MAX_HAND_OVER = 500
# Due dates in one calendar feed, the earliest first: more than a person's year of work, and within what
# a list-view access-log row may name.
MAX_CALENDAR_DATES = 2_000
# The largest id a database column holds (a 64-bit signed integer, on SQLite and PostgreSQL alike):
# an id past it is no row's, and is answered as one that does not exist, never handed to the driver.
ROW_ID_MOST = 2**63 - 1


def row_id_held(value: int) -> bool:
    """Whether a database column can hold ``value`` as an id (whether any row could have it)."""
    return -ROW_ID_MOST - 1 <= value <= ROW_ID_MOST


# Case numbers are normalised (spaces around removed, upper case) and then must match this.
# Hyphens may join groups of letters and digits ("LCS-200100"); no other punctuation, no spaces.
CASE_NUMBER_PATTERN = r"^(?=.{3,20}$)[A-Z0-9]+(?:-[A-Z0-9]+)*$"
CASE_NUMBER_MIN = 3
CASE_NUMBER_MAX = 20
_CASE_NUMBER = re.compile(CASE_NUMBER_PATTERN)
CASE_NUMBER_RULE = f"{CASE_NUMBER_MIN} to {CASE_NUMBER_MAX} letters and digits, which single hyphens may join"

# No child recorded in Resolve was born before this.
EARLIEST_DATE_OF_BIRTH = dt.date(1900, 1, 1)


def bad_character(value: str) -> str | None:
    """Why ``value`` cannot be stored faithfully (a NUL or an unpaired surrogate), or None when it can."""
    if "\x00" in value:
        return "remove the NUL character (\\u0000) from the text"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "remove the unpaired surrogate (\\ud800 to \\udfff): it is not a character"
    return None


def bad_character_in(value: Any) -> str | None:
    """``bad_character`` for text anywhere in nested lists and dicts (a JSON body, a form)."""
    if isinstance(value, str):
        return bad_character(value)
    if isinstance(value, Mapping):
        for key, item in value.items():
            problem = bad_character_in(key) or bad_character_in(item)
            if problem:
                return problem
    elif isinstance(value, list | tuple):
        for item in value:
            problem = bad_character_in(item)
            if problem:
                return problem
    return None


def case_number_normalise(value: str) -> str:
    """The case number as stored: no spaces around it, in upper case (" lcs200100 " → "LCS200100")."""
    return value.strip().upper()


def case_number_problem(value: str) -> str | None:
    """Why the (normalised) case number is not acceptable, or None."""
    if not _CASE_NUMBER.match(value):
        return f"A case number must be {CASE_NUMBER_RULE}, for example LCS200100."
    return None


def text_check(*, field: str, value: str, max_length: int = MAX_TEXT, single_line: bool = False) -> None:
    """Refuse text that is too long, holds characters no column keeps, or (for names) breaks a line."""
    problem = bad_character(value)
    if problem:
        raise ServiceError("invalid", "bad_character", f"{field}: {problem}.", field)
    if len(value) > max_length:
        raise ServiceError(
            "invalid",
            "too_long",
            f"{field}: use at most {max_length:,} characters (this has {len(value):,}).",
            field,
        )
    if single_line and ("\r" in value or "\n" in value):
        raise ServiceError("invalid", "line_break", f"{field}: keep this on one line.", field)


def texts_check(texts: Iterable[tuple[str, str | None]], *, max_length: int = MAX_TEXT) -> None:
    """``text_check`` for several (field, value) pairs; a None value is skipped."""
    for field, value in texts:
        if value is not None:
            text_check(field=field, value=value, max_length=max_length)


def count_check(*, field: str, count: int, most: int) -> None:
    if count > most:
        raise ServiceError("invalid", "too_many", f"{field}: give at most {most} (this has {count}).", field)


def date_of_birth_check(*, value: dt.date, today: dt.date) -> None:
    if value < EARLIEST_DATE_OF_BIRTH:
        raise ServiceError(
            "invalid",
            "implausible_date",
            f"The date of birth must be on or after {EARLIEST_DATE_OF_BIRTH:%-d %B %Y}.",
            "date_of_birth",
        )
    if value > today:
        raise ServiceError(
            "invalid", "date_in_future", "The date of birth cannot be in the future.", "date_of_birth"
        )
