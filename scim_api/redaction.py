"""What the request log may keep of a request: secrets removed, and nothing PostgreSQL cannot store.

Secrets are found by the schema, not by guessing: every attribute whose `returned` is "never" (or that
is writeOnly) is redacted wherever it appears — as a key (`password`, `PASSWORD`, URN-qualified), as a
PATCH operation's path (`{"path": "password", "value": ...}`), inside a path-less PATCH value, inside
Bulk operations. Keys that only ever hold credentials (token, secret, client_secret, ...) are redacted
too, and so are such parameters in a query string (`?access_token=`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

from scim.schema import RESOURCE_TYPES, Attribute

REDACTED = "[redacted]"
CREDENTIAL_KEYS = frozenset(
    {"token", "access_token", "refresh_token", "id_token", "secret", "client_secret", "bearer", "authorization", "api_key"}
)
TRUNCATED = "[truncated: nested too deeply]"
MAX_DEPTH = 40  # deeper than any SCIM body parses (the parser refuses more than SCIM_MAX_JSON_DEPTH)


def _never_returned(attributes: tuple[Attribute, ...]) -> set[str]:
    names: set[str] = set()
    for attribute in attributes:
        if attribute.returned == "never" or attribute.mutability == "writeOnly":
            names.add(attribute.name.lower())
        names |= _never_returned(attribute.sub_attributes)
    return names


SECRET_ATTRIBUTES = frozenset(
    name for rtype in RESOURCE_TYPES.values() for schema in rtype.schemas for name in _never_returned(schema.attributes)
)


def is_secret_name(name: str) -> bool:
    """A key or a PATCH path that names a secret: "password", "PASSWORD", "urn:...:User:password", "x.password"."""
    leaf = name.strip().lower().rsplit(":", 1)[-1].split("[", 1)[0].rsplit(".", 1)[-1]
    return leaf in SECRET_ATTRIBUTES or leaf in CREDENTIAL_KEYS


def _storable_text(text: str) -> str:
    # PostgreSQL text and jsonb cannot hold NUL; the log keeps a visible stand-in instead.
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


def redact(value: Any, depth: int = 0) -> Any:
    """A copy of a JSON value with every secret replaced and every string storable."""
    if depth > MAX_DEPTH:
        return TRUNCATED
    if isinstance(value, dict):
        path = value.get("path")
        secret_value = isinstance(path, str) and is_secret_name(path)
        result: dict[str, Any] = {}
        for key, item in value.items():
            name = _storable_text(str(key))
            if is_secret_name(name) or (secret_value and name.lower() == "value"):
                result[name] = REDACTED
            else:
                result[name] = redact(item, depth + 1)
        return result
    if isinstance(value, list):
        return [redact(item, depth + 1) for item in value]
    if isinstance(value, str):
        return _storable_text(value)
    return value


def redact_query(query: str) -> str:
    """A query string with credential parameters replaced."""
    if not query:
        return ""
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(is_secret_name(k) for k, _ in pairs):
        return _storable_text(query)
    return _storable_text(urlencode([(k, REDACTED if is_secret_name(k) else v) for k, v in pairs]))


def storable_text(text: str, limit: int) -> str:
    """A header or path value for a text column: NUL-free and bounded."""
    return _storable_text(text)[:limit]
