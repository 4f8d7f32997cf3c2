"""The child's record: who the child is, who works with them, and the case notes written on it."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from resolve.append_only import AppendOnlyModel
from resolve.audit.chain import case_note_fields, sealed_insert
from resolve.people.models import Team


class Child(models.Model):
    case_number = models.CharField(
        max_length=40, unique=True, help_text="The child's number in the case system (LCS/ICS number)."
    )
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    social_worker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="children_allocated"
    )
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="children")
    iro = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children_as_iro",
        verbose_name="IRO",
    )
    cp_chair = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children_as_cp_chair",
        verbose_name="CP Chair",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["last_name", "first_name"]
        verbose_name_plural = "children"
        # The children list's order: read a page from the index, not sorted from every child.
        indexes = [models.Index(fields=["last_name", "first_name", "id"], name="child_list_order")]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.case_number})"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def initials(self) -> str:
        """Initials such as "A.J." (Amelia Jones), for places where the full name must not go."""
        return "".join(
            f"{name.strip()[0].upper()}." for name in (self.first_name, self.last_name) if name.strip()
        )


class CaseNote(AppendOnlyModel):
    """A typed, dated, authored note on the child's record.

    A correction is a new note that refers to this one; the original stays as it was.
    """

    child = models.ForeignKey(Child, on_delete=models.PROTECT, related_name="case_notes")
    challenge = models.ForeignKey(
        "challenges.Challenge", on_delete=models.PROTECT, null=True, blank=True, related_name="case_notes"
    )
    note_type = models.CharField(max_length=200)
    body = models.TextField()
    on = models.DateField(help_text="When what the note records happened.")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    corrects = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="corrections"
    )
    # Set before the insert (not auto_now_add) so that the hash can cover it.
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # The child's evidence hash chain (resolve/audit/chain.py): HMAC of its fields and previous_hash.
    previous_hash = models.CharField(max_length=64, blank=True, editable=False)
    hash = models.CharField(max_length=64, blank=True, editable=False)
    key_id = models.CharField(max_length=16, blank=True, editable=False, help_text="The key that sealed it.")

    class Meta:
        ordering = ["on", "id"]
        indexes = [models.Index(fields=["child", "on"])]

    @property
    def evidence_chain(self) -> str:
        return f"child:{self.child_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            super().save(*args, **kwargs)  # refused: evidence is never edited
            return
        sealed_insert(
            self,
            chain=self.evidence_chain,
            fields=case_note_fields,
            save=lambda: super(CaseNote, self).save(*args, **kwargs),
        )

    def __str__(self) -> str:
        return f"{self.note_type} ({self.on:%d %B %Y})"
