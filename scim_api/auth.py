"""Bearer token -> connection -> tenant schema. Every failure is the same 401."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta

from django.http import HttpRequest
from django.utils import timezone

from scim.errors import ScimError
from tenants import secrets
from tenants.db import tenant_connection
from tenants.models import ScimConnection, ScimToken, Tenant
from tenants.services import record_token_use

LAST_USED_RESOLUTION = timedelta(seconds=60)
_DUMMY_DIGEST = "0" * 64
# Connection id -> its tenant, remembered from an earlier successful authentication. A connection
# never moves between tenants, so this only lets the token query run under the tenant's
# search_path (one `SET search_path` per request instead of two). Token, connection and tenant
# are still checked on every request: revocation and suspension take effect immediately.
_TENANT_OF_CONNECTION: dict[str, Tenant] = {}
_TENANT_OF_CONNECTION_MAX = 10_000


@dataclass(frozen=True)
class AuthenticatedConnection:
    connection: ScimConnection
    tenant: Tenant
    token: ScimToken


def unauthorized() -> ScimError:
    return ScimError(401, "Authentication failed: send a valid bearer token for this SCIM endpoint")


def _bearer(request: HttpRequest) -> str:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def authenticate(request: HttpRequest, connection_id: str) -> AuthenticatedConnection:
    """Resolve the connection and check the token in constant time; activate the tenant schema."""
    token = _bearer(request)
    connection_id = connection_id[:32]
    known_tenant = _TENANT_OF_CONNECTION.get(connection_id)
    if known_tenant is not None:
        # Shared tables stay visible: public is on every tenant's search_path.
        tenant_connection().set_tenant(known_tenant)
    candidates = list(
        ScimToken.objects.filter(connection_id=connection_id, revoked_at__isnull=True).select_related(
            "connection__tenant"
        )
    )
    presented = secrets.digest(token) if token else ""
    now = timezone.now()
    matched: ScimToken | None = None
    # Compare against every candidate (and a dummy when there are none) so timing does not reveal
    # whether the connection exists or which token almost matched.
    compared: list[ScimToken | None] = [*candidates] or [None]
    for candidate in compared:
        stored = candidate.digest if candidate else _DUMMY_DIGEST
        if hmac.compare_digest(presented or "x", stored) and candidate is not None:
            matched = candidate
    if matched is None or (matched.expires_at is not None and matched.expires_at <= now):
        raise unauthorized()
    conn = matched.connection
    tenant = conn.tenant
    if not conn.is_active or tenant.status != Tenant.Status.ACTIVE:
        raise unauthorized()
    if matched.last_used_at is None or now - matched.last_used_at > LAST_USED_RESOLUTION:
        record_token_use(matched, source_ip=request.META.get("REMOTE_ADDR"), now=now)
    if known_tenant is None or known_tenant.pk != tenant.pk:
        tenant_connection().set_tenant(tenant)
        if len(_TENANT_OF_CONNECTION) >= _TENANT_OF_CONNECTION_MAX:
            _TENANT_OF_CONNECTION.clear()
        _TENANT_OF_CONNECTION[connection_id] = tenant
    return AuthenticatedConnection(connection=conn, tenant=tenant, token=matched)
