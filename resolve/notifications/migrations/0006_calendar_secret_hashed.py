"""Store calendar feed secrets as their SHA-256 (issue 10 item 13): each existing secret is replaced by
its digest, so every address already in someone's calendar keeps working, looked up by its digest."""

from __future__ import annotations

import hashlib
from typing import Any

from django.db import migrations, models

import resolve.notifications.models


def _digest(secret: str) -> str:
    # Frozen here, not imported: this migration must hash as it did when written.
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def hash_existing(apps: Any, schema_editor: Any) -> None:
    Preference = apps.get_model("notifications", "NotificationPreference")
    for preference in Preference.objects.only("pk", "calendar_secret").iterator():
        Preference.objects.filter(pk=preference.pk).update(calendar_secret=_digest(preference.calendar_secret))


class Migration(migrations.Migration):
    dependencies = [("notifications", "0005_sweep_lease")]

    operations = [
        migrations.RunPython(hash_existing, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name="notificationpreference",
            name="calendar_secret",
            field=models.CharField(
                default=resolve.notifications.models._calendar_secret,
                help_text="The SHA-256 of the calendar feed's secret (calendar_secret_digest); never the secret.",
                max_length=64,
                unique=True,
            ),
        ),
    ]
