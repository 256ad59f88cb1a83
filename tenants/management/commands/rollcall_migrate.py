"""Migrate the public schema, the tenant template schema and every tenant schema that needs it.

Tenant schemas whose own migration records already hold this release's migrations are skipped
(tenants.migration_state), so a deploy with nothing to apply is a few queries, not a second per
tenant. The others are grouped by their migration records: the first schema of a group goes through
django-tenants' executor and the others get its plan's SQL replayed, `--parallel` connections at once
(tenants.migration_replay: one transaction a schema). Schemas the executor must migrate one by one
(a data migration in the plan) go in batches to `--parallel` child processes: each migrates at most
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

from tenants.migration_replay import compile_plan, replay_in_parallel, schemas_by_records
from tenants.migration_state import stale_schemas
from tenants.models import Tenant
from tenants.schema_clone import CLONE_FUNCTION_SQL, migrate_template

BATCH = 200  # schemas a child process migrates before it exits
MANAGE_PY = Path(__file__).resolve().parents[3] / "manage.py"


def migrate_schema_list(schemas: list[str], verbosity: int) -> None:
    """Migrate each schema in this process (django-tenants' standard executor, one schema a call)."""
    for schema in schemas:
        call_command("migrate_schemas", schema_name=schema, interactive=False, verbosity=verbosity)


def _run_child(schemas: list[str], verbosity: int) -> None:
    completed = subprocess.run(
        [sys.executable, str(MANAGE_PY), "rollcall_migrate", "--schemas-from-stdin", "--verbosity", str(verbosity)],
        input="\n".join(schemas).encode(),
        check=False,
    )
    if completed.returncode != 0:
        raise CommandError(f"migrating {len(schemas)} schemas ({schemas[0]} …) failed with exit status {completed.returncode}")


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
            migrate_schema_list([line.strip() for line in sys.stdin if line.strip()], quiet)
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
        replayed = self._migrate_tenants(todo, parallel, quiet)
        if verbosity:
            self.stdout.write(
                f"migrated: public, template and {len(todo)} tenant schemas ({replayed} of them by replaying"
                f" another schema's SQL; {len(schemas) - len(todo)} already up to date)"
                f" in {time.perf_counter() - started:.1f} s"
            )

    def _migrate_tenants(self, schemas: list[str], parallel: int, verbosity: int) -> int:
        """Migrate the stale tenant schemas, replaying a pilot's SQL where it can; how many were replayed."""
        by_executor: list[str] = []
        replays = []
        for group in schemas_by_records(schemas).values():
            pilot, rest = group[0], group[1:]
            plan = compile_plan(pilot) if rest else None  # collected before the pilot changes
            by_executor.append(pilot)
            if plan is None:
                by_executor.extend(rest)
            else:
                replays.append((rest, plan))
        self._migrate_by_executor(by_executor, parallel, verbosity)
        for rest, plan in replays:
            replay_in_parallel(rest, plan, parallel)
        return sum(len(rest) for rest, _ in replays)

    def _migrate_by_executor(self, schemas: list[str], parallel: int, verbosity: int) -> None:
        if not schemas:
            return
        if parallel == 1 and len(schemas) <= BATCH:
            migrate_schema_list(schemas, verbosity)
            return
        size = min(BATCH, -(-len(schemas) // parallel))  # every child busy, none holding more than BATCH
        batches = [schemas[i : i + size] for i in range(0, len(schemas), size)]
        connection.close()  # the children open their own; none is shared across processes
        with ThreadPoolExecutor(max_workers=parallel) as pool:
            for future in [pool.submit(_run_child, batch, verbosity) for batch in batches]:
                future.result()
