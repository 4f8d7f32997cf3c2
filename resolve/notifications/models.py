"""What Resolve has to tell people, and when.

- ``Deadline``: the schedule. One row per moment the sweep must look at a challenge or an action
  (a reminder before a response is due, the overdue alert after it, the formal cap...). ``fire_on``
  is indexed where the row has not fired yet, so the sweep reads only what is due today.
- ``OutboxMessage``: the transactional outbox. Written in the same transaction as the change (or the
  sweep) that causes it; delivered afterwards by the worker. One row per recipient, kind and due
  date (``dedupe_key``), so a repeated sweep or a retried change never sends twice.
- ``Notification``: the in-app copy of a message, with its read state.
- ``NotificationPreference``: single emails or a daily digest, and the secret of the calendar feed.
- ``SweepLease``: who is sweeping now and until when, and when a sweep last completed.
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q


class Kind(models.TextChoices):
    STAGE_SENT = "stage_sent", "Challenge sent to you"
    STAGE_COPIED = "stage_copied", "Challenge copied to you"
    STAGE_NOTIFIED = "stage_notified", "For your information: a challenge reached a stage"
    CAFCASS_REFERRED = "cafcass_referred", "Referred to Cafcass"
    RESPONSE_RECORDED = "response_recorded", "Response recorded"
    RESPONSE_REMINDER = "response_reminder", "Response due soon"
    RESPONSE_OVERDUE = "response_overdue", "Response overdue"
    ESCALATION_PROMPT = "escalation_prompt", "Consider escalating"
    AUTO_ESCALATED = "auto_escalated", "Escalated automatically"
    CAP_WARNING = "cap_warning", "Formal process near its limit"
    CAP_PASSED = "cap_passed", "Formal process past its limit"
    ACTION_REMINDER = "action_reminder", "Action due soon"
    ACTION_OVERDUE = "action_overdue", "Action overdue"
    REOPEN_PROMPT = "reopen_prompt", "Action not delivered after resolution"
    CHALLENGE_CLOSED = "challenge_closed", "Challenge closed"
    DIGEST = "digest", "Daily digest"
    BREAK_GLASS = "break_glass", "Record opened outside a caseload (break-glass)"
    SWEEP_STALE = "sweep_stale", "Deadlines are not being checked"
    WORK_HANDED_OVER = "work_handed_over", "Work handed over to you"
    DEADLINE_EXTENDED = "deadline_extended", "Response date extended"
    AGREEMENT_REQUESTED = "agreement_requested", "Your agreement is asked (or you are told first)"
    AGREEMENT_ANSWERED = "agreement_answered", "A request for agreement was answered"
    MEETING_REQUESTED = "meeting_requested", "You are invited to a meeting"
    MEETING_MINUTES = "meeting_minutes", "Minutes of a meeting"
    MEETING_REMINDER = "meeting_reminder", "Meeting soon"
    MEETING_OVERDUE = "meeting_overdue", "Meeting minutes and actions not recorded"
    AGENCY_ASKED = "agency_asked", "A challenge sent to a partner agency's contact"
    CONCERN_FORM_REMINDER = "concern_form_reminder", "The form for a concern is due soon"
    CONCERN_FORM_OVERDUE = "concern_form_overdue", "The form for a concern is overdue"


class Deadline(models.Model):
    """A moment the sweep must act on: ``fire_on`` is the earliest day it may; the sweep re-checks."""

    class Trigger(models.TextChoices):
        RESPONSE_REMINDER = "response_reminder", "Response reminder"
        RESPONSE_OVERDUE = "response_overdue", "Response overdue"
        CAP_WARNING = "cap_warning", "Formal cap warning"
        CAP_PASSED = "cap_passed", "Formal cap passed"
        ACTION_REMINDER = "action_reminder", "Action reminder"
        ACTION_OVERDUE = "action_overdue", "Action overdue"
        REOPEN_PROMPT = "reopen_prompt", "Re-open prompt"
        MEETING_REMINDER = "meeting_reminder", "Meeting reminder"
        MEETING_OVERDUE = "meeting_overdue", "Meeting minutes overdue"

    key = models.CharField(max_length=160, unique=True)
    trigger = models.CharField(max_length=24, choices=Trigger.choices)
    challenge = models.ForeignKey("challenges.Challenge", on_delete=models.CASCADE, related_name="deadlines")
    action = models.ForeignKey(
        "challenges.Action", on_delete=models.CASCADE, null=True, blank=True, related_name="deadlines"
    )
    stage_key = models.CharField(max_length=64, blank=True)
    meeting = models.ForeignKey(
        "challenges.Meeting", on_delete=models.CASCADE, null=True, blank=True, related_name="deadlines"
    )
    due_on = models.DateField(help_text="The due date this is about.")
    fire_on = models.DateField(help_text="The earliest day the sweep acts on it.")
    fired_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=40, blank=True, help_text="What the sweep did (sent, stale...).")

    class Meta:
        ordering = ["fire_on", "id"]
        indexes = [
            # The sweep's only read: unfired rows due by today, oldest first.
            models.Index(
                fields=["fire_on", "id"], condition=Q(fired_at__isnull=True), name="deadline_unfired_due"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_trigger_display()} for challenge {self.challenge_id} on {self.fire_on}"


class OutboxMessage(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENDING = "sending", "Being sent"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (gave up)"
        HELD = "held", "Held for the daily digest"
        DIGESTED = "digested", "Sent in a digest"

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="outbox")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    dedupe_key = models.CharField(
        max_length=200, help_text="Kind, challenge or action, stage and due date: one message per recipient."
    )
    challenge = models.ForeignKey(
        "challenges.Challenge", on_delete=models.CASCADE, null=True, blank=True, related_name="outbox"
    )
    action = models.ForeignKey("challenges.Action", on_delete=models.CASCADE, null=True, blank=True)
    due_on = models.DateField(null=True, blank=True)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    link = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Which delivery claimed the row: re-checked before sending and when recording the outcome, so a
    # worker whose claim lapsed (and was recovered by another) neither sends nor overwrites.
    claim_token = models.CharField(max_length=32, blank=True, editable=False)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["recipient", "dedupe_key"], name="outbox_once_per_recipient"),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="outbox_status_next"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.recipient} ({self.status})"


class AgencyMessage(models.Model):
    """An email to someone outside Resolve, with no account: the contact at a partner agency that a
    challenge is sent to (seed 000 section 2). The outbox's own rows name a person in Resolve, so these
    have their own table, written in the change's transaction like them and delivered, claimed,
    retried and de-duplicated by the same code (``services.outbox_deliver``)."""

    Status = OutboxMessage.Status

    address = models.EmailField(max_length=200)
    kind = models.CharField(max_length=24, choices=Kind.choices, default=Kind.AGENCY_ASKED)
    dedupe_key = models.CharField(
        max_length=200, unique=True, help_text="One message per change and address."
    )
    challenge = models.ForeignKey(
        "challenges.Challenge", on_delete=models.CASCADE, related_name="agency_messages"
    )
    due_on = models.DateField(null=True, blank=True)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    status = models.CharField(max_length=10, choices=OutboxMessage.Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True, editable=False)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="agency_message_status_next")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.address} ({self.status})"


class Notification(models.Model):
    """The in-app copy of a message, read or unread."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    message = models.OneToOneField(OutboxMessage, on_delete=models.CASCADE, related_name="notification")
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "read_at"]),
            # A person's notifications page, newest first.
            models.Index(fields=["user", "-created_at", "-id"], name="notification_list_order"),
        ]

    def __str__(self) -> str:
        return f"Notification {self.message_id} for {self.user}"


