"""Jobs and the health rollup in real Celery workers: a job survives a SIGKILL mid-step, an export
lands on disk, and the beat keeps the rollup current from real SCIM traffic."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from console.jobs import request_job
from console.services import request_audit_export
from tenants.models import Job, TenantHealth
from tests.console.gated_runner import GATED_JOB, STEPS
from tests.provisioning.infra import wait_for
from tests.provisioning.test_reliability import (  # the worker fixtures of the pipeline's reliability tests
    VISIBILITY_TIMEOUT,
    WAIT,
    local_webhooks,
    start_worker,
    worker_env,
    workers,
)
from tests.support.actors import OPERATOR
from tests.support.scim_client import ScimClient
from tests.support.tenants import ensure_tenant

__all__ = ["local_webhooks", "worker_env", "workers"]
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


@pytest.fixture
def job_env(worker_env, tmp_path, settings):  # type: ignore[no-untyped-def]
    exports = tmp_path / "exports"
    settings.ROLLCALL_EXPORT_DIR = exports
    return {**worker_env, "ROLLCALL_EXPORT_DIR": str(exports), "ROLLCALL_HEALTH_REFRESH_SECONDS": "1"}


def finished(job: Job) -> Job | None:
    job.refresh_from_db()
    return job if job.finished else None


def test_a_job_whose_worker_is_killed_mid_step_resumes_on_another_and_commits_each_step_once(
    broker, workers, job_env, tmp_path
):
    gate = Path(job_env["ROLLCALL_TEST_GATE_DIR"])
    first = start_worker(workers, job_env, tmp_path, "jobs1")  # no beat: only redelivery can help
    job = request_job(kind=GATED_JOB, actor=OPERATOR)
    wait_for(lambda: (gate / "job-entered").exists(), timeout=WAIT, what="the worker to enter step 3")
    first.kill()
    job.refresh_from_db()
    assert job.state == {"done": [1, 2]} and job.status == Job.Status.RUNNING  # step 3 never committed

    (gate / "job-open").touch()
    time.sleep(VISIBILITY_TIMEOUT + 0.5)  # the unacked message becomes visible again
    start_worker(workers, job_env, tmp_path, "jobs2")
    done = wait_for(lambda: finished(job), timeout=WAIT, what="the redelivered job to finish")

    assert done.status == Job.Status.SUCCEEDED, done.error
    assert done.state == {"done": list(range(1, STEPS + 1))}  # every step once, in order
    assert done.steps == STEPS and done.progress_done == STEPS
    assert (gate / "job-entered").read_text().split() == ["3", "3"]  # step 3 ran twice, committed once


def test_an_audit_export_runs_in_the_worker_and_leaves_its_file(broker, workers, job_env, tmp_path):
    tenant = ensure_tenant("exporter", "Exporter Inc")
    start_worker(workers, job_env, tmp_path, "exports")
    job = request_audit_export(actor=OPERATOR, tenant=tenant, fmt="json")
    done = wait_for(lambda: finished(job), timeout=WAIT, what="the export job")

    assert done.status == Job.Status.SUCCEEDED, done.error
    document = json.loads((Path(job_env["ROLLCALL_EXPORT_DIR"]) / done.result_path).read_text())
    assert [row["type"] for row in document] == ["tenant.created", "setup_link.issued", "job.requested"]
    assert done.result["rows"] == 3


def test_the_beat_refreshes_the_rollup_of_a_tenant_with_scim_traffic(broker, workers, job_env, tmp_path):
    tenant = ensure_tenant("busy", "Busy Inc")
    start_worker(workers, job_env, tmp_path, "rollup", beat=True)
    scim = ScimClient.for_tenant(tenant)
    assert scim.create_user("ada@busy.test").status == 201
    assert scim.get("/Users/00000000-0000-4000-8000-000000000000").status == 404

    def summarised() -> TenantHealth | None:
        health = TenantHealth.objects.get(tenant=tenant)
        # The drain marks the tenant again after handling user.created: the backlog then reads 0.
        drained = health.refreshed_at and health.outbox_backlog == 0
        return health if health.requests_24h == 2 and health.users_active == 1 and drained else None

    health = wait_for(summarised, timeout=WAIT, what="the beat to aggregate the tenant")
    assert health.errors_24h == 1 and health.status_4xx_24h == 1 and health.last_error_at is not None
