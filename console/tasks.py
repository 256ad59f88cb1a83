"""Celery entry points of the console backend: run a job, and the health rollup's beat jobs."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from console import jobs, rollup
from console.jobs import RUN_JOB_TASK


@shared_task(name=RUN_JOB_TASK, acks_late=True, ignore_result=True)
def run_job(job_id: str) -> dict[str, Any]:
    """Advance the job step by step for a time budget, then queue its continuation (others run between)."""
    report = jobs.run_job(job_id)
    if report.more:
        jobs.enqueue_job(job_id)
    job = report.job
    return {"steps": report.steps, "status": job.status if job else None, "more": report.more}


@shared_task(name="console.requeue_stale_jobs", ignore_result=True)
def requeue_stale_jobs() -> int:
    return len(jobs.requeue_stale_jobs())


@shared_task(name="console.refresh_tenant_health", ignore_result=True)
def refresh_tenant_health() -> dict[str, int]:
    """Re-aggregate the tenants that were active since the last run (O(active tenants))."""
    report = rollup.refresh_active_tenants()
    return {"refreshed": len(report.refreshed), "failed": len(report.failed), "rolled": report.rolled}


@shared_task(name="console.reconcile_tenant_health", ignore_result=True)
def reconcile_tenant_health() -> dict[str, int]:
    """Refresh the least recently refreshed tenants (heals activity marks lost while Redis was down)."""
    report = rollup.reconcile_tenants()
    return {"refreshed": len(report.refreshed), "failed": len(report.failed)}
