# On SQLite, a change's deadline schedule (its removal and insert) is written in one statement through
# a view's trigger (resolve/notifications/triggers.py says why); PostgreSQL needs none.

from django.db import migrations

from resolve.notifications.triggers import schedule_create, schedule_drop


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0014_outbox_in_app_copy_trigger"),
    ]

    operations = [
        migrations.RunPython(schedule_create, schedule_drop),
    ]
