"""Console pages: a tenant's webhooks (endpoints, deliveries, dead letter, replay, bulk replay) and its
Events API keys."""

from __future__ import annotations

import pytest

from console import services
from provisioning.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tenants.audit import AuditWindow, recent_audit_events
from tenants.context import TenantRef, tenant_schema
from tenants.models import ApiKey, Job
from tests.provisioning.support import drain, make_user
from tests.support.actors import OPERATOR
from tests.support.queries import count_queries

pytestmark = pytest.mark.django_db


def _audit(tenant, type_: str):  # type: ignore[no-untyped-def]
    return [e for e in recent_audit_events(AuditWindow(tenant_id=str(tenant.pk))) if e.type == type_]


@pytest.fixture
def dead_delivery(tenant_a):  # type: ignore[no-untyped-def]
    """Alpha's endpoint with one delivery that used every attempt (the receiver answered 500)."""
    acme = TenantRef.of(tenant_a)
    created = services.create_webhook_endpoint(tenant=tenant_a, url="http://127.0.0.1:9/hooks", description="Alpha app", actor=OPERATOR)
    with tenant_schema(acme):
        make_user("ada@alpha.test")
    drain(acme)
    with tenant_schema(acme):
        delivery = WebhookDelivery.objects.get(endpoint=created.endpoint)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.Status.DEAD, attempts=3, total_attempts=3, last_status_code=500, last_error="HTTP 500"
        )
        WebhookAttempt.objects.create(delivery=delivery, duration_ms=41.6, status_code=500, error="HTTP 500 from receiver")
        delivery.refresh_from_db()
    return delivery


def test_webhooks_page_lists_endpoints_and_deliveries_for_support_and_admin(support_operator, admin_operator, dead_delivery, tenant_a):  # type: ignore[no-untyped-def]
    for signed_in in (support_operator, admin_operator):
        response = signed_in.client.get(f"/console/tenants/{tenant_a.slug}/webhooks")
        body = response.content.decode()
        assert response.status_code == 200
        assert "http://127.0.0.1:9/hooks" in body and "Alpha app" in body
        assert f"#{dead_delivery.event_seq}" in body and "Dead" in body
    # Support may replay but not manage endpoints: the buttons follow the role.
    support_body = support_operator.client.get(f"/console/tenants/{tenant_a.slug}/webhooks").content.decode()
    admin_body = admin_operator.client.get(f"/console/tenants/{tenant_a.slug}/webhooks").content.decode()
    assert "Add endpoint" not in support_body and "Add endpoint" in admin_body
    assert "Start replay" in support_body


def test_the_dead_letter_view_shows_only_dead_deliveries(admin_operator, dead_delivery, tenant_a):  # type: ignore[no-untyped-def]
    with tenant_schema(TenantRef.of(tenant_a)):
        make_user("bob@alpha.test")
    drain(TenantRef.of(tenant_a))
    client = admin_operator.client
    everything = client.get(f"/console/tenants/{tenant_a.slug}/webhooks").content.decode()
    dead = client.get(f"/console/tenants/{tenant_a.slug}/webhooks?status=dead").content.decode()
    assert "Dead letter" in dead
    assert everything.count("console/tenants/alpha/webhooks/deliveries/") == 2
    assert dead.count("console/tenants/alpha/webhooks/deliveries/") == 1
    assert f"/deliveries/{dead_delivery.pk}" in dead
    with tenant_schema(TenantRef.of(tenant_a)):
        WebhookDelivery.objects.filter(pk=dead_delivery.pk).update(status=WebhookDelivery.Status.SUCCEEDED)
    assert "Nothing in the dead letter" in client.get(f"/console/tenants/{tenant_a.slug}/webhooks?status=dead").content.decode()


def test_an_unknown_tenant_is_a_404(support_operator):  # type: ignore[no-untyped-def]
    for url in ("webhooks", "api-keys", "webhooks/deliveries/1"):
        assert support_operator.client.get(f"/console/tenants/nobody/{url}").status_code == 404


def test_delivery_detail_shows_attempts_and_replay_is_audited(support_operator, dead_delivery, tenant_a):  # type: ignore[no-untyped-def]
    url = f"/console/tenants/{tenant_a.slug}/webhooks/deliveries/{dead_delivery.pk}"
    body = support_operator.client.get(url).content.decode()
    assert "HTTP 500 from receiver" in body and "42 ms" in body and "Replay now" in body

    response = support_operator.client.post(url, {"reason": "ticket 77"})

    assert response.status_code == 302 and response["Location"] == url + "?replayed=1"
    with tenant_schema(TenantRef.of(tenant_a)):
        assert WebhookDelivery.objects.get(pk=dead_delivery.pk).status == WebhookDelivery.Status.PENDING
    (row,) = _audit(tenant_a, "webhook_delivery.replayed")
    assert (row.actor_label, row.actor_role, row.reason, row.target_id) == ("support@ops.example", "support", "ticket 77", str(dead_delivery.pk))
    assert "Replay queued" in support_operator.client.get(url + "?replayed=1").content.decode()


