"""Writing the per-tenant SCIM request log (redacted) and request metrics."""

from __future__ import annotations

import logging
from typing import Any

from observability import metrics
from scim_api.models import RequestLog

log = logging.getLogger(__name__)
REDACTED = "[redacted]"
SECRET_KEYS = frozenset({"password", "secret", "token", "access_token", "client_secret", "bearer"})
MAX_LOGGED_BODY_CHARS = 65_536


def redact(value: Any) -> Any:
    """A copy of a JSON value with secret-looking keys replaced."""
    if isinstance(value, dict):
        return {k: (REDACTED if str(k).lower() in SECRET_KEYS else redact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def _bounded(value: Any) -> Any:
    if value is None:
        return None
    text_size = len(repr(value))
    if text_size > MAX_LOGGED_BODY_CHARS:
        return {"truncated": True, "size_chars": text_size}
    return value


def write(**fields: Any) -> None:
    """Append to the current tenant schema's request log; logging must never fail the request."""
    try:
        append(**fields)
    except Exception:
        log.exception("could not write the SCIM request log")


def append(
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
) -> None:
    """Append to the current tenant schema's request log, raising on failure.

    Inside the transaction of a change, a failed log row must fail (and roll back) the change:
    swallowing the error would leave an aborted transaction whose COMMIT silently rolls back.
    """
    RequestLog.objects.create(
        request_id=request_id,
        connection_id=connection_id,
        idp=idp,
        method=method,
        path=path[:1024],
        query=query,
        status=status,
        latency_ms=latency_ms,
        user_agent=user_agent[:512],
        source_ip=source_ip,
        resource_type=resource_type,
        resource_id=resource_id[:64],
        request_body=_bounded(redact(request_body)),
        response_body=_bounded(response_body),
        scim_type=scim_type,
        error_detail=error_detail[:2000],
        quirks=quirks,
        auth_failure=auth_failure,
    )


def observe(*, idp: str, method: str, resource_type: str, status: int, seconds: float) -> None:
    labels = {"idp": idp, "method": method, "resource": resource_type or "other", "status": str(status)}
    metrics.record_buffered(
        [
            (metrics.SCIM_REQUESTS, labels, 1.0),
            (metrics.SCIM_LATENCY, {"idp": idp, "method": method}, seconds),
        ]
    )
