"""The pipeline's own wake-ups: continue or retry a tenant's drain, and wake the senders of webhooks
and mail. (The wake-up after a directory change is the outbox relay's: outbox.relay.)"""

from __future__ import annotations

import logging
import time

import redis
from django.conf import settings

from outbox.queues import DISPATCH_TASK, EVENTS_QUEUE, OUTBOUND_QUEUE, SEND_OUTBOUND_TASK
from outbox.relay import broker_paused, pause_broker, publish, redis_client

log = logging.getLogger(__name__)

MISSED_KEY = "rollcall:dispatch:missed:"
OUTBOUND_KEY = "rollcall:outbound:requested:"
OUTBOUND_RETRY_KEY = "rollcall:outbound:retry-at:"


def _key_ttl() -> int:
    return int(settings.ROLLCALL_DISPATCH_KEY_TTL)


def schedule_dispatch(schema_name: str, *, countdown: float | None = None) -> bool:
    """Publish a drain regardless of the coalescing key (a retry after backoff, or a continuation)."""
    return publish(DISPATCH_TASK, [schema_name], queue=EVENTS_QUEUE, countdown=countdown)


def flag_missed_dispatch(schema_name: str) -> None:
    """A drain task found the tenant locked: tell the holder to re-publish after unlocking."""
    try:
        redis_client().set(MISSED_KEY + schema_name, "1", ex=_key_ttl())
    except redis.RedisError:
        log.debug("could not flag a missed dispatch of %s", schema_name)


def take_missed_dispatch(schema_name: str) -> bool:
    try:
        return redis_client().getdel(MISSED_KEY + schema_name) is not None
    except redis.RedisError:
        return False


def request_outbound(schema_name: str) -> bool:
    """Ask a worker to send the tenant's due webhook deliveries and outbox emails. Coalesced like
    dispatch: one sender drains everything committed before it started."""
    if broker_paused():
        return False
    key = OUTBOUND_KEY + schema_name
    try:
        if not redis_client().set(key, "1", nx=True, ex=_key_ttl()):
            return True  # a sender is already due to run
    except redis.RedisError:
        pause_broker()
        return False
    if publish(SEND_OUTBOUND_TASK, [schema_name, None], queue=OUTBOUND_QUEUE):
        return True
    clear_request(OUTBOUND_KEY, schema_name)
    return False


def schedule_outbound(schema_name: str, *, countdown: float) -> bool:
    """A sender's own wake-up for retries due soon. At most one is pending per tenant unless a new
    one is due clearly earlier; the scheduled run clears the marker when it starts."""
    due = time.time() + countdown
    key = OUTBOUND_RETRY_KEY + schema_name
    try:
        current = redis_client().get(key)
        if current is not None and float(current) <= due + 0.5:
            return True
        redis_client().set(key, f"{due:.3f}", ex=int(countdown) + 5)
    except redis.RedisError:
        return False
    return publish(SEND_OUTBOUND_TASK, [schema_name, None, True], queue=OUTBOUND_QUEUE, countdown=countdown)


def clear_request(prefix: str, schema_name: str) -> None:
    """A sender calls this before it claims rows: later commits then wake another sender."""
    try:
        redis_client().delete(prefix + schema_name)
    except redis.RedisError:
        log.debug("could not clear %s%s", prefix, schema_name)
