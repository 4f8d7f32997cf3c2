# The in-app copy of each outbox message is written by a trigger on the outbox insert
# (resolve/notifications/triggers.py says why).

from django.db import migrations

from resolve.notifications.triggers import in_app_copy_create, in_app_copy_drop


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0013_concern_form_deadline_messages"),
    ]

    operations = [
        migrations.RunPython(in_app_copy_create, in_app_copy_drop),
    ]
