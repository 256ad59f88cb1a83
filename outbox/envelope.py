"""The one document an event is published as: webhook bodies and Events API items are the same."""

from __future__ import annotations

import json
from typing import Any

from outbox.models import Event


def event_id(tenant_slug: str, seq: int) -> str:
    """Globally unique and stable: receivers de-duplicate on it."""
    return f"{tenant_slug}:{seq}"


def envelope(tenant_slug: str, event: Event) -> dict[str, Any]:
    """{id, seq, type, occurred_at, data}: identical on every delivery of the same event."""
    return {
        "id": event_id(tenant_slug, event.seq),
        "seq": event.seq,
        "type": event.type,
        "occurred_at": event.occurred_at.isoformat().replace("+00:00", "Z"),
        "data": event.payload,
    }


def envelope_bytes(tenant_slug: str, event: Event) -> bytes:
    """The envelope as compact JSON with sorted keys (what webhook signatures are computed over)."""
    return json.dumps(envelope(tenant_slug, event), separators=(",", ":"), sort_keys=True).encode()
