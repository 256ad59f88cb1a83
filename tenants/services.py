"""Tenant, connection and credential lifecycle. Every entry point (CLI, portal, console) calls these."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from scim.idp import get_profile
from tenants import secrets as secrets_
from tenants.models import ApiKey, ScimConnection, ScimToken, SetupLink, Tenant
from tenants.schema_clone import clone_template

SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$")
SETUP_LINK_TTL = timedelta(days=7)
RESERVED_SLUGS = frozenset({"public", "template", "admin", "console", "api", "scim", "static"})


class TenantError(Exception):
    """Bad input to a tenant service: a clear message, nothing changed."""


@dataclass(frozen=True)
class CreatedTenant:
    tenant: Tenant
    setup_url: str


@dataclass(frozen=True)
class IssuedToken:
    connection: ScimConnection
    token: str

    @property
    def scim_base_url(self) -> str:
        return scim_base_url(self.connection)


def scim_base_url(connection: ScimConnection) -> str:
    return f"{settings.PUBLIC_BASE_URL}/scim/v2/{connection.id}"


def schema_name_for(slug: str) -> str:
    return "t_" + slug.replace("-", "_")


def validate_new_tenant(*, name: str, slug: str) -> str:
    """The cleaned name, or TenantError saying what is wrong with the name or slug."""
    name = name.strip()
    if not name:
        raise TenantError("name must not be empty")
    if not SLUG_RE.match(slug) or slug in RESERVED_SLUGS:
        raise TenantError(
            f"invalid slug {slug!r}: use 3-40 lower-case letters, digits and dashes, starting with a letter"
        )
    if Tenant.objects.filter(slug=slug).exists():
        raise TenantError(f"a tenant with slug {slug!r} already exists")
    return name


def create_tenant(*, name: str, slug: str) -> CreatedTenant:
    """Create a tenant with its own schema (cloned from the template) and a setup link.

    The only way a tenant row comes to exist (CLI, console, portal): a row without its schema
    would answer 500 to its IdP."""
    name = validate_new_tenant(name=name, slug=slug)
    try:
        with transaction.atomic():
            tenant = Tenant.objects.create(name=name, slug=slug, schema_name=schema_name_for(slug))
            clone_template(tenant.schema_name)
            setup_url = _issue_setup_link(tenant)
    except IntegrityError as exc:
        raise TenantError(f"a tenant with slug {slug!r} already exists") from exc
    return CreatedTenant(tenant=tenant, setup_url=setup_url)


def get_tenant(slug: str) -> Tenant:
    try:
        return Tenant.objects.get(slug=slug)
    except Tenant.DoesNotExist:
        raise TenantError(f"unknown tenant {slug!r}") from None


def setup_link_ttl() -> timedelta:
    return timedelta(days=getattr(settings, "SETUP_LINK_DAYS", SETUP_LINK_TTL.days))


def setup_url(secret: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}/setup/{secret}"


def _issue_setup_link(tenant: Tenant) -> str:
    secret = secrets_.new_setup_secret()
    now = timezone.now()
    with transaction.atomic():
        # One setup link at a time: issuing a new one revokes every earlier unused one.
        SetupLink.objects.filter(
            tenant=tenant, purpose=SetupLink.Purpose.SETUP, revoked_at__isnull=True, used_at__isnull=True
        ).update(revoked_at=now, status=SetupLink.Status.REVOKED)
        SetupLink.objects.create(tenant=tenant, digest=secrets_.digest(secret), expires_at=now + setup_link_ttl())
    return setup_url(secret)


def issue_setup_link(*, tenant: Tenant) -> str:
    """A fresh setup link; earlier unused setup links of the tenant stop working."""
    return _issue_setup_link(tenant)


def create_connection(*, tenant: Tenant, idp: str, name: str = "") -> IssuedToken:
    """Create a SCIM connection for an IdP profile and issue its first bearer token."""
    try:
        profile = get_profile(idp)
    except KeyError as exc:
        raise TenantError(str(exc.args[0])) from None
    with transaction.atomic():
        connection = ScimConnection.objects.create(tenant=tenant, idp=profile.key, name=name or profile.name)
        token = _issue_token(connection)
    return IssuedToken(connection=connection, token=token)


def get_connection(connection_id: str) -> ScimConnection:
    try:
        return ScimConnection.objects.select_related("tenant").get(id=connection_id)
    except ScimConnection.DoesNotExist:
        raise TenantError(f"unknown connection {connection_id!r}") from None


def _issue_token(connection: ScimConnection, expires_at=None) -> str:
    token = secrets_.new_scim_token()
    ScimToken.objects.create(
        connection=connection,
        digest=secrets_.digest(token),
        prefix=secrets_.display_prefix(token),
        expires_at=expires_at,
    )
    return token


def rotate_token(*, connection: ScimConnection, overlap: timedelta = timedelta(hours=24)) -> IssuedToken:
    """Issue a new token; the old active ones keep working for `overlap` so the IdP can be updated."""
    now = timezone.now()
    with transaction.atomic():
        connection.tokens.filter(revoked_at__isnull=True, expires_at__isnull=True).update(expires_at=now + overlap)
        connection.tokens.filter(revoked_at__isnull=True, expires_at__gt=now + overlap).update(
            expires_at=now + overlap
        )
        token = _issue_token(connection)
    return IssuedToken(connection=connection, token=token)


def revoke_tokens(*, connection: ScimConnection) -> int:
    """Revoke every usable token of the connection at once. Returns how many were usable (tokens
    that had already expired are marked revoked too, but not counted)."""
    now = timezone.now()
    with transaction.atomic():
        live = connection.tokens.filter(revoked_at__isnull=True)
        usable = live.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now)).update(revoked_at=now)
        live.update(revoked_at=now)
    return usable


def record_token_use(token: ScimToken, *, source_ip: str | None, now: datetime) -> None:
    """Note when and from where a token was last used, and the connection's first and last request.

    The SCIM edge calls this at most once a minute per token, which keeps the hot path free of writes."""
    ScimToken.objects.filter(pk=token.pk).update(last_used_at=now, last_used_ip=source_ip)
    updates: dict[str, datetime] = {"last_request_at": now}
    if token.connection.first_request_at is None:
        updates["first_request_at"] = now
    ScimConnection.objects.filter(pk=token.connection_id).update(**updates)


def note_detected_idp(connection: ScimConnection, idp: str) -> None:
    """Remember which IdP the connection's traffic looks like (written only when it changes)."""
    if connection.detected_idp == idp:
        return
    ScimConnection.objects.filter(pk=connection.pk).update(detected_idp=idp)
    connection.detected_idp = idp


def update_tenant_settings(*, tenant: Tenant, **changes: object) -> dict[str, object]:
    """Merge `changes` into the tenant's settings (None removes a key), under a row lock; the new settings."""
    with transaction.atomic():
        locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
        current = dict(locked.settings or {})
        for key, value in changes.items():
            if value is None:
                current.pop(key, None)
            else:
                current[key] = value
        locked.settings = current
        locked.save(update_fields=["settings"])
    tenant.settings = current
    return current


def create_api_key(*, tenant: Tenant, label: str = "") -> str:
    """Issue an Events API key for the tenant; returns the full key (shown once)."""
    key_id, key = secrets_.new_api_key()
    ApiKey.objects.create(tenant=tenant, key_id=key_id, digest=secrets_.digest(key), label=label)
    return key


def revoke_api_key(*, tenant: Tenant, key_id: str) -> bool:
    """Revoke the tenant's key `key_id` now; False when it was already revoked."""
    key = ApiKey.objects.filter(tenant=tenant, key_id=key_id).first()
    if key is None:
        raise TenantError(f"tenant {tenant.slug!r} has no API key {key_id!r}")
    return bool(ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now()))
