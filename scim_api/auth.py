"""Bearer token -> connection -> tenant schema. Every failure is the same 401 for the client.

Why a request on a known connection failed (no header, no "Bearer", a doubled "Bearer", an unknown,
revoked or expired token, another connection's token, a disabled connection, a suspended tenant) is
kept for that connection's request log, so the setup wizard and the console can explain it; the token
itself is never stored or logged.
"""

from __future__ import annotations

import hmac
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from scim.errors import ScimError
from scim_api.models import AuthFailure
from tenants import secrets
from tenants.db import tenant_connection
from tenants.models import ScimConnection, ScimToken, Tenant
from tenants.services import record_token_use

LAST_USED_RESOLUTION = timedelta(seconds=60)
UNAUTHORIZED_DETAIL = "Authentication failed: send a valid bearer token for this SCIM endpoint"
_DUMMY_DIGEST = "0" * 64
# Connection ids are issued as 24 hex characters; anything else names no connection (and never
# reaches a query: a NUL byte or 10 KB of text in the URL is simply a 401).
_CONNECTION_ID = re.compile(r"^[0-9a-f]{1,32}$")
# Connection id -> its tenant, remembered from an earlier successful authentication. A connection
# never moves between tenants, so this only lets the token query run under the tenant's
# search_path (one `SET search_path` per request instead of two). Token, connection and tenant
# are still checked on every request: revocation and suspension take effect immediately.
_TENANT_OF_CONNECTION: dict[str, Tenant] = {}
_TENANT_OF_CONNECTION_MAX = 10_000
# (connection id, token digest) -> (monotonic time it was verified, the token row with its connection
# and tenant). A hit skips the token query for up to ROLLCALL_SCIM_AUTH_CACHE_SECONDS (default 1 s):
# a revoked or rotated-out token, a disabled connection or a suspended tenant is refused within that
# time in every process, and a token's own expiry is checked exactly on every request.
_VERIFIED: dict[tuple[str, str], tuple[float, ScimToken]] = {}
_VERIFIED_MAX = 10_000


@dataclass(frozen=True)
class AuthenticatedConnection:
    connection: ScimConnection
    tenant: Tenant
    token: ScimToken


class AuthenticationFailed(ScimError):
    """A 401 (always the same for the client) with the reason and, when it exists, the connection."""

    def __init__(self, reason: AuthFailure | None, connection: ScimConnection | None) -> None:
        super().__init__(401, UNAUTHORIZED_DETAIL)
        self.reason = reason
        self.connection = connection


def valid_connection_id(connection_id: str) -> bool:
    return bool(_CONNECTION_ID.match(connection_id))


def _presented_token(header: str | None) -> tuple[str, AuthFailure | None]:
    """(token, problem with the header). A problem means no token is accepted."""
    if not header or not header.strip():
        return "", AuthFailure.MISSING_HEADER
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return "", AuthFailure.NOT_BEARER
    value = value.strip()
    inner_scheme, _, inner = value.partition(" ")
    if inner_scheme.lower() == "bearer" and inner.strip():
        return inner.strip(), AuthFailure.BEARER_DOUBLED
    return value, None


def _why_the_token_failed(presented: str, connection_id: str, now: datetime) -> AuthFailure:
    """Classify a token that matched no active token of the connection (one indexed lookup)."""
    token = ScimToken.objects.filter(digest=presented).only("connection_id", "revoked_at", "expires_at").first()
    if token is None:
        return AuthFailure.UNKNOWN_TOKEN
    if token.connection_id != connection_id:
        return AuthFailure.OTHER_CONNECTION_TOKEN
    if token.revoked_at is not None:
        return AuthFailure.REVOKED_TOKEN
    return AuthFailure.EXPIRED_TOKEN


def _connection_of(connection_id: str, candidates: list[ScimToken]) -> ScimConnection | None:
    if candidates:
        return candidates[0].connection
    return ScimConnection.objects.select_related("tenant").filter(pk=connection_id).first()


def authenticate(request: HttpRequest, connection_id: str) -> AuthenticatedConnection:
    """Resolve the connection and check the token in constant time; activate the tenant schema.

    Raises AuthenticationFailed (a ScimError 401) with the reason for the log."""
    if not valid_connection_id(connection_id):
        raise AuthenticationFailed(None, None)
    token, header_problem = _presented_token(request.META.get("HTTP_AUTHORIZATION"))
    if header_problem is None:
        cached = _recently_verified(connection_id, secrets.digest(token))
        if cached is not None:
            return _accept(request, cached, connection_id)
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
    if header_problem is not None:
        raise AuthenticationFailed(header_problem, _connection_of(connection_id, candidates))
    if matched is None:
        connection = _connection_of(connection_id, candidates)
        reason = _why_the_token_failed(presented, connection_id, now) if connection is not None else None
        raise AuthenticationFailed(reason, connection)
    conn = matched.connection
    tenant = conn.tenant
    if matched.expires_at is not None and matched.expires_at <= now:
        raise AuthenticationFailed(AuthFailure.EXPIRED_TOKEN, conn)
    if not conn.is_active:
        raise AuthenticationFailed(AuthFailure.CONNECTION_DISABLED, conn)
    if tenant.status != Tenant.Status.ACTIVE:
        raise AuthenticationFailed(AuthFailure.TENANT_SUSPENDED, conn)
    if known_tenant is None or known_tenant.pk != tenant.pk:
        if len(_TENANT_OF_CONNECTION) >= _TENANT_OF_CONNECTION_MAX:
            _TENANT_OF_CONNECTION.clear()
        _TENANT_OF_CONNECTION[connection_id] = tenant
    _remember(connection_id, presented, matched)
    return _accept(request, matched, connection_id)


def _cache_seconds() -> float:
    return float(settings.ROLLCALL_SCIM_AUTH_CACHE_SECONDS)


def _recently_verified(connection_id: str, presented: str) -> ScimToken | None:
    hit = _VERIFIED.get((connection_id, presented))
    if hit is None or time.monotonic() - hit[0] >= _cache_seconds():
        return None
    token = hit[1]
    if token.expires_at is not None and token.expires_at <= timezone.now():
        return None  # the exact expiry always wins; the full check then says why
    return token


def _remember(connection_id: str, presented: str, token: ScimToken) -> None:
    if _cache_seconds() <= 0:
        return
    if len(_VERIFIED) >= _VERIFIED_MAX:
        _VERIFIED.clear()
    _VERIFIED[(connection_id, presented)] = (time.monotonic(), token)


def forget_verified_tokens() -> None:
    """Drop this process's verified-token cache (tests, and a process told of a revocation)."""
    _VERIFIED.clear()


def _accept(request: HttpRequest, token: ScimToken, connection_id: str) -> AuthenticatedConnection:
    """The schema switch and the (at most once a minute) last-used write of an accepted token."""
    conn = token.connection
    tenant = conn.tenant
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        token.last_used_at = now
        record_token_use(token, source_ip=request.META.get("REMOTE_ADDR"), now=now)
    if tenant_connection().schema_name != tenant.schema_name:
        tenant_connection().set_tenant(tenant)
    return AuthenticatedConnection(connection=conn, tenant=tenant, token=token)
