"""Admin notifications: an in-portal row plus an email to the tenant's `admin_emails` and to each
portal admin who has not turned that kind of email off (TenantAdmin.email_preferences).

One row per dedupe key. Raising an existing notification bumps `occurrences`; it is emailed (and
marked unread) again only after its cooldown, so a flapping webhook or a noisy IdP does not flood
the admins.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from provisioning import emails
from provisioning.models import Notification
from provisioning.tunables import pipeline_config
from tenants.context import TenantRef, tenant_schema
from tenants.models import ScimToken, Tenant, TenantAdmin

DEFAULT_COOLDOWN = timedelta(hours=6)


def admin_recipients(tenant: TenantRef, kind: str | None = None) -> list[str]:
    """The configured `admin_emails`, then the portal admins who want emails of `kind` (deduplicated)."""
    raw = tenant.settings.get("admin_emails") or []
    listed = [str(a) for a in raw if isinstance(a, str) and "@" in a]
    admins = [
        email
        for email, preferences in TenantAdmin.objects.filter(tenant_id=tenant.id).values_list("user__email", "email_preferences")
        if email and "@" in email and (kind is None or (preferences or {}).get(kind, True) is not False)
    ]
    return list(dict.fromkeys([*listed, *admins]))


def wants_email(preferences: dict[str, Any] | None, kind: str) -> bool:
    return (preferences or {}).get(kind, True) is not False


def set_email_preferences(*, admin: TenantAdmin, wanted: dict[str, bool]) -> TenantAdmin:
    """Which kinds of notification this admin gets by email (unknown kinds are refused)."""
    unknown = set(wanted) - set(Notification.Kind.values)
    if unknown:
        raise ValueError(f"unknown notification kinds: {sorted(unknown)}")
    with transaction.atomic():
        locked = TenantAdmin.objects.select_for_update().get(pk=admin.pk)
        locked.email_preferences = {**(locked.email_preferences or {}), **{k: bool(v) for k, v in wanted.items()}}
        locked.save(update_fields=["email_preferences"])
    admin.email_preferences = locked.email_preferences
    return admin


def raise_notification(
    *,
    tenant: TenantRef,
    kind: Notification.Kind,
    key: str,
    title: str,
    body: str,
    severity: Notification.Severity = Notification.Severity.WARNING,
    data: dict[str, Any] | None = None,
    cooldown: timedelta | None = DEFAULT_COOLDOWN,
) -> Notification:
    """Create or bump the notification with `key`; email admins when new or past its cooldown.

    cooldown=None: never email the same key twice.
    """
    now = timezone.now()
    with transaction.atomic():
        existing = Notification.objects.select_for_update().filter(dedupe_key=key).first()
        if existing is None:
            try:
                with transaction.atomic():
                    notification = Notification.objects.create(
                        kind=kind, dedupe_key=key, severity=severity, title=title, body=body, data=data or {}
                    )
            except IntegrityError:  # raised concurrently: bump the winner's row instead
                notification = Notification.objects.select_for_update().get(dedupe_key=key)
                existing = notification
        else:
            notification = existing
        if existing is not None:
            resend = cooldown is not None and (
                notification.emailed_at is None or now - notification.emailed_at >= cooldown
            )
            Notification.objects.filter(pk=notification.pk).update(
                occurrences=F("occurrences") + 1,
                last_raised_at=now,
                title=title,
                body=body,
                data=data or {},
                **({"read_at": None} if resend else {}),
            )
            notification.refresh_from_db()
            if not resend:
                return notification
        recipients = admin_recipients(tenant, kind)
        if recipients:
            context = {
                "title": title,
                "body": body,
                "tenant_name": tenant.name,
                "app_name": str(tenant.settings.get("app_name") or "Rollcall"),
                "portal_url": settings.PUBLIC_BASE_URL,
            }
            emails.enqueue(
                dedupe_key=f"notification:{notification.pk}:{now.isoformat()}",
                kind="notification",
                to=recipients,
                email=emails.render_email("notification", tenant, context),
            )
            Notification.objects.filter(pk=notification.pk).update(emailed_at=now)
            notification.emailed_at = now
    return notification


def mark_read(notification_id: int) -> None:
    Notification.objects.filter(pk=notification_id, read_at__isnull=True).update(read_at=timezone.now())


def resolve_notification(key: str) -> bool:
    """The condition behind a notification is gone: mark it read (it stays in the list as history)."""
    return bool(Notification.objects.filter(dedupe_key=key, read_at__isnull=True).update(read_at=timezone.now()))


def mark_all_read() -> int:
    return Notification.objects.filter(read_at__isnull=True).update(read_at=timezone.now())


# --------------------------------------------------------------------------- periodic checks


def raise_token_expiring(tenant: TenantRef, *, token_id: int, prefix: str, connection_name: str, expires_at: Any) -> Notification:
    return raise_notification(
        tenant=tenant,
        kind=Notification.Kind.TOKEN_EXPIRING,
        key=f"token_expiring:{token_id}",
        title=f"SCIM token {prefix}... of {connection_name} expires on {expires_at:%Y-%m-%d}",
        body=(
            "When it expires your identity provider can no longer provision users. Rotate the token in the "
            "portal and paste the new one into your identity provider before that date."
        ),
        data={"token_id": token_id, "expires_at": expires_at.isoformat()},
        cooldown=None,
    )


def check_expiring_tokens(*, now: datetime | None = None) -> int:
    """Beat: warn each tenant about SCIM tokens expiring within the warning window.

    A token being rotated out (a newer active token of the same connection outlives it) is not
    worth an alert. Returns how many notifications were raised or bumped.
    """

    now = now or timezone.now()
    horizon = now + timedelta(days=pipeline_config().token_expiry_warning_days)
    expiring = list(
        ScimToken.objects.filter(
            revoked_at__isnull=True,
            expires_at__gt=now,
            expires_at__lte=horizon,
            connection__is_active=True,
            connection__tenant__status=Tenant.Status.ACTIVE,
        ).select_related("connection__tenant")
    )
    if not expiring:
        return 0
    successors = list(
        ScimToken.objects.filter(connection_id__in={t.connection_id for t in expiring}, revoked_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=horizon))
        .values_list("connection_id", "created_at")
    )
    raised = 0
    for token in expiring:
        if any(conn == token.connection_id and created > token.created_at for conn, created in successors):
            continue
        tenant = TenantRef.of(token.connection.tenant)
        with tenant_schema(tenant):
            raise_token_expiring(
                tenant,
                token_id=token.id,
                prefix=token.prefix,
                connection_name=token.connection.name or token.connection.idp,
                expires_at=token.expires_at,
            )
        raised += 1
    return raised
