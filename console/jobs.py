"""Jobs: long work (exports, bulk replays, rebuilds, re-mapping) run by a worker in bounded steps.

A page requests a job (`request_job`: the row, its audit entry and, after commit, a Celery task);
the worker's task calls `run_job`, which advances the job one step at a time. Each step runs in its
own transaction with the job row locked: the runner's effects, its new cursor (`Job.state`) and the
progress commit together, so a worker killed mid-step leaves the job at its last committed step and
the redelivered task (or the stale-job sweep) continues from there. Pages poll `job_progress`.

Runners are registered once per kind (`register_runner`); the built-in ones live in
console.job_runners.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from outbox.queues import DEFAULT_QUEUE
from outbox.relay import publish
from tenants.audit import AuditActor, AuditEventType, record_audit
from tenants.context import TenantRef
from tenants.models import Job, Tenant

log = logging.getLogger(__name__)

RUN_JOB_TASK = "console.run_job"
MAX_ERROR_CHARS = 2000
Status = Job.Status


class JobError(Exception):
    """Bad input to a job service (unknown kind, bad parameters): a clear message, nothing queued."""


@dataclass
class JobStep:
    """What a runner sees for one step. It may change `state` (saved with the step's effects)."""

    job_id: uuid.UUID
    kind: str
    tenant: TenantRef | None
    params: Mapping[str, Any]
    state: dict[str, Any]
    actor: AuditActor


@dataclass(frozen=True)
class StepOutcome:
    done: bool
    progress_done: int
    progress_total: int | None = None
    result: Mapping[str, Any] = field(default_factory=dict)  # merged into Job.result
    result_path: str = ""  # a file under ROLLCALL_EXPORT_DIR, relative to it


Advance = Callable[[JobStep], StepOutcome]
Validate = Callable[[dict[str, Any], Tenant | None], dict[str, Any]]


@dataclass(frozen=True)
class JobRunner:
    kind: str
    advance: Advance
    validate: Validate
    needs_tenant: bool
    description: str


_RUNNERS: dict[str, JobRunner] = {}


def _accept(params: dict[str, Any], tenant: Tenant | None) -> dict[str, Any]:
    return params


def register_runner(
    kind: str, *, needs_tenant: bool, validate: Validate | None = None, description: str = ""
) -> Callable[[Advance], Advance]:
    """Register the function that advances jobs of `kind` by one bounded step."""

    def decorator(fn: Advance) -> Advance:
        _RUNNERS[kind] = JobRunner(kind, fn, validate or _accept, needs_tenant, description or (fn.__doc__ or "").strip())
        return fn

    return decorator


def unregister_runner(kind: str) -> None:
    _RUNNERS.pop(kind, None)


def runner_for(kind: str) -> JobRunner:
    import console.job_runners  # noqa: F401  (registers the built-in runners once)

    runner = _RUNNERS.get(kind)
    if runner is None:
        raise JobError(f"unknown job kind {kind!r}")
    return runner


def export_dir() -> Path:
    return Path(settings.ROLLCALL_EXPORT_DIR)


def actor_of(job: Job) -> AuditActor:
    raw = job.requested_by or {}
    return AuditActor(
        kind=raw.get("kind", "system"),
        id=str(raw.get("id", "")),
        label=str(raw.get("label", "")),
        role=str(raw.get("role", "")),
    )


# --------------------------------------------------------------------------- services


def request_job(
    *,
    kind: str,
    actor: AuditActor,
    tenant: Tenant | None = None,
    params: Mapping[str, Any] | None = None,
    reason: str = "",
) -> Job:
    """Queue a job (audited); a worker starts it after commit. Bad parameters raise JobError."""
    runner = runner_for(kind)
    if runner.needs_tenant and tenant is None:
        raise JobError(f"a {kind} job needs a tenant")
    clean = runner.validate(dict(params or {}), tenant)
    try:
        json.dumps(clean)
    except TypeError as exc:
        raise JobError(f"job parameters must be JSON values: {exc}") from None
    with transaction.atomic():
        job = Job.objects.create(
            kind=kind,
            tenant=tenant,
            requested_by={"kind": actor.kind, "id": actor.id, "label": actor.label, "role": actor.role},
            params=clean,
        )
        record_audit(
            actor=actor,
            type=AuditEventType.JOB_REQUESTED,
            tenant=tenant,
            target_type="job",
            target_id=str(job.pk),
            reason=reason,
            data={"kind": kind, "params": clean},
        )
        job_id = job.pk
        transaction.on_commit(lambda: enqueue_job(job_id))
    return job


def enqueue_job(job_id: uuid.UUID | str) -> bool:
    """Publish the job's task (never raises: a failed publish is retried by the stale-job sweep)."""
    return publish(RUN_JOB_TASK, [str(job_id)], queue=DEFAULT_QUEUE)


def cancel_job(*, job: Job, actor: AuditActor, reason: str = "") -> Job:
    """Stop an unfinished job after its current step (audited). Finished jobs stay as they are."""
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        if locked.finished:
            return locked
        now = timezone.now()
        locked.status = Status.CANCELLED
        locked.finished_at = locked.updated_at = now
        locked.save(update_fields=["status", "finished_at", "updated_at"])
        record_audit(
            actor=actor,
            type=AuditEventType.JOB_CANCELLED,
            tenant=locked.tenant_id,
            target_type="job",
            target_id=str(locked.pk),
            reason=reason,
            data={"kind": locked.kind},
        )
    return locked


def _tenant_ref(job: Job) -> TenantRef | None:
    return TenantRef.of(job.tenant) if job.tenant_id is not None and job.tenant is not None else None


def advance_job(job_id: uuid.UUID | str) -> Job | None:
    """Run one step of the job in its own transaction. None when another worker holds the job."""
    with transaction.atomic():
        job = Job.objects.select_for_update(skip_locked=True, of=("self",)).select_related("tenant").filter(pk=job_id).first()
        if job is None or job.finished:
            return job
        now = timezone.now()
        if job.status == Status.QUEUED:
            job.status = Status.RUNNING
            job.started_at = now
        try:
            runner = runner_for(job.kind)
            step = JobStep(job.pk, job.kind, _tenant_ref(job), dict(job.params), dict(job.state), actor_of(job))
            with transaction.atomic():  # a failing step's writes roll back; the failure is recorded below
                outcome = runner.advance(step)
        except Exception as exc:
            log.exception("job %s (%s) failed at step %d", job.pk, job.kind, job.steps + 1)
            job.status = Status.FAILED
            job.error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]
            job.finished_at = job.updated_at = timezone.now()
            job.save()
            return job
        job.state = step.state
        job.steps += 1
        job.progress_done = outcome.progress_done
        if outcome.progress_total is not None:
            job.progress_total = outcome.progress_total
        if outcome.result:
            job.result = {**(job.result or {}), **outcome.result}
        if outcome.result_path:
            job.result_path = outcome.result_path
        job.updated_at = timezone.now()
        if outcome.done:
            job.status = Status.SUCCEEDED
            job.finished_at = job.updated_at
        job.save()
    return job


