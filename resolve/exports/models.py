"""The Challenge and Resolution form as it was sent at each stage, kept beside that stage's case note.

The live form is produced on request from the record; the version sent when a challenge entered a
stage is produced once, from the evidence as it stood after that stage's event, and kept here with
its SHA-256, so that the document filed on the child's record can be shown to be the one sent.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from resolve.append_only import AppendOnlyModel


class SentForm(AppendOnlyModel):
    challenge = models.ForeignKey("challenges.Challenge", on_delete=models.PROTECT, related_name="sent_forms")
    case_note = models.OneToOneField(
        "children.CaseNote",
        on_delete=models.PROTECT,
        related_name="sent_form",
        help_text="The stage's case note.",
    )
    event_sequence = models.PositiveIntegerField(help_text="The event after which the form stood as sent.")
    stage_key = models.CharField(max_length=64)
    filename = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    content = models.BinaryField()
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["challenge", "event_sequence"]
        constraints = [
            models.UniqueConstraint(fields=["challenge", "event_sequence"], name="sent_form_event_unique")
        ]

    def __str__(self) -> str:
        return self.filename


class PackDocument(AppendOnlyModel):
    """A document uploaded for a Cafcass referral pack (a care plan, an order, a guardian's report),
    against one item of the procedure's checklist; kept as uploaded, with its SHA-256.

    The pack is a challenge's (``challenge``) or, for a referral made with no challenge (seed 000),
    that referral's (``referral``): exactly one of the two."""

    challenge = models.ForeignKey(
        "challenges.Challenge", on_delete=models.PROTECT, null=True, blank=True, related_name="pack_documents"
    )
    referral = models.ForeignKey(
        "challenges.CafcassReferral",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="pack_documents",
        help_text="A referral to Cafcass with no challenge, whose pack this document is in.",
    )
    item = models.CharField(max_length=64, help_text="The key of the procedure's Cafcass checklist item.")
    filename = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    content = models.BinaryField()
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["challenge", "referral", "item", "uploaded_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(challenge__isnull=False, referral__isnull=True)
                    | models.Q(challenge__isnull=True, referral__isnull=False)
                ),
                name="pack_document_challenge_or_referral",
            )
        ]

    def __str__(self) -> str:
        return self.filename
