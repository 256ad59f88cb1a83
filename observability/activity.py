"""Which tenants had activity recently: what the health rollup re-aggregates (O(active tenants)).

The SCIM edge, the drain, the webhook sender and the tenant services call `mark_tenant_active`
when something happened to a tenant. It is one `ZADD` (score: the time) into a Redis sorted set,
at most once per MARK_INTERVAL_SECONDS per tenant and process, and it never raises: losing a mark
delays a refresh (the reconcile sweep catches up), it never fails a request. The rollup's beat job
reads the tenants marked since its previous run, minus MARK_INTERVAL_SECONDS of overlap, so a
mark skipped by the throttle is still covered by the earlier mark that caused the skip.
"""

from __future__ import annotations

import logging
import threading
import time

import redis
from django.conf import settings

log = logging.getLogger(__name__)

ACTIVITY_KEY = "rollcall:health:activity"
WATERMARK_KEY = "rollcall:health:watermark"
MARK_INTERVAL_SECONDS = 5.0
# Marks older than this are trimmed (a rollup that was down longer rebuilds with a job instead).
KEEP_SECONDS = 2 * 86400
_TIMEOUT = 0.5

_last_mark: dict[str, float] = {}
_clients: dict[str, redis.Redis] = {}
_lock = threading.Lock()


def activity_redis() -> redis.Redis:
    url = settings.REDIS_URL
    client = _clients.get(url)
    if client is None:
        with _lock:
            client = _clients.setdefault(
                url, redis.Redis.from_url(url, socket_timeout=_TIMEOUT, socket_connect_timeout=_TIMEOUT)
            )
    return client


def mark_tenant_active(schema_name: str, *, now: float | None = None) -> None:
    """Note that the tenant (by schema name) had activity now. Cheap, throttled, never raises."""
    at = time.time() if now is None else now
    last = _last_mark.get(schema_name)
    if last is not None and 0 <= at - last < MARK_INTERVAL_SECONDS:
        return
    _last_mark[schema_name] = at
    try:
        activity_redis().zadd(ACTIVITY_KEY, {schema_name: at}, gt=True)
    except redis.RedisError as exc:
        _last_mark.pop(schema_name, None)
        log.debug("could not mark %s active: %s", schema_name, type(exc).__name__)


def forget_marks_of_this_process() -> None:
    """Drop the per-process throttle (tests, and a process that switched Redis)."""
    _last_mark.clear()


def tenants_active_since(since: float) -> list[str]:
    """Schema names marked at or after `since` (unix seconds), oldest mark first."""
    members = activity_redis().zrangebyscore(ACTIVITY_KEY, since, "+inf")
    return [m.decode() if isinstance(m, bytes) else str(m) for m in members]


def read_watermark() -> float | None:
    raw = activity_redis().get(WATERMARK_KEY)
    return float(raw) if raw is not None else None


def advance_watermark(to: float) -> None:
    """Remember that every mark before `to` has been aggregated; trim marks nobody will read."""
    client = activity_redis()
    pipe = client.pipeline()
    pipe.set(WATERMARK_KEY, f"{to:.6f}")
    pipe.zremrangebyscore(ACTIVITY_KEY, "-inf", to - KEEP_SECONDS)
    pipe.execute()
