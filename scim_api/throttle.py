"""Rate limits of the SCIM endpoint, kept in the shared Redis so every web process counts together.

Fixed windows, three limits:
- per connection: what one IdP integration may send (defaults well above Okta's and Entra's rates);
- per source IP: what one client address may send across connections;
- failed authentications per source IP: guessing tokens is throttled hard, before any token check.

So that a request does not pay a Redis round trip, each process leases its share of a window in
blocks: INCRBY the shared counter by LEASE_SHARE of the limit, then admit that many requests from
memory. The shared count is exact for what was leased; a window's refusals start at most
(processes x lease) requests early, a few percent of the limit. Limits of 50 or fewer lease one
request at a time, i.e. exact. Failed authentications are counted exactly (INCR per 401) and read
back from a per-process copy at most FAILED_AUTH_READ_SECONDS old.

A refused request gets 429 with Retry-After (seconds to the end of the window) as a SCIM error. When
Redis is unreachable the limits are not applied (the SCIM surface stays up; the outage is logged once
a minute), because refusing an IdP's writes loses more than a burst costs.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings

from observability.metrics import redis_client

log = logging.getLogger(__name__)
PREFIX = "rollcall:ratelimit:"
LEASE_SHARE = 0.02  # of a limit, leased per round trip (1000 per window: 20 at a time)
MAX_LEASE = 50
FAILED_AUTH_READ_SECONDS = 1.0
MAX_LOCAL_KEYS = 10_000  # leases and failure counts kept per process (old windows are dropped first)
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


@dataclass
class _Lease:
    """This process's unused share of one key's window."""

    remaining: int = 0
    over: bool = False  # the shared count passed the limit: refuse until the window ends


@dataclass(frozen=True)
class _FailedCount:
    count: int
    read_at: float


_lock = threading.Lock()
_leases: dict[str, _Lease] = {}
_failed: dict[str, _FailedCount] = {}


def lease_size(limit: Limit) -> int:
    return max(1, min(MAX_LEASE, int(limit.requests * LEASE_SHARE)))


def _key(limit: Limit, key: str, now: float) -> tuple[str, int]:
    start, retry_after = _window(limit, now)
    return f"{PREFIX}{limit.name}:{key}:{start}", retry_after


def _bounded(table: dict[str, Any]) -> None:
    if len(table) > MAX_LOCAL_KEYS:
        table.clear()  # a fresh start costs one round trip per active key


def _take_local(full: str) -> bool | None:
    """True: admitted from the lease; False: refused (over); None: the lease is empty."""
    lease = _leases.get(full)
    if lease is None:
        return None
    if lease.over:
        return False
    if lease.remaining > 0:
        lease.remaining -= 1
        return True
    return None


def check_request(*, connection_id: str, source_ip: str) -> Refusal | None:
    """Count this request against the connection's and the address's limits, and refuse while the
    address has too many failed authentications (a Redis round trip only when a lease runs out)."""
    now = time.time()
    failed = failed_auth_limit()
    failed_key, failed_retry = _key(failed, source_ip, now)
    counted = [(limit, *_key(limit, key, now)) for limit, key in ((connection_limit(), connection_id), (ip_limit(), source_ip))]
    with _lock:
        known = _failed.get(failed_key)
        read_failed = known is None or time.monotonic() - known.read_at >= FAILED_AUTH_READ_SECONDS
        local = {full: _take_local(full) for _limit, full, _retry in counted}
    if not read_failed and known is not None and known.count > failed.requests:
        return Refusal(failed, failed_retry)
    to_lease = [(limit, full) for limit, full, _retry in counted if local[full] is None]
    if read_failed or to_lease:
        try:
            pipe = redis_client().pipeline(transaction=False)
            if read_failed:
                pipe.get(failed_key)
            for limit, full in to_lease:
                pipe.incrby(full, lease_size(limit))
                pipe.expire(full, limit.window_seconds + 1)
            results = pipe.execute()
        except redis.RedisError as exc:
            _outage(exc)
            return None
        answers = iter(results)
        with _lock:
            if read_failed:
                count = int(next(answers) or 0)
                _bounded(_failed)
                _failed[failed_key] = _FailedCount(count, time.monotonic())
                if count > failed.requests:
                    return Refusal(failed, failed_retry)
            _bounded(_leases)
            for limit, full in to_lease:
                total, _expire = int(next(answers)), next(answers)
                size = lease_size(limit)
                admitted = max(0, min(size, limit.requests - (total - size)))
                _leases[full] = _Lease(remaining=max(0, admitted - 1), over=admitted == 0)
                local[full] = admitted > 0
    for limit, full, retry_after in counted:
        if local[full] is False:
            return Refusal(limit, retry_after)
    return None


def note_failed_authentication(*, source_ip: str) -> None:
    """Count a 401 against the address (later requests from it get 429 once over the limit)."""
    limit = failed_auth_limit()
    full, _retry = _key(limit, source_ip, time.time())
    try:
        pipe = redis_client().pipeline(transaction=False)
        pipe.incr(full)
        pipe.expire(full, limit.window_seconds + 1)
        count, _expire = pipe.execute()
    except redis.RedisError as exc:
        _outage(exc)
        return
    with _lock:
        _failed[full] = _FailedCount(int(count), time.monotonic())
