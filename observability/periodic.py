"""Outcomes of periodic tasks (sweeper, error-rate check, agent expiry, ...), kept in Redis.

A run that raised, or that could not process some tenants (one broken tenant never stops the
others), extends the task's failure streak; a clean run resets it. /healthz reports "degraded"
while a streak is DEGRADED_AFTER_FAILURES runs or longer.
"""

from __future__ import annotations

import time

import redis

from observability.metrics import redis_client

PERIODIC_KEY = "rollcall:periodic:"
DEGRADED_AFTER_FAILURES = 3
PERIODIC_RECORD_TTL_SECONDS = 24 * 3600


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def record_periodic_run(task: str, *, failed_tenants: int = 0, error: str | None = None) -> None:
    """One run of a periodic task. Never raises: with Redis down the redis check says so."""
    key = PERIODIC_KEY + task
    try:
        client = redis_client()
        if error is None and failed_tenants == 0:
            client.hset(key, mapping={"consecutive_failures": 0, "last_ok_at": time.time()})
        else:
            pipe = client.pipeline(transaction=False)
            pipe.hincrby(key, "consecutive_failures", 1)
            pipe.hset(
                key,
                mapping={"last_error": error or f"{failed_tenants} tenant(s) failed", "last_failed_at": time.time()},
            )
            pipe.execute()
        client.expire(key, PERIODIC_RECORD_TTL_SECONDS)
    except redis.RedisError:
        pass


def failing_periodic_tasks() -> dict[str, dict[str, str]]:
    """Tasks whose failure streak reached DEGRADED_AFTER_FAILURES (raises redis.RedisError when Redis is down)."""
    client = redis_client()
    failing: dict[str, dict[str, str]] = {}
    for key in client.scan_iter(match=f"{PERIODIC_KEY}*", count=100):
        raw = {_text(k): _text(v) for k, v in client.hgetall(key).items()}
        if int(raw.get("consecutive_failures", "0")) >= DEGRADED_AFTER_FAILURES:
            failing[_text(key)[len(PERIODIC_KEY) :]] = {
                "consecutive_failures": raw["consecutive_failures"],
                "last_error": raw.get("last_error", ""),
            }
    return failing