def test_an_unknown_delivery_is_a_404(admin_operator, tenant_a):  # type: ignore[no-untyped-def]
    assert admin_operator.client.get(f"/console/tenants/{tenant_a.slug}/webhooks/deliveries/999").status_code == 404
    assert admin_operator.client.post(f"/console/tenants/{tenant_a.slug}/webhooks/deliveries/999").status_code == 404


def test_another_tenants_delivery_is_not_found(admin_operator, dead_delivery, tenant_b):  # type: ignore[no-untyped-def]
    assert admin_operator.client.get(f"/console/tenants/{tenant_b.slug}/webhooks/deliveries/{dead_delivery.pk}").status_code == 404


def test_admin_adds_an_endpoint_and_sees_its_secret_once(admin_operator, tenant_a):  # type: ignore[no-untyped-def]
    url = f"/console/tenants/{tenant_a.slug}/webhooks"
    response = admin_operator.client.post(url, {"url": "http://127.0.0.1:9/new", "description": "New app"})
    body = response.content.decode()
    assert response.status_code == 200 and "Endpoint added" in body
    with tenant_schema(TenantRef.of(tenant_a)):
        endpoint = WebhookEndpoint.objects.get(url="http://127.0.0.1:9/new")
    (row,) = _audit(tenant_a, "webhook_endpoint.created")
    assert row.target_id == str(endpoint.pk) and row.actor_role == "admin"
    assert "Signing secret" in body and "Endpoint added" not in admin_operator.client.get(url).content.decode()


def test_a_bad_endpoint_url_is_a_field_error(admin_operator, tenant_a):  # type: ignore[no-untyped-def]
    response = admin_operator.client.post(f"/console/tenants/{tenant_a.slug}/webhooks", {"url": "not a url"})
    assert response.status_code == 400 and "Enter a valid URL" in response.content.decode()
    response = admin_operator.client.post(f"/console/tenants/{tenant_a.slug}/webhooks", {"url": "ftp://127.0.0.1/x"})
    assert response.status_code == 400 and "field__error" in response.content.decode()
    assert not _audit(tenant_a, "webhook_endpoint.created")


def test_support_cannot_manage_endpoints(support_operator, dead_delivery, tenant_a):  # type: ignore[no-untyped-def]
    base = f"/console/tenants/{tenant_a.slug}/webhooks"
    assert support_operator.client.post(base, {"url": "http://127.0.0.1:9/x"}).status_code == 403
    assert support_operator.client.post(f"{base}/{dead_delivery.endpoint_id}", {"action": "rotate"}).status_code == 403
    assert support_operator.client.post(f"/console/tenants/{tenant_a.slug}/api-keys", {"label": "x"}).status_code == 403


def test_disable_enable_and_rotate_are_audited(admin_operator, dead_delivery, tenant_a):  # type: ignore[no-untyped-def]
    url = f"/console/tenants/{tenant_a.slug}/webhooks/{dead_delivery.endpoint_id}"
    assert admin_operator.client.post(url, {"action": "disable"}).status_code == 302
    with tenant_schema(TenantRef.of(tenant_a)):
        assert WebhookEndpoint.objects.get(pk=dead_delivery.endpoint_id).active is False
    assert admin_operator.client.post(url, {"action": "enable"}).status_code == 302
    response = admin_operator.client.post(url, {"action": "rotate"})
    assert response.status_code == 200 and "New signing secret" in response.content.decode()
    types = [e.type for e in recent_audit_events(AuditWindow(tenant_id=str(tenant_a.pk))) if e.target_type == "webhook_endpoint"]
    assert types[:3] == ["webhook_endpoint.secret_rotated", "webhook_endpoint.enabled", "webhook_endpoint.disabled"]
    assert admin_operator.client.post(url, {"action": "explode"}).status_code == 400
    assert admin_operator.client.post(
        f"/console/tenants/{tenant_a.slug}/webhooks/00000000-0000-0000-0000-000000000000", {"action": "rotate"}
    ).status_code == 404


