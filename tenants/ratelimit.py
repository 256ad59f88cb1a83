"""Failed-attempt limits on the shared cache (Redis): per account and per source IP.

A fixed window per key: the first failure starts it, every failure counts, and once a count
reaches its limit every attempt is refused until the window ends (the right password too, or
guessing would go on). Keys hold a hash of the account name, never the name or the secret.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

PASSWORD = "password"
CODE = "code"


class Limited(Exception):
    """Too many failures: refuse until `retry_after` seconds have passed."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after}s")
        self.retry_after = max(int(retry_after), 1)

    @property
    def message(self) -> str:
        minutes = math.ceil(self.retry_after / 60)
        wait = f"{minutes} minute{'s' if minutes != 1 else ''}" if self.retry_after >= 60 else (
            f"{self.retry_after} seconds"
        )
        return f"Too many failed attempts. For your security, wait {wait} and try again."


@dataclass(frozen=True)
class Limits:
    per_account: int
    per_ip: int
    window: int


def limits() -> Limits:
    return Limits(
        per_account=settings.ROLLCALL_LOGIN_MAX_FAILURES_PER_ACCOUNT,
        per_ip=settings.ROLLCALL_LOGIN_MAX_FAILURES_PER_IP,
        window=settings.ROLLCALL_LOGIN_WINDOW_SECONDS,
    )


def _key(kind: str, scope: str, ident: str) -> str:
    hashed = hashlib.sha256(ident.encode()).hexdigest()[:32]
    return f"rl:{kind}:{scope}:{hashed}"


def _blocked_for(key: str, limit: int) -> int:
    """Seconds left in the key's window when its count has reached `limit`, else 0."""
    count = cache.get(key)
    if count is None or int(count) < limit:
        return 0
    reset_at = cache.get(key + ":reset")
    if reset_at is None:
        return 0
    return max(math.ceil(float(reset_at) - time.time()), 0)


def check(kind: str, *, account: str, ip: str) -> None:
    """Raise Limited while the account or the IP is locked out for this kind of secret."""
    lim = limits()
    wait = max(
        _blocked_for(_key(kind, "account", account), lim.per_account),
        _blocked_for(_key(kind, "ip", ip or "-"), lim.per_ip),
    )
    if wait:
        raise Limited(wait)


def fail(kind: str, *, account: str, ip: str) -> None:
    """Count one failure for the account and for the IP."""
    lim = limits()
    for key in (_key(kind, "account", account), _key(kind, "ip", ip or "-")):
        if cache.add(key, 0, timeout=lim.window):
            cache.set(key + ":reset", time.time() + lim.window, timeout=lim.window)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr: start a new window
            cache.set(key, 1, timeout=lim.window)
            cache.set(key + ":reset", time.time() + lim.window, timeout=lim.window)


def clear(kind: str, *, account: str) -> None:
    """A success forgets the account's failures (the IP's stay: one IP may try many accounts)."""
    key = _key(kind, "account", account)
    cache.delete_many([key, key + ":reset"])
