"""Where a SCIM request's time goes: the in-process request mix under pyinstrument, per phase.

Calls the WSGI application directly (no HTTP server, no load generator), on one tenant of a
throw-away database, so the profile holds only Rollcall's own work and its database round trips.
Prints, per phase (create, filter, PATCH, GET, delete), the mean milliseconds per request and the
pyinstrument call tree trimmed to the frames that take at least 3 % of the phase.

    python bench/profile_scim.py [--users 300] [--phase create] [--html bench/results/profile]
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from inprocess import setup_django, use_fresh_database  # noqa: E402  (bench/ is first on sys.path)

BENCH_DB = "rollcall_bench_profile"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def wsgi_caller(token: str) -> Callable[..., tuple[int, bytes]]:
    from config.wsgi import application

    def call(method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        route, _, query = path.partition("?")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method,
            "PATH_INFO": route,
            "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "HTTP_HOST": "127.0.0.1:8000",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_AUTHORIZATION": f"Bearer {token}",
            "CONTENT_TYPE": "application/scim+json",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            "SERVER_PROTOCOL": "HTTP/1.1",
        }
        status: list[str] = []
        chunks = application(environ, cast(Any, lambda s, h, e=None: status.append(s)))
        content = b"".join(chunks)
        getattr(chunks, "close", lambda: None)()
        return int(status[0].split()[0]), content

    return call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--phase", action="append", help="profile only these phases (repeatable)")
    parser.add_argument("--html", help="also write one pyinstrument HTML flame view per phase under this folder")
    args = parser.parse_args()

    use_fresh_database(BENCH_DB)
    # The profile sends a few thousand requests in seconds: far past the default rate limits.
    os.environ.setdefault("ROLLCALL_SCIM_RATE_PER_CONNECTION", "10000000")
    os.environ.setdefault("ROLLCALL_SCIM_RATE_PER_IP", "10000000")
    setup_django()
    import orjson
    from django.core.management import call_command
    from pyinstrument import Profiler

    from tenants.audit import AuditActor
    from tenants.services import create_connection, create_tenant

    call_command("rollcall_migrate", verbosity=0)
    actor = AuditActor.system("bench")
    tenant = create_tenant(name="Profile", slug="profile", actor=actor).tenant
    issued = create_connection(tenant=tenant, idp="generic", actor=actor)
    base = f"/scim/v2/{issued.connection.id}"
    call = wsgi_caller(issued.token)
    names = [f"prof{i:05d}@acme.example" for i in range(args.users)]
    ids: list[str] = []

    def create(i: int) -> tuple[int, bytes]:
        body = {"schemas": [USER], "userName": names[i], "name": {"givenName": "P", "familyName": str(i)},
                "emails": [{"value": names[i], "type": "work", "primary": True}]}
        status, content = call("POST", base + "/Users", orjson.dumps(body))
        ids.append(orjson.loads(content)["id"])
        return status, content

    phases: dict[str, Callable[[int], tuple[int, bytes]]] = {
        "create": create,
        "filter": lambda i: call("GET", base + f"/Users?filter=userName%20eq%20%22{names[i]}%22"),
        "patch": lambda i: call("PATCH", base + f"/Users/{ids[i]}", orjson.dumps(
            {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "displayName", "value": f"D {i}"}]})),
        "get": lambda i: call("GET", base + f"/Users/{ids[i]}"),
        "delete": lambda i: call("DELETE", base + f"/Users/{ids[i]}"),
    }
    # Warm-up outside the profile: a first request pays for imports, URL resolver and connection.
    warm = orjson.dumps({"schemas": [USER], "userName": "warm@acme.example"})
    for _ in range(3):
        call("GET", base + "/Users?count=1")
    call("POST", base + "/Users", warm)
    wanted = set(args.phase or phases)
    for name, step in phases.items():
        profiler = Profiler(interval=0.0005) if name in wanted else None
        if profiler:
            profiler.start()
        t0 = time.perf_counter()
        for i in range(args.users):
            status, content = step(i)
            if status >= 400:
                raise SystemExit(f"{name} #{i}: {status} {content[:200]!r}")
        elapsed = time.perf_counter() - t0
        if profiler is None:
            continue
        profiler.stop()
        print(f"\n=== {name}: {elapsed / args.users * 1000:.2f} ms per request over {args.users} requests ===")
        print(profiler.output_text(unicode=True, color=False, show_all=False, time="percent_of_total"))
        if args.html:
            out = Path(args.html)
            out.mkdir(parents=True, exist_ok=True)
            (out / f"{name}.html").write_text(profiler.output_html())


if __name__ == "__main__":
    main()
