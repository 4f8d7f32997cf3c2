"""The due-date indexes of every challenge hold what a queue asks of each row (the answer; the
procedure and stage, for "a meeting you chair"): the Director's queues check each row they walk from
the index alone, without reading the challenge.
"""

from django.db import migrations, models

HELD = ["status", "stage_due_on", "raised_on", "id", "stage_responded_on", "policy", "stage_key"]


class Migration(migrations.Migration):
    dependencies = [
        ("challenges", "0017_queue_way_indexes"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="challenge", name="challenge_unanswered_due"),
        migrations.RemoveIndex(model_name="challenge", name="challenge_answered_due"),
        *(
            migrations.AddIndex(
                model_name="challenge",
                index=models.Index(
                    condition=models.Q(("stage_responded_on__isnull", unanswered)),
                    fields=HELD,
                    name=f"challenge_{kind}_due",
                ),
            )
            for kind, unanswered in (("unanswered", True), ("answered", False))
        ),
    ]
