"""Console: background jobs (audit exports, bulk replays, rebuilds, re-mapping) with their progress,
a job's card as an htmx partial that polls until the job finishes, and its result file."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from console.job_runners import JobKind
from console.jobs import JobProgress, job_progress, job_result_file, recent_jobs
from portal.views.base import OperatorView
from portal.views.wizard import POLL_DONE
from tenants.models import Tenant

TITLES: dict[str, str] = {
    JobKind.AUDIT_EXPORT: "Audit log export",
    JobKind.WEBHOOK_REPLAY: "Bulk webhook replay",
    JobKind.ROLLUP_REBUILD: "Health rollup rebuild",
    JobKind.REMAP_USERS: "Re-mapping users",
    JobKind.REQUEST_LOG_EXPORT: "Request log export",
    JobKind.DEACTIVATE_CONNECTION_USERS: "Deactivating a deleted connection's users",
}
STATUS_TONES = {"succeeded": "ok", "failed": "error", "cancelled": "", "running": "accent", "queued": ""}


@dataclass(frozen=True)
class JobCard:
    """A job as the console shows it: its progress plus its title and tenant."""

    progress: JobProgress
    tenant: Tenant | None

    @property
    def title(self) -> str:
        return TITLES.get(self.progress.kind, self.progress.kind.replace("_", " ").capitalize())

    @property
    def tone(self) -> str:
        return STATUS_TONES.get(self.progress.status, "")

    @property
    def summary(self) -> str:
        """What the finished job produced, in a few words."""
        result = self.progress.result
        if "rows" in result:
            return f"{result['rows']} rows, {str(result.get('format', '')).upper()}".rstrip(", ")
        if "replayed" in result:
            return f"{result['replayed']} deliveries replayed"
        if "changed" in result:
            return f"{result['changed']} users changed"
        return ""


def _job_id(raw: str | uuid.UUID) -> uuid.UUID | None:
    try:
        return raw if isinstance(raw, uuid.UUID) else uuid.UUID(str(raw))
    except ValueError:
        return None


def job_card(raw_id: str | uuid.UUID, *, tenant: Tenant | None = None) -> JobCard | None:
    """The job with that id (of `tenant`, when given); None for an empty or bad id or another tenant's job."""
    job_id = _job_id(raw_id) if raw_id else None
    progress = job_progress(job_id, tenant=tenant) if job_id else None
    if progress is None:
        return None
    if tenant is None and progress.tenant_id is not None:
        tenant = Tenant.objects.filter(pk=progress.tenant_id).first()
    return JobCard(progress, tenant)


class JobsView(OperatorView):
    """/console/jobs: the most recent jobs of every tenant, newest first."""

    def get(self, request: HttpRequest) -> HttpResponse:
        jobs = recent_jobs(limit=50)
        tenants = {t.pk: t for t in Tenant.objects.filter(pk__in={j.tenant_id for j in jobs if j.tenant_id})}
        cards = [JobCard(j, tenants.get(j.tenant_id) if j.tenant_id else None) for j in jobs]
        busy = any(not c.progress.finished for c in cards)
        context = {"operator": self.operator, "nav": "jobs", "jobs": cards, "busy": busy}
        if getattr(request, "htmx", False) and request.GET.get("part") == "list":
            response = render(request, "console/jobs/_list.html", context)
            if not busy:
                response.status_code = POLL_DONE
            return response
        return render(request, "console/jobs/index.html", context)


class JobView(OperatorView):
    """/console/jobs/<id>: one job's progress; for htmx the card alone, which stops polling once finished."""

    def get(self, request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
        card = job_card(job_id)
        if card is None:
            raise Http404("no such job")
        context: dict[str, Any] = {"operator": self.operator, "nav": "jobs", "job": card}
        if getattr(request, "htmx", False):
            response = render(request, "console/jobs/_job.html", context)
            if card.progress.finished:
                response.status_code = POLL_DONE
            return response
        return render(request, "console/jobs/detail.html", context)


class JobDownloadView(OperatorView):
    """/console/jobs/<id>/download: the finished job's file (an export)."""

    def get(self, request: HttpRequest, job_id: uuid.UUID) -> FileResponse:
        card = job_card(job_id)
        path = job_result_file(job_id)
        if card is None or path is None:
            raise Http404("no file for this job")
        scope = card.tenant.slug if card.tenant else "all-tenants"
        filename = f"rollcall-{card.progress.kind.replace('_', '-')}-{scope}-{card.progress.created_at:%Y%m%d-%H%M}{path.suffix}"
        return FileResponse(path.open("rb"), as_attachment=True, filename=filename)
