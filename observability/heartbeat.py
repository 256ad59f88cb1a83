"""Liveness heartbeats of workers and beat, kept in Redis so /healthz in any web process sees them."""

from __future__ import annotations

import time

from observability.metrics import redis_client

HEARTBEAT_KEY = "rollcall:heartbeat:"
HEARTBEAT_STALE_SECONDS = 60


def record_heartbeat(kind: str, name: str) -> None:
    """Called periodically by workers and beat; /healthz reports them stale after a minute."""
    redis_client().set(f"{HEARTBEAT_KEY}{kind}:{name}", str(time.time()), ex=HEARTBEAT_STALE_SECONDS * 5)


def heartbeat_ages() -> dict[str, float]:
    """Seconds since each recorded heartbeat, by "kind:name" (raises redis.RedisError when Redis is down)."""
    client = redis_client()
    now = time.time()
    seen: dict[str, float] = {}
    for key in client.scan_iter(match=f"{HEARTBEAT_KEY}*", count=100):
        value = client.get(key)
        if value is not None:
            seen[key.decode()[len(HEARTBEAT_KEY) :]] = round(now - float(value), 1)
    return seen
