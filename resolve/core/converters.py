"""Path converters for the pages' addresses."""

from __future__ import annotations

from django.urls import register_converter

from resolve.core import limits


class RowIdConverter:
    """A row's id in an address (``<id:challenge_id>``): up to nineteen digits, and no more than the
    largest id a database column holds (``limits.ROW_ID_MOST``). A longer number is no such page
    (404), as a missing row is, instead of a number the database driver cannot take."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > limits.ROW_ID_MOST:
            raise ValueError(f"{value} is past the largest id a row can have")  # Django: no match
        return number

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(RowIdConverter, "id")
