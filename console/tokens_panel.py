"""The tokens panel of a tenant: per connection its bearer tokens and the 401s it got, by cause."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from django.db.models import Prefetch
from django.utils import timezone

from console.auth_failures import auth_failures_by_connection
from tenants.context import TenantRef, tenant_schema
from tenants.models import ScimConnection, ScimToken, Tenant

WINDOW = timedelta(hours=24)


class TokenState(StrEnum):
    ACTIVE = "active"
    OVERLAP = "overlap"  # still accepted until its expiry (a rotation is in progress)
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass(frozen=True)
class TokenRow:
    id: int
    prefix: str
    state: TokenState
    created_at: datetime
    age: timedelta
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    last_used_ip: str | None


@dataclass(frozen=True)
class ConnectionTokens:
    connection_id: str
    name: str
    idp: str
    detected_idp: str
    is_active: bool
    created_at: datetime
    last_request_at: datetime | None
    tokens: list[TokenRow]
    unauthorized_24h: dict[str, int]  # cause -> count

    @property
    def unauthorized_total(self) -> int:
        return sum(self.unauthorized_24h.values())


def _state(token: ScimToken, now: datetime) -> TokenState:
    if token.revoked_at is not None:
        return TokenState.REVOKED
    if token.expires_at is not None:
        return TokenState.EXPIRED if token.expires_at <= now else TokenState.OVERLAP
    return TokenState.ACTIVE


def connection_tokens(tenant: Tenant, *, now: datetime | None = None) -> list[ConnectionTokens]:
    """Every connection of the tenant with its tokens (newest first) and its 401s of the last 24 hours.
    Three queries: connections, tokens, and one aggregate over the tenant's request log."""
    now = now or timezone.now()
    connections = list(
        ScimConnection.objects.filter(tenant=tenant)
        .prefetch_related(Prefetch("tokens", queryset=ScimToken.objects.order_by("-created_at", "-id")))
        .order_by("created_at", "id")
    )
    with tenant_schema(TenantRef.of(tenant)):
        failures = auth_failures_by_connection(since=now - WINDOW, connection_ids=[c.id for c in connections])
    return [
        ConnectionTokens(
            connection_id=c.id,
            name=c.name,
            idp=c.idp,
            detected_idp=c.detected_idp,
            is_active=c.is_active,
            created_at=c.created_at,
            last_request_at=c.last_request_at,
            tokens=[
                TokenRow(
                    id=t.pk,
                    prefix=t.prefix,
                    state=_state(t, now),
                    created_at=t.created_at,
                    age=now - t.created_at,
                    expires_at=t.expires_at,
                    revoked_at=t.revoked_at,
                    last_used_at=t.last_used_at,
                    last_used_ip=t.last_used_ip,
                )
                for t in c.tokens.all()
            ],
            unauthorized_24h=failures.get(c.id, {}),
        )
        for c in connections
    ]
