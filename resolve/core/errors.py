"""The one way a service refuses a request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

RefusalKind = Literal["forbidden", "conflict", "invalid", "not_found"]


@dataclass
class ServiceError(Exception):
    """A refused request: ``kind`` is forbidden, conflict, invalid or not_found.

    ``message`` is a sentence a person can act on; ``field`` names the input at fault, when one is.
    The API answers ``invalid`` with 422, ``forbidden`` with 403, ``conflict`` with 409 and
    ``not_found`` with 404; the pages show the message beside the field.
    """

    kind: str
    code: str
    message: str
    field: str | None = None

    def __str__(self) -> str:
        return self.message
