"""App sessions, app API tokens and offboarding records move here from the provisioning app: they are
the directory's access rules. Same tables, renamed; no data is copied."""

import django.utils.timezone
from django.db import migrations, models

TABLES = (
    ("provisioning_appsession", "directory_appsession"),
    ("provisioning_appapitoken", "directory_appapitoken"),
    ("provisioning_offboardingrecord", "directory_offboardingrecord"),
)
INDEXES = (
    ("prov_appsession_live", "dir_appsession_live"),
    ("prov_apptoken_live", "dir_apptoken_live"),
    ("prov_offboarding_user", "dir_offboarding_user"),
)
FORWARD = [f"ALTER TABLE {old} RENAME TO {new}" for old, new in TABLES] + [
    f"ALTER INDEX {old} RENAME TO {new}" for old, new in INDEXES
]
BACKWARD = [f"ALTER INDEX {new} RENAME TO {old}" for old, new in INDEXES] + [
    f"ALTER TABLE {new} RENAME TO {old}" for old, new in TABLES
]


class Migration(migrations.Migration):
    dependencies = [("directory", "0002_builtin_roles"), ("provisioning", "0003_pipeline")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(";".join(FORWARD), ";".join(BACKWARD))],
            state_operations=[
                migrations.CreateModel(
                    name="AppApiToken",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("user_id", models.UUIDField()),
                        ("name", models.CharField(blank=True, max_length=200)),
                        ("prefix", models.CharField(blank=True, max_length=16)),
                        ("digest", models.CharField(blank=True, max_length=64)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("revoked_at", models.DateTimeField(blank=True, null=True)),
                        ("revoked_reason", models.CharField(blank=True, max_length=64)),
                    ],
                    options={
                        "indexes": [
                            models.Index(
                                condition=models.Q(("revoked_at__isnull", True)),
                                fields=["user_id"],
                                name="dir_apptoken_live",
                            )
                        ]
                    },
                ),
                migrations.CreateModel(
                    name="AppSession",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("user_id", models.UUIDField()),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("last_seen_at", models.DateTimeField(blank=True, null=True)),
                        ("user_agent", models.CharField(blank=True, max_length=255)),
                        ("revoked_at", models.DateTimeField(blank=True, null=True)),
                        ("revoked_reason", models.CharField(blank=True, max_length=64)),
                    ],
                    options={
                        "indexes": [
                            models.Index(
                                condition=models.Q(("revoked_at__isnull", True)),
                                fields=["user_id"],
                                name="dir_appsession_live",
                            )
                        ]
                    },
                ),
                migrations.CreateModel(
                    name="OffboardingRecord",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("seq", models.BigIntegerField(unique=True)),
                        ("event_type", models.CharField(max_length=64)),
                        ("user_id", models.UUIDField()),
                        ("user_name", models.CharField(blank=True, max_length=512)),
                        ("requested_at", models.DateTimeField()),
                        ("completed_at", models.DateTimeField()),
                        ("latency_seconds", models.FloatField()),
                        ("sessions_revoked", models.PositiveIntegerField(default=0)),
                        ("tokens_revoked", models.PositiveIntegerField(default=0)),
                        ("grants_removed", models.PositiveIntegerField(default=0)),
                        ("agents_torn_down", models.PositiveIntegerField(default=0)),
                    ],
                    options={"indexes": [models.Index(fields=["user_id"], name="dir_offboarding_user")]},
                ),
            ],
        )
    ]
