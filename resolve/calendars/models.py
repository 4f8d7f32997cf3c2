"""Days on which no working day is counted, per nation: bank holidays and an authority's closures."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models

from resolve.calendars.types import Nation
from resolve.calendars.workingdays import FIRST_YEAR, LAST_YEAR

NATION_LABELS = {
    Nation.ENGLAND_AND_WALES: "England and Wales",
    Nation.SCOTLAND: "Scotland",
    Nation.NORTHERN_IRELAND: "Northern Ireland",
}


class NonWorkingDay(models.Model):
    """One weekday (or weekend day, harmlessly) that does not count as a working day in a nation.

    Bank holidays are owned by ``calendar_seed`` and re-synchronised after every migrate; closure
    days are the administrators' and the seed never touches them.
    """

    class Kind(models.TextChoices):
        BANK_HOLIDAY = "bank_holiday", "Bank holiday"
        CLOSURE = "closure", "Closure day"

    nation = models.CharField(
        max_length=32, choices=[(nation.value, label) for nation, label in NATION_LABELS.items()]
    )
    date = models.DateField()
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.CLOSURE)
    # Lets another process notice an edit (not only an insert or delete) in its cache fingerprint.
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["nation", "date"]
        # The unique constraint's index also serves the calendar's per-nation, date-range reads.
        constraints = [
            models.UniqueConstraint(
                fields=["nation", "date"], name="calendars_nonworkingday_nation_date_unique"
            ),
        ]
        indexes = [models.Index(fields=["kind", "date"], name="calendars_nwd_kind_date_idx")]

    def __str__(self) -> str:
        return f"{self.date.isoformat()} {self.name} ({self.get_nation_display()})"

    def clean(self) -> None:
        super().clean()
        if self.date and not FIRST_YEAR <= self.date.year <= LAST_YEAR:
            raise ValidationError(
                {"date": f"Working days are counted from {FIRST_YEAR} to {LAST_YEAR}; choose a date in them."}
            )
