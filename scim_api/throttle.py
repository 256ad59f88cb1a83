"""Rate limits of the SCIM endpoint, kept in the shared Redis so every web process counts together.

Fixed windows (one INCR per limit per request, pipelined into one round trip). Three limits:
- per connection: what one IdP integration may send (defaults well above Okta's and Entra's rates);
- per source IP: what one client address may send across connections;
- failed authentications per source IP: guessing tokens is throttled hard, before any token check.
A refused request gets 429 with Retry-After (seconds to the end of the window) as a SCIM error. When
Redis is unreachable the limits are not applied (the SCIM surface stays up; the outage is logged once
a minute), because refusing an IdP's writes loses more than a burst costs.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import redis
from django.conf import settings

from observability.metrics import redis_client

log = logging.getLogger(__name__)
PREFIX = "rollcall:ratelimit:"
_last_outage_log = 0.0


@dataclass(frozen=True)
class Limit:
    name: str
    requests: int
    window_seconds: int


@dataclass(frozen=True)
class Refusal:
    limit: Limit
    retry_after: int


def connection_limit() -> Limit:
    return Limit("connection", int(settings.ROLLCALL_SCIM_RATE_PER_CONNECTION), int(settings.ROLLCALL_SCIM_RATE_WINDOW))


def ip_limit() -> Limit:
    return Limit("ip", int(settings.ROLLCALL_SCIM_RATE_PER_IP), int(settings.ROLLCALL_SCIM_RATE_WINDOW))


def failed_auth_limit() -> Limit:
    return Limit("failed_auth", int(settings.ROLLCALL_SCIM_FAILED_AUTH_PER_IP), int(settings.ROLLCALL_SCIM_FAILED_AUTH_WINDOW))


def _window(limit: Limit, now: float) -> tuple[int, int]:
    start = int(now // limit.window_seconds) * limit.window_seconds
    return start, max(1, start + limit.window_seconds - int(now))


def _outage(exc: Exception) -> None:
    global _last_outage_log
    now = time.monotonic()
    if now - _last_outage_log >= 60:
        _last_outage_log = now
        log.warning("rate limits not applied: redis unavailable (%s)", type(exc).__name__)


def _count(checks: list[tuple[Limit, str, bool]]) -> Refusal | None:
    """One round trip: for each (limit, key, counts this request) read or increment the window's
    counter; the first limit exceeded, if any."""
    now = time.time()
    try:
        pipe = redis_client().pipeline(transaction=False)
        windows = []
        for limit, key, increment in checks:
            start, retry_after = _window(limit, now)
            full = f"{PREFIX}{limit.name}:{key}:{start}"
            windows.append(retry_after)
            if increment:
                pipe.incr(full)
                pipe.expire(full, limit.window_seconds + 1)
            else:
                pipe.get(full)
        results = iter(pipe.execute())
        counts = []
        for _limit, _key, increment in checks:
            counts.append(int(next(results) or 0))
            if increment:
                next(results)  # EXPIRE's answer
    except redis.RedisError as exc:
        _outage(exc)
        return None
    for (limit, _key, _increment), count, retry_after in zip(checks, counts, windows, strict=True):
        if count > limit.requests:
            return Refusal(limit, retry_after)
    return None


def check_request(*, connection_id: str, source_ip: str) -> Refusal | None:
    """Count this request against the connection's and the address's limits, and refuse while the
    address has too many failed authentications (one Redis round trip)."""
    return _count(
        [
            (failed_auth_limit(), source_ip, False),
            (connection_limit(), connection_id, True),
            (ip_limit(), source_ip, True),
        ]
    )


def note_failed_authentication(*, source_ip: str) -> None:
    """Count a 401 against the address (later requests from it get 429 once over the limit)."""
    _count([(failed_auth_limit(), source_ip, True)])
