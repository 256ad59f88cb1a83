"""`capture_outbox(expected=N)`: the events a block appended, counted and checked for JSON safety."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

from django.db.models import Max

from outbox.models import Event


@contextmanager
def capture_outbox(*, expected: int | None = None, types: tuple[str, ...] | None = None) -> Iterator[list[Event]]:
    """Collect the outbox events the block appends in the current tenant schema.

    With `expected`, the block must append exactly that many; with `types`, exactly those types in
    order. Every payload must survive a JSON round trip unchanged (consumers receive JSON)."""
    start = Event.objects.aggregate(m=Max("seq"))["m"] or 0
    captured: list[Event] = []
    yield captured
    captured.extend(Event.objects.filter(seq__gt=start).order_by("seq"))
    for event in captured:
        assert json.loads(json.dumps(event.payload)) == event.payload, f"seq {event.seq} payload is not JSON-safe"
    if expected is not None:
        assert len(captured) == expected, f"expected {expected} events, got {[e.type for e in captured]}"
    if types is not None:
        assert tuple(e.type for e in captured) == types, [e.type for e in captured]
