"""The outbox models moved here from the provisioning app: same tables, renamed, no data copied."""

import django.utils.timezone
from django.db import migrations, models

RENAMES = (
    "ALTER TABLE provisioning_eventcounter RENAME TO outbox_eventcounter",
    "ALTER TABLE provisioning_event RENAME TO outbox_event",
    "ALTER INDEX prov_event_pending RENAME TO outbox_event_pending",
    "ALTER INDEX prov_event_resource RENAME TO outbox_event_resource",
)
REVERSE = (
    "ALTER INDEX outbox_event_resource RENAME TO prov_event_resource",
    "ALTER INDEX outbox_event_pending RENAME TO prov_event_pending",
    "ALTER TABLE outbox_event RENAME TO provisioning_event",
    "ALTER TABLE outbox_eventcounter RENAME TO provisioning_eventcounter",
)


class Migration(migrations.Migration):
    initial = True

    dependencies = [("provisioning", "0003_pipeline")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(";".join(RENAMES), ";".join(REVERSE))],
            state_operations=[
                migrations.CreateModel(
                    name="EventCounter",
                    fields=[
                        ("id", models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False)),
                        ("value", models.BigIntegerField(default=0)),
                    ],
                ),
                migrations.CreateModel(
                    name="Event",
                    fields=[
                        ("seq", models.BigIntegerField(primary_key=True, serialize=False)),
                        ("type", models.CharField(max_length=64)),
                        ("occurred_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("actor", models.CharField(max_length=128)),
                        ("resource_type", models.CharField(blank=True, max_length=32)),
                        ("resource_id", models.CharField(blank=True, max_length=64)),
                        ("payload", models.JSONField(default=dict)),
                        ("request_id", models.CharField(blank=True, max_length=64)),
                        ("requested_at", models.DateTimeField(blank=True, null=True)),
                        ("dispatched_at", models.DateTimeField(blank=True, null=True)),
                        ("handled_at", models.DateTimeField(blank=True, null=True)),
                        ("attempts", models.PositiveIntegerField(default=0)),
                        ("last_error", models.TextField(blank=True)),
                        ("retry_at", models.DateTimeField(blank=True, null=True)),
                    ],
                    options={
                        "indexes": [
                            models.Index(
                                condition=models.Q(("handled_at__isnull", True)),
                                fields=["seq"],
                                name="outbox_event_pending",
                            ),
                            models.Index(fields=["resource_type", "resource_id"], name="outbox_event_resource"),
                        ]
                    },
                ),
            ],
        )
    ]