def test_bulk_replay_starts_a_job_and_shows_its_progress(support_operator, dead_delivery, tenant_a):  # type: ignore[no-untyped-def]
    response = support_operator.client.post(
        f"/console/tenants/{tenant_a.slug}/webhooks/replay",
        {"endpoint": str(dead_delivery.endpoint_id), "seq_from": dead_delivery.event_seq, "seq_to": dead_delivery.event_seq, "dead_only": "on", "reason": "receiver fixed"},
    )
    job = Job.objects.get(kind="webhook_replay")
    assert response.status_code == 302 and response["Location"].endswith(f"?job={job.pk}#replay")
    assert job.params["dead_only"] is True and job.params["seq_from"] == dead_delivery.event_seq
    (row,) = _audit(tenant_a, "job.requested")
    assert row.reason == "receiver fixed" and row.actor_role == "support"
    page = support_operator.client.get(response["Location"].split("#")[0]).content.decode()
    assert "Bulk webhook replay" in page and f'hx-get="/console/jobs/{job.pk}"' in page


def test_bulk_replay_without_a_range_is_a_form_error(support_operator, dead_delivery, tenant_a):  # type: ignore[no-untyped-def]
    url = f"/console/tenants/{tenant_a.slug}/webhooks/replay"
    response = support_operator.client.post(url, {"endpoint": str(dead_delivery.endpoint_id)})
    assert response.status_code == 400 and "Give a seq range or a time range" in response.content.decode()
    response = support_operator.client.post(url, {"endpoint": str(dead_delivery.endpoint_id), "seq_from": 5, "seq_to": 2})
    assert response.status_code == 400 and "must not be before the first" in response.content.decode()
    response = support_operator.client.post(url, {"endpoint": "nope", "seq_from": 1})
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    assert not Job.objects.exists()


# --------------------------------------------------------------------------- API keys


def test_api_keys_page_renders_for_support_without_actions(support_operator, admin_operator, tenant_a):  # type: ignore[no-untyped-def]
    from tenants import services as tenant_services

    tenant_services.create_api_key(tenant=tenant_a, label="prod consumer", actor=OPERATOR)
    support = support_operator.client.get(f"/console/tenants/{tenant_a.slug}/api-keys").content.decode()
    admin = admin_operator.client.get(f"/console/tenants/{tenant_a.slug}/api-keys").content.decode()
    assert "prod consumer" in support and "prod consumer" in admin
    assert "Issue key" not in support and "Only admin operators" in support
    assert "Issue key" in admin and "Revoke" in admin


def test_admin_issues_a_key_shown_once_and_revokes_it_with_a_reason(admin_operator, tenant_a):  # type: ignore[no-untyped-def]
    url = f"/console/tenants/{tenant_a.slug}/api-keys"
    response = admin_operator.client.post(url, {"action": "issue", "label": "billing sync"})
    key = ApiKey.objects.get(tenant=tenant_a, label="billing sync")
    body = response.content.decode()
    assert response.status_code == 200 and "Key issued" in body and key.key_id in body
    assert "Key issued" not in admin_operator.client.get(url).content.decode()
    (issued,) = _audit(tenant_a, "api_key.issued")
    assert issued.target_id == key.key_id and issued.actor_label == "admin@ops.example"

    assert admin_operator.client.post(url, {"action": "revoke", "key_id": key.key_id}).status_code == 400
    response = admin_operator.client.post(url, {"action": "revoke", "key_id": key.key_id, "reason": "leaked in a log"})
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    (revoked,) = _audit(tenant_a, "api_key.revoked")
    assert revoked.reason == "leaked in a log"
    assert admin_operator.client.post(url, {"action": "revoke", "key_id": "nope", "reason": "x"}).status_code == 404


def test_a_key_without_a_label_is_a_field_error(admin_operator, tenant_a):  # type: ignore[no-untyped-def]
    response = admin_operator.client.post(f"/console/tenants/{tenant_a.slug}/api-keys", {"action": "issue", "label": ""})
    assert response.status_code == 400 and "This field is required" in response.content.decode()
    assert not ApiKey.objects.filter(tenant=tenant_a).exists()


def test_the_webhooks_page_costs_the_same_queries_for_one_delivery_or_many(admin_operator, dead_delivery, tenant_a):  # type: ignore[no-untyped-def]
    client = admin_operator.client
    url = f"/console/tenants/{tenant_a.slug}/webhooks"
    client.get(url)
    with count_queries(include_search_path=False) as few:
        client.get(url)
    with tenant_schema(TenantRef.of(tenant_a)):
        for i in range(5):
            make_user(f"more{i}@alpha.test")
    drain(TenantRef.of(tenant_a))
    with count_queries(include_search_path=False) as many:
        body = client.get(url).content.decode()
    assert body.count("/webhooks/deliveries/") == 6 and many.count == few.count
