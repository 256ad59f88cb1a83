"""Poison events set aside by the drain: list them, retry one, or skip one (with a reason).

Retrying or skipping a parked event also releases the events held behind it (later events about the
same user or group), which the drain then handles in seq order. A skipped event counts as handled:
it never runs, and the outbox row says who skipped it and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from outbox.append import Actor
from outbox.models import Event
from outbox.relay import request_dispatch
from tenants.context import current_schema


class ParkingError(Exception):
    """The event is not a parked event that can be retried or skipped: nothing changed."""


@dataclass(frozen=True)
class ParkedEvent:
    seq: int
    type: str
    resource_type: str
    resource_id: str
    parked_at: datetime
    reason: str
    attempts: int
    held_behind: int | None
    held_count: int  # events waiting behind this one (roots only)


def parked_events(*, limit: int = 200) -> list[ParkedEvent]:
    """The current tenant's parked events, oldest first, each root with how many events it holds back."""
    rows = list(
        Event.objects.filter(parked_at__isnull=False, handled_at__isnull=True)
        .order_by("seq")
        .values("seq", "type", "resource_type", "resource_id", "parked_at", "park_reason", "attempts", "held_behind")[:limit]
    )
    held: dict[int, int] = {}
    for row in rows:
        if row["held_behind"] is not None:
            held[row["held_behind"]] = held.get(row["held_behind"], 0) + 1
    return [
        ParkedEvent(
            seq=row["seq"],
            type=row["type"],
            resource_type=row["resource_type"],
            resource_id=row["resource_id"],
            parked_at=row["parked_at"] or timezone.now(),
            reason=row["park_reason"],
            attempts=row["attempts"],
            held_behind=row["held_behind"],
            held_count=held.get(row["seq"], 0),
        )
        for row in rows
    ]


def _locked_root(seq: int) -> Event:
    event = Event.objects.select_for_update().filter(seq=seq).first()
    if event is None or event.parked_at is None or event.handled_at is not None:
        raise ParkingError(f"event {seq} is not parked")
    if event.held_behind is not None:
        raise ParkingError(f"event {seq} waits behind event {event.held_behind}: retry or skip that one")
    return event


def _release_held(seq: int) -> int:
    return Event.objects.filter(held_behind=seq, handled_at__isnull=True).update(
        parked_at=None, held_behind=None, park_reason=""
    )


def _need(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise ParkingError("say why (the reason is kept with the event)")
    return reason[:2000]


def retry_parked_event(*, seq: int, actor: Actor, reason: str) -> int:
    """Put a parked event back in the queue with a fresh attempt budget; returns how many held events
    were released with it."""
    note = _need(reason)
    schema = current_schema()
    with transaction.atomic():
        event = _locked_root(seq)
        Event.objects.filter(seq=event.seq).update(
            parked_at=None, park_reason="", attempts=0, retry_at=None, resolved_by=actor.label, resolution_note=note
        )
        released = _release_held(event.seq)
        transaction.on_commit(lambda: request_dispatch(schema))
    return released


def skip_parked_event(*, seq: int, actor: Actor, reason: str) -> int:
    """Mark a parked event handled without running it; returns how many held events were released."""
    note = _need(reason)
    schema = current_schema()
    now = timezone.now()
    with transaction.atomic():
        event = _locked_root(seq)
        Event.objects.filter(seq=event.seq).update(
            handled_at=now, skipped_at=now, resolved_by=actor.label, resolution_note=note
        )
        released = _release_held(event.seq)
        transaction.on_commit(lambda: request_dispatch(schema))
    return released
