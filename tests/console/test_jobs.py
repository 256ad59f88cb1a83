"""Jobs: requested and audited, advanced in bounded steps that each commit, resumable, with progress."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator

import pytest
from django.db import transaction

from console import job_runners
from console.job_runners import JobKind
from console.jobs import (
    JobError,
    JobStep,
    StepOutcome,
    advance_job,
    cancel_job,
    job_progress,
    job_result_file,
    recent_jobs,
    register_runner,
    request_job,
    requeue_stale_jobs,
    run_job,
    unregister_runner,
)
from console.services import (
    request_audit_export,
    request_bulk_replay,
    request_rollup_rebuild,
    request_user_remap,
)
from directory.attribute_mappings import set_attribute_mapping
from directory.models import DirectoryUser
from outbox.append import Actor
from outbox.models import Event
from provisioning.models import WebhookDelivery
from provisioning.webhooks import endpoints
from tenants.audit import AuditEventType, record_audit
from tenants.context import TenantRef, tenant_schema
from tenants.models import AuditEvent, Job, TenantHealth
from tests.provisioning.support import drain, make_user
from tests.support.actors import OPERATOR, SUPPORT

pytestmark = pytest.mark.django_db
Status = Job.Status


@pytest.fixture
def counting_runner() -> Iterator[dict[str, int]]:
    """A runner of four steps that records each step in its state; `fail_at` makes one step raise."""
    control = {"fail_at": 0}

    @register_runner("test_count", needs_tenant=False)
    def count(step: JobStep) -> StepOutcome:
        done = step.state.setdefault("done", [])
        number = len(done) + 1
        if number == control["fail_at"]:
            raise RuntimeError(f"step {number} broke")
        done.append(number)
        return StepOutcome(done=number == 4, progress_done=number, progress_total=4, result={"last": number})

    yield control
    unregister_runner("test_count")


def test_a_requested_job_is_queued_and_audited_and_published_after_commit(broker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = request_audit_export(actor=SUPPORT, tenant=None, fmt="json")
    assert job.status == Status.QUEUED and job.params == {"format": "json", "since": None, "until": None}
    row = AuditEvent.objects.get(type=AuditEventType.JOB_REQUESTED, target_id=str(job.pk))
    assert row.actor_id == SUPPORT.id and row.data["kind"] == "audit_export"
    (message,) = [json.loads(m) for m in broker.client().lrange("celery", 0, -1)]
    assert message["headers"]["task"] == "console.run_job" and message["headers"]["argsrepr"] == repr([str(job.pk)])


@pytest.mark.parametrize(
    ("kind", "params", "message"),
    [
        ("no_such_kind", {}, "unknown job kind"),
        (JobKind.AUDIT_EXPORT, {"format": "xml"}, "csv or json"),
        (JobKind.AUDIT_EXPORT, {"since": "yesterday"}, "ISO 8601"),
        (JobKind.AUDIT_EXPORT, {"since": "2026-12-02T00:00:00Z", "until": "2026-12-01T00:00:00Z"}, "end after"),
        (JobKind.ROLLUP_REBUILD, {"hours": 10_000}, "between 1 and"),
    ],
)
def test_bad_job_requests_are_refused_and_queue_nothing(kind, params, message):
    with pytest.raises(JobError, match=message):
        request_job(kind=kind, actor=OPERATOR, params=params)
    assert not Job.objects.exists() and not AuditEvent.objects.filter(type="job.requested").exists()


def test_a_tenant_job_needs_its_tenant_and_a_valid_endpoint(tenant_a):
    with pytest.raises(JobError, match="needs a tenant"):
        request_job(kind=JobKind.WEBHOOK_REPLAY, actor=OPERATOR, params={})
    with pytest.raises(JobError, match="no webhook endpoint"):
        request_bulk_replay(tenant=tenant_a, endpoint_id=uuid.uuid4(), actor=OPERATOR, seq_from=1)
    with pytest.raises(JobError, match="seq range or a time range"):
        request_bulk_replay(tenant=tenant_a, endpoint_id=uuid.uuid4(), actor=OPERATOR)


def test_steps_advance_progress_until_the_job_succeeds(counting_runner):
    job = request_job(kind="test_count", actor=OPERATOR)
    advance_job(job.pk)
    progress = job_progress(job.pk)
    assert progress is not None
    assert (progress.status, progress.done, progress.total, progress.percent) == ("running", 1, 4, 25)
    report = run_job(job.pk, budget_seconds=30)
    job.refresh_from_db()
    assert report.more is False and job.status == Status.SUCCEEDED and job.steps == 4
    assert job.state == {"done": [1, 2, 3, 4]} and job.result == {"last": 4} and job.finished_at
    assert job_progress(job.pk).percent == 100  # type: ignore[union-attr]


def test_the_time_budget_splits_a_run_and_the_next_run_continues(counting_runner):
    job = request_job(kind="test_count", actor=OPERATOR)
    first = run_job(job.pk, budget_seconds=0)
    assert first.more is True and first.steps == 1
    second = run_job(job.pk, budget_seconds=30)
    assert second.more is False and second.job is not None and second.job.state == {"done": [1, 2, 3, 4]}


def test_a_failing_step_fails_the_job_with_its_error_and_keeps_earlier_steps(counting_runner):
    counting_runner["fail_at"] = 3
    job = request_job(kind="test_count", actor=OPERATOR)
    run_job(job.pk, budget_seconds=30)
    job.refresh_from_db()
    assert job.status == Status.FAILED and job.error == "RuntimeError: step 3 broke"
    assert job.state == {"done": [1, 2]} and job.progress_done == 2
    assert job_progress(job.pk).has_file is False  # type: ignore[union-attr]


def test_a_cancelled_job_is_audited_and_never_advances_again(counting_runner):
    job = request_job(kind="test_count", actor=OPERATOR)
    advance_job(job.pk)
    cancel_job(job=job, actor=OPERATOR, reason="wrong tenant")
    assert advance_job(job.pk).state == {"done": [1]}  # type: ignore[union-attr]
    assert Job.objects.get(pk=job.pk).status == Status.CANCELLED
    assert AuditEvent.objects.get(type="job.cancelled").reason == "wrong tenant"


def test_stale_unfinished_jobs_are_published_again(counting_runner, broker, settings):
    settings.ROLLCALL_JOB_STALE_SECONDS = 0
    job = request_job(kind="test_count", actor=OPERATOR)
    done = request_job(kind="test_count", actor=OPERATOR)
    run_job(done.pk, budget_seconds=30)
    assert requeue_stale_jobs() == [str(job.pk)]
    assert broker.client().llen("celery") == 1


def test_progress_and_result_files_are_scoped_to_the_tenant(counting_runner, tenant_a, tenant_b, export_dir):
    job = request_job(kind="test_count", actor=OPERATOR, tenant=tenant_a)
    assert job_progress(job.pk, tenant=tenant_b) is None
    assert [p.id for p in recent_jobs(tenant=tenant_a)] == [job.pk] and recent_jobs(tenant=tenant_b) == []
    Job.objects.filter(pk=job.pk).update(status=Status.SUCCEEDED, result_path="../../etc/passwd")
    assert job_result_file(job.pk, tenant=tenant_a) is None  # never outside the export directory


# --------------------------------------------------------------------------- the built-in runners


def test_audit_export_job_writes_the_file_in_steps_exactly_once_even_after_a_crash(tenant_a, export_dir, monkeypatch):
    monkeypatch.setattr(job_runners, "EXPORT_ROWS_PER_STEP", 3)
    with transaction.atomic():
        for i in range(7):
            record_audit(actor=OPERATOR, type=AuditEventType.TOKEN_ISSUED, tenant=tenant_a, target_id=f"t{i}")
    job = request_audit_export(actor=OPERATOR, tenant=tenant_a, fmt="csv")
    advance_job(job.pk)
    path = export_dir / f"{job.pk}.csv"
    with path.open("ab") as out:  # a worker wrote the next chunk, then died before its step committed
        out.write(b"half a chunk that was never committed\r\n")
    run_job(job.pk, budget_seconds=30)

    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED and job.steps > 2
    file = job_result_file(job.pk, tenant=tenant_a)
    assert file == path.resolve()
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    expected = AuditEvent.objects.filter(tenant_id=tenant_a.pk).count()  # includes this job's own request
    assert len(rows) == expected == job.result["rows"] and len({r["id"] for r in rows}) == expected
    assert [r["target_id"] for r in rows if r["type"] == "token.issued"] == [f"t{i}" for i in range(7)]
    assert job.progress_done == job.progress_total == expected


def test_bulk_replay_job_resets_an_endpoints_deliveries_in_seq_chunks(tenant_a, monkeypatch):
    monkeypatch.setattr(job_runners, "REPLAY_SEQS_PER_STEP", 2)
    acme = TenantRef.of(tenant_a)
    with tenant_schema(acme):
        endpoint = endpoints.create_endpoint(url="http://127.0.0.1:9/never").endpoint
        for i in range(3):
            make_user(f"u{i}@acme.test")
    drain(acme)
    with tenant_schema(acme):
        WebhookDelivery.objects.update(status=WebhookDelivery.Status.DEAD)
        seqs = sorted(Event.objects.values_list("seq", flat=True))
    job = request_bulk_replay(tenant=tenant_a, endpoint_id=endpoint.pk, actor=OPERATOR, seq_from=seqs[0], seq_to=seqs[-1])
    run_job(job.pk, budget_seconds=30)
    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED and job.steps == 2 and job.result == {"replayed": 3}
    with tenant_schema(acme):
        assert set(WebhookDelivery.objects.values_list("status", "replays")) == {("pending", 1)}


def test_remap_job_reapplies_the_mapping_to_every_user_in_batches(tenant_a, monkeypatch):
    monkeypatch.setattr(job_runners, "REMAP_USERS_PER_STEP", 2)
    acme = TenantRef.of(tenant_a)
    with tenant_schema(acme):
        for i in range(5):
            make_user(f"u{i}@acme.test", title=f"Title {i}")
        set_attribute_mapping(idp="generic", mapping={"department": "title"}, actor=Actor(kind="portal", id="admin"))
    job = request_user_remap(actor=OPERATOR, tenant=tenant_a)
    run_job(job.pk, budget_seconds=30)
    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED and job.steps == 3
    assert job.result == {"examined": 5, "changed": 5} and job.progress_total == 5
    with tenant_schema(acme):
        assert sorted(DirectoryUser.objects.values_list("department", flat=True)) == [f"Title {i}" for i in range(5)]
        updated = Event.objects.filter(type="user.updated", payload__cause="attribute_mapping")
        assert {e.actor for e in updated} == {"operator:17"}


def test_rollup_rebuild_job_refreshes_the_tenants_summary(scim, tenant_a):
    scim.create_user("ada@acme.test")
    job = request_rollup_rebuild(actor=OPERATOR, tenant=tenant_a, hours=12)
    run_job(job.pk, budget_seconds=30)
    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED and (job.progress_done, job.progress_total) == (1, 1)
    health = TenantHealth.objects.get(tenant=tenant_a)
    assert health.requests_24h == 1 and health.users_active == 1 and health.refreshed_at
