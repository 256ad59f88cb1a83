"""Fast tenant schemas: migrate one template schema, clone it for every new tenant.

Running Django migrations per tenant costs seconds; cloning the migrated template is one
server-side function call. After the template is migrated, `rollcall_capture_template` writes
down the statements that rebuild it: table definitions (LIKE), copies of its seed rows (roles,
the event counter, django_migrations), identity sequence positions, then constraints and indexes
under their original names so later migrations find them. `rollcall_clone_schema` replays them
into the new schema without reading the catalog, so its cost does not grow with the number of
tenants.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management import call_command
from django.db import connection

from tenants.db import tenant_connection

CLONE_FUNCTION_SQL = r"""
CREATE TABLE IF NOT EXISTS public.rollcall_template_ddl (
    source text NOT NULL,
    ord integer NOT NULL,
    stmt text NOT NULL,
    PRIMARY KEY (source, ord)
);

-- Write down, once per template migration, every statement that rebuilds the template in another
-- schema (the destination is the placeholder __ROLLCALL_DEST__). Reading the catalog by namespace
-- means sequential scans of pg_class, which grow with every tenant; replaying stored statements
-- costs the same with 10 tenants or 10,000.
CREATE OR REPLACE FUNCTION public.rollcall_capture_template(source text) RETURNS integer
LANGUAGE plpgsql AS $fn$
DECLARE
    src oid;
    rec record;
    n integer := 0;
    qsrc text := quote_ident(source) || '.';
    dest text := '__ROLLCALL_DEST__';
    caller_path text := current_setting('search_path');
    has_rows boolean;
BEGIN
    SELECT oid INTO src FROM pg_namespace WHERE nspname = source;
    IF src IS NULL THEN
        RAISE EXCEPTION 'template schema % does not exist: run manage.py rollcall_migrate', source;
    END IF;
    DELETE FROM public.rollcall_template_ddl WHERE rollcall_template_ddl.source = rollcall_capture_template.source;
    -- With only pg_catalog on the path, catalog functions print the template's objects qualified,
    -- which lets the definitions be re-pointed at the destination by a plain replace().
    PERFORM set_config('search_path', 'pg_catalog', true);

    FOR rec IN SELECT c.relname FROM pg_class c WHERE c.relnamespace = src AND c.relkind = 'r' ORDER BY c.relname LOOP
        n := n + 1;
        INSERT INTO public.rollcall_template_ddl VALUES (source, n, format(
            'CREATE TABLE %s.%I (LIKE %I.%I INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING GENERATED INCLUDING STORAGE)',
            dest, rec.relname, source, rec.relname));
        -- Rows only where the template has some (migrations' data): most tables are empty, and a
        -- copy or a sequence reset per empty table is a third of a clone's statements for nothing.
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I.%I)', source, rec.relname) INTO has_rows;
        IF has_rows THEN
            n := n + 1;
            INSERT INTO public.rollcall_template_ddl VALUES (source, n, format(
                'INSERT INTO %s.%I OVERRIDING SYSTEM VALUE SELECT * FROM %I.%I', dest, rec.relname, source, rec.relname));
        END IF;
    END LOOP;

    FOR rec IN
        SELECT c.relname, a.attname
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        WHERE c.relnamespace = src AND c.relkind = 'r' AND a.attidentity <> '' AND NOT a.attisdropped
        ORDER BY c.relname, a.attname
    LOOP
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I.%I)', source, rec.relname) INTO has_rows;
        CONTINUE WHEN NOT has_rows;  -- a new table's identity already starts at 1
        n := n + 1;
        INSERT INTO public.rollcall_template_ddl VALUES (source, n, format(
            'SELECT setval(pg_get_serial_sequence(%L, %L), COALESCE((SELECT max(%I) FROM %s.%I), 0) + 1, false)',
            dest || '.' || quote_ident(rec.relname), rec.attname, rec.attname, dest, rec.relname));
    END LOOP;

    FOR rec IN
        SELECT cl.relname, con.conname, pg_get_constraintdef(con.oid) AS def
        FROM pg_class cl JOIN pg_constraint con ON con.conrelid = cl.oid
        WHERE cl.relnamespace = src AND cl.relkind = 'r' AND con.contype IN ('p', 'u', 'x', 'c', 'f')
        ORDER BY CASE con.contype WHEN 'p' THEN 0 WHEN 'u' THEN 1 WHEN 'x' THEN 2 WHEN 'c' THEN 3 ELSE 4 END,
                 con.conname
    LOOP
        n := n + 1;
        INSERT INTO public.rollcall_template_ddl VALUES (source, n, format(
            'ALTER TABLE %s.%I ADD CONSTRAINT %I %s', dest, rec.relname, rec.conname, replace(rec.def, qsrc, dest || '.')));
    END LOOP;

    FOR rec IN
        SELECT pg_get_indexdef(ix.indexrelid) AS def
        FROM pg_index ix JOIN pg_class ic ON ic.oid = ix.indexrelid
        WHERE ic.relnamespace = src
          AND NOT EXISTS (SELECT 1 FROM pg_constraint con
                          WHERE con.conrelid = ix.indrelid AND con.conindid = ix.indexrelid
                            AND con.contype IN ('p', 'u', 'x'))
        ORDER BY ic.relname
    LOOP
        n := n + 1;
        INSERT INTO public.rollcall_template_ddl VALUES (
            source, n, replace(rec.def, ' ON ' || qsrc, ' ON ' || dest || '.'));
    END LOOP;
    PERFORM set_config('search_path', caller_path, true);
    RETURN n;
END;
$fn$;

CREATE OR REPLACE FUNCTION public.rollcall_clone_schema(source text, dest text) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
    rec record;
    qdest text := quote_ident(dest);
BEGIN
    IF NOT EXISTS (SELECT 1 FROM public.rollcall_template_ddl d WHERE d.source = rollcall_clone_schema.source) THEN
        PERFORM public.rollcall_capture_template(source);
    END IF;
    EXECUTE format('CREATE SCHEMA %I', dest);
    -- Every stored statement names its schemas explicitly, so the caller's search_path (which
    -- Django, with TENANT_LIMIT_SET_CALLS, assumes is unchanged) is never touched.
    FOR rec IN SELECT d.stmt FROM public.rollcall_template_ddl d WHERE d.source = rollcall_clone_schema.source ORDER BY d.ord LOOP
        EXECUTE replace(rec.stmt, '__ROLLCALL_DEST__', qdest);
    END LOOP;
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
    with connection.cursor() as cursor:  # the clone replays these statements (see CLONE_FUNCTION_SQL)
        cursor.execute("SELECT public.rollcall_capture_template(%s)", [schema])


def clone_template(schema_name: str) -> None:
    """Create `schema_name` as a copy of the migrated template, in the caller's transaction."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT public.rollcall_clone_schema(%s, %s)", [template_schema(), schema_name])
