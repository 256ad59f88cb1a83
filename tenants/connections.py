"""A tenant's SCIM connections after setup: rename, tokens (rotate with overlap, revoke), disable, delete.

Every function takes the tenant the caller acts for and looks the connection up inside it, so an id
of another tenant's connection is `ConnectionNotFound`, never a change; and the `actor`, whose audit
row is written in the change's own transaction. Deleting a connection removes its endpoint and tokens
only; what happens to the users it provisioned is the directory's decision (directory.connection_users),
which the caller starts in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from tenants.audit import AuditActor, AuditEventType, record_audit
from tenants.models import ScimConnection, ScimToken, Tenant
from tenants.services import IssuedToken, issue_token, rotate_token

MAX_NAME_LENGTH = 200
# How long the current token keeps working after a new one is generated (the form's choices).
ROTATION_OVERLAPS: dict[str, timedelta] = {
    "0": timedelta(0),
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
}
OVERLAP_CHOICES: tuple[tuple[str, str], ...] = (
    ("0", "Stop it now"),
    ("1h", "For 1 hour"),
    ("24h", "For 24 hours"),
    ("7d", "For 7 days"),
)


class ConnectionNotFound(Exception):
    """No connection with that id in this tenant."""


class ConnectionRefused(Exception):
    """A connection change that cannot be made; the message says why, `field` names the input."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def connection_of(tenant: Tenant, connection_id: str, *, for_update: bool = False) -> ScimConnection:
    qs = ScimConnection.objects.filter(tenant=tenant, pk=str(connection_id)[:32])
    if for_update:
        qs = qs.select_for_update()
    connection = qs.first()
    if connection is None:
        raise ConnectionNotFound(connection_id)
    return connection


def connections_of(tenant: Tenant) -> list[ScimConnection]:
    """The tenant's connections, oldest first, with their wizard state (one query)."""
    return list(
        ScimConnection.objects.filter(tenant=tenant).select_related("setup").order_by("created_at", "id")
    )


def active_tokens(connection: ScimConnection, *, now: datetime | None = None) -> list[ScimToken]:
    """Tokens that still authenticate (not revoked, not past their overlap), newest first."""
    now = now or timezone.now()
    return list(
        connection.tokens.filter(revoked_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .order_by("-created_at")
    )


def active_tokens_by_connection(tenant: Tenant) -> dict[str, list[ScimToken]]:
    """Every connection's working tokens (one query for the whole tenant)."""
    now = timezone.now()
    rows = (
        ScimToken.objects.filter(connection__tenant=tenant, revoked_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .order_by("-created_at")
    )
    grouped: dict[str, list[ScimToken]] = {}
    for token in rows:
        grouped.setdefault(token.connection_id, []).append(token)
    return grouped


def _audit(actor: AuditActor, event: AuditEventType, connection: ScimConnection, **data: object) -> None:
    record_audit(actor=actor, type=event, tenant=connection.tenant_id, target_type="connection", target_id=connection.id, data=data)


def rename_connection(*, tenant: Tenant, connection_id: str, name: str, actor: AuditActor) -> ScimConnection:
    name = (name or "").strip()
    if not name:
        raise ConnectionRefused("Give the connection a name, for example “Okta production”.", "name")
    if len(name) > MAX_NAME_LENGTH:
        raise ConnectionRefused(f"Keep the name under {MAX_NAME_LENGTH} characters.", "name")
    with transaction.atomic():
        connection = connection_of(tenant, connection_id, for_update=True)
        if connection.name != name:
            _audit(actor, AuditEventType.CONNECTION_RENAMED, connection, before=connection.name, after=name)
            connection.name = name
            connection.save(update_fields=["name"])
    return connection


def issue_or_rotate_token(*, connection: ScimConnection, overlap: str | None, actor: AuditActor) -> IssuedToken:
    """The connection's first token, or a new one with the working ones kept for `overlap`
    (a ROTATION_OVERLAPS key; "0" revokes them now)."""
    with transaction.atomic():
        if not active_tokens(connection):
            return issue_token(connection=connection, actor=actor)
        if overlap not in ROTATION_OVERLAPS:
            raise ConnectionRefused("Choose how long the current token keeps working.", "overlap")
        window = ROTATION_OVERLAPS[overlap]
        if window:
            return rotate_token(connection=connection, overlap=window, actor=actor)
        return issue_token(connection=connection, actor=actor, replace_active=True)


def rotate_connection_token(*, tenant: Tenant, connection_id: str, overlap: str | None, actor: AuditActor) -> IssuedToken:
    connection = connection_of(tenant, connection_id)
    return issue_or_rotate_token(connection=connection, overlap=overlap, actor=actor)


def revoke_token(*, tenant: Tenant, connection_id: str, token_id: int, actor: AuditActor) -> ScimToken:
    """Stop one token now. Revoking the last working token is allowed (the IdP then gets 401s)."""
    with transaction.atomic():
        connection = connection_of(tenant, connection_id)
        token = connection.tokens.select_for_update().filter(pk=token_id).first()
        if token is None:
            raise ConnectionRefused("That token is not one of this connection's.", "token")
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            _audit(actor, AuditEventType.TOKEN_REVOKED, connection, token_id=token.pk, prefix=token.prefix)
    return token


def set_connection_enabled(*, tenant: Tenant, connection_id: str, enabled: bool, actor: AuditActor) -> ScimConnection:
    """A disabled connection answers every request with 401 (its tokens stay, so enabling restores it)."""
    with transaction.atomic():
        connection = connection_of(tenant, connection_id, for_update=True)
        if connection.is_active != enabled:
            connection.is_active = enabled
            connection.save(update_fields=["is_active"])
            event = AuditEventType.CONNECTION_ENABLED if enabled else AuditEventType.CONNECTION_DISABLED
            _audit(actor, event, connection)
    return connection


@dataclass(frozen=True)
class DeletedConnection:
    id: str
    name: str
    tokens_revoked: int


def delete_connection(
    *, tenant: Tenant, connection_id: str, confirm_name: str, users: str, actor: AuditActor
) -> DeletedConnection:
    """Remove the connection, its tokens and its wizard state. The admin types its name to confirm.

    Users and groups it provisioned stay in the directory; `users` ("keep" or "deactivate") is what
    the admin chose for them, recorded in the audit row (the caller starts the deactivation)."""
    with transaction.atomic():
        connection = connection_of(tenant, connection_id, for_update=True)
        label = connection.name or connection.idp
        if (confirm_name or "").strip() != label:
            raise ConnectionRefused(f"Type the connection's name, {label}, to confirm.", "confirm_name")
        tokens = connection.tokens.filter(revoked_at__isnull=True).count()
        _audit(actor, AuditEventType.CONNECTION_DELETED, connection, name=label, idp=connection.idp, users=users)
        connection.delete()
    return DeletedConnection(id=str(connection_id), name=label, tokens_revoked=tokens)
