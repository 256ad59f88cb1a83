"""/healthz (database, Redis, worker heartbeat) and /metrics (Prometheus text format)."""

from __future__ import annotations

import redis
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from observability.heartbeat import HEARTBEAT_STALE_SECONDS, heartbeat_ages
from observability.metrics import RedisCollector, redis_client


def _check_database() -> dict[str, object]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True}
    except Exception as exc:  # any driver error means unhealthy; report its class, not its text
        return {"ok": False, "error": type(exc).__name__}


def _check_redis() -> dict[str, object]:
    try:
        redis_client().ping()
        return {"ok": True}
    except redis.RedisError as exc:
        return {"ok": False, "error": type(exc).__name__}


def _check_workers() -> dict[str, object]:
    try:
        seen = heartbeat_ages()
    except redis.RedisError as exc:
        return {"ok": False, "error": type(exc).__name__}
    fresh = {name: age for name, age in seen.items() if age <= HEARTBEAT_STALE_SECONDS}
    return {
        "ok": any(name.startswith("worker:") for name in fresh),
        "seconds_since_heartbeat": seen,
    }


def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _check_database(), "redis": _check_redis(), "worker": _check_workers()}
    healthy = all(check["ok"] for check in checks.values())
    return JsonResponse({"status": "ok" if healthy else "unhealthy", "checks": checks}, status=200 if healthy else 503)


def metrics(request: HttpRequest) -> HttpResponse:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RedisCollector())  # type: ignore[arg-type]
    try:
        body = generate_latest(registry)
    except redis.RedisError:
        return HttpResponse("# redis unavailable\n", status=503, content_type="text/plain")
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
