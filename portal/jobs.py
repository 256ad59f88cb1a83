"""The portal's long work, run by the worker as jobs of the shared job system (console.jobs):
re-mapping users after a mapping change, deactivating a deleted connection's users, CSV exports.

Each starts in the transaction of the change that needs it (the job row commits with the change,
its task is published after commit), and the pages poll `job_view` for a progress bar.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction

from console.job_runners import JobKind
from console.jobs import job_progress, job_result_file, request_job
from directory.attribute_mappings import MappingPreview, set_attribute_mapping
from outbox.append import Actor
from tenants.audit import AuditActor
from tenants.connections import DeletedConnection, delete_connection
from tenants.models import Tenant

TITLES = {
    JobKind.REMAP_USERS: "Re-mapping existing users",
    JobKind.DEACTIVATE_CONNECTION_USERS: "Deactivating the connection's users",
    JobKind.REQUEST_LOG_EXPORT: "Exporting the request log",
    JobKind.AUDIT_EXPORT: "Exporting admin changes",
}


@dataclass(frozen=True)
class JobView:
    """What the progress bar shows."""

    id: str
    kind: str
    status: str  # queued | running | succeeded | failed | cancelled
    done: int
    total: int | None
    result: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    has_file: bool = False
    created_at: datetime | None = None

    @property
    def finished(self) -> bool:
        return self.status in {"succeeded", "failed", "cancelled"}

    @property
    def percent(self) -> int:
        if self.status == "succeeded":
            return 100
        if not self.total:
            return 0
        return min(99, round(100 * self.done / self.total))

    @property
    def title(self) -> str:
        return TITLES.get(self.kind, "Working")  # type: ignore[call-overload]


def job_view(tenant: Tenant, job_id: str, *, kinds: tuple[str, ...] = ()) -> JobView | None:
    """The tenant's job with that id (of one of `kinds`); None for a bad id or another tenant's job."""
    try:
        pk = uuid.UUID(str(job_id))
    except ValueError:
        return None
    progress = job_progress(pk, tenant=tenant)
    if progress is None or (kinds and progress.kind not in kinds):
        return None
    return JobView(
        id=str(progress.id),
        kind=progress.kind,
        status=progress.status,
        done=progress.done,
        total=progress.total,
        result=progress.result,
        error=progress.error,
        has_file=progress.has_file,
        created_at=progress.created_at,
    )


def save_mapping_and_remap(
    *, tenant: Tenant, idp: str, mapping: Mapping[str, str], actor: Actor, audit: AuditActor
) -> tuple[MappingPreview, str]:
    """Save the attribute-mapping choices and queue the re-mapping of every user, in one transaction."""
    with transaction.atomic():
        preview = set_attribute_mapping(idp=idp, mapping=mapping, actor=actor)
        job = request_job(kind=JobKind.REMAP_USERS, actor=audit, tenant=tenant, params={"idp": idp})
    return preview, str(job.pk)


def delete_connection_and_deactivate(
    *, tenant: Tenant, connection_id: str, idp: str, confirm_name: str, audit: AuditActor
) -> tuple[DeletedConnection, str]:
    """Delete the connection and queue the deactivation of the users it provisioned, in one transaction."""
    with transaction.atomic():
        deleted = delete_connection(
            tenant=tenant, connection_id=connection_id, confirm_name=confirm_name, users="deactivate", actor=audit
        )
        job = request_job(
            kind=JobKind.DEACTIVATE_CONNECTION_USERS,
            actor=audit,
            tenant=tenant,
            params={"connection_id": deleted.id, "idp": idp},
        )
    return deleted, str(job.pk)


def start_export(*, tenant: Tenant, kind: str, since: datetime | None, until: datetime | None, audit: AuditActor) -> str:
    """Queue a CSV export of the request log or the admin audit log for a time range; the job id."""
    params: dict[str, Any] = {"since": since.isoformat() if since else None, "until": until.isoformat() if until else None}
    if kind == JobKind.AUDIT_EXPORT:
        params["format"] = "csv"
    return str(request_job(kind=kind, actor=audit, tenant=tenant, params=params).pk)


def export_file(tenant: Tenant, job_id: str) -> Any:
    try:
        return job_result_file(uuid.UUID(str(job_id)), tenant=tenant)
    except ValueError:
        return None
