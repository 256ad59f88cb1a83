"""Appending outbox events. Call inside the transaction that makes the change.

Sequence numbers come from a per-schema counter row that is locked by the UPDATE (the same
statement inserts the events); the lock is held until commit, so a tenant's events commit in
`seq` order with no gaps, and the Events API can page by `seq` without ever skipping an event
that commits late.

Lock order: the counter row is always the LAST lock a transaction takes. A directory write locks
its user or group rows first and appends at its end; a transaction that makes several changes
(the drain handles up to fifty events per transaction) appends inside `deferred_appends()`, which
holds the events back and writes them all just before the block ends. Two transactions therefore
never wait for each other's rows in opposite orders (no deadlock between SCIM writes and the drain).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from outbox.event_types import EventType
from outbox.models import Event
from outbox.relay import request_dispatch
from tenants.db import tenant_connection

# Events per allocate-and-insert statement; a longer list inserts the rest with plain INSERTs.
_STATEMENT_EVENTS = 500
_TEXT_FIELDS = ("CharField", "TextField")
_ALLOCATE_AND_INSERT_SQL = """
WITH {before}allocated AS (
    UPDATE outbox_eventcounter SET value = value + %s WHERE id = 1{after_before} RETURNING value
), inserted AS (
    INSERT INTO outbox_event (seq, {columns})
    SELECT allocated.value - %s + e.ord, {e_columns}
    FROM allocated, (VALUES {rows}) AS e (ord, {columns})
    RETURNING seq
){also}
SELECT seq FROM inserted
"""


ActorKind = Literal["scim", "portal", "operator", "system"]


@dataclass(frozen=True)
class Actor:
    """Who caused a change: a SCIM connection, a portal admin, an operator, or the system."""

    kind: ActorKind
    id: str
    request_id: str = ""
    requested_at: datetime | None = None
    source_ip: str | None = None  # a person's address, for the audit log (not part of events)

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.id}"




@dataclass(frozen=True)
class NewEvent:
    type: EventType
    resource_type: str
    resource_id: str
    payload: dict[str, Any]


_deferred: ContextVar[list[Event] | None] = ContextVar("rollcall_deferred_events", default=None)
_deferred_handle: ContextVar[DeferredEvents | None] = ContextVar("rollcall_deferred_handle", default=None)
# An INSERT statement and its parameters, run as one more data-modifying CTE of the events' statement.
Statement = tuple[str, list[Any]]
IntegrityErrorMapper = Callable[[IntegrityError], Exception]


def append_events(events: Sequence[NewEvent], *, actor: Actor) -> None:
    """Write `events` to the outbox of the current tenant schema and wake the drain on commit.

    Inside `deferred_appends()` the events are held back and written when that block ends."""
    if not events:
        return
    if not connection.in_atomic_block:
        raise RuntimeError("append_events must run inside the transaction that makes the change")
    now = timezone.now()
    rows = [
        Event(
            type=event.type.value,
            occurred_at=now,
            actor=actor.label,
            resource_type=event.resource_type,
            resource_id=event.resource_id,
            payload=event.payload,
            request_id=actor.request_id,
            requested_at=actor.requested_at,
        )
        for event in events
    ]
    held = _deferred.get()
    if held is not None:
        held.extend(rows)
        return
    _write(rows)


class DeferredEvents:
    """The events held by a `deferred_appends()` block, written once: by `write` or at the block's end."""

    def __init__(self, *, rows_first: bool = False) -> None:
        self.rows: list[Event] = []
        self.written = False
        self.rows_first = rows_first
        self.before: list[Statement] = []
        self._integrity_errors: list[IntegrityErrorMapper] = []

    def write_first(self, statement: Statement, *, on_integrity_error: IntegrityErrorMapper | None = None) -> bool:
        """Run `statement` (an INSERT or UPDATE of rows nothing in the block reads back) in the block's
        last statement, before the events: one round trip fewer. False when the block does not allow
        it (the caller then runs it itself). A unique violation of the last statement is raised as
        `on_integrity_error(exc)`."""
        if not self.rows_first or self.written:
            return False
        self.before.append(statement)
        if on_integrity_error is not None:
            self._integrity_errors.append(on_integrity_error)
        return True

    def write(self, *, also: Statement | None = None) -> None:
        """Write the held rows and events now, in one statement together with `also` (an INSERT of the
        caller's: the SCIM edge's request-log row), so a write's last round trip carries all of it."""
        self.written = True
        try:
            if self.rows:
                _write(self.rows, also=also, before=self.before)
            elif self.before or also is not None:
                _run_together([*self.before, *([also] if also is not None else [])])
        except IntegrityError as exc:
            for mapper in self._integrity_errors:
                raise mapper(exc) from exc
            raise


