"""Appending outbox events. Call inside the transaction that makes the change.

Sequence numbers come from a per-schema counter row that is locked by the UPDATE; the lock is
held until commit, so a tenant's events commit in `seq` order with no gaps, and the Events API
can page by `seq` without ever skipping an event that commits late.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from provisioning.event_types import EventType
from provisioning.models import Event
from tenants.db import tenant_connection

_ALLOCATE_SQL = "UPDATE provisioning_eventcounter SET value = value + %s WHERE id = 1 RETURNING value"


@dataclass(frozen=True)
class Actor:
    """Who caused a change: a SCIM connection, an operator, or the system."""

    kind: str  # "scim" | "operator" | "system" | "portal"
    id: str
    request_id: str = ""
    requested_at: datetime | None = None

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.id}"


SYSTEM = Actor(kind="system", id="rollcall")


@dataclass(frozen=True)
class NewEvent:
    type: EventType
    resource_type: str
    resource_id: str
    payload: dict[str, Any]


def append_events(events: Sequence[NewEvent], *, actor: Actor) -> list[Event]:
    """Write `events` to the outbox of the current tenant schema and schedule their dispatch on commit."""
    if not events:
        return []
    if not connection.in_atomic_block:
        raise RuntimeError("append_events must run inside the transaction that makes the change")
    with connection.cursor() as cursor:
        cursor.execute(_ALLOCATE_SQL, [len(events)])
        row = cursor.fetchone()
    if row is None:
        raise RuntimeError(f"event counter row missing in schema {tenant_connection().schema_name}")
    last_seq = int(row[0])
    now = timezone.now()
    rows = [
        Event(
            seq=last_seq - len(events) + 1 + index,
            type=event.type.value,
            occurred_at=now,
            actor=actor.label,
            resource_type=event.resource_type,
            resource_id=event.resource_id,
            payload=event.payload,
            request_id=actor.request_id,
            requested_at=actor.requested_at,
        )
        for index, event in enumerate(events)
    ]
    Event.objects.bulk_create(rows)
    schema_name = tenant_connection().schema_name
    transaction.on_commit(lambda: _request_dispatch(schema_name))
    return rows


def _request_dispatch(schema_name: str) -> None:
    # Imported late: the dispatcher pulls in Celery, which services must not depend on at import.
    from provisioning.dispatch import request_dispatch

    request_dispatch(schema_name)
