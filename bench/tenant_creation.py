"""Tenant-creation benchmark: median/p95 time to create one tenant with N tenants already present.

Runs against DATABASE_URL if set, else the embedded PostgreSQL. Uses a throw-away database
(rollcall_bench_tenants) so it never touches real data. Prints the figures side by side with
what running Django migrations per tenant would cost (measured on a handful of tenants).

    python bench/tenant_creation.py [--existing 1000] [--measure 50]
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

    clone_ms.sort()
    median = statistics.median(clone_ms)
    p95 = clone_ms[int(len(clone_ms) * 0.95) - 1]
    migrate_median = statistics.median(migrate_ms)
    print()
    print(f"tenants already present      : {args.existing}")
    print(f"create_tenant (template clone): median {median:.1f} ms, p95 {p95:.1f} ms, n={len(clone_ms)}")
    print(f"schema by running migrations : median {migrate_median:.1f} ms, n={len(migrate_ms)}")
    print(f"clone is {migrate_median / median:.1f}x faster; target <= 300 ms median: {'MET' if median <= 300 else 'MISSED'}")


if __name__ == "__main__":
    main()
