"""The handler registry: which side effects run for which event type, in which order.

A handler is a small function of a `HandlerContext` (plain values: tenant, seq, type, payload),
or, registered with `register_batch`, of the list of contexts of one transaction's events (so it
can read and write for all of them with a constant number of queries). It runs inside the
dispatcher's transaction together with the `HandlerRun` rows that mark it done, so its database
effects and its completion commit (or roll back) together. Handlers write only the database: mail
and webhooks go through outbox rows that are sent after commit.

Within one transaction the dispatcher runs each handler over all of the transaction's events (in
seq order) before the next handler: handlers act on the directory's current state, which the
transaction's events all precede, so this gives the same result as event by event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from outbox.append import Actor
from outbox.event_types import EventType
from tenants.context import TenantRef

ALL_TYPES: tuple[EventType, ...] = tuple(EventType)


class TransientHandlerError(Exception):
    """The handler could not do its work now (a dependency is down): retry with backoff, in order."""


class PermanentHandlerError(Exception):
    """The handler can never handle this event (bad data): set it aside now instead of retrying.

    Any other exception counts as transient until ROLLCALL_HANDLER_PARK_AFTER attempts, then the
    event is set aside as well."""


@dataclass
class TransactionBuffer:
    """Rows handlers of several events want inserted; the dispatcher writes them in bulk before the
    commit of the transaction that handles those events (one INSERT instead of one per event)."""

    webhook_deliveries: list[Any] = field(default_factory=list)


@dataclass
class HandlerContext:
    """What a handler knows about the event it reacts to. Everything else it reads from the database."""

    tenant: TenantRef
    seq: int
    type: EventType
    payload: dict[str, Any]
    occurred_at: datetime
    requested_at: datetime | None
    request_id: str = ""
    # Shared by the events of one dispatch batch (e.g. the active webhook endpoints, read once).
    batch_cache: dict[str, Any] = field(default_factory=dict)
    # Shared by the events handled in the same transaction; flushed by the dispatcher before commit.
    buffer: TransactionBuffer = field(default_factory=TransactionBuffer)

    @property
    def actor(self) -> Actor:
        """The actor for events a handler appends: the pipeline, carrying the cause's request time."""
        return Actor(kind="system", id="pipeline", request_id=f"seq:{self.seq}", requested_at=self.requested_at)

    def user_id(self) -> str | None:
        user = self.payload.get("user")
        return str(user["id"]) if isinstance(user, dict) and user.get("id") else None


HandlerFn = Callable[[HandlerContext], None]
BatchHandlerFn = Callable[[list[HandlerContext]], None]


@dataclass(frozen=True)
class Handler:
    name: str  # stable: it is the key of HandlerRun rows
    fn: HandlerFn | BatchHandlerFn
    types: frozenset[EventType]
    order: int
    batch: bool = False  # fn takes the list of contexts of a transaction's events

    def run(self, contexts: list[HandlerContext]) -> None:
        """Handle `contexts` (seq order, all of types this handler takes)."""
        if self.batch:
            self.fn(contexts)  # type: ignore[arg-type]
            return
        for ctx in contexts:
            self.fn(ctx)  # type: ignore[arg-type]


_REGISTRY: dict[str, Handler] = {}


def _add(handler: Handler) -> None:
    existing = _REGISTRY.get(handler.name)
    if existing is not None and existing.fn is not handler.fn:
        raise ValueError(f"handler name {handler.name!r} registered twice")
    _REGISTRY[handler.name] = handler


def register(name: str, types: Iterable[EventType], *, order: int = 50) -> Callable[[HandlerFn], HandlerFn]:
    """Register `fn` under a stable name for the given event types (lower `order` runs first)."""

    def decorate(fn: HandlerFn) -> HandlerFn:
        _add(Handler(name=name, fn=fn, types=frozenset(types), order=order))
        return fn

    return decorate


def register_batch(
    name: str, types: Iterable[EventType], *, order: int = 50
) -> Callable[[BatchHandlerFn], BatchHandlerFn]:
    """Register `fn(contexts)`: called once per transaction with that transaction's events of `types`."""

    def decorate(fn: BatchHandlerFn) -> BatchHandlerFn:
        _add(Handler(name=name, fn=fn, types=frozenset(types), order=order, batch=True))
        return fn

    return decorate


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def handlers_for(event_type: EventType) -> list[Handler]:
    return handlers_for_types({event_type})


def handlers_for_types(event_types: set[EventType]) -> list[Handler]:
    """The handlers that take any of `event_types`, in run order."""
    load_builtin_handlers()
    return sorted((h for h in _REGISTRY.values() if h.types & event_types), key=lambda h: (h.order, h.name))


_loaded = False


def load_builtin_handlers() -> None:
    """Import the handler modules once (explicit list: adding a handler is a reviewed one-line change)."""
    global _loaded
    if _loaded:
        return
    from provisioning.handlers import (  # noqa: F401
        offboarding,
        role_recompute,
        unmapped_group,
        webhook_fanout,
        welcome_email,
    )

    _loaded = True
