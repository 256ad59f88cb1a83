"""Console pages: the audit log (every tenant, and one tenant's), its filters and paging, and exports."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from console.jobs import run_job
from tenants import services as tenant_services
from tenants.audit import AuditEventType, record_audit
from tenants.models import AuditEvent, Job
from tests.support.actors import OPERATOR, SUPPORT
from tests.support.queries import count_queries

pytestmark = pytest.mark.django_db


def _key(tenant, label: str) -> None:  # type: ignore[no-untyped-def]
    tenant_services.create_api_key(tenant=tenant, label=label, actor=OPERATOR)


def test_the_global_audit_log_shows_every_tenant_newest_first(support_operator, admin_operator, tenant_a, tenant_b):  # type: ignore[no-untyped-def]
    _key(tenant_a, "first")
    _key(tenant_b, "second")
    for signed_in in (support_operator, admin_operator):
        response = signed_in.client.get("/console/audit")
        body = response.content.decode()
        assert response.status_code == 200
        assert "Alpha Corp" in body and "Bravo Inc" in body and "ops@rollcall.test" in body and "127.0.0.1" in body
        assert body.index("Bravo Inc</a>") < body.index("Alpha Corp</a>")  # newest first


def test_the_tenant_audit_log_shows_only_that_tenant(support_operator, tenant_a, tenant_b):  # type: ignore[no-untyped-def]
    _key(tenant_a, "alpha key")
    _key(tenant_b, "bravo key")
    a_key = AuditEvent.objects.get(type="api_key.issued", tenant_id=tenant_a.pk).target_id
    b_key = AuditEvent.objects.get(type="api_key.issued", tenant_id=tenant_b.pk).target_id
    body = support_operator.client.get(f"/console/tenants/{tenant_a.slug}/audit").content.decode()
    assert a_key in body and b_key not in body
    assert support_operator.client.get("/console/tenants/nobody/audit").status_code == 404


def test_filters_by_tenant_actor_kind_event_type_and_time(support_operator, tenant_a, tenant_b):  # type: ignore[no-untyped-def]
    _key(tenant_a, "k1")
    with transaction.atomic():
        record_audit(actor=SUPPORT, type=AuditEventType.TENANT_SUSPENDED, tenant=tenant_b, target_type="tenant", target_id="bravo", reason="unpaid")
    client = support_operator.client
    only_b = client.get("/console/audit?tenant=bravo").content.decode()
    assert 'chip">tenant.suspended' in only_b and 'chip">api_key.issued' not in only_b and "Reason: unpaid" in only_b
    by_type = client.get("/console/audit?type=api_key.issued").content.decode()
    assert 'chip">api_key.issued' in by_type and "Reason: unpaid" not in by_type
    assert "Nothing matches these filters" in client.get("/console/audit?actor=cli").content.decode()
    future = (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    assert "Nothing matches these filters" in client.get(f"/console/audit?since={future}").content.decode()


def test_bad_filters_are_field_errors_not_500s(support_operator, tenant_a):  # type: ignore[no-untyped-def]
    response = support_operator.client.get("/console/audit?since=yesterday&type=nope")
    body = response.content.decode()
    assert response.status_code == 400 and "Enter a valid date/time" in body and "Select a valid choice" in body
    response = support_operator.client.get("/console/audit?since=2026-12-02T10:00&until=2026-12-01T10:00")
    assert response.status_code == 400 and "The end must be after the start" in response.content.decode()


def test_the_log_is_keyset_paged(support_operator, tenant_a):  # type: ignore[no-untyped-def]
    with transaction.atomic():
        for i in range(55):
            record_audit(actor=OPERATOR, type=AuditEventType.TOKEN_ISSUED, tenant=tenant_a, target_type="connection", target_id=f"c{i:02d}")
    client = support_operator.client
    first = client.get(f"/console/tenants/{tenant_a.slug}/audit").content.decode()
    assert 'title="c54"' in first and 'title="c04"' not in first and 'rel="next"' in first
    older = first.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    second = client.get(f"/console/tenants/{tenant_a.slug}/audit{older}").content.decode()
    assert 'title="c04"' in second and 'title="c00"' in second and 'title="c54"' not in second and 'rel="next"' not in second


def test_export_starts_a_job_and_its_file_downloads(support_operator, tenant_a, tenant_b, export_dir):  # type: ignore[no-untyped-def]
    _key(tenant_a, "alpha")
    _key(tenant_b, "bravo")
    url = f"/console/tenants/{tenant_a.slug}/audit"
    response = support_operator.client.post(url, {"format": "csv", "since": "", "until": ""})
    job = Job.objects.get(kind="audit_export")
    assert response.status_code == 302 and response["Location"] == f"{url}?job={job.pk}#export"
    assert job.tenant_id == tenant_a.pk
    requested = AuditEvent.objects.get(type="job.requested", target_id=str(job.pk))
    assert requested.actor_label == "support@ops.example"
    page = support_operator.client.get(f"{url}?job={job.pk}").content.decode()
    assert "Audit log export" in page and f'hx-get="/console/jobs/{job.pk}"' in page

    run_job(job.pk, budget_seconds=30)

    partial = support_operator.client.get(f"/console/jobs/{job.pk}", HTTP_HX_REQUEST="true")
    assert partial.status_code == 286 and f"/console/jobs/{job.pk}/download" in partial.content.decode()
    download = support_operator.client.get(f"/console/jobs/{job.pk}/download")
    rows = list(csv.DictReader(io.StringIO(b"".join(download.streaming_content).decode())))  # type: ignore[attr-defined]
    assert download["Content-Disposition"].startswith('attachment; filename="rollcall-audit-export-alpha-')
    assert {r["tenant_id"] for r in rows} == {str(tenant_a.pk)} and "api_key.issued" in {r["type"] for r in rows}


def test_the_global_export_can_take_every_tenant_as_json(admin_operator, tenant_a, tenant_b, export_dir):  # type: ignore[no-untyped-def]
    _key(tenant_a, "alpha")
    _key(tenant_b, "bravo")
    assert admin_operator.client.post("/console/audit", {"format": "json", "tenant": ""}).status_code == 302
    job = Job.objects.get(kind="audit_export")
    assert job.tenant_id is None and job.params["format"] == "json"
    run_job(job.pk, budget_seconds=30)
    data = json.loads(b"".join(admin_operator.client.get(f"/console/jobs/{job.pk}/download").streaming_content))  # type: ignore[attr-defined]
    assert {str(tenant_a.pk), str(tenant_b.pk)} <= {row["tenant_id"] for row in data}


def test_a_bad_export_request_is_a_field_error(support_operator, tenant_a):  # type: ignore[no-untyped-def]
    url = f"/console/tenants/{tenant_a.slug}/audit"
    response = support_operator.client.post(url, {"format": "xml"})
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    response = support_operator.client.post(url, {"format": "csv", "since": "2026-12-02T10:00", "until": "2026-12-01T10:00"})
    assert response.status_code == 400 and "The end must be after the start" in response.content.decode()
    assert not Job.objects.exists()


def test_the_direct_download_streams_the_filtered_tenant(support_operator, tenant_a, tenant_b):  # type: ignore[no-untyped-def]
    _key(tenant_a, "alpha")
    _key(tenant_b, "bravo")
    response = support_operator.client.get(f"/console/tenants/{tenant_a.slug}/audit?download=csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))  # type: ignore[attr-defined]
    assert response["Content-Type"].startswith("text/csv") and {r["tenant_id"] for r in rows} == {str(tenant_a.pk)}


def test_the_audit_page_costs_the_same_queries_for_one_row_or_fifty(support_operator, tenant_a, tenant_b):  # type: ignore[no-untyped-def]
    client = support_operator.client
    client.get("/console/audit")  # session and OTP device rows warmed
    with count_queries(include_search_path=False) as few:
        client.get("/console/audit")
    with transaction.atomic():
        for i in range(50):
            record_audit(actor=OPERATOR, type=AuditEventType.TOKEN_ISSUED, tenant=(tenant_a, tenant_b)[i % 2], target_id=f"c{i}")
    with count_queries(include_search_path=False) as many:
        client.get("/console/audit")
    assert many.count == few.count


def test_an_unknown_tenant_slug_is_a_field_error_not_an_empty_log(admin_operator) -> None:  # type: ignore[no-untyped-def]
    response = admin_operator.client.get("/console/audit?tenant=no-such-tenant")
    assert response.status_code == 400
    assert "No tenant has this slug." in response.content.decode()
