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


def display_prefix(secret: str) -> str:
    """What the portal may show of a secret: its first characters."""
    return secret[:10]
