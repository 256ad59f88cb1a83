"""Operator (and tenant-admin) actions on a tenant's pipeline, each audited in its own transaction.

The console's pages call these, never the pipeline's services directly, so no entry point can skip
the audit row. Long work goes through jobs (console.jobs); everything here returns quickly.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction

from console.job_runners import JobKind, outbox_actor
from console.jobs import request_job
from provisioning import parking
from provisioning.models import WebhookDelivery, WebhookEndpoint
from provisioning.webhooks import endpoints, replay
from provisioning.webhooks.endpoints import CreatedEndpoint, WebhookError
from tenants.audit import AuditActor, AuditEventType, ExportFormat, record_audit
from tenants.context import TenantRef, tenant_schema
from tenants.models import Job, Tenant


class ActionError(Exception):
    """Bad input to a console action: a clear message, nothing changed."""


def _reason(reason: str, *, required: bool, what: str) -> str:
    text = (reason or "").strip()
    if required and not text:
        raise ActionError(f"give a reason for {what} (it is kept in the audit log)")
    return text


# --------------------------------------------------------------------------- webhooks


def replay_delivery(*, tenant: Tenant, delivery_id: int, actor: AuditActor, reason: str = "") -> WebhookDelivery:
    """Send one webhook delivery again now, with a fresh attempt budget."""
    ref = TenantRef.of(tenant)
    with transaction.atomic(), tenant_schema(ref):
        try:
            delivery = replay.replay_delivery(tenant=ref, delivery_id=delivery_id)
        except WebhookError as exc:
            raise ActionError(str(exc)) from None
        record_audit(
            actor=actor,
            type=AuditEventType.WEBHOOK_DELIVERY_REPLAYED,
            tenant=tenant,
            target_type="webhook_delivery",
            target_id=str(delivery.pk),
            reason=_reason(reason, required=False, what="replaying"),
            data={"event_seq": delivery.event_seq, "endpoint_id": str(delivery.endpoint_id)},
        )
    return delivery


def request_bulk_replay(
    *,
    tenant: Tenant,
    endpoint_id: uuid.UUID | str,
    actor: AuditActor,
    seq_from: int | None = None,
    seq_to: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    dead_only: bool = False,
    reason: str = "",
) -> Job:
    """Replay an endpoint's deliveries by seq or time range, in the worker (a job with progress)."""
    params: dict[str, Any] = {
        "endpoint_id": str(endpoint_id),
        "seq_from": seq_from,
        "seq_to": seq_to,
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
        "dead_only": dead_only,
    }
    return request_job(kind=JobKind.WEBHOOK_REPLAY, actor=actor, tenant=tenant, params=params, reason=reason)


def create_webhook_endpoint(
    *, tenant: Tenant, url: str, actor: AuditActor, event_types: Iterable[str] = (), description: str = ""
) -> CreatedEndpoint:
    """Register a webhook endpoint for the tenant; its signing secret is returned once."""
    with transaction.atomic(), tenant_schema(TenantRef.of(tenant)):
        try:
            created = endpoints.create_endpoint(url=url, event_types=event_types, description=description)
        except WebhookError as exc:
            raise ActionError(str(exc)) from None
        record_audit(
            actor=actor,
            type=AuditEventType.WEBHOOK_ENDPOINT_CREATED,
            tenant=tenant,
            target_type="webhook_endpoint",
            target_id=str(created.endpoint.pk),
            data={"url": created.endpoint.url, "event_types": created.endpoint.event_types},
        )
    return created


