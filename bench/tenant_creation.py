"""Tenants at scale: creating one tenant with N present, and a deploy's migrate with nothing to apply.

Runs against DATABASE_URL if set, else the embedded PostgreSQL. Uses a throw-away database
(rollcall_bench_tenants) so it never touches real data. Prints, side by side in one run:
- create_tenant (template clone) median/p95 with N tenants present, vs building a schema by
  running every tenant migration (measured on a handful of schemas);
- `rollcall_migrate` over all N tenants when nothing is to apply (it skips up-to-date schemas by
  their migration records), vs django-tenants' `migrate_schemas`, which visits every schema: its
  per-schema cost is measured on a sample of up-to-date schemas and multiplied by N.

    python bench/tenant_creation.py [--existing 1000] [--measure 50] [--visit-samples 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = "rollcall_bench_tenants"


def _prepare_database() -> None:
    import psycopg

    from config.embedded import embedded_database_url

    base = os.environ.get("DATABASE_URL") or embedded_database_url()
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    if "?" in base:
        head, _, query = base.partition("?")
        url = head.rsplit("/", 1)[0] + f"/{BENCH_DB}?{query}"
    else:
        url = base.rsplit("/", 1)[0] + f"/{BENCH_DB}"
    os.environ["DATABASE_URL"] = url


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--existing", type=int, default=1000)
    parser.add_argument("--measure", type=int, default=50)
    parser.add_argument("--migrate-samples", type=int, default=3)
    parser.add_argument("--visit-samples", type=int, default=20)
    args = parser.parse_args()

    _prepare_database()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from tenants.audit import AuditActor
    from tenants.services import create_tenant

    call_command("rollcall_migrate", verbosity=0)

    started = time.perf_counter()
    for i in range(args.existing):
        create_tenant(name=f"Existing {i}", slug=f"existing-{i:05d}", actor=AuditActor.system("bench"))
        if (i + 1) % 250 == 0:
            print(f"  {i + 1} tenants present ({time.perf_counter() - started:.0f} s)", flush=True)

    clone_ms: list[float] = []
    for i in range(args.measure):
        t0 = time.perf_counter()
        create_tenant(name=f"Measured {i}", slug=f"measured-{i:05d}", actor=AuditActor.system("bench"))
        clone_ms.append((time.perf_counter() - t0) * 1000)

    # The alternative: a schema built by running every tenant migration (django-tenants' default).
    migrate_ms: list[float] = []
    for i in range(args.migrate_samples):
        schema = f"t_migrated_{i}"
        t0 = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "{schema}"')
        call_command("migrate_schemas", schema_name=schema, interactive=False, verbosity=0)
        from tenants.db import tenant_connection

        tenant_connection().set_schema_to_public()
        migrate_ms.append((time.perf_counter() - t0) * 1000)

    from tenants.db import tenant_connection
    from tenants.models import Tenant

    tenant_connection().set_schema_to_public()
    present = Tenant.objects.exclude(schema_name="public").count()
    t0 = time.perf_counter()
    call_command("rollcall_migrate", verbosity=0)
    noop_s = time.perf_counter() - t0
    visit_ms: list[float] = []
    for schema in Tenant.objects.exclude(schema_name="public").values_list("schema_name", flat=True)[: args.visit_samples]:
        t0 = time.perf_counter()
        call_command("migrate_schemas", schema_name=schema, interactive=False, verbosity=0)
        visit_ms.append((time.perf_counter() - t0) * 1000)
        tenant_connection().set_schema_to_public()
    visit_estimate_s = statistics.median(visit_ms) * present / 1000

    clone_ms.sort()
    median = statistics.median(clone_ms)
    p95 = clone_ms[int(len(clone_ms) * 0.95) - 1]
    migrate_median = statistics.median(migrate_ms)
    print()
    print(f"tenants already present      : {args.existing}")
    print(f"create_tenant (template clone): median {median:.1f} ms, p95 {p95:.1f} ms, n={len(clone_ms)}")
    print(f"schema by running migrations : median {migrate_median:.1f} ms, n={len(migrate_ms)}")
    print(f"clone is {migrate_median / median:.1f}x faster; target <= 100 ms median: {'MET' if median <= 100 else 'MISSED'}")
    print()
    print(f"rollcall_migrate, nothing to apply, {present} tenants: {noop_s:.1f} s (target < 60 s at 10,000)")
    print(
        f"migrate_schemas visiting an up-to-date schema  : median {statistics.median(visit_ms):.0f} ms"
        f" (n={len(visit_ms)}) -> about {visit_estimate_s:.0f} s for {present} tenants"
    )
    print(f"skipping by migration records is {visit_estimate_s / noop_s:.0f}x faster")


if __name__ == "__main__":
    main()
