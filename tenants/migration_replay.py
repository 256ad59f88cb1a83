"""Apply a release's migrations to many tenant schemas: migrate one the normal way, replay its SQL on
the rest.

Every tenant schema is a clone of the same template and has been migrated by the same migrations,
so two schemas with the same applied-migration records have the same tables, columns, indexes and
constraint names, and the same pending migrations compile to the same SQL (unqualified: it runs
under the schema's search_path). Building Django's migration state for a schema costs about two
seconds with 10,000 schemas present; running the compiled SQL is one transaction. So the stale
schemas are grouped by their records (a fingerprint read many schemas per statement); in each group
the first (the pilot) goes through django-tenants' executor, its plan's SQL having been collected
first (what `sqlmigrate` prints, against the pilot before it changes), and every other schema of the
group gets that SQL and the migration records in one transaction, several schemas at once on
parallel connections.

Only plans that SQL expresses exactly are replayed: a plan with a RunPython operation (its effect
depends on each schema's rows), a non-atomic migration or a backwards step sends the whole group
through the executor, schema by schema, as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.migration import Migration
from django.db.migrations.operations import RunPython, SeparateDatabaseAndState
from django.db.migrations.operations.base import Operation
from psycopg import sql

from tenants.db import tenant_connection
from tenants.migration_state import probe_migration_records

Record = tuple[str, str]  # (app label, migration name) as django_migrations holds it


@dataclass(frozen=True)
class ReplayablePlan:
    """The SQL of a migration plan and the records migrating by it writes."""

    statements: tuple[str, ...]
    records: tuple[Record, ...]


def schemas_by_records(schemas: Sequence[str]) -> dict[str, list[str]]:
    """The schemas grouped by a fingerprint of their migration records, in the order given ("" for
    schemas without a django_migrations table)."""
    fingerprints = dict(
        probe_migration_records(
            schemas, "SELECT {name}, md5(coalesce(string_agg(app || '.' || name, ',' ORDER BY app, name), '')) FROM {table}"
        )
    )
    groups: dict[str, list[str]] = {}
    for schema in schemas:
        groups.setdefault(fingerprints.get(schema, ""), []).append(schema)
    return groups


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


def _replay_all(schemas: Sequence[str], plan: ReplayablePlan) -> None:
    try:
        for schema in schemas:
            replay(schema, plan)
    finally:
        connection.close()  # this thread's own connection


def replay_in_parallel(schemas: Sequence[str], plan: ReplayablePlan, parallel: int) -> None:
    """Replay the plan on every schema, `parallel` connections at once (one thread each: the work is
    the database's). The first failure is raised once the others have stopped."""
    if not schemas:
        return
    if parallel == 1:  # this thread's connection (and transaction, if the caller has one)
        for schema in schemas:
            replay(schema, plan)
        return
    shares = [list(schemas[i::parallel]) for i in range(min(parallel, len(schemas)))]
    with ThreadPoolExecutor(max_workers=len(shares)) as pool:
        for future in [pool.submit(_replay_all, share, plan) for share in shares]:
            future.result()
