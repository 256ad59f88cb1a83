"""Issuing and checking secrets (SCIM bearer tokens, setup links, API keys).

Secrets are 256-bit random strings shown once. Only an HMAC-SHA256 digest keyed with
TOKEN_HASH_KEY is stored, so a database leak reveals no usable token; comparisons use
hmac.compare_digest so timing says nothing about how much of a guess was right.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.conf import settings

SCIM_TOKEN_PREFIX = "rcs_"
API_KEY_PREFIX = "rck_"
SETUP_SECRET_BYTES = 32


def digest(secret: str) -> str:
    key = settings.TOKEN_HASH_KEY.encode()
    return hmac.new(key, secret.encode(), hashlib.sha256).hexdigest()


def matches(secret: str, stored_digest: str) -> bool:
    return hmac.compare_digest(digest(secret), stored_digest)


def new_scim_token() -> str:
    return SCIM_TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_setup_secret() -> str:
    return secrets.token_urlsafe(SETUP_SECRET_BYTES)


def new_api_key() -> tuple[str, str]:
    """Return (key_id, full key). The key id is the public, indexed part of the key."""
    key_id = secrets.token_hex(8)
    return key_id, f"{API_KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"


def split_api_key(key: str) -> str | None:
    """The key id inside an API key, or None when the key is malformed."""
    if not key.startswith(API_KEY_PREFIX):
        return None
    key_id, sep, rest = key[len(API_KEY_PREFIX) :].partition("_")
    if not sep or not rest or len(key_id) != 16:
        return None
    return key_id


RECOVERY_CODE_COUNT = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud and typed from paper


def new_recovery_code() -> str:
    """A one-time recovery code like "k7qm-2xrt-9wpc" (60 bits)."""
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def normalise_recovery_code(code: str) -> str:
    """What a typed code is compared as: lower case, no spaces or dashes."""
    return "".join(ch for ch in code.lower() if ch.isalnum())


def display_prefix(secret: str) -> str:
    """What the portal may show of a secret: its first characters."""
    return secret[:10]