def set_webhook_endpoint_active(
    *, tenant: Tenant, endpoint_id: uuid.UUID | str, active: bool, actor: AuditActor, reason: str = ""
) -> WebhookEndpoint:
    """Disable an endpoint (its deliveries stop) or enable it again."""
    with transaction.atomic(), tenant_schema(TenantRef.of(tenant)):
        if not WebhookEndpoint.objects.filter(pk=endpoint_id).exists():
            raise ActionError(f"{tenant.name} has no webhook endpoint {endpoint_id}")
        endpoint = endpoints.update_endpoint(endpoint_id=endpoint_id, active=active)
        record_audit(
            actor=actor,
            type=AuditEventType.WEBHOOK_ENDPOINT_ENABLED if active else AuditEventType.WEBHOOK_ENDPOINT_DISABLED,
            tenant=tenant,
            target_type="webhook_endpoint",
            target_id=str(endpoint.pk),
            reason=_reason(reason, required=False, what="this change"),
            data={"url": endpoint.url},
        )
    return endpoint


def rotate_webhook_secret(*, tenant: Tenant, endpoint_id: uuid.UUID | str, actor: AuditActor) -> str:
    """A new signing secret (returned once); the old one keeps signing alongside for a day."""
    with transaction.atomic(), tenant_schema(TenantRef.of(tenant)):
        if not WebhookEndpoint.objects.filter(pk=endpoint_id).exists():
            raise ActionError(f"{tenant.name} has no webhook endpoint {endpoint_id}")
        secret = endpoints.rotate_secret(endpoint_id=endpoint_id)
        record_audit(
            actor=actor,
            type=AuditEventType.WEBHOOK_SECRET_ROTATED,
            tenant=tenant,
            target_type="webhook_endpoint",
            target_id=str(endpoint_id),
            data={"prefix": secret[:10]},
        )
    return secret


# --------------------------------------------------------------------------- stuck events


def retry_parked_event(*, tenant: Tenant, seq: int, actor: AuditActor, reason: str) -> int:
    """Put a parked (poison) event back in the tenant's queue; returns how many held events follow it."""
    text = _reason(reason, required=True, what="retrying a stuck event")
    with transaction.atomic(), tenant_schema(TenantRef.of(tenant)):
        try:
            result = parking.retry_parked_event(seq=seq, actor=outbox_actor(actor), reason=text)
        except parking.ParkingError as exc:
            raise ActionError(str(exc)) from None
        record_audit(
            actor=actor, type=AuditEventType.EVENT_RETRIED, tenant=tenant, target_type="event", target_id=str(seq), reason=text
        )
    return result


def skip_parked_event(*, tenant: Tenant, seq: int, actor: AuditActor, reason: str) -> int:
    """Give up on a parked event so the tenant's later events flow again; returns how many were held."""
    text = _reason(reason, required=True, what="skipping a stuck event")
    with transaction.atomic(), tenant_schema(TenantRef.of(tenant)):
        try:
            result = parking.skip_parked_event(seq=seq, actor=outbox_actor(actor), reason=text)
        except parking.ParkingError as exc:
            raise ActionError(str(exc)) from None
        record_audit(
            actor=actor, type=AuditEventType.EVENT_SKIPPED, tenant=tenant, target_type="event", target_id=str(seq), reason=text
        )
    return result


# --------------------------------------------------------------------------- jobs


def request_audit_export(
    *,
    actor: AuditActor,
    tenant: Tenant | None,
    fmt: ExportFormat | str = ExportFormat.CSV,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Job:
    """Export a tenant's (or every tenant's) audit log for a time range to a file, in the worker."""
    params = {"format": str(fmt), "since": since.isoformat() if since else None, "until": until.isoformat() if until else None}
    return request_job(kind=JobKind.AUDIT_EXPORT, actor=actor, tenant=tenant, params=params)


def request_rollup_rebuild(*, actor: AuditActor, tenant: Tenant | None = None, hours: int = 48) -> Job:
    """Recompute the health rollup of one tenant (or all) over the last `hours` hours."""
    return request_job(kind=JobKind.ROLLUP_REBUILD, actor=actor, tenant=tenant, params={"hours": hours})


def request_user_remap(*, actor: AuditActor, tenant: Tenant, idp: str = "") -> Job:
    """Re-apply the tenant's attribute mapping to all its users (after the mapping changed)."""
    return request_job(kind=JobKind.REMAP_USERS, actor=actor, tenant=tenant, params={"idp": idp})
