"""Tenant, connection and credential lifecycle. Every entry point (CLI, portal, console) calls these.

Every action takes the `actor` who asks for it and appends its audit row in the action's own
transaction (tenants.audit); the CLI passes `AuditActor.cli(...)`, `make run` a system actor.
Secrets never reach the audit log: it records ids and display prefixes only."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from observability.activity import mark_tenant_active
from scim.idp import get_profile
from tenants import secrets as secrets_
from tenants.audit import AuditActor, AuditEventType, record_audit
from tenants.models import ApiKey, ScimConnection, ScimToken, SetupLink, Tenant, TenantHealth
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


def create_tenant(*, name: str, slug: str, actor: AuditActor) -> CreatedTenant:
    """Create a tenant with its own schema (cloned from the template) and a setup link.

    The only way a tenant row comes to exist (CLI, console, portal): a row without its schema
    would answer 500 to its IdP."""
    name = validate_new_tenant(name=name, slug=slug)
    try:
        with transaction.atomic():
            tenant = Tenant.objects.create(name=name, slug=slug, schema_name=schema_name_for(slug))
            clone_template(tenant.schema_name)
            TenantHealth.objects.create(tenant=tenant)
            record_audit(
                actor=actor,
                type=AuditEventType.TENANT_CREATED,
                tenant=tenant,
                target_type="tenant",
                target_id=str(tenant.pk),
                data={"name": name, "slug": slug},
            )
            setup_url = _issue_setup_link(tenant, actor)
    except IntegrityError as exc:
        raise TenantError(f"a tenant with slug {slug!r} already exists") from exc
    _mark(tenant)
    return CreatedTenant(tenant=tenant, setup_url=setup_url)


def _mark(tenant: Tenant) -> None:
    """The health rollup refreshes this tenant's summary (setup progress, connections) soon."""
    schema = tenant.schema_name
    transaction.on_commit(lambda: mark_tenant_active(schema))


def _set_status(tenant: Tenant, status: str, *, actor: AuditActor, reason: str, event: AuditEventType) -> Tenant:
    with transaction.atomic():
        locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
        if locked.status == status:
            return locked
        locked.status = status
        locked.save(update_fields=["status"])
        record_audit(actor=actor, type=event, tenant=locked, target_type="tenant", target_id=str(locked.pk), reason=reason)
        _mark(locked)
    tenant.status = status
    return locked


def suspend_tenant(*, tenant: Tenant, actor: AuditActor, reason: str) -> Tenant:
    """Stop the tenant's SCIM traffic (every request 401s) and pipeline; nothing is deleted."""
    if not reason.strip():
        raise TenantError("give a reason for suspending the tenant")
    return _set_status(tenant, Tenant.Status.SUSPENDED, actor=actor, reason=reason.strip(), event=AuditEventType.TENANT_SUSPENDED)


def resume_tenant(*, tenant: Tenant, actor: AuditActor, reason: str = "") -> Tenant:
    """Let a suspended tenant's IdP and pipeline run again."""
    return _set_status(tenant, Tenant.Status.ACTIVE, actor=actor, reason=reason.strip(), event=AuditEventType.TENANT_RESUMED)


def get_tenant(slug: str) -> Tenant:
    try:
        return Tenant.objects.get(slug=slug)
    except Tenant.DoesNotExist:
        raise TenantError(f"unknown tenant {slug!r}") from None


def setup_link_ttl() -> timedelta:
    return timedelta(days=getattr(settings, "SETUP_LINK_DAYS", SETUP_LINK_TTL.days))


def setup_url(secret: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}/setup/{secret}"


def _issue_setup_link(tenant: Tenant, actor: AuditActor) -> str:
    """In the caller's transaction: revoke the tenant's earlier unused setup links, create a new one,
    and audit both (one setup link works at a time)."""
    secret = secrets_.new_setup_secret()
    now = timezone.now()
    earlier = list(
        SetupLink.objects.filter(
            tenant=tenant, purpose=SetupLink.Purpose.SETUP, revoked_at__isnull=True, used_at__isnull=True
        ).values_list("pk", flat=True)
    )
    SetupLink.objects.filter(pk__in=earlier).update(revoked_at=now, status=SetupLink.Status.REVOKED)
    for link_id in earlier:
        record_audit(
            actor=actor,
            type=AuditEventType.SETUP_LINK_REVOKED,
            tenant=tenant,
            target_type="setup_link",
            target_id=str(link_id),
            reason="replaced by a new setup link",
        )
    link = SetupLink.objects.create(tenant=tenant, digest=secrets_.digest(secret), expires_at=now + setup_link_ttl())
    record_audit(
        actor=actor,
        type=AuditEventType.SETUP_LINK_ISSUED,
        tenant=tenant,
        target_type="setup_link",
        target_id=str(link.pk),
        data={"expires_at": link.expires_at.isoformat()},
    )
    return setup_url(secret)


def issue_setup_link(*, tenant: Tenant, actor: AuditActor) -> str:
    """A fresh setup link; earlier unused setup links of the tenant stop working."""
    with transaction.atomic():
        url = _issue_setup_link(tenant, actor)
        _mark(tenant)
    return url


def revoke_setup_links(*, tenant: Tenant, actor: AuditActor, reason: str = "") -> int:
    """Revoke every unexpired, unused setup link of the tenant now. Returns how many were revoked."""
    now = timezone.now()
    with transaction.atomic():
        links = list(
            SetupLink.objects.select_for_update()
            .filter(tenant=tenant, revoked_at__isnull=True, used_at__isnull=True, expires_at__gt=now)
            .values_list("pk", flat=True)
        )
        SetupLink.objects.filter(pk__in=links).update(revoked_at=now, status=SetupLink.Status.REVOKED)
        for link_id in links:
            record_audit(
                actor=actor,
                type=AuditEventType.SETUP_LINK_REVOKED,
                tenant=tenant,
                target_type="setup_link",
                target_id=str(link_id),
                reason=reason,
            )
        if links:
            _mark(tenant)
    return len(links)


