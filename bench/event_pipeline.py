"""Event pipeline benchmark: throughput and commit-to-handler / commit-to-webhook latency.

    python bench/event_pipeline.py [--rate 200] [--seconds 10] [--backlog 2000] [--tenants 4] [--workers 1,2]

For each worker count (default 1 and 2 `celery worker --pool=solo` processes):

1. capacity: `--backlog` user.created events are committed while no worker runs, then the workers
   start and the time to handle all of them (and to POST every webhook) gives events/s;
2. latency: users are created through the directory service at `--rate` events/s for `--seconds`
   across `--tenants` tenants while the workers run; commit-to-handled comes from the outbox rows
   (handled_at - occurred_at), commit-to-webhook-sent from a local 127.0.0.1 receiver (arrival time -
   the event's occurred_at in the signed body).

Every event runs the real handlers (role recompute, welcome email via the dummy mail backend,
webhook fan-out to one endpoint). Uses DATABASE_URL if set (a throw-away database
`rollcall_bench_events` on that server) else the embedded PostgreSQL, and REDIS_URL if set (its
database 13, flushed) else the embedded Redis. Results: bench/results/event_pipeline.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import http.server
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config.celery import app  # noqa: E402
from provisioning.celery_setup import configure  # noqa: E402

# The workers run `celery -A bench.event_pipeline:app`: the project's app with the pipeline's queues
# and routes installed (idempotent if config/celery.py already does it).
configure(app)
BENCH_DB = "rollcall_bench_events"
BENCH_REDIS_DB = 13
RESULTS = ROOT / "bench" / "results"
QUEUES = "celery,rollcall.events,rollcall.outbound"


# --------------------------------------------------------------------------- environment


def _prepare_environment() -> None:
    import psycopg

    from config.embedded import embedded_database_url, embedded_redis_url

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
    redis_url = os.environ.get("REDIS_URL") or embedded_redis_url()
    if redis_url.startswith("redis://"):  # a server others may use: keep to a database of our own
        redis_url = urlsplit(redis_url)._replace(path=f"/{BENCH_REDIS_DB}").geturl()
    os.environ["REDIS_URL"] = redis_url
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
            "ROLLCALL_WEBHOOK_ALLOW_PRIVATE": "1",
            "LOG_LEVEL": "WARNING",
        }
    )


# --------------------------------------------------------------------------- webhook receiver


class Arrivals:
    """Webhook arrivals, recorded by a receiver in its own process (so the load generator's threads
    cannot delay the timestamps) as "id arrival_unix occurred_unix" lines in a file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.position = 0
        self.latencies: dict[str, float] = {}  # event id -> seconds from commit to arrival
        self.times: dict[str, float] = {}

    def clear(self) -> None:
        self.refresh()
        self.latencies, self.times = {}, {}

    def refresh(self) -> None:
        if not self.path.exists():
            return
        with self.path.open("rb") as log:
            log.seek(self.position)
            chunk = log.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self.position += len(complete)
        for line in complete.decode().splitlines():
            event_id, arrived, occurred = line.split()
            self.latencies.setdefault(event_id, float(arrived) - float(occurred))
            self.times.setdefault(event_id, float(arrived))

    def count(self) -> int:
        self.refresh()
        return len(self.latencies)


def serve_receiver(log_path: str) -> None:
    """`--serve-receiver PATH`: answer webhooks with 200 and log arrivals; prints the port."""
    lock = threading.Lock()
    log = open(log_path, "a", buffering=1)  # noqa: SIM115 (open for the life of the process)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            arrived = time.time()
            document = json.loads(body)
            occurred = datetime.fromisoformat(document["occurred_at"].replace("Z", "+00:00")).timestamp()
            with lock:
                log.write(f"{document['id']} {arrived:.6f} {occurred:.6f}\n")
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


def start_receiver(log_path: Path) -> tuple[subprocess.Popen[str], int]:
    log_path.unlink(missing_ok=True)
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--serve-receiver", str(log_path)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())


# --------------------------------------------------------------------------- workers


def worker_queues(count: int, index: int, split: bool) -> str:
    """All queues for every worker, or (split) dispatch on worker 0 and outbound sends on the rest."""
    if not split or count < 2:
        return QUEUES
    return "rollcall.events" if index == 0 else "celery,rollcall.outbound"


