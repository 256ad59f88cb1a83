"""Fast tenant schemas: migrate one template schema, clone it for every new tenant.

Running Django migrations per tenant costs seconds; cloning the migrated template is one
server-side function call. `rollcall_clone_schema` copies table definitions (LIKE), their
seed rows (roles, the event counter, django_migrations), then re-creates constraints and
indexes under their original names so later migrations find them.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management import call_command
from django.db import connection

from tenants.db import tenant_connection

CLONE_FUNCTION_SQL = r"""
CREATE OR REPLACE FUNCTION public.rollcall_clone_schema(source text, dest text) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
    src oid;
    rec record;
    qsrc text := quote_ident(source) || '.';
    qdst text := quote_ident(dest) || '.';
    caller_path text := current_setting('search_path');
BEGIN
    SELECT oid INTO src FROM pg_namespace WHERE nspname = source;
    IF src IS NULL THEN
        RAISE EXCEPTION 'template schema % does not exist: run manage.py rollcall_migrate', source;
    END IF;
    EXECUTE format('CREATE SCHEMA %I', dest);
    -- Catalog functions print objects of schemas outside the search_path qualified, which
    -- lets the definitions below be re-pointed from the template to the new schema.
    PERFORM set_config('search_path', quote_ident(dest), true);

    FOR rec IN SELECT c.relname FROM pg_class c WHERE c.relnamespace = src AND c.relkind = 'r' LOOP
        EXECUTE format(
            'CREATE TABLE %I.%I (LIKE %I.%I INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING GENERATED INCLUDING STORAGE)',
            dest, rec.relname, source, rec.relname);
        EXECUTE format('INSERT INTO %I.%I OVERRIDING SYSTEM VALUE SELECT * FROM %I.%I',
            dest, rec.relname, source, rec.relname);
    END LOOP;

    FOR rec IN
        SELECT a.attrelid::regclass::text AS tbl, c.relname, a.attname
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        WHERE c.relnamespace = src AND c.relkind = 'r' AND a.attidentity <> '' AND NOT a.attisdropped
    LOOP
        EXECUTE format(
            'SELECT setval(pg_get_serial_sequence(%L, %L), COALESCE((SELECT max(%I) FROM %I.%I), 0) + 1, false)',
            qdst || quote_ident(rec.relname), rec.attname, rec.attname, dest, rec.relname);
    END LOOP;

    FOR rec IN
        SELECT cl.relname, con.conname, pg_get_constraintdef(con.oid) AS def
        FROM pg_class cl JOIN pg_constraint con ON con.conrelid = cl.oid
        WHERE cl.relnamespace = src AND cl.relkind = 'r' AND con.contype IN ('p', 'u', 'x', 'c', 'f')
        ORDER BY CASE con.contype WHEN 'p' THEN 0 WHEN 'u' THEN 1 WHEN 'x' THEN 2 WHEN 'c' THEN 3 ELSE 4 END,
                 con.conname
    LOOP
        EXECUTE format('ALTER TABLE %I.%I ADD CONSTRAINT %I %s',
            dest, rec.relname, rec.conname, replace(rec.def, qsrc, qdst));
    END LOOP;

    FOR rec IN
        SELECT pg_get_indexdef(ix.indexrelid) AS def
        FROM pg_index ix JOIN pg_class ic ON ic.oid = ix.indexrelid
        WHERE ic.relnamespace = src
          AND NOT EXISTS (SELECT 1 FROM pg_constraint con
                          WHERE con.conrelid = ix.indrelid AND con.conindid = ix.indexrelid
                            AND con.contype IN ('p', 'u', 'x'))
    LOOP
        EXECUTE replace(rec.def, ' ON ' || qsrc, ' ON ' || qdst);
    END LOOP;
    -- Give the caller its search_path back: Django (TENANT_LIMIT_SET_CALLS) assumes the path it
    -- last set is still in force for the rest of this transaction.
    PERFORM set_config('search_path', caller_path, true);
END;
$fn$;
"""


def template_schema() -> str:
    return settings.TENANT_TEMPLATE_SCHEMA


def migrate_template(verbosity: int = 0) -> None:
    """Create the template schema if needed and bring it to the latest tenant migrations."""
    schema = template_schema()
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    call_command("migrate_schemas", schema_name=schema, interactive=False, verbosity=verbosity)
    tenant_connection().set_schema_to_public()


def clone_template(schema_name: str) -> None:
    """Create `schema_name` as a copy of the migrated template, in the caller's transaction."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT public.rollcall_clone_schema(%s, %s)", [template_schema(), schema_name])
