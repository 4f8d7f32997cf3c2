"""Deployment checks for the evidence: a real key outside the database, and a folder for the anchor."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register


@register(Tags.security, deploy=True)
def evidence_key_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    found: list[CheckMessage] = []
    if settings.RESOLVE_EVIDENCE_KEY_DERIVED:
        found.append(
            Warning(
                "THE EVIDENCE KEY IS DERIVED FROM SECRET_KEY: set RESOLVE_EVIDENCE_KEY or "
                "RESOLVE_EVIDENCE_KEY_FILE to a secret kept outside the database, or anyone who can "
                "read the settings can re-seal rewritten evidence.",
                id="resolve.audit.W001",
            )
        )
    if not settings.RESOLVE_EVIDENCE_ANCHOR_DIR:
        found.append(
            Warning(
                "RESOLVE_EVIDENCE_ANCHOR_DIR is not set: the evidence chains are not anchored outside "
                "the database, so deleting their newest rows with their heads goes unseen.",
                id="resolve.audit.W002",
            )
        )
    return found
