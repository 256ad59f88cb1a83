"""Cloned tenant schemas are structurally identical to the migrated template."""

from __future__ import annotations

import pytest
from django.db import connection

from tenants.db import tenant_connection
from tenants.schema_clone import clone_template
from tenants.services import TenantError, create_tenant
from tests.support.actors import TEST_ACTOR

pytestmark = pytest.mark.django_db

STRUCTURE_SQL = """
SELECT 'constraint', conname || ':' || pg_get_constraintdef(c.oid)
FROM pg_constraint c WHERE connamespace = %(ns)s::regnamespace AND contype <> 'n'
UNION ALL
SELECT 'index', indexname || ':' || regexp_replace(indexdef, ' ON \\S+\\.', ' ON ') FROM pg_indexes WHERE schemaname = %(ns)s
UNION ALL
SELECT 'column', table_name || '.' || column_name || ':' || data_type || ':' || is_nullable || ':' || coalesce(is_identity, '')
FROM information_schema.columns WHERE table_schema = %(ns)s
"""


def _structure(schema: str) -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL search_path TO public")
        cursor.execute(STRUCTURE_SQL, {"ns": schema})
        rows = {(kind, text.replace(f"{schema}.", "")) for kind, text in cursor.fetchall()}
    return rows


def test_clone_has_every_table_index_and_constraint_of_the_template():
    tenant = create_tenant(name="Clone", slug="clone-check", actor=TEST_ACTOR).tenant
    template = _structure("tenant_template")
    clone = _structure(tenant.schema_name)
    assert template and clone == template


def test_clone_copies_seed_rows_and_identity_sequences_continue():
    tenant = create_tenant(name="Seeds", slug="seed-check", actor=TEST_ACTOR).tenant
    tenant_connection().set_tenant(tenant)
    from django.db.migrations.recorder import MigrationRecorder

    from outbox.models import EventCounter

    assert EventCounter.objects.get(id=1).value == 0
    applied = MigrationRecorder(connection).applied_migrations()
    assert ("directory", "0002_builtin_roles") in applied
    MigrationRecorder.Migration.objects.create(app="x", name="y")  # identity sequence starts past the copies


def test_failed_creation_leaves_no_schema_behind():
    create_tenant(name="Once", slug="only-once", actor=TEST_ACTOR)
    with pytest.raises(TenantError):
        create_tenant(name="Twice", slug="only-once", actor=TEST_ACTOR)


def test_clone_gives_the_caller_its_search_path_back():
    """Django sets search_path once per tenant switch (TENANT_LIMIT_SET_CALLS): the clone must not move it."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW search_path")
        before = cursor.fetchone()[0]
        clone_template("t_search_path_check")
        cursor.execute("SHOW search_path")
        assert cursor.fetchone()[0] == before


def test_clone_replays_statements_captured_when_the_template_was_migrated():
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM public.rollcall_template_ddl WHERE source = 'tenant_template'")
        (captured,) = cursor.fetchone()
    assert captured > 20  # tables, seed copies, sequences, constraints and indexes


def test_clone_captures_the_template_itself_when_nothing_was_stored():
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM public.rollcall_template_ddl")
    tenant = create_tenant(name="Recapture", slug="recapture-check", actor=TEST_ACTOR).tenant
    assert _structure(tenant.schema_name) == _structure("tenant_template")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM public.rollcall_template_ddl WHERE source = 'tenant_template'")
        assert cursor.fetchone()[0] > 20