def start_workers(count: int, logdir: Path, *, split: bool = False) -> list[subprocess.Popen[bytes]]:
    procs = []
    for i in range(count):
        log = (logdir / f"bench-worker-{i}.log").open("ab")
        procs.append(
            subprocess.Popen(
                [
                    sys.executable, "-m", "celery", "-A", "bench.event_pipeline:app", "worker", "--pool=solo",
                    "--concurrency=1",
                    "-Q", worker_queues(count, i, split), "-n", f"bench{i}@%h", "--without-mingle", "--without-gossip",
                    "--without-heartbeat", "--loglevel=WARNING",
                ],
                cwd=ROOT,
                env=dict(os.environ),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    return procs


def stop_workers(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def wait_workers_ready(expected: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            replies = app.control.ping(timeout=0.5) or []
        except Exception:
            replies = []
        if len(replies) >= expected:
            return
        time.sleep(0.2)
    raise SystemExit(f"workers did not come up within {timeout:.0f}s (see bench/results/logs)")


# --------------------------------------------------------------------------- measuring


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50_ms": round(percentile(values, 50) * 1000, 1),
        "p99_ms": round(percentile(values, 99) * 1000, 1),
        "max_ms": round(max(values) * 1000, 1) if values else float("nan"),
        "mean_ms": round(statistics.fmean(values) * 1000, 1) if values else float("nan"),
    }


def handled_rows(tenants: list[Any], since_seq: dict[str, int]) -> list[tuple[str, int, datetime, datetime | None]]:
    from outbox.models import Event
    from tenants.context import tenant_schema

    rows = []
    for tenant in tenants:
        with tenant_schema(tenant):
            rows += [
                (tenant.slug, seq, occurred, handled)
                for seq, occurred, handled in Event.objects.filter(
                    seq__gt=since_seq[tenant.schema_name], type="user.created"
                ).values_list("seq", "occurred_at", "handled_at")
            ]
    return rows


def unhandled(tenants: list[Any], since_seq: dict[str, int]) -> int:
    """A cheap poll (a count on the pending index) while waiting, not the full rows."""
    from outbox.models import Event
    from tenants.context import tenant_schema

    total = 0
    for tenant in tenants:
        with tenant_schema(tenant):
            total += Event.objects.filter(handled_at__isnull=True, seq__gt=since_seq[tenant.schema_name]).count()
    return total


def last_seqs(tenants: list[Any]) -> dict[str, int]:
    from django.db.models import Max

    from outbox.models import Event
    from tenants.context import tenant_schema

    found = {}
    for tenant in tenants:
        with tenant_schema(tenant):
            found[tenant.schema_name] = Event.objects.aggregate(m=Max("seq"))["m"] or 0
    return found


def wait_until(predicate: Any, timeout: float, what: str) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.25)
    print(f"  !! timed out after {timeout:.0f}s waiting for {what}", flush=True)
    return False


def create_users(tenants: list[Any], count: int, *, rate: float | None, prefix: str, writers: int = 2) -> float:
    """Create `count` users round-robin over the tenants, at `rate`/s total (None: as fast as possible).

    Writers are separate processes, not threads: with threads the generator itself is GIL-bound
    and cannot offer 200 events/s on a 2-core machine while the workers run. They are spawned,
    not forked, because a forked child would share the parent's broker and database sockets.
    Returns the seconds from the moment every writer was ready to the last commit.
    """
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    ready = context.Barrier(writers + 1)
    finished = context.Array("d", writers)  # each writer's monotonic time of its last commit
    per_writer_rate = rate / writers if rate else None
    pool = [
        # Plain dicts: unpickling a TenantRef would import models before the child's django.setup().
        context.Process(
            target=_write_users,
            args=([dataclasses.asdict(t) for t in tenants], i, writers, count, per_writer_rate, prefix, ready, finished),
        )
        for i in range(writers)
    ]
    for proc in pool:
        proc.start()
    ready.wait(timeout=120)
    started = time.monotonic()
    for proc in pool:
        proc.join()
        if proc.exitcode != 0:
            raise RuntimeError(f"writer process exited with {proc.exitcode}")
    # To the last commit, not to the last process exit (interpreter teardown is not offered load).
    return max(finished[:]) - started


def _write_users(
    tenant_fields: list[dict[str, Any]],
    writer: int,
    writers: int,
    count: int,
    rate: float | None,
    prefix: str,
    ready: Any,
    finished: Any,
) -> None:
    """One writer process: every `writers`-th user from `writer`, paced to `rate`/s."""
    import django

    django.setup()
    from django.db import connection as db
    from django.utils import timezone

    from directory.change import ChangeContext
    from directory.users import create_user
    from outbox.append import Actor
    from tenants.context import TenantRef, tenant_schema

    tenants = [TenantRef(**fields) for fields in tenant_fields]
    db.ensure_connection()  # connect before the clock starts
    ready.wait(timeout=120)
    started = time.monotonic()
    for n in range(writer, count, writers):
        if rate:
            delay = started + (n // writers) / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        tenant = tenants[n % len(tenants)]
        ctx = ChangeContext(actor=Actor(kind="scim", id="bench", requested_at=timezone.now()))
        with tenant_schema(tenant):
            create_user(
                resource={
                    "userName": f"{prefix}-{n}@bench.test",
                    "name": {"givenName": "Bench", "familyName": str(n)},
                    "emails": [{"value": f"{prefix}-{n}@bench.test", "primary": True}],
                },
                ctx=ctx,
            )
    finished[writer] = time.monotonic()  # CLOCK_MONOTONIC: comparable across processes on this host
    db.close()


def steady(rate: float, workers: int, tenants: list[Any], arrivals: Arrivals, args: argparse.Namespace) -> dict[str, Any]:
    """Create users at `rate`/s for `args.seconds` while the workers run; latencies per event."""
    from provisioning.models import WebhookDelivery
    from tenants.context import tenant_schema

    arrivals.clear()
    base = last_seqs(tenants)
    total = int(rate * args.seconds)
    write_s = create_users(tenants, total, rate=rate, prefix=f"steady-w{workers}-r{rate:.0f}", writers=args.writers)
    wait_until(lambda: unhandled(tenants, base) == 0, 120, "steady events")
    wait_until(lambda: arrivals.count() >= total, 120, "steady webhooks")
    rows = handled_rows(tenants, base)
    slugs = {t.slug for t in tenants}
    webhook_lat = [v for k, v in arrivals.latencies.items() if k.split(":")[0] in slugs]
    undelivered = 0
    for tenant in tenants:
        with tenant_schema(tenant):
            undelivered += WebhookDelivery.objects.exclude(status="succeeded").count()
    found = {
        "target_per_s": rate,
        "offered_per_s": round(total / write_s, 1),
        "events": total,
        "commit_to_handled": summary([(h - o).total_seconds() for _, _, o, h in rows if h is not None]),
        "commit_to_webhook_sent": summary(webhook_lat),
        "webhooks_missing": total - len(webhook_lat),
        "undelivered": undelivered,
    }
    print(f"  steady {rate:.0f}/s: {json.dumps(found)}", flush=True)
    return found


def phase(workers: int, tenants: list[Any], arrivals: Arrivals, args: argparse.Namespace, logdir: Path) -> dict[str, Any]:
    result: dict[str, Any] = {"workers": workers}

    # 1. capacity: a committed backlog, drained by freshly started workers.
    arrivals.clear()
    base = last_seqs(tenants)
    write_s = create_users(tenants, args.backlog, rate=None, prefix=f"backlog-w{workers}")
    print(f"  wrote a backlog of {args.backlog} events in {write_s:.1f}s ({args.backlog / write_s:.0f}/s)", flush=True)
    procs = start_workers(workers, logdir, split=args.split_queues)
    try:
        wait_workers_ready(workers)
        wait_until(lambda: unhandled(tenants, base) == 0, 300, "the backlog to be handled")
        rows = handled_rows(tenants, base)
        handled_times = sorted(h.timestamp() for *_, h in rows if h is not None)
        wait_until(lambda: arrivals.count() >= args.backlog, 300, "every backlog webhook")
        sent_times = sorted(arrivals.times.values())
        # Rates over the processing span (first to last), so worker start-up time does not count.
        result["capacity"] = {
            "events": args.backlog,
            "handled_per_s": round(len(handled_times) / max(handled_times[-1] - handled_times[0], 1e-6), 1),
            "webhooks_sent_per_s": round(len(sent_times) / max(sent_times[-1] - sent_times[0], 1e-6), 1)
            if sent_times
            else 0.0,
        }
        print(f"  capacity: {result['capacity']}", flush=True)

        # 2. latency at steady offered rates.
        result["steady"] = [steady(rate, workers, tenants, arrivals, args) for rate in args.rates]
    finally:
        stop_workers(procs)
    return result


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--serve-receiver":
        serve_receiver(sys.argv[2])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rates", default="50,100,200", help="comma-separated offered events/s for the latency phases"
    )
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each latency phase")
    parser.add_argument("--backlog", type=int, default=2000)
    parser.add_argument("--tenants", type=int, default=4)
    parser.add_argument("--writers", type=int, default=4, help="writer processes (load generator)")
    parser.add_argument("--workers", default="1,2", help="comma-separated worker process counts")
    parser.add_argument(
        "--split-queues",
        action="store_true",
        help="with 2+ workers: one consumes rollcall.events, the others rollcall.outbound (and beat jobs)",
    )
    args = parser.parse_args()
    args.rates = [float(r) for r in str(args.rates).split(",") if r]

    _prepare_environment()
    import django

    django.setup()
    import redis
    from django.core.management import call_command

    from provisioning.webhooks import endpoints as webhooks
    from tenants.audit import AuditActor
    from tenants.context import TenantRef, tenant_schema
    from tenants.services import create_tenant

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    call_command("rollcall_migrate", verbosity=0)
    RESULTS.mkdir(parents=True, exist_ok=True)
    arrivals = Arrivals(RESULTS / "event_pipeline_arrivals.log")
    receiver, port = start_receiver(arrivals.path)
    url = f"http://127.0.0.1:{port}/hooks"
    tenants = []
    for i in range(args.tenants):
        tenant = TenantRef.of(create_tenant(name=f"Bench {i}", slug=f"bench-{i}", actor=AuditActor.system("bench")).tenant)
        with tenant_schema(tenant):
            webhooks.create_endpoint(url=url)
        tenants.append(tenant)
    logdir = RESULTS / "logs"
    logdir.mkdir(parents=True, exist_ok=True)

    rates = ", ".join(f"{r:.0f}" for r in args.rates)
    print(f"event pipeline bench: {args.tenants} tenants, backlog {args.backlog}, {rates} ev/s for {args.seconds:.0f}s each")
    results = []
    for count in [int(c) for c in args.workers.split(",") if c]:
        print(f"\n== {count} worker process(es)", flush=True)
        results.append(phase(count, tenants, arrivals, args, logdir))
    os.killpg(receiver.pid, signal.SIGTERM)
    receiver.wait(timeout=10)

    print("\nworkers | backlog handled/s | webhooks sent/s | offered/s | handled p50 / p99 ms | webhook sent p50 / p99 ms")
    for r in results:
        for s in r["steady"]:
            hook, handled = s["commit_to_webhook_sent"], s["commit_to_handled"]
            print(
                f"{r['workers']:>7} | {r['capacity']['handled_per_s']:>17} | {r['capacity']['webhooks_sent_per_s']:>15} | "
                f"{s['offered_per_s']:>9} | {handled['p50_ms']:>8} / {handled['p99_ms']:<9} | {hook['p50_ms']:>8} / {hook['p99_ms']:<9}"
            )
    goal = [
        s for r in results for s in r["steady"] if s["target_per_s"] >= 200 and s["offered_per_s"] >= 190
    ]
    met = any(s["commit_to_webhook_sent"]["p99_ms"] < 1000 and not s["webhooks_missing"] for s in goal)
    print(f"goal p99 commit-to-webhook-sent < 1 s at 200 events/s: {'MET' if met else 'MISSED'}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "event_pipeline.json").write_text(
        json.dumps({"args": vars(args), "cpus": os.cpu_count(), "results": results}, indent=2)
    )


if __name__ == "__main__":
    main()
