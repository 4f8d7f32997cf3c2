# On SQLite, a change's seals, events and case notes are inserted in one statement through a view's
# trigger (resolve/audit/links_write.py says why); PostgreSQL needs none.

from django.db import migrations

from resolve.audit.links_write import view_create, view_drop


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0007_list_view_log"),
        ("challenges", "0016_queue_order_indexes"),
        ("children", "0004_list_order_indexes"),
    ]

    operations = [
        migrations.RunPython(view_create, view_drop),
    ]
