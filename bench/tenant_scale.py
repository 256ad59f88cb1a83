"""Tenants at scale: creating one tenant with N present, a deploy's migrate with nothing to apply, and
a deploy's migrate with one new column in every tenant schema.

Runs against DATABASE_URL if set, else the embedded PostgreSQL. Uses a throw-away database
(rollcall_bench_tenants) so it never touches real data. Prints, side by side in one run:
- create_tenant (template clone) median/p95 with N tenants present, vs building a schema by
  running every tenant migration (measured on a handful of schemas);
- `rollcall_migrate` over all N tenants when nothing is to apply (it skips up-to-date schemas by
  their migration records), vs django-tenants' `migrate_schemas`, which visits every schema: its
  per-schema cost is measured on a sample of up-to-date schemas and multiplied by N;
- `rollcall_migrate --parallel 2` applying a one-column release migration to every tenant schema:
  scim 0002 (`scim_requestlog.auth_failure`, an AddField) is taken back out of every schema first
  (column dropped, record deleted, untimed), so the migrate applies exactly that migration everywhere;
- SCIM latency (p50/p99, in-process) on one tenant with 12 tenants present and again with N present.

    python bench/tenant_scale.py [--existing 1000] [--measure 50] [--visit-samples 20] [--parallel 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from inprocess import setup_django, use_fresh_database  # noqa: E402  (bench/ is first on sys.path)

BENCH_DB = "rollcall_bench_tenants"


PROBE_USERS = 150  # per probe: a create, a filter hit, a PATCH and a GET for each


def scim_probe(label: str, users: int = PROBE_USERS) -> list[float]:
    """Latency (ms) of SCIM requests on one tenant through the whole Django stack, in-process.

    Same request mix each time, on a fresh tenant, so the probe with 10 tenants present and the one
    with N present differ only in how many schemas the database holds.
    """
    import json

    from django.test import Client

    from tenants.audit import AuditActor
    from tenants.services import create_connection, create_tenant

    actor = AuditActor.system("bench")
    tenant = create_tenant(name=f"Probe {label}", slug=f"probe-{label}", actor=actor).tenant
    issued = create_connection(tenant=tenant, idp="generic", actor=actor)
    base = f"/scim/v2/{issued.connection.id}"
    client = Client(HTTP_AUTHORIZATION=f"Bearer {issued.token}", HTTP_HOST="127.0.0.1")
    timings: list[float] = []

    def timed(method: str, path: str, body: object = None) -> object:
        t0 = time.perf_counter()
        kwargs = {"data": json.dumps(body), "content_type": "application/scim+json"} if body is not None else {}
        response = getattr(client, method)(base + path, **kwargs)
        timings.append((time.perf_counter() - t0) * 1000)
        if response.status_code >= 400:
            raise SystemExit(f"SCIM probe: {method.upper()} {path} answered {response.status_code}: {response.content[:200]!r}")
        return response.json() if response.content else None

    user = "urn:ietf:params:scim:schemas:core:2.0:User"
    patch = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    for i in range(users):
        name = f"probe{i:04d}@{label}.example"
        created = timed("post", "/Users", {"schemas": [user], "userName": name, "name": {"givenName": "P", "familyName": str(i)}})
        uid = created["id"]  # type: ignore[index]
        timed("get", f'/Users?filter=userName%20eq%20%22{name}%22')
        timed("patch", f"/Users/{uid}", {"schemas": [patch], "Operations": [{"op": "replace", "value": {"active": False}}]})
        timed("get", f"/Users/{uid}")
    return timings


RELEASE_MIGRATION = ("scim", "0002_requestlog_auth_failure")


def run_in_every_schema(schemas: list[str], statements: str, batch: int = 200) -> None:
    """Run `statements` ({schema} standing for each schema's name) in every schema, a batch of schemas
    per round trip (untimed set-up and clean-up)."""
    from django.db import connection

    for start in range(0, len(schemas), batch):
        with connection.cursor() as cursor:
            cursor.execute("\n".join(statements.format(schema=schema) for schema in schemas[start : start + batch]))


def unapply_release_column(schemas: list[str]) -> None:
    """Take scim 0002 back out of every schema (its column and its record), so the next migrate has
    exactly one AddField to apply everywhere."""
    app, name = RELEASE_MIGRATION
    run_in_every_schema(
        schemas,
        'ALTER TABLE "{schema}".scim_requestlog DROP COLUMN auth_failure;'
        f" DELETE FROM \"{{schema}}\".django_migrations WHERE app = '{app}' AND name = '{name}';",
    )


def nullable_column_replay(schemas: list[str], parallel: int) -> float:
    """Seconds to group the schemas and replay the SQL Django writes for a nullable AddField on all of
    them (tenants.migration_replay, what rollcall_migrate runs after its pilot); dropped afterwards."""
    from django.db import connection
    from django.db.models import CharField

    from scim_api.models import RequestLog
    from tenants.migration_replay import ReplayablePlan, replay_in_parallel, schemas_by_records

    field = CharField(max_length=32, null=True)
    field.set_attributes_from_name("bench_probe")
    with connection.schema_editor(collect_sql=True) as editor:
        editor.add_field(RequestLog, field)
    plan = ReplayablePlan(statements=tuple(editor.collected_sql), records=())
    t0 = time.perf_counter()
    schemas_by_records(schemas)
    replay_in_parallel(schemas, plan, parallel)
    seconds = time.perf_counter() - t0
    run_in_every_schema(schemas, 'ALTER TABLE "{schema}".scim_requestlog DROP COLUMN bench_probe;')
    return seconds


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--existing", type=int, default=1000)
    parser.add_argument("--measure", type=int, default=50)
    parser.add_argument("--migrate-samples", type=int, default=3)
    parser.add_argument("--visit-samples", type=int, default=20)
    parser.add_argument("--parallel", type=int, default=2, help="rollcall_migrate --parallel for the release migration")
    args = parser.parse_args()

    use_fresh_database(BENCH_DB)
    setup_django()
    from django.core.management import call_command
    from django.db import connection

    from tenants.audit import AuditActor
    from tenants.services import create_tenant

    call_command("rollcall_migrate", verbosity=0)
    for i in range(10):
        create_tenant(name=f"Small {i}", slug=f"small-{i:02d}", actor=AuditActor.system("bench"))
    scim_probe("warm-up", users=30)  # the process's first requests (imports, caches) count for neither side
    few = scim_probe("few")

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
    many = scim_probe("many")
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
    tenant_connection().set_schema_to_public()
    schemas = list(Tenant.objects.exclude(schema_name="public").values_list("schema_name", flat=True))
    unapply_release_column(schemas)
    t0 = time.perf_counter()
    call_command("rollcall_migrate", "--parallel", str(args.parallel), verbosity=1)
    release_s = time.perf_counter() - t0
    from tenants.migration_state import stale_schemas

    left = stale_schemas(schemas)
    nullable_s = nullable_column_replay(schemas, args.parallel)

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
    print(
        f"rollcall_migrate --parallel {args.parallel}, one new column in {len(schemas)} tenant schemas: {release_s:.1f} s"
        f" (target < 600 s at 10,000); schemas left stale: {len(left)}"
    )
    print(
        f"the same replay of a nullable one-column AddField (no DEFAULT) in {len(schemas)} schemas: {nullable_s:.1f} s"
        " (PostgreSQL's ADD COLUMN ... DEFAULT is what costs, see bench/README.md)"
    )
    print()
    print(f"SCIM on one tenant, {len(few)} requests in-process (create, filter, PATCH, GET per user):")
    for name, q in (("p50", 0.5), ("p99", 0.99)):
        small, large = _percentile(few, q), _percentile(many, q)
        print(f"  {name}: {small:.1f} ms with 12 tenants, {large:.1f} ms with {present} -> {large / small:.2f}x (target <= 1.2x)")


if __name__ == "__main__":
    main()
