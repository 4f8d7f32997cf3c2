"""Who looked at which record, break-glass access, and the heads of the evidence hash chains."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connections, models, router, transaction
from django.utils import timezone

from resolve.append_only import AppendOnlyModel
from resolve.audit.sealing import current_key_id, row_seal


class RowSealedModel(AppendOnlyModel):
    """A written-once row that carries its own keyed seal (``resolve.audit.sealing.row_seal``).

    For the access log and break-glass grants: written by every look at a record, they take no chain
    lock; the daily anchor records each day's count and digest, so removing rows is noticed too.
    """

    key_id = models.CharField(max_length=16, blank=True, editable=False)
    seal = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The seal covers the id. On PostgreSQL the id is taken from the table's sequence first, so the
        # row goes in sealed, in one INSERT: every look at a record writes one of these rows, and an
        # INSERT followed by an UPDATE of the same row cost a transaction and a dead row each time.
        # An id given by the caller was taken from the sequence with something else it read
        # (``resolve.access.log``: the access log's id with the break-glass grant it is logged against).
        if self._state.adding and self.seal_for_insert():
            kwargs.pop("force_insert", None)
            super().save(*args, force_insert=True, **kwargs)
            return
        with transaction.atomic():
            super().save(*args, **kwargs)  # refuses an edit
            self.key_id = current_key_id()
            self.seal = row_seal(self, self.key_id)
            # Elsewhere (SQLite) the id is known only after the insert; the base manager is the one way in.
            type(self)._base_manager.filter(pk=self.pk).update(key_id=self.key_id, seal=self.seal)

    def seal_for_insert(self) -> bool:
        """Seal a new row before its INSERT, with the id given or taken from the table's sequence where
        the database has one (PostgreSQL); False when the id is known only after the INSERT."""
        if self.pk is None and not self._reserve_id():
            return False
        self.key_id = current_key_id()
        self.seal = row_seal(self, self.key_id)
        return True

    def _reserve_id(self) -> bool:
        """Set the id from the table's sequence, where the database has one (PostgreSQL)."""
        connection = connections[router.db_for_write(type(self), instance=self)]
        if connection.vendor != "postgresql":
            return False
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s))",
                [self._meta.db_table, self._meta.pk.column],
            )
            self.pk = cursor.fetchone()[0]
        return True


class AccessLogEntry(RowSealedModel):
    """One look at a child's record or a challenge: who, what, when, from where, through what."""

    class Channel(models.TextChoices):
        PAGE = "page", "Web page"
        API = "api", "API"
        EXPORT = "export", "Export"
        CALENDAR = "calendar", "Calendar feed"
        OTHER = "other", "Other (command or script)"

    at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    child = models.ForeignKey("children.Child", on_delete=models.PROTECT, related_name="+")
    challenge = models.ForeignKey(
        "challenges.Challenge", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    method = models.CharField(max_length=10, blank=True)
    path = models.CharField(max_length=500, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    break_glass = models.ForeignKey(
        "audit.BreakGlassGrant", on_delete=models.PROTECT, null=True, blank=True, related_name="accesses"
    )

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "access log entries"
        indexes = [models.Index(fields=["child", "at"]), models.Index(fields=["user", "at"])]

    def __str__(self) -> str:
        return f"{self.user} viewed {self.child} ({self.get_channel_display()}) at {self.at:%Y-%m-%d %H:%M}"


class ListViewEntry(RowSealedModel):
    """One view of a list that showed children's names or case numbers: one row per page, not per child.

    ``children`` is the page's children as ``[id, case number]`` pairs, in the order shown, and is
    covered by the row's seal; ``ListViewChild`` indexes it by child, so that "who saw this child"
    is one query. ``verify_evidence`` checks that the index and the sealed list agree.
    """

    at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=10, choices=AccessLogEntry.Channel.choices)
    method = models.CharField(max_length=10, blank=True)
    path = models.CharField(max_length=500, blank=True, help_text="The address, with its query.")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    children = models.JSONField(default=list, help_text="[id, case number] of each child shown.")

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "list view entries"
        indexes = [models.Index(fields=["user", "at"])]

    def __str__(self) -> str:
        return (
            f"{self.user} viewed a list of {len(self.children)} children "
            f"({self.get_channel_display()}) at {self.at:%Y-%m-%d %H:%M}"
        )


class ListViewChild(AppendOnlyModel):
    """A child shown by a list view: the index of ``ListViewEntry.children``, written with it."""

    entry = models.ForeignKey(ListViewEntry, on_delete=models.PROTECT, related_name="shown")
    child = models.ForeignKey("children.Child", on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["child", "entry"], name="list_view_child_unique")]

    def __str__(self) -> str:
        return f"{self.child} in list view {self.entry_id}"


