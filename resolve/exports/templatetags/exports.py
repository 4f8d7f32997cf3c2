"""The "Download" sections of the challenge and child pages: ``{% challenge_downloads challenge %}``
and ``{% child_downloads child %}``, given a record the page has already found through the chokepoint."""

from __future__ import annotations

from typing import Any

from django import template

from resolve.challenges.models import Challenge
from resolve.children.models import Child
from resolve.exports.selectors import sent_form_rows
from resolve.procedures.selectors import procedure_version_model

register = template.Library()


@register.inclusion_tag("exports/_challenge_downloads.html")
def challenge_downloads(challenge: Challenge) -> dict[str, Any]:
    return {
        "challenge": challenge,
        "sent_forms": sent_form_rows(challenge=challenge),
        "has_briefing": any(d.kind == "directors_briefing" for d in challenge.document_records.all()),
        # Regulation 45: a looked-after child's case, where the procedure lets this track refer.
        "can_refer": challenge.track in procedure_version_model(challenge.policy).cafcass.tracks,
    }


@register.inclusion_tag("exports/_child_downloads.html")
def child_downloads(child: Child) -> dict[str, Any]:
    return {"child": child}