@dataclass(frozen=True)
class RunReport:
    job: Job | None
    steps: int
    more: bool  # the budget ran out before the job finished


def run_job(job_id: uuid.UUID | str, *, budget_seconds: float | None = None) -> RunReport:
    """Advance the job step by step until it finishes or the time budget is spent."""
    budget = float(settings.ROLLCALL_JOB_TASK_BUDGET_SECONDS if budget_seconds is None else budget_seconds)
    deadline = time.monotonic() + budget
    steps = 0
    while True:
        job = advance_job(job_id)
        if job is None or job.finished:
            return RunReport(job, steps, more=False)
        steps += 1
        if time.monotonic() >= deadline:
            return RunReport(job, steps, more=True)


def requeue_stale_jobs(*, now: datetime | None = None) -> list[str]:
    """Publish again every unfinished job that has not advanced for ROLLCALL_JOB_STALE_SECONDS
    (its message was lost, or its worker died and the broker has not redelivered yet)."""
    cutoff = (now or timezone.now()) - timedelta(seconds=int(settings.ROLLCALL_JOB_STALE_SECONDS))
    stale = [
        str(pk)
        for pk in Job.objects.filter(status__in=[Status.QUEUED, Status.RUNNING], updated_at__lt=cutoff)
        .order_by("updated_at")
        .values_list("pk", flat=True)[:100]
    ]
    for job_id in stale:
        enqueue_job(job_id)
    return stale


# --------------------------------------------------------------------------- selectors


@dataclass(frozen=True)
class JobProgress:
    """What a page shows and polls: status, a progress bar, the result link or the error."""

    id: uuid.UUID
    kind: str
    tenant_id: uuid.UUID | None
    status: str
    done: int
    total: int | None
    result: dict[str, Any]
    has_file: bool
    error: str
    requested_by: str
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None

    @property
    def finished(self) -> bool:
        return self.status in (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    @property
    def percent(self) -> int | None:
        if not self.total:
            return 100 if self.status == Status.SUCCEEDED else None
        return min(100, int(self.done * 100 / self.total))


def _progress(job: Job) -> JobProgress:
    return JobProgress(
        id=job.pk,
        kind=job.kind,
        tenant_id=job.tenant_id,
        status=job.status,
        done=job.progress_done,
        total=job.progress_total,
        result=dict(job.result or {}),
        has_file=bool(job.result_path) and job.status == Status.SUCCEEDED,
        error=job.error,
        requested_by=actor_of(job).display,
        created_at=job.created_at,
        updated_at=job.updated_at,
        finished_at=job.finished_at,
    )


def job_progress(job_id: uuid.UUID | str, *, tenant: Tenant | None = None) -> JobProgress | None:
    """One job's progress (one query). With `tenant`, a job of another tenant is None (a 404)."""
    qs = Job.objects.filter(pk=job_id)
    if tenant is not None:
        qs = qs.filter(tenant=tenant)
    job = qs.first()
    return None if job is None else _progress(job)


def recent_jobs(*, tenant: Tenant | None = None, kinds: Sequence[str] = (), limit: int = 20) -> list[JobProgress]:
    qs = Job.objects.all() if tenant is None else Job.objects.filter(tenant=tenant)
    if kinds:
        qs = qs.filter(kind__in=list(kinds))
    return [_progress(job) for job in qs.order_by("-created_at")[:limit]]


def job_result_file(job_id: uuid.UUID | str, *, tenant: Tenant | None = None) -> Path | None:
    """The finished job's result file, if it has one (always inside ROLLCALL_EXPORT_DIR)."""
    qs = Job.objects.filter(pk=job_id, status=Status.SUCCEEDED).exclude(result_path="")
    if tenant is not None:
        qs = qs.filter(tenant=tenant)
    relative = qs.values_list("result_path", flat=True).first()
    if relative is None:
        return None
    base = export_dir().resolve()
    path = (base / relative).resolve()
    if base not in path.parents or not path.is_file():
        return None
    return path
