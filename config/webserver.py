"""The HTTP server command line: the one place that says how Rollcall (or any WSGI app) is served.

`make run` (config.supervisor), docker-compose (`python -m config.processes web`, see
config/processes.py) and the benchmarks (bench/) all build the server's argv here, so they cannot
drift apart.

The default is waitress. It was chosen by measurement (bench/http_servers.py, numbers in
bench/README.md): its asyncio-style channel loop reads every request, headers and body, into a
buffer and hands only a complete request to one of its threads, so half-open, idle or
short-bodied connections cost a socket and a buffer, never a thread; inactive connections are
closed after CHANNEL_TIMEOUT_SECONDS. gunicorn's gthread worker gives each connection a thread
that blocks reading it (32 slow clients stopped it answering anyone, issue 17); granian holds a
blocking thread while a request body trickles in (a handful of short bodies stopped it);
uvicorn survived every attack but served a third of the throughput (Django's sync views on
ASGI). The other servers stay here so the benchmark compares them with the same app and options.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

DEFAULT_SERVER = "waitress"
DEFAULT_APP = "config.wsgi:application"
# A connection that sends nothing (a partial request included) for this long is closed.
CHANNEL_TIMEOUT_SECONDS = 20
# Open connections held at most; beyond it the server stops accepting until some close.
CONNECTION_LIMIT = 1000
# The server's own ceiling on a request body (Django and the SCIM edge enforce smaller ones with
# proper error documents; this one only bounds what is buffered before they can).
MAX_REQUEST_BODY_BYTES = 64 * 1024 * 1024
# Threads per worker process that run the (synchronous) Django app.
THREADS_PER_WORKER = 4
# granian: a client has this long to send its request line and headers.
HEADER_READ_TIMEOUT_MS = 10_000
# How long a stop waits for in-flight requests before the workers are killed.
GRACEFUL_SECONDS = 5


@dataclass(frozen=True)
class ServerSpec:
    name: str
    wsgi_app: str
    host: str
    port: int
    workers: int
    threads: int = THREADS_PER_WORKER


def _granian(spec: ServerSpec) -> list[str]:
    return [
        sys.executable, "-m", "granian", "--interface", "wsgi", "--http", "1", "--no-ws",
        "--host", spec.host, "--port", str(spec.port),
        "--workers", str(spec.workers), "--blocking-threads", str(spec.threads),
        "--http1-header-read-timeout", str(HEADER_READ_TIMEOUT_MS),
        "--workers-kill-timeout", str(GRACEFUL_SECONDS),
        "--respawn-failed-workers", "--respawn-interval", "1",
        "--log-level", "warning", "--no-access-log",
        spec.wsgi_app,
    ]  # fmt: skip


def _gunicorn(spec: ServerSpec) -> list[str]:
    # What `make run` used before: one thread per connection, blocking reads, no read timeout.
    return [
        sys.executable, "-m", "gunicorn", spec.wsgi_app,
        "--bind", f"{spec.host}:{spec.port}",
        "--worker-class", "gthread", "--workers", str(spec.workers), "--threads", str(spec.threads),
        "--graceful-timeout", str(GRACEFUL_SECONDS), "--log-level", "warning",
        "--config", "/dev/null", "--no-control-socket",
    ]  # fmt: skip


def _waitress(spec: ServerSpec) -> list[str]:
    # One process (waitress has no worker processes): workers x threads threads in it. Scale out
    # with more web processes/containers behind the load balancer.
    return [
        sys.executable, "-m", "waitress", f"--listen={spec.host}:{spec.port}",
        f"--threads={spec.workers * spec.threads}",
        f"--channel-timeout={CHANNEL_TIMEOUT_SECONDS}", "--cleanup-interval=5",
        f"--connection-limit={CONNECTION_LIMIT}", "--asyncore-use-poll",
        f"--max-request-body-size={MAX_REQUEST_BODY_BYTES}", "--ident=rollcall", "--no-expose-tracebacks",
        spec.wsgi_app,
    ]  # fmt: skip


def _uvicorn(spec: ServerSpec) -> list[str]:
    asgi_app = spec.wsgi_app.replace("wsgi", "asgi")
    return [
        sys.executable, "-m", "uvicorn", asgi_app, "--host", spec.host, "--port", str(spec.port),
        "--workers", str(spec.workers), "--timeout-keep-alive", "5", "--no-access-log",
        "--lifespan", "off", "--log-level", "warning",
    ]  # fmt: skip


BUILDERS = {"granian": _granian, "gunicorn": _gunicorn, "waitress": _waitress, "uvicorn": _uvicorn}


def server_command(
    *,
    host: str,
    port: int,
    workers: int,
    threads: int = THREADS_PER_WORKER,
    wsgi_app: str = DEFAULT_APP,
    server: str = DEFAULT_SERVER,
) -> list[str]:
    """The argv that serves `wsgi_app` on host:port with `server` (see BUILDERS)."""
    if server not in BUILDERS:
        raise ValueError(f"unknown HTTP server {server!r}: choose one of {', '.join(BUILDERS)}")
    return BUILDERS[server](ServerSpec(server, wsgi_app, host, port, workers, threads))
