"""The workspace overview's connection health: each connection's last request against its IdP's cadence,
its requests and errors in the last 24 hours, and what that means, in a bounded number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Max, Q
from django.utils import timezone

from scim.idp import get_profile
from scim.idp.base import IdpProfile
from scim_api.models import RequestLog
from tenants.models import ConnectionSetup, ScimConnection, Tenant

WINDOW = timedelta(hours=24)
FAILING_SHARE = 0.25  # more than this share of requests failed in the window
FAILING_MIN_REQUESTS = 4
OVERDUE_CYCLES = 3  # a cycling IdP silent this many cycles is overdue


@dataclass(frozen=True)
class Traffic:
    requests: int
    errors: int  # 4xx and 5xx
    unauthorized: int
    last_request_at: datetime | None


@dataclass(frozen=True)
class ConnectionHealth:
    connection: ScimConnection
    setup: ConnectionSetup | None
    profile: IdpProfile
    traffic: Traffic
    state: str  # ok | warning | error | neutral
    headline: str
    detail: str

    @property
    def verification(self) -> str:
        return self.setup.verification_state if self.setup else "pending"

    @property
    def set_up(self) -> bool:
        return self.setup is None or self.setup.completed_at is not None


def traffic_by_connection(connection_ids: list[str], *, now: datetime) -> dict[str, Traffic]:
    """Requests, errors and 401s in the window, and the last request, per connection (one query)."""
    if not connection_ids:
        return {}
    rows = (
        RequestLog.objects.filter(connection_id__in=connection_ids, received_at__gte=now - WINDOW)
        .values("connection_id")
        .annotate(
            requests=Count("id"),
            errors=Count("id", filter=Q(status__gte=400)),
            unauthorized=Count("id", filter=Q(status=401)),
            last=Max("received_at"),
        )
    )
    found = {r["connection_id"]: Traffic(r["requests"], r["errors"], r["unauthorized"], r["last"]) for r in rows}
    return {cid: found.get(cid, Traffic(0, 0, 0, None)) for cid in connection_ids}


def _ago(moment: datetime, now: datetime) -> str:
    seconds = int((now - moment).total_seconds())
    if seconds < 90:
        return "just now"
    if seconds < 90 * 60:
        return f"{seconds // 60} minutes ago"
    if seconds < 48 * 3600:
        return f"{seconds // 3600} hours ago"
    return f"{seconds // 86400} days ago"


def assess(connection: ScimConnection, setup: ConnectionSetup | None, traffic: Traffic, *, now: datetime) -> ConnectionHealth:
    profile = get_profile(connection.idp)
    last = connection.last_request_at or traffic.last_request_at

    def health(state: str, headline: str, detail: str) -> ConnectionHealth:
        return ConnectionHealth(connection, setup, profile, traffic, state, headline, detail)

    if not connection.is_active:
        return health("neutral", "Disabled", f"Every request from {profile.name} gets 401 until you enable the connection.")
    if last is None:
        if setup is not None and setup.completed_at is None:
            return health("neutral", "Setting up", "No request has arrived yet: continue the setup to connect it.")
        return health("warning", "No requests yet", f"{profile.name} has not called this connection. Check its SCIM URL and token.")
    if traffic.requests >= FAILING_MIN_REQUESTS and traffic.errors > FAILING_SHARE * traffic.requests:
        what = "were refused: check the token" if traffic.unauthorized * 2 > traffic.errors else "failed"
        return health(
            "error",
            "Failing",
            f"{traffic.errors} of {traffic.requests} requests in the last 24 hours {what}. See Activity for each error and its fix.",
        )
    interval = profile.sync_cycle_minutes
    if interval and now - last > timedelta(minutes=interval * OVERDUE_CYCLES):
        return health(
            "warning",
            "Overdue",
            f"Last request {_ago(last, now)}: {profile.cadence} Check the provisioning status in {profile.name}.",
        )
    detail = f"Last request {_ago(last, now)}. {profile.cadence}"
    if traffic.errors:
        detail += f" {traffic.errors} of {traffic.requests} requests in 24 h failed."
        return health("warning", "Healthy, with errors", detail)
    return health("ok", "Healthy", detail)


def connection_health(tenant: Tenant) -> list[ConnectionHealth]:
    """Every connection of the tenant, assessed (two queries: connections with setups, traffic)."""
    now = timezone.now()
    connections = list(
        ScimConnection.objects.filter(tenant=tenant).select_related("setup").order_by("created_at", "id")
    )
    traffic = traffic_by_connection([c.id for c in connections], now=now)
    result = []
    for connection in connections:
        try:
            setup: ConnectionSetup | None = connection.setup
        except ConnectionSetup.DoesNotExist:
            setup = None
        result.append(assess(connection, setup, traffic[connection.id], now=now))
    return result
