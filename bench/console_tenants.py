"""Console tenant list benchmark: the list selector and the rendered page with 100 and 10,000 tenants.

The list reads only the public-schema rollup (tenants_tenant + tenants_tenanthealth), so the tenants
here are rows, not schemas. Each size gets its own copy of those two tables (schemas bench_small and
bench_large, indexes included), so both are measured in one run, in alternating rounds, with the
same queries, and printed side by side with the ratio 10,000 / 100 (the goal: close to 1x, and the
same number of queries per page).

Runs against DATABASE_URL if set, else the embedded PostgreSQL, in a throw-away database
(rollcall_bench_console) that is dropped and re-created each run.

    python bench/console_tenants.py [--large 10000] [--small 100] [--rounds 5] [--samples 30]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from inprocess import setup_django, timed, use_fresh_database  # noqa: E402  (bench/ is first on sys.path)

BENCH_DB = "rollcall_bench_console"

# A stand-in for the round-2 page (the design system's components come from the portal helper):
# the same work per row as the real page, a table row with a dozen formatted cells.
NEXT_PAGE = "next page by cursor (2nd / 6th)"
PAGE_TEMPLATE = """
<table><thead><tr><th>Tenant</th><th>IdP</th><th>Setup</th><th>Last request</th><th>Requests 24 h</th>
<th>Errors</th><th>Backlog</th><th>Webhooks</th><th>Users</th><th>Seats</th></tr></thead><tbody>
{% for row in page.rows %}<tr>
<td><a href="/console/tenants/{{ row.id }}/">{{ row.name }}</a> <small>{{ row.slug }}</small>
{% if row.status != "active" %}<span class="badge">{{ row.status }}</span>{% endif %}</td>
<td>{{ row.idps|join:", "|default:"-" }}{% if row.detected_idps %} ({{ row.detected_idps|join:", " }}){% endif %}</td>
<td>{{ row.setup_stage.label }}{% if row.setup_stalled %} <span class="badge">stalled</span>{% endif %}</td>
<td>{% if row.last_request_at %}{{ row.last_request_at|timesince }} ago{% else %}never{% endif %} - {{ row.cadence.text }}</td>
<td>{{ row.requests_24h|floatformat:0 }}</td>
<td>{{ row.errors_24h }} ({% widthratio row.errors_24h row.requests_24h|add:1 100 %}%)
{% if row.errors_last_hour %}<span class="badge">errors this hour</span>{% endif %}</td>
<td>{{ row.outbox_backlog }}{% if row.oldest_pending_at %}, oldest {{ row.oldest_pending_at|timesince }}{% endif %}</td>
<td>{{ row.webhooks_failed_24h }} failed, {{ row.webhooks_dead }} dead</td>
<td>{{ row.users_active }} / {{ row.users_total }}</td>
<td>{% for role, n in row.seats.items %}{{ role }} {{ n }}{% if not forloop.last %}, {% endif %}{% endfor %}</td>
</tr>{% empty %}<tr><td colspan="10">No tenants match.</td></tr>{% endfor %}
</tbody></table>
{% if page.next_cursor %}<a href="?cursor={{ page.next_cursor }}">Next</a>{% endif %}
"""


def _create(prefix: str, count: int, rng: random.Random) -> None:
    """`count` tenants with varied health figures, as the workers would have left them."""
    from django.utils import timezone

    from tenants.models import Tenant, TenantHealth

    now = timezone.now()
    idps = ["okta", "entra", "google", "onelogin", "jumpcloud", "generic"]
    for start in range(0, count, 2000):
        batch = range(start, min(start + 2000, count))
        tenants = Tenant.objects.bulk_create(
            Tenant(name=f"{prefix.title()} Company {i:05d}", slug=f"{prefix}-{i:05d}", schema_name=f"t_{prefix}_{i:05d}")
            for i in batch
        )
        health = []
        for tenant in tenants:
            requests = rng.choice([0, 0, 12, 140, 900, 4000])
            errors = int(requests * rng.choice([0, 0, 0.01, 0.2]))
            health.append(
                TenantHealth(
                    tenant=tenant,
                    refreshed_at=now,
                    idps=rng.choice(idps),
                    detected_idps=rng.choice(idps),
                    last_scim_request_at=now - timedelta(minutes=rng.randint(1, 5000)) if requests else None,
                    last_error_at=now - timedelta(minutes=rng.randint(1, 600)) if errors else None,
                    requests_24h=requests,
                    errors_24h=errors,
                    status_2xx_24h=requests - errors,
                    status_4xx_24h=errors,
                    error_rate_24h=errors / requests if requests else 0.0,
                    outbox_backlog=rng.choice([0, 0, 0, 3, 250]),
                    webhooks_dead=rng.choice([0, 0, 0, 0, 2]),
                    webhooks_failed_24h=rng.choice([0, 0, 5]),
                    users_total=rng.randint(0, 5000),
                    users_active=rng.randint(0, 4000),
                    seats={"editor": rng.randint(0, 300), "admin": rng.randint(0, 20)},
                    billable_seats=rng.randint(0, 320),
                    setup_stage=rng.choice([1, 2, 3, 4, 4, 4, 5]),
                    setup_updated_at=now - timedelta(hours=rng.randint(1, 2000)),
                )
            )
        TenantHealth.objects.bulk_create(health)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--large", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--samples", type=int, default=30)
    args = parser.parse_args()

    use_fresh_database(BENCH_DB)
    setup_django()
    from django.core.management import call_command
    from django.db import connection
    from django.template import Context, Engine

    from console.tenant_list import tenant_list
    from tenants.db import tenant_connection

    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    rng = random.Random(7)
    t0 = time.perf_counter()
    schemas = {"100": ("bench_small", args.small), "10,000": ("bench_large", args.large)}
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

    template = Engine.get_default().from_string(PAGE_TEMPLATE)

    def deep_cursor() -> str | None:
        cursor = None
        for _ in range(min(5, args.small // 50 - 1)):  # page 6 (or the last full page of the small set)
            cursor = tenant_list(cursor=cursor).next_cursor
        return cursor

    cases: dict[str, Callable[[], Any]] = {
        "first page, by name": lambda: tenant_list(),
        "filter: errors in the last hour": lambda: tenant_list(filter="errors", sort="error_rate"),
        "filter: setup stalled": lambda: tenant_list(filter="setup_stalled"),
        "filter: webhooks failing": lambda: tenant_list(filter="webhooks_failing"),
        "sort: requests 24 h": lambda: tenant_list(sort="requests"),
        "search: name contains": lambda: tenant_list(search="company 000"),
    }
    results: dict[tuple[str, str, str], list[float]] = {}
    queries: dict[tuple[str, str], int] = {}
    shown: dict[tuple[str, str], int] = {}
    for _ in range(args.rounds):
        for label, (schema, _count) in schemas.items():
            tenant_connection().set_schema(schema)
            for case, fn in cases.items():
                times, n = timed(fn, args.samples)
                results.setdefault((case, label, "selector"), []).extend(times)
                queries[(case, label)] = n
                shown[(case, label)] = len(fn().rows)

                def render(fn: Callable[[], Any] = fn) -> str:
                    return template.render(Context({"page": fn()}))

                times, _ = timed(render, args.samples)
                results.setdefault((case, label, "page"), []).extend(times)
            deep = deep_cursor()

            def deep_page(cursor: str | None = deep) -> Any:
                return tenant_list(cursor=cursor)

            times, n = timed(deep_page, args.samples)
            results.setdefault((NEXT_PAGE, label, "selector"), []).extend(times)
            queries[(NEXT_PAGE, label)] = n
            shown[(NEXT_PAGE, label)] = len(deep_page().rows)
            def render_deep(deep_page: Callable[[], Any] = deep_page) -> str:
                return template.render(Context({"page": deep_page()}))

            times, _ = timed(render_deep, args.samples)
            results.setdefault((NEXT_PAGE, label, "page"), []).extend(times)

    def med(case: str, label: str, what: str) -> float:
        return statistics.median(results[(case, label, what)])

    def p95(case: str, label: str, what: str) -> float:
        values = sorted(results[(case, label, what)])
        return values[int(len(values) * 0.95) - 1]

    print()
    print(f"median ms over {args.rounds} alternating rounds x {args.samples} samples (p95 in brackets); 50 rows per page;")
    print("selector = tenant_list(); page = tenant_list() + rendering the table of its rows;")
    print("queries and rows shown: with 100 / with 10,000 tenants")
    header = f"{'case':34} {'queries':>8} {'rows':>6} | {'selector 100':>14} {'selector 10k':>14} {'ratio':>6} | {'page 100':>14} {'page 10k':>14} {'ratio':>6}"
    print(header)
    print("-" * len(header))
    for case in [*cases, NEXT_PAGE]:
        q = f"{queries[(case, '100')]}/{queries[(case, '10,000')]}"
        rows = f"{shown[(case, '100')]}/{shown[(case, '10,000')]}"
        s_small, s_large = med(case, "100", "selector"), med(case, "10,000", "selector")
        p_small, p_large = med(case, "100", "page"), med(case, "10,000", "page")
        print(
            f"{case:34} {q:>8} {rows:>6} | {s_small:6.2f} [{p95(case, '100', 'selector'):5.2f}] {s_large:6.2f} [{p95(case, '10,000', 'selector'):5.2f}] "
            f"{s_large / s_small:5.2f}x | {p_small:6.2f} [{p95(case, '100', 'page'):5.2f}] {p_large:6.2f} [{p95(case, '10,000', 'page'):5.2f}] "
            f"{p_large / p_small:5.2f}x"
        )


if __name__ == "__main__":
    main()