class BreakGlassGrant(RowSealedModel):
    """A person opened a child's record outside their scope, for a stated reason, for a short time.

    It gives reads only: the write chokepoints ignore it (``resolve.access.scoping``).
    """

    class ReasonCategory(models.TextChoices):
        SAFEGUARDING_EMERGENCY = "safeguarding_emergency", "An urgent safeguarding concern"
        DUTY_COVER = "duty_cover", "Duty or out-of-hours cover"
        COVERING_A_COLLEAGUE = "covering_a_colleague", "Covering for an absent colleague"
        AGENCY_REQUEST = "agency_request", "A request from the police, a court or another agency"
        OTHER = "other", "Another reason (explained below)"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="break_glass_grants"
    )
    child = models.ForeignKey("children.Child", on_delete=models.PROTECT, related_name="break_glass_grants")
    reason_category = models.CharField(max_length=30, choices=ReasonCategory.choices, default="other")
    reason = models.TextField()
    granted_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    channel = models.CharField(max_length=10, choices=AccessLogEntry.Channel.choices)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-granted_at", "-id"]
        indexes = [models.Index(fields=["user", "expires_at"])]

    def __str__(self) -> str:
        return f"Break-glass: {self.user} opened {self.child} at {self.granted_at:%Y-%m-%d %H:%M}"


class EvidenceHead(models.Model):
    """The last link of one hash chain, so that removing rows from the end of a chain is noticed too."""

    chain = models.CharField(
        max_length=80, unique=True, help_text="'challenge:<id>', 'child:<id>' or 'records:<challenge id>'."
    )
    length = models.PositiveIntegerField(default=0)
    hash = models.CharField(max_length=64, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.chain} ({self.length} links)"


class EvidenceSeal(AppendOnlyModel):
    """One link of a challenge's records chain ('records:<challenge id>'): a row as it was written.

    Each save of a challenge, a stage visit, an action, a response, a meeting, a document or a Cafcass
    referral appends the digest of the row as stored; the newest seal of each row must match it.
    """

    chain = models.CharField(max_length=80)
    sequence = models.PositiveIntegerField()
    record = models.CharField(
        max_length=60, help_text="The sealed row's model, such as 'challenges.response'."
    )
    record_id = models.BigIntegerField()
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    key_id = models.CharField(max_length=16, blank=True)
    previous_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["chain", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["chain", "sequence"], name="evidence_seal_sequence_unique")
        ]

    def __str__(self) -> str:
        return f"{self.chain} #{self.sequence}: {self.record} {self.record_id}"


class Redaction(RowSealedModel):
    """A link of an evidence chain whose personal data was removed under the retention schedule.

    The link keeps its place and its hash, so the links after it still follow it; this row, sealed
    with the evidence key, vouches for the hash the link had when its content was removed, and
    ``verify_evidence`` checks the link against it instead of against its (now removed) content.
    """

    chain = models.CharField(max_length=80)
    record = models.CharField(
        max_length=60, help_text="The redacted row's model, such as 'children.casenote'."
    )
    record_id = models.BigIntegerField()
    hash = models.CharField(max_length=64, help_text="The link's hash when its content was removed.")
    reason = models.CharField(max_length=200)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["record", "record_id"], name="redaction_once_per_row")]

    def __str__(self) -> str:
        return f"{self.record} {self.record_id} redacted"