def _run_together(statements: list[Statement]) -> None:
    with connection.cursor() as cursor:
        if len(statements) == 1:
            cursor.execute(statements[0][0], statements[0][1])
            return
        ctes = ", ".join(f"s{i} AS ({sql})" for i, (sql, _params) in enumerate(statements[1:]))
        first_sql, first_params = statements[0]
        cursor.execute(f"WITH {ctes} {first_sql}", [p for _sql, params in statements[1:] for p in params] + first_params)


@contextmanager
def deferred_appends(*, rows_first: bool = False) -> Iterator[DeferredEvents]:
    """Hold the events appended in the block and write them in one statement at its end.

    Use it around a transaction that makes several changes, so that its counter lock is its last.
    With `rows_first` the caller also lets services put the writes of their rows into that last
    statement (`DeferredEvents.write_first`): for a block that makes one change and reads none of the
    rows it writes back (the SCIM edge's single-resource writes)."""
    outer = _deferred_handle.get()
    if outer is not None:  # already deferring: the outer block writes everything
        yield outer
        return
    held = DeferredEvents(rows_first=rows_first)
    token = _deferred.set(held.rows)
    handle = _deferred_handle.set(held)
    try:
        yield held
    finally:
        _deferred.reset(token)
        _deferred_handle.reset(handle)
    if not held.written:  # not reached when the block raised: its transaction rolls back anyway
        held.write()


def deferred_events() -> DeferredEvents | None:
    """The enclosing `deferred_appends()` block, if any."""
    return _deferred_handle.get()


def _write(rows: list[Event], *, also: Statement | None = None, before: Sequence[Statement] = ()) -> None:
    if not rows:
        return
    first = rows[:_STATEMENT_EVENTS]
    seqs = _allocate_and_insert(first, total=len(rows), also=also, before=before)
    if len(seqs) != len(first):
        raise RuntimeError(f"event counter row missing in schema {tenant_connection().schema_name}")
    for row, seq in zip(first, sorted(seqs), strict=True):
        row.seq = seq
        row._state.adding = False
        row._state.db = connection.alias
    if len(rows) > len(first):
        for offset, row in enumerate(rows[len(first) :], start=len(first)):
            row.seq = min(seqs) + offset
        Event.objects.bulk_create(rows[len(first) :])
    schema_name = tenant_connection().schema_name
    transaction.on_commit(lambda: request_dispatch(schema_name))


def _allocate_and_insert(
    rows: list[Event], *, total: int, also: Statement | None = None, before: Sequence[Statement] = ()
) -> list[int]:
    """Reserve `total` seqs and insert `rows` as the first of them, in one statement; their seqs.

    The UPDATE locks the counter row until commit, as a separate UPDATE would: commit order is seq order.
    `before` statements (INSERTs or UPDATEs, given a RETURNING) run first: the counter UPDATE reads their results,
    so the counter stays the statement's last lock, as it is the transaction's (module docstring).
    """
    fields = [f for f in Event._meta.concrete_fields if not f.primary_key]
    quoted = [connection.ops.quote_name(cast(str, f.column)) for f in fields]
    columns = ", ".join(quoted)
    types = ["text" if f.get_internal_type() in _TEXT_FIELDS else f.db_type(connection) for f in fields]
    row_sql = "(%s::integer, " + ", ".join(f"%s::{db_type}" for db_type in types) + ")"
    params: list[Any] = [p for _sql, before_params in before for p in before_params]
    params += [total, total]
    for ord_, row in enumerate(rows, start=1):
        params.append(ord_)
        params.extend(f.get_db_prep_save(getattr(row, f.attname), connection) for f in fields)
    sql = _ALLOCATE_AND_INSERT_SQL.format(
        before="".join(f"b{i} AS ({statement} RETURNING 1), " for i, (statement, _params) in enumerate(before)),
        after_before="".join(f" AND (SELECT count(*) FROM b{i}) >= 0" for i in range(len(before))),
        columns=columns,
        e_columns=", ".join(f"e.{column}" for column in quoted),
        rows=", ".join([row_sql] * len(rows)),
        also=f", also AS ({also[0]})" if also is not None else "",
    )
    if also is not None:
        params.extend(also[1])
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [int(seq) for (seq,) in cursor.fetchall()]
