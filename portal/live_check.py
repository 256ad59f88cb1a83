"""The wizard's live check: the connection's latest requests, explained, and the milestones seen so far."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone

from portal.explain import explain_request
from scim.idp import get_profile
from scim.idp.base import TrafficSample
from scim.idp.detection import detect_idp
from scim_api.models import RequestLog
from tenants.context import tenant_schema
from tenants.wizard import Observed, record_observed

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
    connection = setup.connection
    profile = get_profile(connection.idp)
    url_field, token_field = profile.credential_labels()
    with tenant_schema(connection.tenant):
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
