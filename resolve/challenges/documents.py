"""Documents a stage may require, with the fields their templates ask for.

The Director's briefing follows seed 002, Appendix B ("Case Briefing for Deputy Director/DCS"). The
child's name, case number and date of birth are filled in from the child's record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from resolve.children.models import Child
from resolve.core.errors import ServiceError


@dataclass(frozen=True)
class DocumentField:
    key: str
    label: str
    required: bool = True


DIRECTORS_BRIEFING_FIELDS: tuple[DocumentField, ...] = (
    DocumentField("author", "Author, designation and team or service"),
    DocumentField("legal_status", "Legal status and dates of any orders"),
    DocumentField("parents", "Family composition: parents"),
    DocumentField("siblings", "Family composition: siblings", required=False),
    DocumentField("extended_family", "Family composition: extended family", required=False),
    DocumentField("family_address", "Family address"),
    DocumentField("other_agencies", "Other agencies involved", required=False),
    DocumentField("date_opened_to_csc", "Date opened to children's social care"),
    DocumentField("incident", "Incident leading to the briefing"),
    DocumentField("background", "Background information"),
    DocumentField("interventions", "Interventions: previous contacts, assessments and outcomes"),
    DocumentField("current_plan", "Current plan of intervention and outcomes sought"),
)


def directors_briefing_clean(*, data: Mapping[str, Any], child: Child) -> dict[str, Any]:
    """Check a Director's briefing and return it with the child's details filled in."""
    if not isinstance(data, Mapping):
        raise ServiceError(
            "invalid", "invalid_document", "The Director's briefing must be an object.", "directors_briefing"
        )
    known = {field.key for field in DIRECTORS_BRIEFING_FIELDS}
    for key in data:
        if key not in known:
            raise ServiceError(
                "invalid",
                "unknown_field",
                f"The Director's briefing has no field {key!r}; use: {', '.join(sorted(known))}.",
                f"directors_briefing.{key}",
            )
    cleaned: dict[str, Any] = {}
    for field in DIRECTORS_BRIEFING_FIELDS:
        value = data.get(field.key, "")
        if not isinstance(value, str):
            raise ServiceError(
                "invalid", "invalid_field", f"{field.label} must be text.", f"directors_briefing.{field.key}"
            )
        if field.required and not value.strip():
            raise ServiceError(
                "invalid",
                "required",
                f"Enter the Director's briefing: {field.label.lower()}.",
                f"directors_briefing.{field.key}",
            )
        cleaned[field.key] = value.strip()
    cleaned["child_name"] = child.full_name
    cleaned["case_number"] = child.case_number
    cleaned["date_of_birth"] = child.date_of_birth.isoformat()
    return cleaned


# The child's details filled in when the briefing was recorded, in the words of seed 002 Appendix B.
DIRECTORS_BRIEFING_CHILD_FIELDS: tuple[DocumentField, ...] = (
    DocumentField("child_name", "Child's name"),
    DocumentField("case_number", "Case number"),
    DocumentField("date_of_birth", "Date of birth"),
)


def directors_briefing_rows(content: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A stored Director's briefing as (label, text) rows, the child's details first, in the form's order."""
    return [
        (field.label, str(content.get(field.key, "")))
        for field in (*DIRECTORS_BRIEFING_CHILD_FIELDS, *DIRECTORS_BRIEFING_FIELDS)
    ]