def calendar_secret_digest(secret: str) -> str:
    """What is stored of a calendar feed's secret: its SHA-256, so a copy of the database opens no feed.

    The secret is 256 random bits, so an unsalted hash cannot be reversed by guessing.
    """
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def _calendar_secret() -> str:
    """The default: the digest of a secret nobody is told, so no feed opens until its owner asks for one."""
    return calendar_secret_digest(secrets.token_urlsafe(32))


class NotificationPreference(models.Model):
    class Email(models.TextChoices):
        IMMEDIATE = "immediate", "An email for each notification"
        DAILY_DIGEST = "daily_digest", "One email a day with everything"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    email = models.CharField(max_length=16, choices=Email.choices, default=Email.IMMEDIATE)
    calendar_secret = models.CharField(
        max_length=64,
        unique=True,
        default=_calendar_secret,
        help_text="The SHA-256 of the calendar feed's secret (calendar_secret_digest); never the secret.",
    )
    last_digest_on = models.DateField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Notification preferences of {self.user}"


# The name of the deadline sweep's lease row.
DEADLINE_SWEEP = "deadline_sweep"


class SweepLease(models.Model):
    """The deadline sweep's lease: one row per job (``name``), whoever holds it sweeps.

    A sweep takes the lease when it is free or expired, renews it after each batch (``heartbeat_at``,
    ``expires_at``) and frees it when it ends, recording ``last_completed_at``. A worker killed
    mid-sweep renews nothing, so its lease expires and the next sweep takes over. ``alerted_at``
    keeps the "no sweep has completed" alert to one per stale period.
    """

    name = models.CharField(max_length=40, primary_key=True)
    holder = models.CharField(max_length=64, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_completed_at = models.DateTimeField(null=True, blank=True)
    alerted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Lease {self.name} held by {self.holder or 'nobody'}"
