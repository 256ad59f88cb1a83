"""The outbox relay: after a change commits, wake a worker to drain the tenant's events.

Publishing never blocks or fails a web request. A burst of commits publishes one task per tenant: a
Redis key "dispatch requested" is set with NX and only the setter publishes; the drain deletes the
key after taking the tenant's lock and before reading events, so a commit that lands while a worker
runs either sees the key cleared (and publishes again) or is read by that worker. Publishing uses
retry=False and short socket timeouts; when the broker is down this logs, backs off for a moment,
and returns: the beat sweeper re-dispatches every tenant with pending events, so nothing is lost.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import redis
from celery import current_app
from django.conf import settings

from outbox.queues import DISPATCH_TASK, EVENTS_QUEUE, QUEUES

log = logging.getLogger(__name__)

PENDING_KEY = "rollcall:dispatch:requested:"
# After a failed publish, skip publishing for this long: a down broker costs each request nothing.
BROKER_DOWN_PAUSE_SECONDS = 2.0

_state = threading.local()
_clients: dict[str, redis.Redis] = {}
_clients_lock = threading.Lock()
_down_until = 0.0


def publish_timeout() -> float:
    return float(settings.ROLLCALL_PUBLISH_TIMEOUT)


def redis_client() -> redis.Redis:
    """The relay's Redis client (short timeouts: a wake-up is never worth waiting for)."""
    url = settings.REDIS_URL
    client = _clients.get(url)
    if client is None:
        timeout = publish_timeout()
        with _clients_lock:
            client = _clients.setdefault(
                url, redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
            )
    return client


def _broker_connection() -> Any:
    """This thread's publishing connection (kombu connections are not thread-safe)."""
    url = settings.CELERY_BROKER_URL
    cached = getattr(_state, "connection", None)
    if cached is not None and cached[0] == url:
        return cached[1]
    timeout = publish_timeout()
    conn = current_app.connection_for_write(
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


def broker_paused() -> bool:
    return time.monotonic() < _down_until


def pause_broker() -> None:
    global _down_until
    _down_until = time.monotonic() + BROKER_DOWN_PAUSE_SECONDS


def reset_broker_pause() -> None:
    """Forget a recent broker failure (tests, and a process that knows the broker is back)."""
    global _down_until
    _down_until = 0.0


def publish(task_name: str, args: list[Any], *, queue: str, countdown: float | None = None) -> bool:
    """Publish one task (JSON args) once, fast; False (logged) when the broker is unavailable."""
    if broker_paused():
        return False
    try:
        current_app.send_task(
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
        pause_broker()
        log.warning("publishing %s%r deferred to the sweeper: %s", task_name, args[:1], type(exc).__name__)
        return False


def request_dispatch(schema_name: str) -> None:
    """Ask a worker to drain the tenant's pending events (coalesced; never raises)."""
    if broker_paused():
        log.info("dispatch of %s deferred to the sweeper: broker recently unavailable", schema_name)
        return
    key = PENDING_KEY + schema_name
    try:
        if not redis_client().set(key, "1", nx=True, ex=int(settings.ROLLCALL_DISPATCH_KEY_TTL)):
            return  # already requested and not yet picked up: that worker run will see our events
    except redis.RedisError as exc:
        pause_broker()
        log.warning("dispatch of %s deferred to the sweeper: redis unavailable (%s)", schema_name, type(exc).__name__)
        return
    if not publish(DISPATCH_TASK, [schema_name], queue=EVENTS_QUEUE):
        clear_dispatch_request(schema_name)


def clear_dispatch_request(schema_name: str) -> None:
    """The drain calls this after locking the tenant and before reading: later commits publish anew."""
    try:
        redis_client().delete(PENDING_KEY + schema_name)
    except redis.RedisError:
        log.debug("could not clear the dispatch request of %s", schema_name)
