"""/healthz (database, Redis, worker heartbeat, periodic tasks) and /metrics (Prometheus text format).

/healthz is public (load balancers and container health checks call it) and says only
ok / degraded / unhealthy; callers with the operations token (ROLLCALL_METRICS_TOKEN, as a bearer
token) also get each check's details. /metrics needs that token: it names tenants' activity and
costs a Redis scan, so it is not for the internet. Without a token configured /metrics is off.
"""

from __future__ import annotations

import hmac

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from observability.heartbeat import HEARTBEAT_STALE_SECONDS, heartbeat_ages
from observability.metrics import RedisCollector, redis_client
from observability.periodic import failing_periodic_tasks


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


def _check_periodic() -> dict[str, object]:
    """Degraded (not unhealthy: requests are still served) when a periodic task keeps failing."""
    try:
        failing = failing_periodic_tasks()
    except redis.RedisError as exc:
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": not failing, "failing": failing}


def has_operations_token(request: HttpRequest) -> bool:
    """The request carries `Authorization: Bearer <ROLLCALL_METRICS_TOKEN>` (compared in constant time)."""
    expected = settings.METRICS_TOKEN
    if not expected:
        return False
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), expected.encode())


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {
        "database": _check_database(),
        "redis": _check_redis(),
        "worker": _check_workers(),
        "periodic": _check_periodic(),
    }
    essential = all(checks[name]["ok"] for name in ("database", "redis", "worker"))
    status = "ok" if essential and checks["periodic"]["ok"] else ("degraded" if essential else "unhealthy")
    body: dict[str, object] = {"status": status}
    if has_operations_token(request):
        body["checks"] = checks
    return JsonResponse(body, status=200 if essential else 503)


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    if not settings.METRICS_TOKEN:
        return HttpResponse("metrics are off: set ROLLCALL_METRICS_TOKEN\n", status=404, content_type="text/plain")
    if not has_operations_token(request):
        response = HttpResponse("a bearer token is required\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="rollcall-metrics"'
        return response
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RedisCollector())  # type: ignore[arg-type]
    try:
        body = generate_latest(registry)
    except redis.RedisError:
        return HttpResponse("# redis unavailable\n", status=503, content_type="text/plain")
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
