"""Webhook signatures (pure functions; no Django).

Header: `Rollcall-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, f"{t}.{body}")>`.
Several v1 values may appear (secret rotation); a receiver accepts if any matches.

Secrets are derived, not stored: secret = "whsec_" + base64url(HMAC-SHA256(server key,
"rollcall-webhook:<endpoint id>:<salt>")). The database holds only the random salt, so a leaked
database alone yields no usable secret; the server key comes from the environment.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

SECRET_PREFIX = "whsec_"
SIGNATURE_HEADER = "Rollcall-Signature"
DEFAULT_TOLERANCE_SECONDS = 300


def derive_secret(server_key: str, endpoint_id: str, salt: str) -> str:
    mac = hmac.new(server_key.encode(), f"rollcall-webhook:{endpoint_id}:{salt}".encode(), hashlib.sha256)
    return SECRET_PREFIX + base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")


def signature(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={signature(secret, t, body)}"


class InvalidSignature(Exception):
    pass


def verify(secret: str, header: str, body: bytes, *, tolerance: int = DEFAULT_TOLERANCE_SECONDS, now: float | None = None) -> int:
    """Check a Rollcall-Signature header; return its timestamp or raise InvalidSignature."""
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        raise InvalidSignature("malformed signature header")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise InvalidSignature("timestamp outside the tolerance window (replayed?)")
    expected = signature(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, c) for c in candidates):
        raise InvalidSignature("signature mismatch")
    return timestamp
