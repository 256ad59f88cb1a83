"""Migrate the public schema, the tenant template schema and every tenant schema that needs it.

Tenant schemas whose own migration records already hold this release's migrations are skipped
(tenants.migration_state), so a deploy with nothing to apply is a few queries, not a second per
tenant. The others are migrated in batches by `--parallel` child processes: in each, the first schema
of a group with the same migration records goes through django-tenants' executor and the others get
its SQL replayed (tenants.migration_replay, one round trip a schema); each child migrates at most
BATCH schemas and exits, so memory stays bounded however many tenants there are (django-tenants'
forked executor grows with the tenant count, its issue #1228).
"""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from tenants.migration_replay import MigrationTally, migrate_schemas_by_replay
from tenants.migration_state import stale_schemas
from tenants.models import Tenant
from tenants.schema_clone import CLONE_FUNCTION_SQL, migrate_template

BATCH = 200  # schemas a child process migrates before it exits
MANAGE_PY = Path(__file__).resolve().parents[3] / "manage.py"


def migrate_schema_list(schemas: list[str], verbosity: int) -> MigrationTally:
    """Migrate the schemas in this process: the executor for the first of each group with the same
    migration records, a replay of its SQL for the others (tenants.migration_replay)."""
    return migrate_schemas_by_replay(schemas, verbosity)


TALLY_PREFIX = "rollcall-migrate-tally "


def _run_child(schemas: list[str], verbosity: int) -> int:
    """Migrate `schemas` in a child process; the number it replayed (the rest went through the executor)."""
    completed = subprocess.run(
        [sys.executable, str(MANAGE_PY), "rollcall_migrate", "--schemas-from-stdin", "--verbosity", str(verbosity)],
        input="\n".join(schemas).encode(),
        stdout=subprocess.PIPE,
        check=False,
    )
    replayed = 0
    for line in completed.stdout.decode(errors="replace").splitlines():
        if line.startswith(TALLY_PREFIX):
            replayed = int(line[len(TALLY_PREFIX) :])
        else:
            print(line)
    if completed.returncode != 0:
        raise CommandError(f"migrating {len(schemas)} schemas ({schemas[0]} …) failed with exit status {completed.returncode}")
    return replayed


class Command(BaseCommand):
    help = "Bring the public schema, the template schema and all tenants to the latest migrations."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--parallel", type=int, default=1, help="child processes migrating tenant schemas at once (default 1)"
        )
        parser.add_argument("--all", action="store_true", help="visit every tenant schema, even the up-to-date ones")
        parser.add_argument("--schemas-from-stdin", action="store_true", help="(internal) migrate the schemas named on stdin")

    def handle(self, *args: Any, **options: Any) -> None:
        verbosity = int(options.get("verbosity", 1))
        quiet = max(verbosity - 1, 0)
        if options["schemas_from_stdin"]:
            tally = migrate_schema_list([line.strip() for line in sys.stdin if line.strip()], quiet)
            self.stdout.write(f"{TALLY_PREFIX}{len(tally.replayed)}")
            return
        parallel = int(options["parallel"])
        if not 1 <= parallel <= 32:
            raise CommandError("--parallel must be between 1 and 32")
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=quiet)
        with connection.cursor() as cursor:
            cursor.execute(CLONE_FUNCTION_SQL)
        migrate_template(verbosity=quiet)
        started = time.perf_counter()
        schemas = list(Tenant.objects.exclude(schema_name="public").order_by("schema_name").values_list("schema_name", flat=True))
        todo = schemas if options["all"] else stale_schemas(schemas)
        replayed = self._migrate(todo, parallel, quiet)
        if verbosity:
            self.stdout.write(
                f"migrated: public, template and {len(todo)} tenant schemas ({replayed} of them by replaying"
                f" another schema's SQL; {len(schemas) - len(todo)} already up to date)"
                f" in {time.perf_counter() - started:.1f} s"
            )

    def _migrate(self, schemas: list[str], parallel: int, verbosity: int) -> int:
        """Migrate the tenant schemas; how many were replayed."""
        if not schemas:
            return 0
        if parallel == 1 and len(schemas) <= BATCH:
            return len(migrate_schema_list(schemas, verbosity).replayed)
        size = min(BATCH, -(-len(schemas) // parallel))  # every child busy, none holding more than BATCH
        batches = [schemas[i : i + size] for i in range(0, len(schemas), size)]
        connection.close()  # the children open their own; none is shared across processes
        with ThreadPoolExecutor(max_workers=parallel) as pool:
            return sum(future.result() for future in [pool.submit(_run_child, batch, verbosity) for batch in batches])
