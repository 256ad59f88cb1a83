"""Apply a release's migrations to many tenant schemas: migrate one the normal way, replay its SQL on
the rest.

Every tenant schema is a clone of the same template and has been migrated by the same migrations,
so two schemas with the same applied-migration records have the same tables, columns, indexes and
constraint names, and the same pending migrations compile to the same SQL (unqualified: it runs
under the schema's search_path). Building Django's migration state for a schema costs about two
seconds with 10,000 schemas present; running the compiled SQL costs one round trip. So, per group of
schemas with identical records: the first (the pilot) is migrated by django-tenants' executor, the
SQL of its plan having been collected first (what `sqlmigrate` prints, against the pilot, before it
changes); every other schema of the group gets that SQL and the migration records in one
transaction.

Only plans that SQL can express exactly are replayed: a plan with a RunPython operation (its effect
depends on each schema's rows), a non-atomic migration or a backwards step is migrated schema by
schema by the executor, as before.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.management import call_command
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.migration import Migration
from django.db.migrations.operations import RunPython, SeparateDatabaseAndState
from django.db.migrations.operations.base import Operation
from psycopg import sql

from tenants.db import tenant_connection

Record = tuple[str, str]  # (app label, migration name) as django_migrations holds it


@dataclass(frozen=True)
class ReplayablePlan:
    """The SQL of a migration plan and the records migrating by it writes."""

    statements: tuple[str, ...]
    records: tuple[Record, ...]


@dataclass
class MigrationTally:
    by_executor: list[str] = field(default_factory=list)
    replayed: list[str] = field(default_factory=list)


def applied_records(schema: str) -> frozenset[Record]:
    """The schema's own migration records (none if it has no django_migrations table yet)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [f'"{schema}".django_migrations'])
        if not cursor.fetchone()[0]:
            return frozenset()
        cursor.execute(sql.SQL("SELECT app, name FROM {}").format(sql.Identifier(schema, "django_migrations")).as_string(connection.connection))
        return frozenset((app, name) for app, name in cursor.fetchall())


def _operations(operations: Iterable[Operation]) -> Iterable[Operation]:
    for operation in operations:
        yield operation
        if isinstance(operation, SeparateDatabaseAndState):
            yield from _operations(operation.database_operations)


def _replayable(plan: list[tuple[Migration, bool]]) -> bool:
    return all(
        not backwards and migration.atomic and not any(isinstance(op, RunPython) for op in _operations(migration.operations))
        for migration, backwards in plan
    )


def _records(plan: list[tuple[Migration, bool]]) -> tuple[Record, ...]:
    """What the executor records for the plan (a squashed migration records the ones it replaces)."""
    records: list[Record] = []
    for migration, _ in plan:
        records.extend(migration.replaces or [(migration.app_label, migration.name)])
    return tuple(records)


def compile_plan(schema: str) -> ReplayablePlan | None:
    """The schema's pending plan as SQL, collected against the schema as it is now; None when the
    plan cannot be replayed exactly (see the module docstring)."""
    tenant_connection().set_schema(schema)
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if not _replayable(plan):
            return None
        return ReplayablePlan(statements=tuple(executor.loader.collect_sql(plan)), records=_records(plan))
    finally:
        tenant_connection().set_schema_to_public()


def replay(schema: str, plan: ReplayablePlan) -> None:
    """Run the plan's SQL and write its records in `schema`, in one transaction."""
    with transaction.atomic(), connection.cursor() as cursor:
        path = sql.SQL("SET LOCAL search_path = {}, public").format(sql.Identifier(schema))
        cursor.execute(path.as_string(connection.connection))
        if plan.statements:
            cursor.execute("\n".join(plan.statements))
        if plan.records:
            values = ", ".join(["(%s, %s, now())"] * len(plan.records))
            cursor.execute(
                f"INSERT INTO django_migrations (app, name, applied) VALUES {values}",
                [part for record in plan.records for part in record],
            )


def migrate_schemas_by_replay(schemas: Iterable[str], verbosity: int = 0) -> MigrationTally:
    """Migrate every schema: the executor for the first of each group of identical records (and for
    plans that cannot be replayed), a replay of that schema's SQL for the rest."""
    tally = MigrationTally()
    plans: dict[frozenset[Record], ReplayablePlan | None] = {}
    for schema in schemas:
        tenant_connection().set_schema_to_public()
        applied = applied_records(schema)
        known = applied in plans
        plan = plans.get(applied)
        if known and plan is not None:
            replay(schema, plan)
            tally.replayed.append(schema)
            continue
        if not known:
            plans[applied] = compile_plan(schema)
        call_command("migrate_schemas", schema_name=schema, interactive=False, verbosity=verbosity)
        tally.by_executor.append(schema)
    tenant_connection().set_schema_to_public()
    return tally
