"""Services the setup wizard calls: setup links, IdP instructions, and "did the IdP call us yet?"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection as db
from django.utils import timezone

from scim.idp import get_profile
from tenants import secrets
from tenants.db import tenant_connection
from tenants.models import ScimConnection, SetupLink, Tenant
from tenants.services import TenantError, scim_base_url


@dataclass(frozen=True)
class RenderedField:
    label: str
    value: str


@dataclass(frozen=True)
class RenderedStep:
    title: str
    body: str
    fields: tuple[RenderedField, ...]


def resolve_setup_link(secret: str) -> Tenant:
    """The tenant of a valid (unexpired, unused, unrevoked) setup link; TenantError otherwise."""
    link = SetupLink.objects.select_related("tenant").filter(digest=secrets.digest(secret)).first()
    if link is None or link.revoked_at is not None or link.used_at is not None:
        raise TenantError("this setup link is not valid")
    if link.expires_at <= timezone.now():
        raise TenantError("this setup link has expired: ask your vendor for a new one")
    return link.tenant


NO_TOKEN_TEXT = "(the token shown when the connection was created; rotate it to get a new one)"


def setup_instructions(
    connection: ScimConnection, token: str | None = None, *, token_placeholder: str = NO_TOKEN_TEXT
) -> list[RenderedStep]:
    """The connection's IdP steps with the SCIM URL (as that IdP wants it) and, if known, the token filled in."""
    profile = get_profile(connection.idp)
    values = {
        "scim_base_url": profile.scim_base_url_for_idp(scim_base_url(connection)),
        "token": token or token_placeholder,
        "connection_id": connection.id,
    }
    steps = []
    for step in profile.setup_steps:
        fields = tuple(RenderedField(f.label, _fill(f.value, values)) for f in step.fields)
        steps.append(RenderedStep(_fill(step.title, values), _fill(step.body, values), fields))
    return steps


