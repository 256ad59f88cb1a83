"""Celery queue and task names of the pipeline. A leaf module: it imports nothing of Rollcall, so the
Celery app's wiring, the relay and the tasks can all read it without an import circle."""

from __future__ import annotations

from kombu import Exchange, Queue

EVENTS_QUEUE = "rollcall.events"
OUTBOUND_QUEUE = "rollcall.outbound"
DEFAULT_QUEUE = "celery"
DISPATCH_TASK = "provisioning.dispatch_tenant_events"
SEND_OUTBOUND_TASK = "provisioning.send_outbound"


def _queue(name: str) -> Queue:
    # Each queue on its own direct exchange, bound by its own name. Queues that share an exchange
    # and a binding key (what Celery does for queues it creates on the fly) all get a copy of
    # every message: each task would run once per queue.
    return Queue(name, Exchange(name, type="direct"), routing_key=name)


QUEUES: dict[str, Queue] = {name: _queue(name) for name in (DEFAULT_QUEUE, EVENTS_QUEUE, OUTBOUND_QUEUE)}
