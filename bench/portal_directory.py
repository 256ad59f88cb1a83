"""Portal directory benchmark: the People list (directory.listing.user_page) at 1,000 and 100,000 users.

Two real tenants (schemas cloned from the template) in a throw-away database (rollcall_bench_portal,
dropped and re-created each run): one with 1,000 users, one with 100,000. Users, role grants and
memberships are inserted in bulk (this measures reading, not provisioning). Every case runs against
both tenants in alternating rounds and prints the medians side by side with the ratio 100k / 1k: the
goal is close to 1x for every page (keyset paging: page 40 costs what page 1 costs) and the same
number of queries.

    python bench/portal_directory.py [--small 1000] [--large 100000] [--rounds 5] [--samples 20]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from inprocess import setup_django, timed, use_fresh_database  # noqa: E402  (bench/ is first on sys.path)

BENCH_DB = "rollcall_bench_portal"
DEPARTMENTS = ("Engineering", "Sales", "Finance", "Support", "Marketing")


def _populate(count: int, rng: random.Random) -> dict[str, Any]:
    """`count` people (5 % deactivated) over two connections, grants by group, 20 groups."""
    from django.db import transaction
    from django.utils import timezone

    from directory.models import DirectoryGroup, DirectoryUser, Membership, Role, RoleGrant

    now = timezone.now()
    roles = {r.key: r for r in Role.objects.all()}
    groups = DirectoryGroup.objects.bulk_create(
        DirectoryGroup(display_name=f"Team {g:02d}", resource={"displayName": f"Team {g:02d}"}) for g in range(20)
    )
    with transaction.atomic():
        for start in range(0, count, 5000):
            users = []
            for n in range(start, min(start + 5000, count)):
                name = f"person{n:06d}"
                users.append(
                    DirectoryUser(
                        id=uuid.uuid4(),
                        user_name=f"{name}@bench.example",
                        email=f"{name}@bench.example",
                        given_name="Person",
                        family_name=f"{n:06d}",
                        display_name=f"Person {n:06d}",
                        department=DEPARTMENTS[n % len(DEPARTMENTS)],
                        active=rng.random() > 0.05,
                        created=now - timedelta(seconds=count - n),
                        source_connection_id="conn-a" if n % 3 else "conn-b",
                        resource={"userName": f"{name}@bench.example"},
                    )
                )
            DirectoryUser.objects.bulk_create(users)
            Membership.objects.bulk_create(Membership(group=groups[i % 20], user=u) for i, u in enumerate(users))
            RoleGrant.objects.bulk_create(
                RoleGrant(user=u, role=roles["editor" if i % 10 else "admin"], source=f"group:{groups[i % 20].pk}")
                for i, u in enumerate(users)
                if u.active
            )
    return {"group": groups[3].pk}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--samples", type=int, default=20)
    args = parser.parse_args()

    use_fresh_database(BENCH_DB)
    setup_django()
    from django.core.management import call_command
    from django.db import connection

    from directory.listing import NO_ROLE, UserFilter, user_page
    from tenants.audit import AuditActor
    from tenants.context import tenant_schema
    from tenants.schema_clone import CLONE_FUNCTION_SQL, migrate_template
    from tenants.services import create_tenant

    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(CLONE_FUNCTION_SQL)
    migrate_template()
    actor = AuditActor.system("bench")
    rng = random.Random(11)
    sizes = {"1k": args.small, "100k": args.large}
    tenants: dict[str, Any] = {}
    extras: dict[str, dict[str, Any]] = {}
    t0 = time.perf_counter()
    for label, count in sizes.items():
        tenant = create_tenant(name=f"Bench {label}", slug=f"bench-{label}", actor=actor).tenant
        tenants[label] = tenant
        with tenant_schema(tenant):
            extras[label] = _populate(count, rng)
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
    print(f"created {args.small:,} + {args.large:,} users in {time.perf_counter() - t0:.1f} s")

    def cursor_of_page(n: int) -> str:
        cursor = ""
        for _ in range(n - 1):
            cursor = user_page(UserFilter(), cursor=cursor).next_cursor
        return cursor

    def cases(label: str) -> dict[str, Callable[[], Any]]:
        deep = cursor_of_page(20)
        return {
            "first page": lambda: user_page(UserFilter()),
            "page 20 by cursor": lambda: user_page(UserFilter(), cursor=deep),
            "role: admins": lambda: user_page(UserFilter(role="admin")),
            "no role": lambda: user_page(UserFilter(role=NO_ROLE)),
            "deactivated": lambda: user_page(UserFilter(active=False)),
            "member of a group": lambda: user_page(UserFilter(group_id=extras[label]["group"])),
            "one connection": lambda: user_page(UserFilter(connection_id="conn-b")),
            "search: rare prefix": lambda: user_page(UserFilter(q="person00042")),
            "search: common prefix": lambda: user_page(UserFilter(q="person")),
        }

    results: dict[tuple[str, str], list[float]] = {}
    queries: dict[tuple[str, str], int] = {}
    shown: dict[tuple[str, str], int] = {}
    for _ in range(args.rounds):
        for label, tenant in tenants.items():
            with tenant_schema(tenant):
                for case, fn in cases(label).items():
                    times, n = timed(fn, args.samples)
                    results.setdefault((case, label), []).extend(times)
                    queries[(case, label)] = n
                    shown[(case, label)] = len(fn().rows)

    print()
    print(f"median ms over {args.rounds} alternating rounds x {args.samples} samples (p95 in brackets); 50 rows a page,")
    print("each page = the rows with their grants + a count capped at 10,001; queries and rows: 1k / 100k users")
    header = f"{'case':24} {'queries':>8} {'rows':>7} | {'1k users':>15} {'100k users':>15} {'ratio':>7}"
    print(header)
    print("-" * len(header))
    for case in dict.fromkeys(c for c, _ in results):
        small, large = results[(case, "1k")], results[(case, "100k")]
        p95 = lambda v: sorted(v)[int(len(v) * 0.95) - 1]  # noqa: E731
        ms, ml = statistics.median(small), statistics.median(large)
        print(
            f"{case:24} {queries[(case, '1k')]}/{queries[(case, '100k')]:<6} {shown[(case, '1k')]}/{shown[(case, '100k')]:<4} | "
            f"{ms:6.2f} [{p95(small):6.2f}] {ml:6.2f} [{p95(large):6.2f}] {ml / ms:6.2f}x"
        )


if __name__ == "__main__":
    main()
