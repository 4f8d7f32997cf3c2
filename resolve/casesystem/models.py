"""What Resolve keeps about its exchanges with the case system."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from resolve.casesystem.mapping import LEGAL_STATUSES
from resolve.children.models import Child


class LegalStatus(models.Model):
    """The child's legal status as the case system records it (looked after, child protection, child
    in need): it comes with the allocation in an import, and decides how long the record is kept."""

    child = models.OneToOneField(Child, on_delete=models.CASCADE, related_name="legal_status")
    status = models.CharField(max_length=20, choices=list(LEGAL_STATUSES.items()))
    # Once looked after, the record is kept as a looked-after child's (until the 75th birthday).
    was_looked_after = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "legal statuses"

    def __str__(self) -> str:
        return LEGAL_STATUSES[self.status]


class ImportRun(models.Model):
    """One import of a case system's export, dry run or applied: who ran it, on what, and its report."""

    class Outcome(models.TextChoices):
        CHECKED = "checked", "Checked (dry run)"
        APPLIED = "applied", "Applied"
        REFUSED = "refused", "Refused: nothing imported"

    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    mapping = models.CharField(max_length=200)
    files = models.CharField(max_length=2000, help_text="The files read, with their SHA-256.")
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    created = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    refused = models.PositiveIntegerField(default=0)
    report = models.TextField(help_text="Row by row: what was (or would be) created, changed or refused.")

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()}: {self.mapping}, {self.at:%d %B %Y %H:%M}"


class FootprintDelivery(models.Model):
    """One delivery of case notes to the case system's folder: the notes it carried (by id, a cursor:
    the next delivery starts after ``last_note_id``), the files written and who ran it."""

    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    first_note_id = models.PositiveBigIntegerField()
    last_note_id = models.PositiveBigIntegerField(db_index=True)
    notes = models.PositiveIntegerField()
    children = models.PositiveIntegerField()
    files = models.TextField(help_text="The files written, one a line, with their SHA-256.")

    class Meta:
        ordering = ["-last_note_id"]
        verbose_name_plural = "footprint deliveries"

    def __str__(self) -> str:
        return f"{self.notes} case notes, {self.at:%d %B %Y %H:%M}"


class ExtractRun(models.Model):
    """One run of the data warehouse's extracts, and the change cursor the next run starts from."""

    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    folder = models.CharField(max_length=500)
    full = models.BooleanField(
        default=False, help_text="Everything, not only what changed since the last run."
    )
    # The cursor: challenges changed up to this moment, events up to this id, were extracted.
    challenges_until = models.DateTimeField()
    events_until = models.PositiveBigIntegerField()
    rows = models.JSONField(default=dict, help_text="Rows written, per table.")

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"Extract {self.at:%d %B %Y %H:%M}"


class Disposal(models.Model):
    """The tombstone of a child's record whose personal data was removed under the retention schedule."""

    child = models.OneToOneField(Child, on_delete=models.PROTECT, related_name="disposal")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    retention_date = models.DateField()
    rule = models.CharField(max_length=200, help_text="The rule that set the retention date.")
    redacted = models.JSONField(default=dict, help_text="Rows whose personal data was removed, per table.")

    def __str__(self) -> str:
        return f"Record {self.child_id} disposed of on {self.at:%d %B %Y}"


class WebhookDelivery(models.Model):
    """One event to be POSTed to the authority's webhook address: a row of an outbox, retried with the
    outbox's back-off until it is accepted or the attempts run out."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (gave up)"

    event = models.OneToOneField("challenges.Event", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_status_next")]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"Event {self.event_id}: {self.status}"


class WebhookCursor(models.Model):
    """The newest event put in the webhook outbox: events before webhooks were turned on are not sent."""

    last_event_id = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Webhooks sent up to event {self.last_event_id}"
