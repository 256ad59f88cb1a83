"""Re-mapping existing users after an attribute-mapping change: started here, run by the worker.

The work itself is directory.attribute_mappings.remap_users (batches in id order, one user.updated
per changed user). It runs as a job of the shared job system (tenants.jobs, kind "remap_users"),
never in the request; the mapping page polls `progress` for its progress bar.
"""

from __future__ import annotations

from dataclasses import dataclass

from tenants.models import Tenant

REMAP_KIND = "remap_users"


@dataclass(frozen=True)
class RemapProgress:
    """What the progress bar shows."""

    id: str
    status: str  # queued | running | succeeded | failed | cancelled
    examined: int
    total: int | None
    changed: int
    error: str = ""

    @property
    def finished(self) -> bool:
        return self.status in {"succeeded", "failed", "cancelled"}

    @property
    def percent(self) -> int:
        if self.status == "succeeded":
            return 100
        if not self.total:
            return 0
        return min(99, round(100 * self.examined / self.total))


def start(tenant: Tenant, *, idp: str, requested_by: str) -> str:
    """Queue the re-mapping of every user of the tenant with the IdP's effective mapping; the job id."""
    raise NotImplementedError("needs the job system of the console branch (tenants.jobs)")


def progress(tenant: Tenant, job_id: str) -> RemapProgress | None:
    """The job's progress if it is this tenant's re-mapping job; None for anything else."""
    if not job_id:
        return None
    return None
