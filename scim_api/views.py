"""The SCIM HTTP entry point: throttle, authenticate, route, run, render errors, log. Nothing else."""

from __future__ import annotations

import logging
import random
import time
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.db import OperationalError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from directory.change import ChangeContext, in_callers_transaction
from directory.errors import DirectoryError
from observability.activity import mark_tenant_active
from outbox.append import Actor, deferred_appends
from scim.errors import ScimError, not_found
from scim.idp import get_profile
from scim.idp.base import TrafficSample
from scim.idp.detection import detect_idp
from scim.quirks import QuirkLog
from scim_api import discovery, request_log, throttle
from scim_api.auth import AuthenticationFailed, authenticate, valid_connection_id
from scim_api.bulk import bulk
from scim_api.domain_errors import scim_error_for
from scim_api.endpoints import ENDPOINTS, ScimCall, method_not_allowed, search
from scim_api.http import error_response, query_params, scim_response
from scim_api.models import RequestLog
from tenants.context import tenant_schema
from tenants.db import insert_statement, tenant_connection
from tenants.models import ScimConnection
from tenants.services import note_detected_idp

log = logging.getLogger(__name__)
# A write that meets a deadlock or a serialization failure is retried this many times in all,
# after a short random pause: such failures are transient, and a 500 on valid input is a bug.
WRITE_ATTEMPTS = 3
_RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock_detected, serialization_failure


def _route(call: ScimCall, method: str, segments: list[str]) -> HttpResponse:
    head = segments[0].lower() if segments else ""
    rest = segments[1:]
    if head == "serviceproviderconfig" and not rest:
        _only(method, "GET")
        return discovery.spc(call.base_url, call.params)
    if head == "resourcetypes" and len(rest) <= 1:
        _only(method, "GET")
        return discovery.resource_types(call.base_url, call.params, rest[0] if rest else None)
    if head == "schemas" and len(rest) <= 1:
        _only(method, "GET")
        return discovery.schemas(call.base_url, call.params, rest[0] if rest else None)
    if head == "me":
        raise ScimError(501, "/Me is not supported: Rollcall's credentials belong to IdP connections, not users")
    if head == "bulk" and not rest:
        _only(method, "POST")
        return scim_response(bulk(call))
    if head == ".search" and not rest:
        _only(method, "POST")
        return search(call, list(ENDPOINTS.values()))
    if head in ENDPOINTS and len(rest) <= 1:
        endpoint = ENDPOINTS[head]
        if rest and rest[0] == ".search":
            _only(method, "POST")
            call.resource_type = endpoint.rtype.name
            return search(call, [endpoint])
        return endpoint.dispatch(call, method, rest[0] if rest else None)
    raise not_found(f"no SCIM endpoint at /{'/'.join(segments)[:200]}")


def _writes_one_resource(method: str, segments: list[str]) -> bool:
    """POST/PUT/PATCH/DELETE on /Users or /Groups (not /Bulk, whose operations commit one by one)."""
    return (
        method in {"POST", "PUT", "PATCH", "DELETE"}
        and 1 <= len(segments) <= 2
        and segments[0].lower() in ENDPOINTS
        and segments[-1] != ".search"
    )


def _only(method: str, allowed: str) -> None:
    if method != allowed:
        raise method_not_allowed(method, allowed)


def _retryable(exc: OperationalError) -> bool:
    return getattr(getattr(exc, "__cause__", None), "sqlstate", None) in _RETRYABLE_SQLSTATES


@csrf_exempt
def scim_root(request: HttpRequest, connection_id: str) -> HttpResponse:
    return scim_endpoint(request, connection_id, "")


