from django.db import migrations

BUILTIN_ROLES = [
    # key, name, precedence, billable
    ("viewer", "Viewer", 10, False),
    ("editor", "Editor", 20, True),
    ("admin", "Admin", 30, True),
]


def create_builtin_roles(apps, schema_editor):
    Role = apps.get_model("directory", "Role")
    for key, name, precedence, billable in BUILTIN_ROLES:
        Role.objects.update_or_create(
            key=key, defaults={"name": name, "precedence": precedence, "billable": billable, "builtin": True}
        )


class Migration(migrations.Migration):
    dependencies = [("directory", "0001_initial")]
    operations = [migrations.RunPython(create_builtin_roles, migrations.RunPython.noop)]
