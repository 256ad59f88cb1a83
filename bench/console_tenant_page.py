"""Console tenant list page benchmark: /console/ rendered through Django's test Client (every
middleware, the operator's session and 2FA check, the real view and template) with 100 and with
10,000 tenants' rollup rows, side by side in one run.

Seeding and the two table copies (schemas bench_small and bench_large) are bench/console_tenants.py's:
the page reads only tenants_tenant + tenants_tenanthealth, so each size gets its own copy of those two
tables and the search path picks one; operator, session and user rows stay in public.

    python bench/console_tenant_page.py [--large 10000] [--small 100] [--rounds 5] [--samples 20]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The seeding of bench/console_tenants.py (this script's directory is first on sys.path).
from console_tenants import BENCH_DB, _create  # noqa: E402
from inprocess import setup_django, use_fresh_database  # noqa: E402

CASES = {
    "first page, by name": "/console/",
    "filter: errors in the last hour": "/console/?filter=errors&sort=error_rate",
    "filter: setup stalled": "/console/?filter=setup_stalled",
    "sort: requests 24 h": "/console/?sort=requests",
    "search: name contains": "/console/?q=company+000",
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--large", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--samples", type=int, default=20)
    args = parser.parse_args()

    use_fresh_database(BENCH_DB)
    setup_django()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tenants.db import tenant_connection
    from tenants.models import Operator
    from tests.console.pages_support import make_operator

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    client = make_operator(Operator.Role.SUPPORT, name="bench").client

    rng = random.Random(7)
    t0 = time.perf_counter()
    small_label, large_label = f"{args.small:,}", f"{args.large:,}"
    schemas = {small_label: ("bench_small", args.small), large_label: ("bench_large", args.large)}
    for schema, count in schemas.values():
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE SCHEMA {schema}")
            for table in ("tenants_tenant", "tenants_tenanthealth"):
                cursor.execute(f"CREATE TABLE {schema}.{table} (LIKE public.{table} INCLUDING ALL)")
        tenant_connection().set_schema(schema)
        _create(schema.removeprefix("bench_"), count, rng)
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {schema}.tenants_tenant; ANALYZE {schema}.tenants_tenanthealth")
    print(f"created {args.small} + {args.large} tenant rows in {time.perf_counter() - t0:.1f} s")

    times: dict[tuple[str, str], list[float]] = {}
    queries: dict[tuple[str, str], int] = {}
    shown: dict[tuple[str, str], int] = {}
    for _ in range(args.rounds):
        for label, (schema, _count) in schemas.items():
            tenant_connection().set_schema(schema)
            for case, url in CASES.items():
                with CaptureQueriesContext(connection) as captured:
                    response = client.get(url)
                assert response.status_code == 200, (url, response.status_code)
                assert b"That list could not be shown" not in response.content
                assert schema.removeprefix("bench_").title().encode() + b" Company" in response.content  # this size's rows
                shown[(case, label)] = response.content.count(b'class="strong-link"')
                queries[(case, label)] = len([q for q in captured.captured_queries if not q["sql"].startswith("SET search_path")])
                for _sample in range(args.samples):
                    started = time.perf_counter()
                    client.get(url)
                    times.setdefault((case, label), []).append((time.perf_counter() - started) * 1000)
    tenant_connection().set_schema_to_public()

    print()
    print("queries and rows per page: with the small / the large set (SET search_path left out)")
    print(f"GET through the test Client, median ms over {args.rounds} alternating rounds x {args.samples} samples; 50 rows a page")
    header = f"{'page':34} {'queries':>8} {'rows':>6} | {small_label + ' tenants':>15} {large_label + ' tenants':>15} {'ratio':>7}"
    print(header)
    print("-" * len(header))
    for case in CASES:
        small, large = statistics.median(times[(case, small_label)]), statistics.median(times[(case, large_label)])
        q = f"{queries[(case, small_label)]}/{queries[(case, large_label)]}"
        rows = f"{shown[(case, small_label)]}/{shown[(case, large_label)]}"
        print(f"{case:34} {q:>8} {rows:>6} | {small:15.2f} {large:15.2f} {large / small:6.2f}x")


if __name__ == "__main__":
    main()
