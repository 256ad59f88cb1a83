"""Support access: an operator views a tenant's portal read-only, for a time box, with a reason.

Starting and ending a session are audited. The tenant's own admins see every session in their
activity log, worded for them (`SupportAccessEntry.customer_text`). The portal's view base asks
`active_support_session` whether an operator may look at a tenant right now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tenants.audit import AuditActor, AuditEventType, record_audit
from tenants.models import SupportSession, Tenant

MAX_SESSION_MINUTES = 240


class SupportAccessError(Exception):
    """Bad input to a support-access service: a clear message, nothing changed."""


def default_minutes() -> int:
    return int(settings.ROLLCALL_SUPPORT_SESSION_MINUTES)


def start_support_session(
    *, tenant: Tenant, actor: AuditActor, reason: str, minutes: int | None = None
) -> SupportSession:
    """Open the tenant's portal to this operator, read-only, for `minutes` (default 30)."""
    if actor.kind != "operator":
        raise SupportAccessError("only Rollcall operators open support sessions")
    reason = reason.strip()
    if not reason:
        raise SupportAccessError("give the reason for viewing this customer's portal (they will see it)")
    length = default_minutes() if minutes is None else minutes
    if not 1 <= length <= MAX_SESSION_MINUTES:
        raise SupportAccessError(f"a support session lasts 1 to {MAX_SESSION_MINUTES} minutes")
    now = timezone.now()
    with transaction.atomic():
        current = active_support_session(tenant=tenant, operator_id=actor.id, now=now)
        if current is not None:
            raise SupportAccessError(
                f"you already have a support session for {tenant.name} until {current.expires_at:%H:%M} UTC"
            )
        session = SupportSession.objects.create(
            tenant=tenant,
            operator_id=actor.id,
            operator_label=actor.display[:254],
            reason=reason,
            started_at=now,
            expires_at=now + timedelta(minutes=length),
        )
        record_audit(
            actor=actor,
            type=AuditEventType.SUPPORT_SESSION_STARTED,
            tenant=tenant,
            target_type="support_session",
            target_id=str(session.pk),
            reason=reason,
            data={"expires_at": session.expires_at.isoformat(), "minutes": length},
        )
    return session


def end_support_session(*, session: SupportSession, actor: AuditActor) -> SupportSession:
    """End a session before its time box runs out (a no-op when it has already ended or expired)."""
    now = timezone.now()
    with transaction.atomic():
        locked = SupportSession.objects.select_for_update().get(pk=session.pk)
        if locked.ended_at is not None or locked.expires_at <= now:
            return locked
        locked.ended_at = now
        locked.ended_by = actor.display[:254]
        locked.save(update_fields=["ended_at", "ended_by"])
        record_audit(
            actor=actor,
            type=AuditEventType.SUPPORT_SESSION_ENDED,
            tenant=locked.tenant_id,
            target_type="support_session",
            target_id=str(locked.pk),
            data={"started_at": locked.started_at.isoformat()},
        )
    return locked


def active_support_session(*, tenant: Tenant, operator_id: str, now: datetime | None = None) -> SupportSession | None:
    """The operator's open session for this tenant, if any (what the portal's view base checks)."""
    at = now or timezone.now()
    return (
        SupportSession.objects.filter(tenant=tenant, operator_id=operator_id, ended_at__isnull=True, expires_at__gt=at)
        .order_by("-started_at")
        .first()
    )


@dataclass(frozen=True)
class SupportAccessEntry:
    started_at: datetime
    until: datetime
    operator_label: str
    reason: str
    active: bool

    @property
    def customer_text(self) -> str:
        """The line a tenant admin reads in their activity log."""
        verb = "is viewing" if self.active else "viewed"
        return (
            f"Rollcall support {verb} your portal from {self.started_at:%Y-%m-%d %H:%M} "
            f"to {self.until:%Y-%m-%d %H:%M} UTC, reason: {self.reason}"
        )


def support_access_log(*, tenant: Tenant, limit: int = 50) -> list[SupportAccessEntry]:
    """The tenant's support sessions, newest first, as its own admins see them."""
    now = timezone.now()
    return [
        SupportAccessEntry(
            started_at=s.started_at,
            until=s.until,
            operator_label=s.operator_label,
            reason=s.reason,
            active=s.ended_at is None and s.expires_at > now,
        )
        for s in SupportSession.objects.filter(tenant=tenant).order_by("-started_at")[:limit]
    ]
