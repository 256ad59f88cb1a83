"""HTTP server choice, measured: slow-client resilience and SCIM throughput, servers side by side.

Every candidate serves the same Rollcall app (config.wsgi, or config.asgi for uvicorn) with the
argv built by config.webserver (the one launcher `make run`, compose and bench share), 2 worker
processes x 4 threads, on the same database, with a Celery prefork worker running. Per server:

  slow clients  for each attack, HOLD sockets are opened and held for --hold seconds while a
                probe sends an authenticated SCIM GET every 0.25 s (5 s timeout); reported: probes
                answered 200 / sent, the slowest answered probe, and how many attack sockets the
                server had closed by the end (a server that times out incomplete requests closes them)
                  partial   request line + part of a header, then nothing
                  shortbody authenticated POST with Content-Length 4096 and 16 bytes of body
                  idle      TCP connect, nothing sent
  throughput    8 client threads: --gets x GET /Users?filter=userName eq "..." then --posts x
                POST /Users; req/s, p50, p99 (rounds alternate the server order)

    .venv/bin/python bench/http_servers.py [--servers granian,gunicorn,...] [--hold 30] [--rounds 2]

Traffic goes to 127.0.0.1 only; every loop is bounded. Results: bench/results/http_servers.json.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from scimload.infra import (
    LOG_DIR,
    PYTHON,
    RESULTS_DIR,
    ROOT,
    BenchError,
    Postgres,
    Redis,
    child_env,
    free_port,
    last_json_line,
    run_command,
)
from scimload.load import percentile

from config.webserver import BUILDERS, server_command

DATABASE = os.environ.get("BENCH_HTTP_DATABASE", "rollcall_bench_http")
ATTACKS = ("partial", "shortbody", "idle")
PROBE_INTERVAL = 0.25
PROBE_TIMEOUT = 5.0


@dataclass
class Deployment:
    env: dict[str, str]
    connection_id: str
    token: str
    worker: subprocess.Popen[bytes] | None = None


def deploy(postgres: Postgres, redis_url: str) -> Deployment:
    """A fresh database, migrated, one tenant and connection, and a prefork Celery worker."""
    env = child_env(
        DATABASE_URL=postgres.recreate(DATABASE),
        REDIS_URL=redis_url,
        DJANGO_SETTINGS_MODULE="config.settings",
        ROLLCALL_PUBLIC_URL="http://127.0.0.1:8000",
        LOG_LEVEL="WARNING",
    )
    manage = [PYTHON, str(ROOT / "manage.py")]
    run_command([*manage, "rollcall_migrate"], env)
    run_command([*manage, "rollcall_tenant", "create", "--name", "Bench", "--slug", "httpbench", "--json"], env)
    created = json.loads(
        last_json_line(run_command([*manage, "rollcall_connection", "create", "--tenant", "httpbench", "--idp", "generic", "--json"], env))
    )
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    with (LOG_DIR / "http-worker.log").open("wb") as log:
        worker = subprocess.Popen(
            [PYTHON, "-m", "celery", "-A", "config", "worker", "--pool", "prefork", "--concurrency", "2", "--loglevel", "WARNING"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    return Deployment(env, created["connection_id"], created["token"], worker)


@dataclass
class Server:
    name: str
    port: int
    proc: subprocess.Popen[bytes]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


def start_server(name: str, deployment: Deployment) -> Server:
    port = free_port()
    argv = server_command(host="127.0.0.1", port=port, workers=2, server=name)
    with (LOG_DIR / f"http-{name}.log").open("wb") as log:
        proc = subprocess.Popen(argv, cwd=ROOT, env=deployment.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(name, port, proc)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"{name} exited during start-up; see {LOG_DIR / f'http-{name}.log'}")
        try:
            if httpx.get(scim_url(server, deployment, "ServiceProviderConfig"), headers=auth(deployment), timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    server.stop()
    raise BenchError(f"{name} did not answer within 60 s")


def scim_url(server: Server, deployment: Deployment, path: str) -> str:
    return f"{server.base}/scim/v2/{deployment.connection_id}/{path}"


def auth(deployment: Deployment) -> dict[str, str]:
    return {"Authorization": f"Bearer {deployment.token}"}


# --------------------------------------------------------------------------- slow clients


def open_attack_socket(kind: str, server: Server, deployment: Deployment) -> socket.socket | None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(5)
    try:
        sock.connect(("127.0.0.1", server.port))
        path = f"/scim/v2/{deployment.connection_id}/Users"
        if kind == "partial":
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".encode())
        elif kind == "shortbody":
            head = (
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {deployment.token}\r\n"
                "Content-Type: application/scim+json\r\nContent-Length: 4096\r\n\r\n"
            )
            sock.sendall(head.encode() + b'{"schemas": ["u')
    except OSError:
        sock.close()
        return None
    return sock


def closed_by_server(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        data = sock.recv(65536)
    except BlockingIOError:
        return False
    except OSError:
        return True
    del data  # EOF (b"") or an error response (400/408): either way the server gave up on it
    return True


@dataclass
class AttackResult:
    attack: str
    held: int
    probes_sent: int = 0
    probes_ok: int = 0
    slowest_ok_ms: float = 0.0
    closed_by_server: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


def slow_client_attack(kind: str, server: Server, deployment: Deployment, hold: float, count: int) -> AttackResult:
    sockets = [s for s in (open_attack_socket(kind, server, deployment) for _ in range(count)) if s is not None]
    result = AttackResult(kind, len(sockets))
    url = scim_url(server, deployment, "Users?count=1")
    deadline = time.monotonic() + hold
    with httpx.Client(headers=auth(deployment), timeout=PROBE_TIMEOUT) as client:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            result.probes_sent += 1
            try:
                response = client.get(url)
                if response.status_code == 200:
                    result.probes_ok += 1
                    result.slowest_ok_ms = max(result.slowest_ok_ms, (time.perf_counter() - started) * 1000)
                else:
                    key = f"HTTP {response.status_code}"
                    result.errors[key] = result.errors.get(key, 0) + 1
            except httpx.HTTPError as exc:
                key = type(exc).__name__
                result.errors[key] = result.errors.get(key, 0) + 1
            time.sleep(max(0.0, PROBE_INTERVAL - (time.perf_counter() - started)))
    result.closed_by_server = sum(1 for s in sockets if closed_by_server(s))
    for s in sockets:
        s.close()
    time.sleep(1.0)  # let the server notice the closed sockets before the next attack
    return result


# --------------------------------------------------------------------------- throughput


def timed_batch(server: Server, deployment: Deployment, requests: Sequence[tuple[str, str, bytes | None]], threads: int) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    index = iter(range(len(requests)))

    def work() -> None:
        nonlocal errors
        with httpx.Client(headers={**auth(deployment), "Content-Type": "application/scim+json"}, timeout=30) as client:
            for i in index:
                method, path, body = requests[i]
                started = time.perf_counter()
                try:
                    ok = client.request(method, scim_url(server, deployment, path), content=body).is_success
                except httpx.HTTPError:
                    ok = False
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    if ok:
                        latencies.append(elapsed)
                    else:
                        errors += 1

    started = time.perf_counter()
    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(600)
    wall = time.perf_counter() - started
    return {
        "requests": len(requests),
        "errors": errors,
        "rps": round(len(latencies) / wall, 1) if wall else 0.0,
        "p50_ms": round(percentile(latencies, 50), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
    }


def throughput(server: Server, deployment: Deployment, gets: int, posts: int, tag: str) -> dict[str, Any]:
    users = [f"{tag}-{server.name}-{uuid.uuid4().hex[:8]}-{i}@bench.test" for i in range(posts)]
    post_requests = [
        ("POST", "Users", json.dumps({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": u}).encode())
        for u in users
    ]
    post = timed_batch(server, deployment, post_requests, 8)
    get_requests = [
        ("GET", f'Users?filter=userName%20eq%20%22{users[i % len(users)] if i % 2 == 0 else "nobody@bench.test"}%22', None)
        for i in range(gets)
    ]
    get = timed_batch(server, deployment, get_requests, 8)
    return {"get_filter": get, "post_create": post}


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", default=",".join(BUILDERS), help="comma-separated, from: " + ", ".join(BUILDERS))
    parser.add_argument("--hold", type=float, default=30.0, help="seconds each attack holds its sockets")
    parser.add_argument("--connections", type=int, default=200, help="attack sockets per attack")
    parser.add_argument("--gets", type=int, default=2000)
    parser.add_argument("--posts", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=2, help="throughput rounds (server order alternates)")
    parser.add_argument("--skip-attacks", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    names = [n.strip() for n in args.servers.split(",") if n.strip()]
    postgres, redis_server = Postgres(), Redis()
    postgres.start()
    redis_server.start()
    deployment = deploy(postgres, redis_server.url)
    results: dict[str, Any] = {name: {"attacks": {}, "throughput": []} for name in names}
    try:
        for round_no in range(args.rounds):
            order = names if round_no % 2 == 0 else list(reversed(names))
            for name in order:
                server = start_server(name, deployment)
                try:
                    print(f"round {round_no + 1}: {name} throughput ...", flush=True)
                    results[name]["throughput"].append(throughput(server, deployment, args.gets, args.posts, f"r{round_no}"))
                    if round_no == 0 and not args.skip_attacks:
                        for attack in ATTACKS:
                            print(f"  {name}: {attack} x{args.connections} for {args.hold:.0f} s ...", flush=True)
                            outcome = slow_client_attack(attack, server, deployment, args.hold, args.connections)
                            results[name]["attacks"][attack] = outcome.to_json()
                finally:
                    server.stop()
    finally:
        if deployment.worker is not None and deployment.worker.poll() is None:
            os.killpg(deployment.worker.pid, signal.SIGTERM)
            deployment.worker.wait(20)
    report(results, args)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "http_servers.json").write_text(json.dumps({"args": vars(args), "results": results}, indent=2))
    return 0


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2] if ordered else 0.0


def report(results: dict[str, Any], args: argparse.Namespace) -> None:
    print(f"\nSlow clients: {args.connections} sockets held {args.hold:.0f} s; probes = SCIM GETs answered 200 / sent")
    print(f"{'server':<10} " + " ".join(f"{a:>34}" for a in ATTACKS))
    for name, data in results.items():
        cells = []
        for attack in ATTACKS:
            a = data["attacks"].get(attack)
            cells.append(
                f"{a['probes_ok']:>4}/{a['probes_sent']:<4} max {a['slowest_ok_ms']:>6.0f} ms closed {a['closed_by_server']:>3}" if a else "-"
            )
        print(f"{name:<10} " + " ".join(f"{c:>34}" for c in cells))
    base = names_first = next(iter(results))
    print(f"\nThroughput (median of {args.rounds} rounds, 8 client threads; ratio vs {base})")
    print(f"{'server':<10} {'GET req/s':>10} {'p99 ms':>8} {'ratio':>6} {'POST req/s':>11} {'p99 ms':>8} {'ratio':>6} {'errors':>7}")
    ref_get = _median([r["get_filter"]["rps"] for r in results[names_first]["throughput"]]) or 1.0
    ref_post = _median([r["post_create"]["rps"] for r in results[names_first]["throughput"]]) or 1.0
    for name, data in results.items():
        rounds = data["throughput"]
        get = _median([r["get_filter"]["rps"] for r in rounds])
        post = _median([r["post_create"]["rps"] for r in rounds])
        get_p99 = _median([r["get_filter"]["p99_ms"] for r in rounds])
        post_p99 = _median([r["post_create"]["p99_ms"] for r in rounds])
        errors = sum(r["get_filter"]["errors"] + r["post_create"]["errors"] for r in rounds)
        print(f"{name:<10} {get:>10.1f} {get_p99:>8.1f} {get / ref_get:>5.2f}x {post:>11.1f} {post_p99:>8.1f} {post / ref_post:>5.2f}x {errors:>7}")


if __name__ == "__main__":
    sys.exit(main())
