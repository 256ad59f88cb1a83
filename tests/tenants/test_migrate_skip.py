"""rollcall_migrate skips tenant schemas whose own records already hold this release's migrations."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import connection

from config.database import libpq_url
from tenants.migration_state import release_migrations, stale_schemas, tenant_app_labels
from tests.support.tenants import ensure_tenant


def _empty_schema(schema: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA "{schema}" CASCADE')
        cursor.execute(f'CREATE SCHEMA "{schema}"')


def _has_directory_tables(schema: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s AND table_name = 'directory_directoryuser'",
            [schema],
        )
        return bool(cursor.fetchone()[0])


def test_the_release_lists_every_tenant_app_migration_and_nothing_shared_only() -> None:
    labels = {key.split(".")[0] for key in release_migrations()}
    assert {"outbox", "directory", "provisioning"} <= labels
    assert labels <= tenant_app_labels()
    assert "tenants" not in labels  # a shared-only app's migrations never run in a tenant schema


def test_cloned_tenants_are_up_to_date(tenant_a, tenant_b) -> None:  # type: ignore[no-untyped-def]
    assert stale_schemas([tenant_a.schema_name, tenant_b.schema_name]) == []


def test_a_schema_missing_one_release_migration_is_stale_and_only_that_one(tenant_a, tenant_b) -> None:  # type: ignore[no-untyped-def]
    app, name = release_migrations()[-1].split(".", 1)
    with connection.cursor() as cursor:
        cursor.execute(f'DELETE FROM "{tenant_a.schema_name}".django_migrations WHERE app = %s AND name = %s', [app, name])
    assert stale_schemas([tenant_a.schema_name, tenant_b.schema_name]) == [tenant_a.schema_name]


def test_a_schema_without_migration_records_is_stale(tenant_a) -> None:  # type: ignore[no-untyped-def]
    _empty_schema(tenant_a.schema_name)
    assert stale_schemas([tenant_a.schema_name]) == [tenant_a.schema_name]


def test_rollcall_migrate_migrates_the_stale_schema_and_skips_the_rest(tenant_a, tenant_b) -> None:  # type: ignore[no-untyped-def]
    _empty_schema(tenant_b.schema_name)
    out = io.StringIO()
    call_command("rollcall_migrate", stdout=out)
    assert "and 1 tenant schemas" in out.getvalue()
    assert _has_directory_tables(tenant_b.schema_name)
    assert stale_schemas([tenant_a.schema_name, tenant_b.schema_name]) == []


@pytest.mark.django_db(transaction=True)
def test_parallel_children_migrate_stale_schemas_in_their_own_processes(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    stale = [ensure_tenant(f"mig{n}", f"Migrate {n}") for n in range(2)]
    for tenant in stale:
        _empty_schema(tenant.schema_name)
    monkeypatch.setenv("DATABASE_URL", libpq_url(connection.settings_dict))
    out = io.StringIO()
    call_command("rollcall_migrate", "--parallel", "2", stdout=out)
    assert all(_has_directory_tables(t.schema_name) for t in stale)
    assert stale_schemas([t.schema_name for t in stale]) == []
    assert "and 2 tenant schemas" in out.getvalue()


def test_parallel_out_of_range_is_refused() -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--parallel"):
        call_command("rollcall_migrate", "--parallel", "0")


REQUEST_LOG_COLUMN = ("scim", "0002_requestlog_auth_failure", "scim_requestlog", "auth_failure")


def _unapply_request_log_column(schema: str) -> None:
    """Put the schema back where the release before scim 0002 left it: no column, no record."""
    app, name, table, column = REQUEST_LOG_COLUMN
    with connection.cursor() as cursor:
        cursor.execute(f'ALTER TABLE "{schema}".{table} DROP COLUMN {column}')
        cursor.execute(f'DELETE FROM "{schema}".django_migrations WHERE app = %s AND name = %s', [app, name])


def _columns(schema: str, table: str) -> list[tuple[str, str, str | None]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, data_type, column_default FROM information_schema.columns"
            " WHERE table_schema = %s AND table_name = %s ORDER BY column_name",
            [schema, table],
        )
        return list(cursor.fetchall())


def test_a_release_migration_is_replayed_on_schemas_with_the_same_records(tenant_a, tenant_b) -> None:  # type: ignore[no-untyped-def]
    reference = _columns(tenant_a.schema_name, "scim_requestlog")
    for tenant in (tenant_a, tenant_b):
        _unapply_request_log_column(tenant.schema_name)
    out = io.StringIO()
    call_command("rollcall_migrate", stdout=out)
    assert "and 2 tenant schemas (1 of them by replaying" in out.getvalue()
    for tenant in (tenant_a, tenant_b):  # the executor's schema and the replayed one end up alike
        assert _columns(tenant.schema_name, "scim_requestlog") == reference
    assert stale_schemas([tenant_a.schema_name, tenant_b.schema_name]) == []
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT count(*) FROM "{tenant_b.schema_name}".django_migrations WHERE app = %s AND name = %s',
            REQUEST_LOG_COLUMN[:2],
        )
        assert cursor.fetchone()[0] == 1  # recorded once, like the executor records it


def test_only_plans_sql_expresses_exactly_are_replayed() -> None:
    from django.db import migrations, models

    from tenants.migration_replay import _replayable

    def migration(*operations, atomic: bool = True):  # type: ignore[no-untyped-def]
        probe = type("Migration", (migrations.Migration,), {"operations": list(operations), "atomic": atomic})
        return probe("0099_probe", "scim")

    add = migrations.AddField("requestlog", "probe", models.CharField(max_length=8, default=""))
    data = migrations.RunPython(migrations.RunPython.noop)
    assert _replayable([(migration(add), False)])
    assert not _replayable([(migration(add, data), False)])  # a data step depends on each schema's rows
    assert not _replayable([(migration(migrations.SeparateDatabaseAndState(database_operations=[data])), False)])
    assert not _replayable([(migration(add, atomic=False), False)])
    assert not _replayable([(migration(add), True)])  # backwards


@pytest.mark.django_db(transaction=True)
def test_parallel_replays_run_on_their_own_connections(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    tenants = [ensure_tenant(f"rep{n}", f"Replay {n}") for n in range(3)]
    reference = _columns(tenants[0].schema_name, "scim_requestlog")
    for tenant in tenants:
        _unapply_request_log_column(tenant.schema_name)
    monkeypatch.setenv("DATABASE_URL", libpq_url(connection.settings_dict))
    out = io.StringIO()
    call_command("rollcall_migrate", "--parallel", "2", stdout=out)
    assert "(2 of them by replaying" in out.getvalue()
    assert all(_columns(t.schema_name, "scim_requestlog") == reference for t in tenants)
    assert stale_schemas([t.schema_name for t in tenants]) == []
