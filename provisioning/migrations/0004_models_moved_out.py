"""Event and EventCounter now belong to the outbox app, app sessions, app tokens and offboarding
records to the directory app (their migrations renamed the tables); forget them here."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("provisioning", "0003_pipeline"),
        ("outbox", "0001_initial"),
        ("directory", "0003_access_models"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="Event"),
                migrations.DeleteModel(name="EventCounter"),
                migrations.DeleteModel(name="AppSession"),
                migrations.DeleteModel(name="AppApiToken"),
                migrations.DeleteModel(name="OffboardingRecord"),
            ]
        )
    ]
