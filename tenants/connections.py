"""A tenant's SCIM connections after setup: rename, tokens (rotate with overlap, revoke), disable, delete.

Every function takes the tenant the caller acts for and looks the connection up inside it, so an id
of another tenant's connection is `ConnectionNotFound`, never a change. Deleting a connection removes
its endpoint and tokens only; what happens to the users it provisioned is the directory's decision
(directory.connection_users), taken by the caller before this runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from tenants.models import ScimConnection, ScimToken, Tenant
from tenants.services import IssuedToken, _issue_token, rotate_token

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


def rename_connection(*, tenant: Tenant, connection_id: str, name: str) -> ScimConnection:
    name = (name or "").strip()
    if not name:
        raise ConnectionRefused("Give the connection a name, for example “Okta production”.", "name")
    if len(name) > MAX_NAME_LENGTH:
        raise ConnectionRefused(f"Keep the name under {MAX_NAME_LENGTH} characters.", "name")
    with transaction.atomic():
        connection = connection_of(tenant, connection_id, for_update=True)
        if connection.name != name:
            connection.name = name
            connection.save(update_fields=["name"])
    return connection


def issue_or_rotate_token(*, connection: ScimConnection, overlap: str | None) -> IssuedToken:
    """The connection's first token, or a new one with the working ones kept for `overlap`
    (a ROTATION_OVERLAPS key; "0" revokes them now)."""
    with transaction.atomic():
        if not active_tokens(connection):
            return IssuedToken(connection=connection, token=_issue_token(connection))
        if overlap not in ROTATION_OVERLAPS:
            raise ConnectionRefused("Choose how long the current token keeps working.", "overlap")
        window = ROTATION_OVERLAPS[overlap]
        if window:
            return rotate_token(connection=connection, overlap=window)
        connection.tokens.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        return IssuedToken(connection=connection, token=_issue_token(connection))


def rotate_connection_token(*, tenant: Tenant, connection_id: str, overlap: str | None) -> IssuedToken:
    connection = connection_of(tenant, connection_id)
    return issue_or_rotate_token(connection=connection, overlap=overlap)


def revoke_token(*, tenant: Tenant, connection_id: str, token_id: int) -> ScimToken:
    """Stop one token now. Revoking the last working token is allowed (the IdP then gets 401s)."""
    with transaction.atomic():
        connection = connection_of(tenant, connection_id)
        token = connection.tokens.select_for_update().filter(pk=token_id).first()
        if token is None:
            raise ConnectionRefused("That token is not one of this connection's.", "token")
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
    return token


def set_connection_enabled(*, tenant: Tenant, connection_id: str, enabled: bool) -> ScimConnection:
    """A disabled connection answers every request with 401 (its tokens stay, so enabling restores it)."""
    with transaction.atomic():
        connection = connection_of(tenant, connection_id, for_update=True)
        if connection.is_active != enabled:
            connection.is_active = enabled
            connection.save(update_fields=["is_active"])
    return connection


@dataclass(frozen=True)
class DeletedConnection:
    id: str
    name: str
    tokens_revoked: int


def delete_connection(*, tenant: Tenant, connection_id: str, confirm_name: str) -> DeletedConnection:
    """Remove the connection, its tokens and its wizard state. The admin types its name to confirm.

    Users and groups it provisioned stay in the directory: the caller decides their fate first."""
    with transaction.atomic():
        connection = connection_of(tenant, connection_id, for_update=True)
        label = connection.name or connection.idp
        if (confirm_name or "").strip() != label:
            raise ConnectionRefused(f"Type the connection's name, {label}, to confirm.", "confirm_name")
        tokens = connection.tokens.filter(revoked_at__isnull=True).count()
        connection.delete()
    return DeletedConnection(id=str(connection_id), name=label, tokens_revoked=tokens)
