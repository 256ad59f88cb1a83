"""Migrate the public schema, the tenant template schema and every tenant schema."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection

from tenants.schema_clone import CLONE_FUNCTION_SQL, migrate_template


class Command(BaseCommand):
    help = "Bring the public schema, the template schema and all tenants to the latest migrations."

    def handle(self, *args: Any, **options: Any) -> None:
        verbosity = int(options.get("verbosity", 1))
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=max(verbosity - 1, 0))
        with connection.cursor() as cursor:
            cursor.execute(CLONE_FUNCTION_SQL)
        migrate_template(verbosity=max(verbosity - 1, 0))
        call_command("migrate_schemas", tenant=True, interactive=False, verbosity=max(verbosity - 1, 0))
        if verbosity:
            self.stdout.write("migrated: public, template and tenant schemas")
