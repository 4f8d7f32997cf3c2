"""A team's and a chair's due-date indexes for the home page's queues ("your team's challenges", "needs
your decision", "waiting on others"), and a challenge's stage rows indexed with the person and the
kind: whether a challenge waits on someone is then read from the index alone.

The foreign key's own index on ``challenge`` gives way to ``stage_wait_challenge_person``, which
leads with the same column. Dropped by name, not by altering the field: on SQLite, Django would
rebuild the table to change ``db_index``, and the table is written only by the triggers of
``0015_stage_waits_kept_by_triggers``.
"""

import django.db.models.deletion
from django.db import migrations, models

CHALLENGE_INDEX = "challenges_stagewait_challenge_id_43843f21"


class Migration(migrations.Migration):
    dependencies = [
        ("challenges", "0016_queue_order_indexes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="stagewait",
            index=models.Index(
                fields=["challenge", "username", "how", "answered"], name="stage_wait_challenge_person"
            ),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="stagewait",
                    name="challenge",
                    field=models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="challenges.challenge",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX "{CHALLENGE_INDEX}"',
                    reverse_sql=f'CREATE INDEX "{CHALLENGE_INDEX}" ON "challenges_stagewait" ("challenge_id")',
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="challenge",
            index=models.Index(
                condition=models.Q(("stage_responded_on__isnull", True)),
                fields=["team", "status", "stage_due_on", "raised_on", "id", "stage_responded_on"],
                name="challenge_team_unanswered_due",
            ),
        ),
        migrations.AddIndex(
            model_name="challenge",
            index=models.Index(
                condition=models.Q(("stage_responded_on__isnull", False)),
                fields=["team", "status", "stage_due_on", "raised_on", "id", "stage_responded_on"],
                name="challenge_team_answered_due",
            ),
        ),
        migrations.AddIndex(
            model_name="challenge",
            index=models.Index(
                fields=[
                    "iro",
                    "status",
                    "stage_due_on",
                    "raised_on",
                    "id",
                    "stage_responded_on",
                    "track",
                    "formal_due_on",
                ],
                name="challenge_iro_unanswered_due",
                condition=models.Q(stage_responded_on__isnull=True),
            ),
        ),
        migrations.AddIndex(
            model_name="challenge",
            index=models.Index(
                fields=[
                    "iro",
                    "status",
                    "stage_due_on",
                    "raised_on",
                    "id",
                    "stage_responded_on",
                    "track",
                    "formal_due_on",
                ],
                name="challenge_iro_answered_due",
                condition=models.Q(stage_responded_on__isnull=False),
            ),
        ),
        migrations.AddIndex(
            model_name="challenge",
            index=models.Index(
                fields=[
                    "cp_chair",
                    "status",
                    "stage_due_on",
                    "raised_on",
                    "id",
                    "stage_responded_on",
                    "track",
                    "formal_due_on",
                ],
                name="challenge_cpc_unanswered_due",
                condition=models.Q(stage_responded_on__isnull=True),
            ),
        ),
        migrations.AddIndex(
            model_name="challenge",
            index=models.Index(
                fields=[
                    "cp_chair",
                    "status",
                    "stage_due_on",
                    "raised_on",
                    "id",
                    "stage_responded_on",
                    "track",
                    "formal_due_on",
                ],
                name="challenge_cpc_answered_due",
                condition=models.Q(stage_responded_on__isnull=False),
            ),
        ),
    ]
