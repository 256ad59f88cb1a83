"""Console pages: recent jobs, one job's card (an htmx partial that stops polling when finished), and
its result file."""

from __future__ import annotations

import uuid

import pytest

from console import services
from console.jobs import cancel_job, run_job
from tenants.models import Job
from tests.support.actors import OPERATOR, SUPPORT
from tests.support.queries import count_queries

pytestmark = pytest.mark.django_db


def test_the_jobs_page_lists_recent_jobs_with_tenant_requester_and_state(support_operator, admin_operator, tenant_a, export_dir):  # type: ignore[no-untyped-def]
    done = services.request_audit_export(actor=OPERATOR, tenant=tenant_a)
    run_job(done.pk, budget_seconds=30)
    queued = services.request_audit_export(actor=SUPPORT, tenant=None, fmt="json")
    for signed_in in (support_operator, admin_operator):
        response = signed_in.client.get("/console/jobs")
        body = response.content.decode()
        assert response.status_code == 200
        assert "Audit log export" in body and "Alpha Corp" in body and "All tenants" in body
        assert "ops@rollcall.test" in body and "support@rollcall.test" in body
        assert "Succeeded" in body and "Queued" in body
        assert f"/console/jobs/{done.pk}/download" in body and f"/console/jobs/{queued.pk}/download" not in body
        assert 'hx-trigger="every 2s"' in body  # something is still running: the list polls


def test_the_jobs_page_has_an_empty_state_and_stops_polling_when_all_are_finished(support_operator, tenant_a):  # type: ignore[no-untyped-def]
    assert "No jobs yet" in support_operator.client.get("/console/jobs").content.decode()
    job = services.request_audit_export(actor=OPERATOR, tenant=tenant_a)
    partial = support_operator.client.get("/console/jobs?part=list", HTTP_HX_REQUEST="true")
    assert partial.status_code == 200 and 'hx-trigger="every 2s"' in partial.content.decode()
    cancel_job(job=job, actor=OPERATOR)
    partial = support_operator.client.get("/console/jobs?part=list", HTTP_HX_REQUEST="true")
    assert partial.status_code == 286 and "hx-trigger" not in partial.content.decode() and "Cancelled" in partial.content.decode()


def test_a_job_page_polls_until_finished_then_offers_the_file(support_operator, tenant_a, export_dir):  # type: ignore[no-untyped-def]
    job = services.request_audit_export(actor=OPERATOR, tenant=tenant_a)
    page = support_operator.client.get(f"/console/jobs/{job.pk}")
    assert page.status_code == 200 and "Requested by ops@rollcall.test" in page.content.decode()
    running = support_operator.client.get(f"/console/jobs/{job.pk}", HTTP_HX_REQUEST="true")
    assert running.status_code == 200 and f'hx-get="/console/jobs/{job.pk}"' in running.content.decode()
    assert support_operator.client.get(f"/console/jobs/{job.pk}/download").status_code == 404

    run_job(job.pk, budget_seconds=30)

    finished = support_operator.client.get(f"/console/jobs/{job.pk}", HTTP_HX_REQUEST="true")
    body = finished.content.decode()
    assert finished.status_code == 286 and "hx-get" not in body and "Download CSV" in body
    download = support_operator.client.get(f"/console/jobs/{job.pk}/download")
    assert download.status_code == 200 and b"occurred_at" in b"".join(download.streaming_content)  # type: ignore[attr-defined]


def test_a_failed_job_shows_its_error(support_operator, tenant_a):  # type: ignore[no-untyped-def]
    job = services.request_audit_export(actor=OPERATOR, tenant=tenant_a)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.FAILED, error="OSError: disk full")
    body = support_operator.client.get(f"/console/jobs/{job.pk}", HTTP_HX_REQUEST="true").content.decode()
    assert "OSError: disk full" in body and "progress--failed" in body


def test_an_unknown_job_is_a_404(support_operator):  # type: ignore[no-untyped-def]
    missing = uuid.uuid4()
    assert support_operator.client.get(f"/console/jobs/{missing}").status_code == 404
    assert support_operator.client.get(f"/console/jobs/{missing}/download").status_code == 404
    assert support_operator.client.get("/console/jobs/not-a-uuid").status_code == 404


def test_jobs_pages_need_a_verified_operator(support_operator, tenant_a):  # type: ignore[no-untyped-def]
    job = services.request_audit_export(actor=OPERATOR, tenant=tenant_a)
    assert support_operator.password_only.get("/console/jobs").status_code == 302
    assert support_operator.password_only.get(f"/console/jobs/{job.pk}/download").status_code == 302
    assert support_operator.client.post("/console/jobs").status_code == 405


def test_the_jobs_page_costs_the_same_queries_for_one_job_or_many(support_operator, tenant_a, tenant_b):  # type: ignore[no-untyped-def]
    client = support_operator.client
    services.request_audit_export(actor=OPERATOR, tenant=tenant_a)
    client.get("/console/jobs")
    with count_queries(include_search_path=False) as few:
        client.get("/console/jobs")
    for tenant in (tenant_a, tenant_b, None, tenant_b):
        services.request_audit_export(actor=OPERATOR, tenant=tenant)
    with count_queries(include_search_path=False) as many:
        client.get("/console/jobs")
    assert many.count == few.count