def add_connection(*, tenant: Tenant, idp: str, name: str = "", actor: AuditActor) -> ScimConnection:
    """Create a SCIM connection for an IdP profile, without a token yet (the setup wizard issues it)."""
    try:
        profile = get_profile(idp)
    except KeyError as exc:
        raise TenantError(str(exc.args[0])) from None
    with transaction.atomic():
        connection = ScimConnection.objects.create(tenant=tenant, idp=profile.key, name=name or profile.name)
        record_audit(
            actor=actor,
            type=AuditEventType.CONNECTION_CREATED,
            tenant=tenant,
            target_type="connection",
            target_id=connection.id,
            data={"idp": profile.key, "name": connection.name},
        )
        _mark(tenant)
    return connection


def create_connection(*, tenant: Tenant, idp: str, name: str = "", actor: AuditActor) -> IssuedToken:
    """Create a SCIM connection for an IdP profile and issue its first bearer token."""
    with transaction.atomic():
        connection = add_connection(tenant=tenant, idp=idp, name=name, actor=actor)
        token = _issue_token(connection, actor=actor, event=AuditEventType.TOKEN_ISSUED)
    return IssuedToken(connection=connection, token=token)


def issue_token(*, connection: ScimConnection, actor: AuditActor, replace_active: bool = False) -> IssuedToken:
    """A new token for the connection; with `replace_active`, every active token is revoked at once
    (no overlap). See rotate_token to keep the old ones working for a while."""
    with transaction.atomic():
        if replace_active:
            revoke_tokens(connection=connection, actor=actor, reason="replaced by a new token without overlap")
        token = _issue_token(connection, actor=actor, event=AuditEventType.TOKEN_ISSUED)
    return IssuedToken(connection=connection, token=token)


def get_connection(connection_id: str) -> ScimConnection:
    try:
        return ScimConnection.objects.select_related("tenant").get(id=connection_id)
    except ScimConnection.DoesNotExist:
        raise TenantError(f"unknown connection {connection_id!r}") from None


def _issue_token(
    connection: ScimConnection,
    *,
    actor: AuditActor,
    event: AuditEventType,
    expires_at: datetime | None = None,
    data: dict[str, object] | None = None,
) -> str:
    token = secrets_.new_scim_token()
    row = ScimToken.objects.create(
        connection=connection,
        digest=secrets_.digest(token),
        prefix=secrets_.display_prefix(token),
        expires_at=expires_at,
    )
    record_audit(
        actor=actor,
        type=event,
        tenant=connection.tenant_id,
        target_type="connection",
        target_id=connection.id,
        data={"token_id": row.pk, "prefix": row.prefix, **(data or {})},
    )
    return token


def rotate_token(
    *, connection: ScimConnection, actor: AuditActor, overlap: timedelta = timedelta(hours=24)
) -> IssuedToken:
    """Issue a new token; the old active ones keep working for `overlap` so the IdP can be updated."""
    now = timezone.now()
    with transaction.atomic():
        connection.tokens.filter(revoked_at__isnull=True, expires_at__isnull=True).update(expires_at=now + overlap)
        connection.tokens.filter(revoked_at__isnull=True, expires_at__gt=now + overlap).update(
            expires_at=now + overlap
        )
        token = _issue_token(
            connection,
            actor=actor,
            event=AuditEventType.TOKEN_ROTATED,
            data={"old_tokens_expire_at": (now + overlap).isoformat()},
        )
    return IssuedToken(connection=connection, token=token)


def revoke_tokens(*, connection: ScimConnection, actor: AuditActor, reason: str = "") -> int:
    """Revoke every token of the connection at once. Returns how many still worked (tokens that had
    already expired are marked revoked too, but neither counted nor audited)."""
    now = timezone.now()
    with transaction.atomic():
        live = connection.tokens.select_for_update().filter(revoked_at__isnull=True)
        usable = list(live.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now)).values_list("pk", "prefix"))
        live.update(revoked_at=now)
        for token_id, prefix in usable:
            record_audit(
                actor=actor,
                type=AuditEventType.TOKEN_REVOKED,
                tenant=connection.tenant_id,
                target_type="connection",
                target_id=connection.id,
                reason=reason,
                data={"token_id": token_id, "prefix": prefix},
            )
    return len(usable)


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


def create_api_key(*, tenant: Tenant, label: str = "", actor: AuditActor) -> str:
    """Issue an Events API key for the tenant; returns the full key (shown once)."""
    key_id, key = secrets_.new_api_key()
    with transaction.atomic():
        ApiKey.objects.create(tenant=tenant, key_id=key_id, digest=secrets_.digest(key), label=label)
        record_audit(
            actor=actor,
            type=AuditEventType.API_KEY_ISSUED,
            tenant=tenant,
            target_type="api_key",
            target_id=key_id,
            data={"label": label},
        )
    return key


def revoke_api_key(*, tenant: Tenant, key_id: str, actor: AuditActor, reason: str = "") -> bool:
    """Revoke the tenant's key `key_id` now; False when it was already revoked, TenantError when unknown."""
    with transaction.atomic():
        key = ApiKey.objects.select_for_update().filter(tenant=tenant, key_id=key_id).first()
        if key is None:
            raise TenantError(f"tenant {tenant.slug!r} has no API key {key_id!r}")
        if key.revoked_at is not None:
            return False
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        record_audit(
            actor=actor, type=AuditEventType.API_KEY_REVOKED, tenant=tenant, target_type="api_key", target_id=key_id, reason=reason
        )
    return True
