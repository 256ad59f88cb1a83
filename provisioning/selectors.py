"""Reads of the current tenant schema for the pipeline, the Events API and the portal."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection
from django.db.models import Count

from directory.models import RoleGrant
from directory.selectors import MAX_GROUP_NESTING
from provisioning.models import (
    Event,
    Notification,
    OffboardingRecord,
    WebhookDelivery,
    WebhookEndpoint,
)

_USERS_UNDER_GROUP_SQL = """
WITH RECURSIVE down(group_id, depth) AS (
    SELECT g, 0 FROM unnest(%s::uuid[]) AS g
    UNION
    SELECT m.child_group_id, d.depth + 1
    FROM down d JOIN directory_membership m ON m.group_id = d.group_id
    WHERE m.child_group_id IS NOT NULL AND d.depth < %s
)
SELECT DISTINCT m.user_id FROM directory_membership m JOIN down d ON m.group_id = d.group_id
WHERE m.user_id IS NOT NULL
"""

PENDING_COUNT_CAP = 100_000

# For each user: whether active, the best role mapped from any group reached directly or through
# nested groups (highest precedence, then key; the lowest group id names the source), and the
# grant the user holds now. One round trip whatever the number of users.
_ROLE_TARGETS_SQL = """
WITH RECURSIVE reach(user_id, group_id, depth) AS (
    SELECT m.user_id, m.group_id, 0 FROM directory_membership m WHERE m.user_id = ANY(%(ids)s::uuid[])
    UNION
    SELECT r.user_id, p.group_id, r.depth + 1
    FROM reach r JOIN directory_membership p ON p.child_group_id = r.group_id
    WHERE r.depth < %(depth)s
),
best AS (
    SELECT DISTINCT ON (r.user_id) r.user_id, ro.id AS role_id, ro.key AS role_key, r.group_id
    FROM reach r
    JOIN directory_grouprolemapping gm ON gm.group_id = r.group_id
    JOIN directory_role ro ON ro.id = gm.role_id
    ORDER BY r.user_id, ro.precedence DESC, ro.key DESC, r.group_id
)
SELECT u.id, u.active, b.role_id, b.role_key, b.group_id, g.role_id, cr.key, g.source
FROM directory_directoryuser u
LEFT JOIN best b ON b.user_id = u.id
LEFT JOIN directory_rolegrant g ON g.user_id = u.id
LEFT JOIN directory_role cr ON cr.id = g.role_id
WHERE u.id = ANY(%(ids)s::uuid[])
"""


@dataclass(frozen=True)
class RoleTarget:
    user_id: uuid.UUID
    active: bool
    mapped_role_id: int | None
    mapped_role_key: str | None
    mapped_group_id: uuid.UUID | None
    current_role_id: int | None
    current_role_key: str | None
    current_source: str | None


def role_targets(user_ids: Sequence[uuid.UUID]) -> list[RoleTarget]:
    """What role each existing user should hold from their groups, next to what they hold."""
    if not user_ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(_ROLE_TARGETS_SQL, {"ids": [str(u) for u in user_ids], "depth": MAX_GROUP_NESTING})
        return [RoleTarget(*row) for row in cursor.fetchall()]


@dataclass(frozen=True)
class SeatCount:
    role: str
    name: str
    billable: bool
    seats: int


def seat_counts() -> list[SeatCount]:
    """Seats per role (every role listed, zero included). Deactivated users hold no grant, so no seat."""
    from directory.models import Role

    counts = dict(
        RoleGrant.objects.filter(user__active=True).values("role_id").annotate(n=Count("id")).values_list("role_id", "n")
    )
    return [
        SeatCount(role=r.key, name=r.name, billable=r.billable, seats=counts.get(r.id, 0))
        for r in Role.objects.order_by("precedence", "key")
    ]


def billable_seats() -> int:
    return sum(s.seats for s in seat_counts() if s.billable)


def users_under_groups(group_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """Users who are members of the groups directly or through nested groups, in one query."""
    if not group_ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(_USERS_UNDER_GROUP_SQL, [[str(g) for g in group_ids], MAX_GROUP_NESTING])
        return [row[0] for row in cursor.fetchall()]


def pending_event_count() -> int:
    """Events not yet handled (capped so a huge backlog stays a cheap index scan)."""
    return Event.objects.filter(handled_at__isnull=True).order_by("seq")[:PENDING_COUNT_CAP].count()


def events_after(after_seq: int, limit: int) -> list[Event]:
    """The committed events with seq > after_seq, in seq order (seq is gap-free in commit order)."""
    return list(
        Event.objects.filter(seq__gt=after_seq)
        .order_by("seq")
        .only("seq", "type", "occurred_at", "payload")[:limit]
    )


def last_role_of(user_id: str, before_seq: int) -> str | None:
    """The role the pipeline last granted the user, per the outbox (role.changed is the record)."""
    from provisioning.event_types import EventType

    event = (
        Event.objects.filter(
            resource_type="User", resource_id=user_id, type=EventType.ROLE_CHANGED.value, seq__lt=before_seq
        )
        .order_by("-seq")
        .only("payload")
        .first()
    )
    return None if event is None else event.payload.get("role")


def offboarding_records(user_id: uuid.UUID | None = None) -> list[OffboardingRecord]:
    qs = OffboardingRecord.objects.order_by("-completed_at")
    return list(qs.filter(user_id=user_id) if user_id else qs[:100])


def unread_notifications() -> list[Notification]:
    return list(Notification.objects.filter(read_at__isnull=True).order_by("-last_raised_at"))


def active_endpoints() -> list[WebhookEndpoint]:
    return list(WebhookEndpoint.objects.filter(active=True).order_by("created_at"))


def dead_deliveries(endpoint_id: uuid.UUID | None = None) -> list[WebhookDelivery]:
    qs = WebhookDelivery.objects.filter(status=WebhookDelivery.Status.DEAD)
    if endpoint_id is not None:
        qs = qs.filter(endpoint_id=endpoint_id)
    return list(qs.order_by("event_seq"))


@dataclass(frozen=True)
class DeliveryRow:
    delivery_id: int
    endpoint_id: str
    event_seq: int
    event_type: str
    status: str
    attempts: int
    last_status_code: int | None
    next_attempt_at: object
    last_error: str


def webhook_deliveries(*, endpoint_id: str | None = None, status: str | None = None, limit: int = 50) -> list[DeliveryRow]:
    """The current tenant's most recent deliveries (newest first): the ids `replay --delivery` takes."""
    rows = WebhookDelivery.objects.order_by("-event_seq", "-id")
    if endpoint_id:
        rows = rows.filter(endpoint__id=endpoint_id)
    if status:
        rows = rows.filter(status=status)
    return [
        DeliveryRow(
            d.pk,
            str(d.endpoint_id),
            d.event_seq,
            d.event_type,
            d.status,
            d.total_attempts,
            d.last_status_code,
            d.next_attempt_at,
            d.last_error[:120],
        )
        for d in rows[: max(1, min(limit, 1000))]
    ]
