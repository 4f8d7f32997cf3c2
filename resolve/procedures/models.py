"""Every version of every procedure Resolve has loaded, kept for good.

A challenge keeps a foreign key to the ``PolicyVersion`` it was raised under, so a later edit of the
procedure never rewrites what an earlier challenge was held to. Rows are written only by
``services.procedure_sync``; a version's document never changes after it is recorded.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from resolve.calendars.types import Nation


class PolicyVersion(models.Model):
    key = models.CharField(max_length=64, help_text="The policy's key, the same in every version.")
    version = models.PositiveIntegerField(help_text="The version the policy file declares.")
    name = models.CharField(max_length=200)
    authority = models.CharField(max_length=200)
    nation = models.CharField(max_length=32, choices=[(nation.value, nation.value) for nation in Nation])
    document = models.JSONField(help_text="The validated policy, as the schema dumps it.")
    sha256 = models.CharField(max_length=64, help_text="SHA-256 of the canonical JSON of the document.")
    loaded_at = models.DateTimeField(default=timezone.now)
    is_current = models.BooleanField(default=False, help_text="The version new challenges are raised under.")

    class Meta:
        ordering = ["key", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["key", "version"], name="policies_policyversion_key_version"),
            models.UniqueConstraint(
                fields=["key"], condition=Q(is_current=True), name="policies_policyversion_one_current"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.key} v{self.version})"
