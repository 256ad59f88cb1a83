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
