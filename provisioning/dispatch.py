"""Waking workers: publish "process tenant X" without ever blocking or failing a web request.

Called from `transaction.on_commit` (see outbox.append_events). A burst of commits publishes one
task per tenant: a Redis key "dispatch requested" is set with NX and only the setter publishes; the
worker deletes the key after taking the tenant's lock and before reading events, so a commit that
lands while a worker runs either sees the key cleared (and publishes again) or is read by that
worker. Publishing uses retry=False and short socket timeouts; when the broker is down this logs,
backs off for a moment, and returns: the beat sweeper re-dispatches every tenant with pending events.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import redis
from django.conf import settings
from kombu import Exchange, Queue

from provisioning.conf import pipeline_config

log = logging.getLogger(__name__)

PENDING_KEY = "rollcall:dispatch:requested:"
MISSED_KEY = "rollcall:dispatch:missed:"
OUTBOUND_KEY = "rollcall:outbound:requested:"
OUTBOUND_RETRY_KEY = "rollcall:outbound:retry-at:"
EVENTS_QUEUE = "rollcall.events"
OUTBOUND_QUEUE = "rollcall.outbound"
DISPATCH_TASK = "provisioning.dispatch_tenant_events"
SEND_OUTBOUND_TASK = "provisioning.send_outbound"
DEFAULT_QUEUE = "celery"


def _queue(name: str) -> Queue:
    # Each queue on its own direct exchange, bound by its own name. Queues that share an exchange
    # and a binding key (what Celery does for queues it creates on the fly) all get a copy of
    # every message: each task would run once per queue.
    return Queue(name, Exchange(name, type="direct"), routing_key=name)


QUEUES: dict[str, Queue] = {name: _queue(name) for name in (DEFAULT_QUEUE, EVENTS_QUEUE, OUTBOUND_QUEUE)}
# After a failed publish, skip publishing for this long: a down broker costs each request nothing.
BROKER_DOWN_PAUSE_SECONDS = 2.0

_state = threading.local()
_clients: dict[str, redis.Redis] = {}
_clients_lock = threading.Lock()
_down_until = 0.0


def _redis() -> redis.Redis:
    url = settings.REDIS_URL
    client = _clients.get(url)
    if client is None:
        timeout = pipeline_config().publish_timeout
        with _clients_lock:
            client = _clients.setdefault(
                url, redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
            )
    return client


def _broker_connection() -> Any:
    """This thread's publishing connection (kombu connections are not thread-safe)."""
    from config.celery import app

    url = settings.CELERY_BROKER_URL
    cached = getattr(_state, "connection", None)
    if cached is not None and cached[0] == url:
        return cached[1]
    timeout = pipeline_config().publish_timeout
    conn = app.connection_for_write(
        url,
        connect_timeout=timeout,
        transport_options={
            "socket_timeout": max(timeout, 1.0),
            "socket_connect_timeout": timeout,
            "max_retries": 0,
        },
    )
    _state.connection = (url, conn)
    return conn


def _drop_broker_connection() -> None:
    cached = getattr(_state, "connection", None)
    _state.connection = None
    if cached is not None:
        try:
            cached[1].release()
        except Exception:  # already broken; nothing to release
            log.debug("releasing a broken broker connection failed", exc_info=True)


def _broker_paused() -> bool:
    return time.monotonic() < _down_until


def _pause_broker() -> None:
    global _down_until
    _down_until = time.monotonic() + BROKER_DOWN_PAUSE_SECONDS


def publish(task_name: str, args: list[Any], *, queue: str, countdown: float | None = None) -> bool:
    """Publish one task (JSON args) once, fast; False (logged) when the broker is unavailable."""
    from config.celery import app

    if _broker_paused():
        return False
    try:
        app.send_task(
            task_name,
            args=args,
            queue=QUEUES[queue],
            connection=_broker_connection(),
            retry=False,
            countdown=countdown,
        )
        return True
    except Exception as exc:  # any broker/transport error: the sweeper catches up
        _drop_broker_connection()
        _pause_broker()
        log.warning("publishing %s%r deferred to the sweeper: %s", task_name, args[:1], type(exc).__name__)
        return False


def request_dispatch(schema_name: str) -> None:
    """Ask a worker to process the tenant's pending events (coalesced; never raises)."""
    if _broker_paused():
        log.info("dispatch of %s deferred to the sweeper: broker recently unavailable", schema_name)
        return
    key = PENDING_KEY + schema_name
    try:
        if not _redis().set(key, "1", nx=True, ex=pipeline_config().dispatch_key_ttl):
            return  # already requested and not yet picked up: that worker run will see our events
    except redis.RedisError as exc:
        _pause_broker()
        log.warning("dispatch of %s deferred to the sweeper: redis unavailable (%s)", schema_name, type(exc).__name__)
        return
    if not publish(DISPATCH_TASK, [schema_name], queue=EVENTS_QUEUE):
        clear_dispatch_request(schema_name)


def schedule_dispatch(schema_name: str, *, countdown: float | None = None) -> bool:
    """Publish a dispatch regardless of the coalescing key (a retry after backoff, or a continuation)."""
    return publish(DISPATCH_TASK, [schema_name], queue=EVENTS_QUEUE, countdown=countdown)


def clear_dispatch_request(schema_name: str) -> None:
    try:
        _redis().delete(PENDING_KEY + schema_name)
    except redis.RedisError:
        log.debug("could not clear the dispatch request of %s", schema_name)


def flag_missed_dispatch(schema_name: str) -> None:
    """A dispatch task found the tenant locked: tell the holder to re-publish after unlocking."""
    try:
        _redis().set(MISSED_KEY + schema_name, "1", ex=pipeline_config().dispatch_key_ttl)
    except redis.RedisError:
        log.debug("could not flag a missed dispatch of %s", schema_name)


def take_missed_dispatch(schema_name: str) -> bool:
    try:
        return _redis().getdel(MISSED_KEY + schema_name) is not None
    except redis.RedisError:
        return False


def request_outbound(schema_name: str) -> bool:
    """Ask a worker to send the tenant's due webhook deliveries and outbox emails. Coalesced like
    dispatch: one sender drains everything committed before it started."""
    if _broker_paused():
        return False
    key = OUTBOUND_KEY + schema_name
    try:
        if not _redis().set(key, "1", nx=True, ex=pipeline_config().dispatch_key_ttl):
            return True  # a sender is already due to run
    except redis.RedisError:
        _pause_broker()
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
        current = _redis().get(key)
        if current is not None and float(current) <= due + 0.5:
            return True
        _redis().set(key, f"{due:.3f}", ex=int(countdown) + 5)
    except redis.RedisError:
        return False
    return publish(SEND_OUTBOUND_TASK, [schema_name, None, True], queue=OUTBOUND_QUEUE, countdown=countdown)


def clear_request(prefix: str, schema_name: str) -> None:
    """A sender calls this before it claims rows: later commits then wake another sender."""
    try:
        _redis().delete(prefix + schema_name)
    except redis.RedisError:
        log.debug("could not clear %s%s", prefix, schema_name)
