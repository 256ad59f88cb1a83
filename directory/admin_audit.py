"""Tenant-admin and operator edits of the directory's settings land in the public audit log.

Directory services take the pipeline's `Actor`; when it is a person (a portal admin or an operator)
the change is also an audited action, recorded in the same transaction as the change. Changes made
by the SCIM edge or the pipeline itself are not admin actions and are not recorded here.
"""

from __future__ import annotations

from typing import Any

from outbox.append import Actor
from tenants.audit import AuditActor, AuditEventType, record_audit
from tenants.context import current_schema
from tenants.models import Tenant

_PEOPLE = {"portal": "tenant_admin", "operator": "operator"}


def audit_admin_change(
    actor: Actor, event: AuditEventType, *, target_type: str, target_id: str, data: dict[str, Any] | None = None
) -> None:
    """Record the change when a person made it (call inside the change's transaction)."""
    kind = _PEOPLE.get(actor.kind)
    if kind is None:
        return
    tenant_id = Tenant.objects.filter(schema_name=current_schema()).values_list("pk", flat=True).first()
    record_audit(
        actor=AuditActor(
            kind=kind,  # type: ignore[arg-type]
            id=actor.id,
            label=actor.id,
            source_ip=actor.source_ip,
            request_id=actor.request_id,
        ),
        type=event,
        tenant=tenant_id,
        target_type=target_type,
        target_id=target_id,
        data=data,
    )