@csrf_exempt
def scim_endpoint(request: HttpRequest, connection_id: str, scim_path: str) -> HttpResponse:
    started = getattr(request, "received_monotonic", time.perf_counter())
    method = (request.method or "GET").upper()
    segments = [s for s in scim_path.split("/") if s]
    call: ScimCall | None = None
    idp = "unknown"
    logged = False
    error: ScimError | None = None
    source_ip = request.META.get("REMOTE_ADDR") or ""
    try:
        refusal = throttle.check_request(
            connection_id=connection_id if valid_connection_id(connection_id) else "invalid", source_ip=source_ip
        )
        if refusal is not None:
            raise _too_many_requests(refusal)
        auth = authenticate(request, connection_id)
        conn = auth.connection
        idp = conn.idp
        call = _call(request, conn)
        if _writes_one_resource(method, segments):
            response = _write(call, method, segments, started)
            logged = True
        else:
            response = _route(call, method, segments)
    except AuthenticationFailed as exc:
        error = exc
        response = error_response(exc)
        throttle.note_failed_authentication(source_ip=source_ip)
        _log_failed_authentication(request, exc, method, time.perf_counter() - started)
    except (ScimError, DirectoryError) as exc:
        error = exc if isinstance(exc, ScimError) else scim_error_for(exc)
        response = error_response(error)
        if getattr(error, "allow", None):
            response["Allow"] = error.allow  # type: ignore[attr-defined]
        if getattr(error, "retry_after", None):
            response["Retry-After"] = str(error.retry_after)  # type: ignore[attr-defined]
    except DisallowedHost:
        # Without ROLLCALL_PUBLIC_URL, absolute URLs are built from the Host header: one outside
        # ALLOWED_HOSTS is the client's mistake (or a probe), never reflected and never a 500.
        log.warning("SCIM %s %r refused: Host header not in ALLOWED_HOSTS", method, request.path[:300])
        error = ScimError(400, "the Host header names a host this server does not serve")
        response = error_response(error)
    except Exception:
        # %r keeps a path with a newline on one line of the server log (no forged entries).
        log.exception("unhandled error in SCIM %s %r", method, request.path[:300])
        error = ScimError(500, "internal error; the request was not applied and can be retried")
        response = error_response(error)
    elapsed = time.perf_counter() - started
    if call is not None and not logged:
        _log(request, call, method, response.status_code, elapsed, error)
    request_log.observe(
        idp=idp, method=method, resource_type=call.resource_type if call else "", status=response.status_code, seconds=elapsed
    )
    if call is not None:  # the tenant is known: its health summary is refreshed soon
        mark_tenant_active(tenant_connection().schema_name)
    tenant_connection().set_schema_to_public()
    return response


def _call(request: HttpRequest, conn: ScimConnection) -> ScimCall:
    quirks = QuirkLog()
    actor = Actor(kind="scim", id=conn.id, request_id=getattr(request, "request_id", ""), requested_at=_request_time())
    return ScimCall(
        request=request,
        base_url=f"{public_base_url(request)}/scim/v2/{conn.id}",
        ctx=ChangeContext(actor=actor, idp=conn.idp),
        quirks=quirks,
        params=query_params(request, quirks),
        idp=get_profile(conn.idp),
        connection=conn,
    )


