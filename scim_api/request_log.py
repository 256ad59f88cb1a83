"""Writing the per-tenant SCIM request log (redacted, storable) and request metrics.

Every request gets its row: secrets are redacted by schema (scim_api.redaction), values PostgreSQL
cannot store are replaced, bodies too large to keep are summarised. Reads that cannot write their row
(the database is down) are logged once a minute with a count, never with a traceback per request.

A write's row commits in the write's own transaction. The row of a read (or of a refused request) is
its own one-statement transaction, committed asynchronously (`synchronous_commit` off for that
transaction only): the request does not wait for the WAL flush, which costs milliseconds on many
disks. Only a crash of PostgreSQL itself within a fraction of a second can lose such rows (never
part of a row, never a write or its events: those commit synchronously).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import orjson
from django.db import connection

from observability import metrics
from scim_api.models import RequestLog
from scim_api.redaction import redact, redact_query, storable_text
from tenants.db import insert_statement

log = logging.getLogger(__name__)
MAX_LOGGED_BODY_BYTES = 65_536
KNOWN_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
FAILURE_LOG_INTERVAL_SECONDS = 60.0


class _FailureCounter:
    """Counts failed log writes; logs the first, then one summary per interval."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failed = 0
        self._last = 0.0

    def note(self, exc: Exception) -> None:
        now = time.monotonic()
        with self._lock:
            self._failed += 1
            if now - self._last < FAILURE_LOG_INTERVAL_SECONDS:
                return
            count, self._failed, self._last = self._failed, 0, now
        log.error("could not write %d SCIM request log row(s): %s: %s", count, type(exc).__name__, str(exc)[:200])


_failures = _FailureCounter()


def _bounded(value: Any) -> Any:
    if value is None:
        return None
    try:
        size = len(orjson.dumps(value))
    except (TypeError, orjson.JSONEncodeError):
        return {"unloggable": True}
    if size > MAX_LOGGED_BODY_BYTES:
        return {"truncated": True, "size_bytes": size}
    return value


# Set in the INSERT's own transaction (is_local), so the session keeps its synchronous commits.
_ASYNC_COMMIT = " RETURNING set_config('synchronous_commit', 'off', true)"


def write(**fields: Any) -> None:
    """Append to the current tenant schema's request log; logging must never fail the request."""
    try:
        row = build_row(**fields)
        if connection.in_atomic_block:  # a caller's transaction: the row commits (or not) with it
            row.save(force_insert=True)
            return
        sql, params = insert_statement(row)
        with connection.cursor() as cursor:
            cursor.execute(sql + _ASYNC_COMMIT, params)
    except Exception as exc:  # the row is best effort here (a read); the request has its answer
        _failures.note(exc)


def build_row(
    *,
    request_id: str,
    connection_id: str,
    idp: str,
    method: str,
    path: str,
    query: str,
    status: int,
    latency_ms: float,
    user_agent: str,
    source_ip: str | None,
    resource_type: str,
    resource_id: str,
    request_body: Any,
    response_body: Any,
    scim_type: str,
    error_detail: str,
    quirks: list[str],
    auth_failure: str = "",
) -> RequestLog:
    """The request-log row of a request (unsaved): redacted, bounded, storable."""
    return RequestLog(
        request_id=storable_text(request_id, 64),
        connection_id=storable_text(connection_id, 32),
        idp=idp[:32],
        method=storable_text(method, 8),
        path=storable_text(path, 1024),
        query=redact_query(query)[:4096],
        status=status,
        latency_ms=latency_ms,
        user_agent=storable_text(user_agent, 512),
        source_ip=source_ip,
        resource_type=resource_type[:32],
        resource_id=storable_text(resource_id, 64),
        request_body=_bounded(redact(request_body)),
        response_body=_bounded(redact(response_body)),
        scim_type=scim_type,
        error_detail=storable_text(error_detail, 2000),
        quirks=quirks,
        auth_failure=auth_failure,
    )


def append(**fields: Any) -> None:
    """Append to the current tenant schema's request log, raising on failure.

    Inside the transaction of a change, a failed log row must fail (and roll back) the change:
    swallowing the error would leave an aborted transaction whose COMMIT silently rolls back.
    """
    build_row(**fields).save(force_insert=True)


def observe(*, idp: str, method: str, resource_type: str, status: int, seconds: float) -> None:
    """Request metrics, with every label bounded (made-up methods are "other")."""
    method = method if method in KNOWN_METHODS else "other"
    labels = {"idp": idp, "method": method, "resource": resource_type or "other", "status": str(status)}
    metrics.record_buffered(
        [
            (metrics.SCIM_REQUESTS, labels, 1.0),
            (metrics.SCIM_LATENCY, {"idp": idp, "method": method}, seconds),
        ]
    )
