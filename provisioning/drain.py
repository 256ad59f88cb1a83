"""The drain: handle a tenant's pending outbox events strictly in seq order.

One drain per tenant at a time (a PostgreSQL session advisory lock; a crashed worker's
connection closes and releases it). Events are read in small batches and handled in order, a few
per transaction: a transaction holds its events' handler effects, the HandlerRun rows that mark
the handlers done and the handled marks, so a redelivered event skips what already happened.

A failing handler rolls its event back. A transient failure stops the tenant's queue at that event
(later events wait: order) with attempts, last_error and a backoff time. A poison event (a
PermanentHandlerError, or ROLLCALL_HANDLER_PARK_AFTER failed attempts) is set aside ("parked"): the
tenant's other events go on, later events about the same resource are held behind it, the admins are
alerted, and an operator retries or skips it (provisioning.parking). Other tenants are unaffected.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from observability import metrics
from observability.activity import mark_tenant_active
from outbox import relay
from outbox.append import deferred_appends
from outbox.event_types import EventType
from outbox.models import Event
from outbox.selectors import pending_event_count
from provisioning import emails, wakeups
from provisioning.backoff import backoff_seconds
from provisioning.handlers import HandlerContext, PermanentHandlerError, TransactionBuffer, handlers_for_types
from provisioning.models import HandlerRun, Notification
from provisioning.notifications import raise_notification
from provisioning.tunables import PipelineConfig, pipeline_config
from provisioning.webhooks.delivery import insert_deliveries
from tenants.context import TenantRef, UnknownTenant, tenant_for_schema, tenant_schema

log = logging.getLogger(__name__)
MAX_ERROR_CHARS = 2000


@dataclass
class DispatchResult:
    schema_name: str
    handled: int = 0
    locked_out: bool = False  # another dispatcher holds this tenant
    failed_seq: int | None = None
    retry_in: float | None = None  # seconds until the head event may be retried
    failed_now: bool = False  # a handler failed in this run (not merely: the head is still backing off)
    drained: bool = False  # the last read found no pending event
    more: bool = False  # the time budget ran out with events left
    parked: list[int] = field(default_factory=list)  # events set aside in this run
    parked_now: bool = False  # the last batch stopped at a parked event
    webhook_delivery_ids: list[int] = field(default_factory=list)


def handler_retry_seconds(attempts: int, conf: PipelineConfig) -> float:
    return backoff_seconds(attempts, base=conf.handler_retry_base, cap=conf.handler_retry_cap)


# --------------------------------------------------------------------------- locking


def _lock_key(schema_name: str) -> str:
    return f"rollcall.dispatch:{schema_name}"


def try_lock_tenant(schema_name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", [_lock_key(schema_name)])
        row = cursor.fetchone()
    return bool(row and row[0])


def unlock_tenant(schema_name: str) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [_lock_key(schema_name)])
    except Exception:
        # Workers keep their connection across tasks: never keep one that may still hold the lock.
        connection.close()
        raise


# --------------------------------------------------------------------------- one event


def _context(
    tenant: TenantRef, event: Event, event_type: EventType, cache: dict[str, Any], buffer: TransactionBuffer
) -> HandlerContext:
    return HandlerContext(
        tenant=tenant,
        seq=event.seq,
        type=event_type,
        payload=event.payload,
        occurred_at=event.occurred_at,
        requested_at=event.requested_at,
        request_id=event.request_id,
        batch_cache=cache,
        buffer=buffer,
    )


@dataclass
class EventOutcome:
    ok: bool
    handled_at: datetime | None = None
    failed_handler: str = ""
    retry_in: float | None = None
    parked: bool = False


class HandlerFailed(Exception):
    """A handler raised while handling `event` (the transaction around it is rolled back)."""

    def __init__(self, event: Event, step: str, cause: Exception) -> None:
        super().__init__(f"{step} failed on seq {event.seq}: {cause!r}")
        self.event = event
        self.step = step
        self.cause = cause


def handle_events(
    tenant: TenantRef,
    events: list[Event],
    *,
    done: dict[int, set[str]] | None = None,
    cache: dict[str, Any] | None = None,
    on_committed: list[int] | None = None,
) -> datetime:
    """Run the remaining handlers of `events` (in order), write their HandlerRun rows and mark them
    handled, all in ONE transaction (current schema). Handlers only write the database (mail and
    webhooks go through outboxes), so all-or-nothing is exact. Raises HandlerFailed."""
    done = done or {}
    cache = cache if cache is not None else {}
    runs: list[HandlerRun] = []
    buffer = TransactionBuffer()
    # Events that handlers append are written last (deferred_appends): the seq counter is then this
    # transaction's last lock, as in every directory write, so the two never deadlock.
    with transaction.atomic(), deferred_appends():
        contexts: list[HandlerContext] = []
        for event in events:
            try:
                contexts.append(_context(tenant, event, EventType.parse(event.type), cache, buffer))
            except Exception as exc:
                raise HandlerFailed(event, "dispatcher", exc) from exc
        by_seq = {event.seq: event for event in events}
        for handler in handlers_for_types({ctx.type for ctx in contexts}):
            todo = [c for c in contexts if c.type in handler.types and handler.name not in done.get(c.seq, ())]
            if not todo:
                continue
            try:
                handler.run(todo)
            except Exception as exc:
                # With several events the drain redoes them one per transaction, which names the event.
                raise HandlerFailed(by_seq[todo[0].seq], handler.name, exc) from exc
            runs.extend(HandlerRun(seq=c.seq, handler=handler.name) for c in todo)
        delivery_ids = insert_deliveries(buffer.webhook_deliveries)
        now = timezone.now()
        for run in runs:
            run.completed_at = now
        HandlerRun.objects.bulk_create(runs)
        Event.objects.filter(seq__in=[e.seq for e in events]).update(
            handled_at=now,
            dispatched_at=Coalesce("dispatched_at", Value(now)),
            attempts=F("attempts") + 1,
            last_error="",
            retry_at=None,
        )
        if on_committed is not None and delivery_ids:
            transaction.on_commit(lambda: on_committed.extend(delivery_ids))
    return now


def process_event(
    tenant: TenantRef,
    event: Event,
    *,
    done: set[str] | None = None,
    cache: dict[str, Any] | None = None,
    conf: PipelineConfig | None = None,
    on_committed: list[int] | None = None,
) -> EventOutcome:
    """Handle one event in its own transaction, or roll it back and record the failure."""
    conf = conf or pipeline_config()
    if done is None:
        done = set(HandlerRun.objects.filter(seq=event.seq).values_list("handler", flat=True))
    try:
        handled_at = handle_events(tenant, [event], done={event.seq: done}, cache=cache, on_committed=on_committed)
    except HandlerFailed as failure:
        log.error("handler %s failed on %s seq %s", failure.step, tenant.schema_name, event.seq, exc_info=failure.cause)
        return _record_failure(tenant, event, failure.step, failure.cause, conf)
    except Exception as exc:  # the commit itself failed (e.g. a constraint): the queue waits all the same
        log.exception("handling %s seq %s failed", tenant.schema_name, event.seq)
        return _record_failure(tenant, event, "dispatcher", exc, conf)
    return EventOutcome(ok=True, handled_at=handled_at)


def _record_failure(tenant: TenantRef, event: Event, step: str, exc: Exception, conf: PipelineConfig) -> EventOutcome:
    now = timezone.now()
    attempts = event.attempts + 1
    error = f"{step}: {type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]
    park = isinstance(exc, PermanentHandlerError) or attempts >= conf.park_after_attempts
    delay = None if park else handler_retry_seconds(attempts, conf)
    with transaction.atomic():
        Event.objects.filter(seq=event.seq).update(
            dispatched_at=Coalesce("dispatched_at", Value(now)),
            attempts=attempts,
            last_error=error,
            retry_at=None if delay is None else now + timedelta(seconds=delay),
            parked_at=now if park else None,
            park_reason=error if park else "",
        )
        if park:
            _alert_parked(tenant, event, step, exc, attempts)
        elif attempts == conf.stuck_after_attempts:
            _alert_stuck(tenant, event, step, exc)
        transaction.on_commit(lambda: metrics.HANDLER_FAILURES.inc(handler=step))
    return EventOutcome(ok=False, failed_handler=step, retry_in=delay, parked=park)


def _alert_stuck(tenant: TenantRef, event: Event, handler: str, exc: BaseException) -> None:
    raise_notification(
        tenant=tenant,
        kind=Notification.Kind.PIPELINE_STUCK,
        key=f"pipeline_stuck:{event.seq}",
        title=f"Provisioning is paused at event {event.seq} ({event.type})",
        body=(
            f"The {handler} step failed {event.attempts + 1} times ({type(exc).__name__}). Later events wait so "
            "that they stay in order; Rollcall keeps retrying with backoff. Contact support if this persists."
        ),
        severity=Notification.Severity.CRITICAL,
        data={"seq": event.seq, "handler": handler},
        cooldown=timedelta(hours=6),
    )


def _alert_parked(tenant: TenantRef, event: Event, handler: str, exc: BaseException, attempts: int) -> None:
    raise_notification(
        tenant=tenant,
        kind=Notification.Kind.PIPELINE_STUCK,
        key=f"pipeline_parked:{event.seq}",
        title=f"Event {event.seq} ({event.type}) could not be handled and was set aside",
        body=(
            f"The {handler} step failed ({type(exc).__name__}) after {attempts} attempt(s). Your other provisioning "
            f"goes on; later changes to the same {event.resource_type.lower() or 'resource'} wait behind this "
            "event until Rollcall support retries or skips it."
        ),
        severity=Notification.Severity.CRITICAL,
        data={"seq": event.seq, "handler": handler, "parked": True},
        cooldown=None,
    )


def _hold_blocked(batch: list[Event]) -> list[Event]:
    """Set aside the batch's events about a resource that has a parked event (they wait behind it, in
    order); the rest, in seq order. One query when nothing is parked, which is the normal case."""
    parked = list(
        Event.objects.filter(parked_at__isnull=False, handled_at__isnull=True, held_behind__isnull=True)
        .order_by("seq")
        .values_list("resource_type", "resource_id", "seq")
    )
    if not parked:
        return batch
    roots: dict[tuple[str, str], int] = {}
    for resource_type, resource_id, seq in parked:
        roots.setdefault((resource_type, resource_id), seq)
    held: dict[int, list[int]] = defaultdict(list)
    ready: list[Event] = []
    for event in batch:
        root = roots.get((event.resource_type, event.resource_id)) if event.resource_id else None
        if root is not None and root < event.seq:
            held[root].append(event.seq)
        else:
            ready.append(event)
    now = timezone.now()
    for root, seqs in held.items():
        Event.objects.filter(seq__in=seqs).update(parked_at=now, held_behind=root, park_reason=f"held behind event {root}")
    return ready


# --------------------------------------------------------------------------- draining a tenant


def _drain(tenant: TenantRef, result: DispatchResult, conf: PipelineConfig, deadline: float) -> None:
    while True:
        if time.monotonic() >= deadline:
            result.more = pending_event_count() > 0
            return
        read = list(Event.objects.filter(handled_at__isnull=True, parked_at__isnull=True).order_by("seq")[: conf.batch_size])
        result.drained = not read
        if not read:
            return
        batch = _hold_blocked(read)
        if not batch:
            continue  # everything read was held behind a parked event: read on
        head = batch[0]
        now = timezone.now()
        if head.retry_at is not None and head.retry_at > now:
            result.failed_seq = head.seq
            result.retry_in = (head.retry_at - now).total_seconds()
            return
        done: dict[int, set[str]] = defaultdict(set)
        tried = [e.seq for e in batch if e.attempts]  # a never-tried event cannot have HandlerRun rows
        if tried:
            for seq, name in HandlerRun.objects.filter(seq__in=tried).values_list("seq", "handler"):
                done[seq].add(name)
        cache: dict[str, Any] = {}
        samples: list[tuple[Any, dict[str, str], float]] = []
        with emails.collecting_emails() as email_ids:
            try:
                _handle_batch(tenant, batch, done, cache, conf, result, samples, deadline)
            finally:
                if samples:
                    metrics.record(samples)  # type: ignore[arg-type]
                _flush_outbound(tenant, result, email_ids)
        if result.failed_seq is not None or time.monotonic() >= deadline:
            if time.monotonic() >= deadline and result.failed_seq is None:
                result.more = pending_event_count() > 0
            return
        if result.parked_now:
            result.parked_now = False
            continue  # re-read: the events behind the parked one are held by the next read
        if len(read) < conf.batch_size:
            # The read found everything pending; events committed since then re-set the request
            # key, which dispatch_tenant checks after unlocking.
            result.drained = True
            return


def _handle_batch(
    tenant: TenantRef,
    batch: list[Event],
    done: dict[int, set[str]],
    cache: dict[str, Any],
    conf: PipelineConfig,
    result: DispatchResult,
    samples: list[tuple[Any, dict[str, str], float]],
    deadline: float,
) -> None:
    """Handle the batch in chunks of `tx_events` events per transaction (fewer commits); when a
    chunk fails, its events are redone one per transaction so the failure lands on the right event."""
    position = 0
    while position < len(batch):
        chunk = batch[position : position + conf.tx_events]
        position += len(chunk)
        handled_at: datetime | None = None
        if len(chunk) > 1:
            try:
                handled_at = handle_events(tenant, chunk, done=done, cache=cache, on_committed=result.webhook_delivery_ids)
            except Exception:
                log.info("a chunk of %s failed; redoing its %d events one at a time", tenant.schema_name, len(chunk))
        if handled_at is not None:
            _handled(result, samples, chunk, handled_at)
        else:
            for event in chunk:
                outcome = process_event(
                    tenant, event, done=done[event.seq], cache=cache, conf=conf, on_committed=result.webhook_delivery_ids
                )
                if outcome.parked:
                    result.parked.append(event.seq)
                    result.parked_now = True
                    return
                if not outcome.ok:
                    result.failed_seq = event.seq
                    result.retry_in = outcome.retry_in
                    result.failed_now = True
                    return
                assert outcome.handled_at is not None
                _handled(result, samples, [event], outcome.handled_at)
        if time.monotonic() >= deadline:
            return


def _handled(
    result: DispatchResult, samples: list[tuple[Any, dict[str, str], float]], events: list[Event], at: datetime
) -> None:
    result.handled += len(events)
    for event in events:
        samples.append((metrics.DISPATCH_LAG, {}, (at - event.occurred_at).total_seconds()))
        samples.append((metrics.EVENTS_HANDLED, {"type": event.type}, 1.0))


def _flush_outbound(tenant: TenantRef, result: DispatchResult, email_ids: list[int]) -> None:
    """Hand this batch's committed deliveries and emails to the senders (the sweeper covers a failed publish)."""
    if result.webhook_delivery_ids or email_ids:
        result.webhook_delivery_ids.clear()
        wakeups.request_outbound(tenant.schema_name)


