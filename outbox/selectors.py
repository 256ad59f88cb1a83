"""Reads of the current tenant schema's outbox."""

from __future__ import annotations

from datetime import datetime

from outbox.models import Event

PENDING_COUNT_CAP = 100_000


def pending_event_count() -> int:
    """Events waiting to be handled, parked ones left out (capped so a huge backlog stays cheap)."""
    return Event.objects.filter(handled_at__isnull=True, parked_at__isnull=True).order_by("seq")[:PENDING_COUNT_CAP].count()


def oldest_pending_event_at() -> datetime | None:
    """When the oldest event still waiting to be handled (parked ones left out) occurred (one indexed read)."""
    return (
        Event.objects.filter(handled_at__isnull=True, parked_at__isnull=True)
        .order_by("seq")
        .values_list("occurred_at", flat=True)
        .first()
    )


def parked_event_count() -> int:
    """Events set aside (poison events and the events held behind them)."""
    return Event.objects.filter(handled_at__isnull=True, parked_at__isnull=False).count()


def events_after(after_seq: int, limit: int) -> list[Event]:
    """The committed events with seq > after_seq, in seq order (seq is gap-free in commit order)."""
    return list(
        Event.objects.filter(seq__gt=after_seq)
        .order_by("seq")
        .only("seq", "type", "occurred_at", "payload")[:limit]
    )


def latest_event_payload(*, resource_type: str, resource_id: str, event_type: str, before_seq: int) -> dict | None:
    """The payload of the newest event of a type about a resource, before `before_seq` (None if none)."""
    event = (
        Event.objects.filter(resource_type=resource_type, resource_id=resource_id, type=event_type, seq__lt=before_seq)
        .order_by("-seq")
        .only("payload")
        .first()
    )
    return None if event is None else event.payload


MEMBER_EVENT_TYPES = ("group.member_added", "group.member_removed")


def events_about_user(user_id: str, *, limit: int = 200) -> list[Event]:
    """Events about a user, oldest first: their own (user.*, role.changed, access revoked) and the
    group membership events naming them as the member. Two queries; the membership scan starts at
    the user's first event, so it covers only the events since the user existed."""
    own = list(Event.objects.filter(resource_type="User", resource_id=user_id).order_by("seq")[:limit])
    if not own:
        return []
    member = list(
        Event.objects.filter(seq__gt=own[0].seq, type__in=MEMBER_EVENT_TYPES, payload__member__id=user_id).order_by("seq")[:limit]
    )
    return sorted(own + member, key=lambda e: e.seq)[:limit]
