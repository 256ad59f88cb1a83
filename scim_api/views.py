"""The SCIM HTTP entry point: authenticate, route, run, render errors, log. Nothing else."""

from __future__ import annotations

import logging
import time
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from directory.change import ChangeContext, in_callers_transaction
from directory.errors import DirectoryError
from observability.activity import mark_tenant_active
from outbox.append import Actor
from scim.errors import ScimError, not_found
from scim.idp import get_profile
from scim.idp.base import TrafficSample
from scim.idp.detection import detect_idp
from scim.quirks import QuirkLog
from scim_api import discovery, request_log
from scim_api.auth import authenticate
from scim_api.bulk import bulk
from scim_api.domain_errors import scim_error_for
from scim_api.endpoints import ENDPOINTS, ScimCall, search
from scim_api.http import error_response, query_params, scim_response
from tenants.db import tenant_connection
from tenants.services import note_detected_idp

log = logging.getLogger(__name__)


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
    raise not_found(f"no SCIM endpoint at /{'/'.join(segments)}")


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
        error = ScimError(405, f"{method} is not supported here; allowed: {allowed}")
        error.allow = allowed  # type: ignore[attr-defined]
        raise error


@csrf_exempt
def scim_root(request: HttpRequest, connection_id: str) -> HttpResponse:
    return scim_endpoint(request, connection_id, "")


@csrf_exempt
def scim_endpoint(request: HttpRequest, connection_id: str, scim_path: str) -> HttpResponse:
    started = getattr(request, "received_monotonic", time.perf_counter())
    method = (request.method or "GET").upper()
    quirks = QuirkLog()
    segments = [s for s in scim_path.split("/") if s]
    call: ScimCall | None = None
    idp = "unknown"
    logged = False
    try:
        auth = authenticate(request, connection_id)
        conn = auth.connection
        idp = conn.idp
        base_url = f"{public_base_url(request)}/scim/v2/{conn.id}"
        actor = Actor(
            kind="scim",
            id=conn.id,
            request_id=getattr(request, "request_id", ""),
            requested_at=_request_time(),
        )
        call = ScimCall(
            request=request,
            base_url=base_url,
            ctx=ChangeContext(actor=actor, idp=conn.idp),
            quirks=quirks,
            params=query_params(request, quirks),
            idp=get_profile(conn.idp),
            connection=conn,
        )
        error: ScimError | None = None
        if _writes_one_resource(method, segments):
            # The change, its outbox events and its request-log row commit together: one commit
            # (one WAL flush) per write. A failed write rolls back and is logged below instead.
            with transaction.atomic(), in_callers_transaction():
                response = _route(call, method, segments)
                _log(
                    request, call, idp, method, response.status_code, time.perf_counter() - started, None, in_change=True
                )
            logged = True
        else:
            response = _route(call, method, segments)
    except (ScimError, DirectoryError) as exc:
        error = exc if isinstance(exc, ScimError) else scim_error_for(exc)
        response = error_response(error)
        if getattr(error, "allow", None):
            response["Allow"] = error.allow  # type: ignore[attr-defined]
    except Exception:
        log.exception("unhandled error in SCIM %s %s", method, request.path)
        error = ScimError(500, "internal error; the request was not applied and can be retried")
        response = error_response(error)
    elapsed = time.perf_counter() - started
    if call is not None and not logged:
        _log(request, call, idp, method, response.status_code, elapsed, error)
    request_log.observe(
        idp=idp, method=method, resource_type=call.resource_type if call else "", status=response.status_code, seconds=elapsed
    )
    if call is not None:  # the tenant is known: its health summary is refreshed soon
        mark_tenant_active(tenant_connection().schema_name)
    tenant_connection().set_schema_to_public()
    return response


def public_base_url(request: HttpRequest) -> str:
    """Absolute URLs (Location, meta.location, $ref) start here: ROLLCALL_PUBLIC_URL when it is set,
    so a forged Host header is never reflected; else the request's own host (ALLOWED_HOSTS checks it)."""
    if settings.PUBLIC_URL_CONFIGURED:
        return str(settings.PUBLIC_BASE_URL)
    return f"{request.scheme}://{request.get_host()}"


def _request_time() -> datetime:
    return timezone.now()


def _log(
    request: HttpRequest,
    call: ScimCall,
    idp: str,
    method: str,
    status: int,
    elapsed: float,
    error: ScimError | None,
    *,
    in_change: bool = False,
) -> None:
    (request_log.append if in_change else request_log.write)(
        request_id=getattr(request, "request_id", ""),
        connection_id=call.ctx.actor.id,
        idp=idp,
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
    _note_detection(request, call, idp)


def _note_detection(request: HttpRequest, call: ScimCall, idp: str) -> None:
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