def _fill(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


@dataclass(frozen=True)
class ConnectionStatus:
    first_request_at: datetime | None
    last_request_at: datetime | None
    detected_idp: str
    recent: list[Any]  # RequestLog rows as dicts (received_at, method, path, status, ...)


def connection_status(connection: ScimConnection, limit: int = 10) -> ConnectionStatus:
    """What the wizard's "waiting for the first request" panel shows: recent requests and their outcome."""
    from scim.models import RequestLog

    connection.refresh_from_db(fields=["first_request_at", "last_request_at", "detected_idp"])
    previous = db.tenant if hasattr(db, "tenant") else None
    tenant_connection().set_tenant(connection.tenant)
    try:
        recent = list(
            RequestLog.objects.filter(connection_id=connection.id)
            .order_by("-id")
            .values("received_at", "method", "path", "status", "scim_type", "error_detail", "quirks")[:limit]
        )
    finally:
        if previous is not None and getattr(previous, "schema_name", None):
            tenant_connection().set_tenant(previous)
        else:
            tenant_connection().set_schema_to_public()
    return ConnectionStatus(connection.first_request_at, connection.last_request_at, connection.detected_idp, recent)


# --------------------------------------------------------------------------- the wizard's live check

QUIET_AFTER = 120  # seconds without traffic before the IdP's tips are shown
PAUSE_AFTER = 15 * 60  # a page left open this long stops polling (a button resumes it)
LIVE_ROWS = 20
WRITE_METHODS = ("POST", "PUT", "PATCH")


@dataclass(frozen=True)
class LiveRequest:
    id: int
    received_at: datetime
    method: str
    path: str  # after the connection's base URL, e.g. "/Users?count=2"
    status: int
    detected_idp: str  # profile name, "" when the request alone says nothing
    is_connection_test: bool
    title: str
    fix: str
    tone: str


@dataclass(frozen=True)
class LiveCheck:
    requests: list[LiveRequest]
    connected_at: datetime | None
    connection_test_at: datetime | None
    first_user_at: datetime | None
    quiet: bool  # nothing has worked for QUIET_AFTER seconds: show the IdP's tips
    paused: bool  # the page waited PAUSE_AFTER seconds: stop polling until the admin resumes

    @property
    def done(self) -> bool:
        return self.first_user_at is not None

    @property
    def stop_polling(self) -> bool:
        return self.done or self.paused


def _tail(connection_id: str, path: str) -> str:
    prefix = f"/scim/v2/{connection_id}"
    return path[len(prefix) :] if path.startswith(prefix) else path


def live_check(*, setup: Any, waiting_since: datetime) -> LiveCheck:
    """The last requests on the connection, explained, and the milestones seen so far (recorded)."""
    from portal.explain import explain_request
    from scim.idp.base import TrafficSample
    from scim.idp.detection import detect_idp
    from scim.models import RequestLog
    from tenants.wizard import Observed, record_observed

    connection = setup.connection
    profile = get_profile(connection.idp)
    url_field, token_field = profile.credential_labels()
    from django_tenants.utils import schema_context

    with schema_context(connection.tenant.schema_name):
        log = RequestLog.objects.filter(connection_id=connection.id)
        rows = list(
            log.order_by("-id").values(
                "id", "received_at", "method", "path", "query", "status", "auth_failure", "scim_type",
                "error_detail", "user_agent", "resource_id", "quirks", "request_body",
            )[:LIVE_ROWS]
        )
        ok = log.filter(status__gte=200, status__lt=300)
        connected_at = setup.connected_at
        if connected_at is None:
            connected_at = ok.order_by("id").values_list("received_at", flat=True).first()
        first_user_at = setup.first_user_at
        if first_user_at is None and connected_at is not None:
            first_user_at = (
                ok.filter(method__in=WRITE_METHODS, resource_type="User")
                .order_by("id")
                .values_list("received_at", flat=True)
                .first()
            )
    requests: list[LiveRequest] = []
    test_at = setup.connection_test_at
    for row in reversed(rows):  # oldest first: the first passing test is the one recorded
        tail = _tail(connection.id, row["path"])
        is_test = profile.is_connection_test(row["method"], tail, row["query"] or "")
        if is_test and 200 <= row["status"] < 300 and test_at is None:
            test_at = row["received_at"]
        detection = detect_idp(
            [
                TrafficSample(
                    row["method"], row["path"], row["query"] or "", row["user_agent"] or "",
                    row["request_body"], tuple(row["quirks"] or ()),
                )
            ]
        )
        explanation = explain_request(row, token_field=token_field, url_field=url_field, idp_name=profile.name)
        query = f"?{row['query']}" if row["query"] else ""
        requests.append(
            LiveRequest(
                id=row["id"],
                received_at=row["received_at"],
                method=row["method"],
                path=(tail or "/") + query,
                status=row["status"],
                detected_idp=get_profile(detection.key).name if detection and detection.confidence >= 0.5 else "",
                is_connection_test=is_test,
                title=explanation.title,
                fix=explanation.fix,
                tone=explanation.tone,
            )
        )
    requests.reverse()  # newest first, as the panel lists them
    record_observed(setup=setup, observed=Observed(connected_at, test_at, first_user_at))
    now = timezone.now()
    last_seen = rows[0]["received_at"] if rows else None
    quiet = (
        setup.connected_at is None
        and (now - waiting_since).total_seconds() >= QUIET_AFTER
        and (last_seen is None or (now - last_seen).total_seconds() >= QUIET_AFTER)
    )
    paused = not setup.first_user_at and (now - waiting_since).total_seconds() >= PAUSE_AFTER
    return LiveCheck(
        requests=requests,
        connected_at=setup.connected_at,
        connection_test_at=setup.connection_test_at,
        first_user_at=setup.first_user_at,
        quiet=quiet,
        paused=paused,
    )