def _write(call: ScimCall, method: str, segments: list[str], started: float) -> HttpResponse:
    """The change, its outbox events and its request-log row commit together: one commit (one WAL
    flush) per write. A refused write rolls back and is logged by the caller instead; a deadlock or a
    serialization failure is retried (a bounded number of times) before anything is answered."""
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        try:
            with transaction.atomic(), in_callers_transaction(), deferred_appends() as events:
                response = _route(call, method, segments)
                row = _log_row(call.request, call, method, response.status_code, time.perf_counter() - started, None)
                # One last round trip: the outbox events (the counter lock last) and the log row.
                events.write(also=insert_statement(row))
            _note_detection(call.request, call)
            return response
        except OperationalError as exc:
            if attempt == WRITE_ATTEMPTS or not _retryable(exc):
                raise
            log.info("SCIM %s retried after %s (attempt %d)", method, type(exc.__cause__).__name__, attempt)
            time.sleep(random.uniform(0.005, 0.05) * attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def _too_many_requests(refusal: throttle.Refusal) -> ScimError:
    error = ScimError(
        429,
        f"too many requests on this {refusal.limit.name.replace('_', ' ')} limit "
        f"({refusal.limit.requests} per {refusal.limit.window_seconds} s); retry after {refusal.retry_after} s",
    )
    error.retry_after = refusal.retry_after  # type: ignore[attr-defined]
    return error


def public_base_url(request: HttpRequest) -> str:
    """Absolute URLs (Location, meta.location, $ref) start here: ROLLCALL_PUBLIC_URL when it is set,
    so a forged Host header is never reflected; else the request's own host (ALLOWED_HOSTS checks it)."""
    if settings.PUBLIC_URL_CONFIGURED:
        return str(settings.PUBLIC_BASE_URL)
    return f"{request.scheme}://{request.get_host()}"


def _request_time() -> datetime:
    return timezone.now()


def _log_failed_authentication(request: HttpRequest, failure: AuthenticationFailed, method: str, elapsed: float) -> None:
    """A 401 on a known connection is logged in that connection's tenant (without any token), so the
    setup wizard and the console can say what went wrong; an unknown connection has no tenant."""
    connection = failure.connection
    if connection is None:
        return
    with tenant_schema(connection.tenant):
        request_log.write(
            request_id=getattr(request, "request_id", ""),
            connection_id=connection.id,
            idp=connection.idp,
            method=method,
            path=request.path,
            query=request.META.get("QUERY_STRING", ""),
            status=401,
            latency_ms=round(elapsed * 1000, 3),
            user_agent=request.headers.get("User-Agent", ""),
            source_ip=request.META.get("REMOTE_ADDR"),
            resource_type="",
            resource_id="",
            request_body=None,
            response_body=failure.to_dict(),
            scim_type="",
            error_detail=failure.detail,
            quirks=[],
            auth_failure=failure.reason.value if failure.reason else "",
        )


def _log(request: HttpRequest, call: ScimCall, method: str, status: int, elapsed: float, error: ScimError | None) -> None:
    """The log row of a read or a refused request: best effort (the answer does not depend on it)."""
    request_log.write(**_log_fields(request, call, method, status, elapsed, error))
    _note_detection(request, call)


def _log_row(
    request: HttpRequest, call: ScimCall, method: str, status: int, elapsed: float, error: ScimError | None
) -> RequestLog:
    return request_log.build_row(**_log_fields(request, call, method, status, elapsed, error))


def _log_fields(
    request: HttpRequest, call: ScimCall, method: str, status: int, elapsed: float, error: ScimError | None
) -> dict[str, Any]:
    return dict(
        request_id=getattr(request, "request_id", ""),
        connection_id=call.ctx.actor.id,
        idp=call.connection.idp if call.connection is not None else "unknown",
        method=method,
        path=request.path,
        query=request.META.get("QUERY_STRING", ""),
        status=status,
        latency_ms=round(elapsed * 1000, 3),
        user_agent=request.headers.get("User-Agent", ""),
        source_ip=request.META.get("REMOTE_ADDR"),
        resource_type=call.resource_type,
        resource_id=call.resource_id,
        request_body=call.body,
        response_body=error.to_dict() if error else None,
        scim_type=(error.scim_type or "") if error else "",
        error_detail=error.detail if error else "",
        quirks=call.quirks.names,
    )


def _note_detection(request: HttpRequest, call: ScimCall) -> None:
    """Keep the connection's detected IdP current from traffic shapes (cheap, pure; writes on change only)."""
    sample = TrafficSample(
        method=request.method or "",
        path=request.path,
        query=request.META.get("QUERY_STRING", ""),
        user_agent=request.headers.get("User-Agent", ""),
        body=call.body,
        quirks=tuple(call.quirks.names),
    )
    detection = detect_idp([sample])
    conn = call.connection
    if detection is None or detection.confidence < 0.5 or conn is None:
        return
    note_detected_idp(conn, detection.key)


@csrf_exempt
def not_a_scim_endpoint(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Anything under /scim/ that names no connection: a SCIM 404 document, never an HTML page."""
    return error_response(not_found("no SCIM endpoint here: use /scim/v2/<connection id>/..."))