_last_gauge: dict[str, int] = {}


def _set_pending_gauge(schema_name: str, pending: int) -> None:
    # This process's last value per tenant; a repeat of it costs no Redis round trip.
    if _last_gauge.get(schema_name) != pending:
        metrics.EVENTS_PENDING.set(pending, tenant=schema_name)
        _last_gauge[schema_name] = pending


def dispatch_tenant(schema_name: str, *, conf: PipelineConfig | None = None) -> DispatchResult:
    """Process the tenant's pending events in seq order until none are left, a handler fails, or the
    time budget runs out. Safe to call concurrently and repeatedly (lock + idempotency ledger).

    Wake-ups are never lost and never hog a worker:
    - the "requested" key is cleared after taking the lock and BEFORE reading events, so a commit
      after that point publishes a task of its own (queued behind other tenants' work: fair);
    - a task that finds the lock taken raises the "missed" flag and tries the lock once more; the
      holder, after unlocking, re-publishes when the flag is up. Whichever order the two run in,
      one of them sees the other's events.
    """
    conf = conf or pipeline_config()
    result = DispatchResult(schema_name=schema_name)
    try:
        tenant = tenant_for_schema(schema_name)
    except UnknownTenant:
        log.warning("dispatch for %s ignored: not an active tenant", schema_name)
        relay.clear_dispatch_request(schema_name)
        return result
    deadline = time.monotonic() + conf.run_budget_seconds
    with tenant_schema(tenant):
        if not try_lock_tenant(schema_name):
            wakeups.flag_missed_dispatch(schema_name)
            if not try_lock_tenant(schema_name):
                result.locked_out = True
                return result
        try:
            relay.clear_dispatch_request(schema_name)
            _drain(tenant, result, conf, deadline)
        finally:
            unlock_tenant(schema_name)
        if wakeups.take_missed_dispatch(schema_name) and not result.more and result.failed_seq is None:
            wakeups.schedule_dispatch(schema_name)
        pending = 0 if result.drained else pending_event_count()
    _set_pending_gauge(schema_name, pending)
    if result.handled or result.failed_now:
        mark_tenant_active(schema_name)
    return result
