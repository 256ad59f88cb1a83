"""The tokens panel, 401s by cause, and the audited operator actions on webhooks and stuck events."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from console import auth_failures, services
from console.tokens_panel import TokenState, connection_tokens
from outbox.event_types import EventType
from outbox.models import Event
from outbox.selectors import parked_event_count
from provisioning.handlers import HandlerContext, PermanentHandlerError, register, unregister
from provisioning.models import WebhookDelivery, WebhookEndpoint
from provisioning.parking import parked_events
from provisioning.webhooks import endpoints
from scim_api import request_log
from tenants import services as tenant_services
from tenants.context import TenantRef, tenant_schema
from tenants.models import AuditEvent, ScimToken
from tests.provisioning.support import drain, make_user
from tests.support.actors import OPERATOR, SUPPORT
from tests.support.queries import count_queries
from tests.support.scim_client import ScimClient

pytestmark = pytest.mark.django_db


def log_401(connection_id: str, *, cause: str = "unknown_token") -> None:
    """A failed authentication as the SCIM edge logs it (the token itself is never stored)."""
    request_log.append(
        request_id=uuid.uuid4().hex, connection_id=connection_id, idp="okta", method="GET", path="/scim/v2/x/Users",
        query="", status=401, latency_ms=1.0, user_agent="Okta SCIM Client", source_ip="10.0.0.7", resource_type="User",
        resource_id="", request_body=None, response_body=None, scim_type="", error_detail="bad token", quirks=[],
        auth_failure=cause,
    )


def test_each_connection_lists_its_tokens_with_state_age_last_use_and_401s(tenant_a, tenant_b):
    okta = ScimClient.for_tenant(tenant_a, idp="okta")
    assert okta.get("/Users?count=1").status == 200  # records last use and the source IP
    connection = tenant_services.get_connection(okta.connection_id)
    tenant_services.rotate_token(connection=connection, actor=OPERATOR, overlap=timedelta(hours=1))
    with tenant_schema(TenantRef.of(tenant_a)):
        log_401(okta.connection_id)
        log_401(okta.connection_id, cause="revoked_token")
    with tenant_schema(TenantRef.of(tenant_b)):
        log_401(okta.connection_id)  # not this tenant's log

    with count_queries(at_most=3, include_search_path=False):
        (panel,) = connection_tokens(tenant_a)

    assert panel.connection_id == okta.connection_id and panel.idp == "okta"
    newest, old = panel.tokens
    assert (newest.state, old.state) == (TokenState.ACTIVE, TokenState.OVERLAP)
    assert old.last_used_at is not None and old.last_used_ip == okta.remote_addr and old.age >= timedelta(0)
    assert newest.prefix.startswith("rcs_") and not hasattr(newest, "digest")
    assert panel.unauthorized_24h == {"unknown_token": 1, "revoked_token": 1} and panel.unauthorized_total == 2
    ScimToken.objects.filter(pk=old.id).update(expires_at=timezone.now() - timedelta(seconds=1))
    tenant_services.revoke_tokens(connection=connection, actor=OPERATOR)
    assert {t.state for t in connection_tokens(tenant_a)[0].tokens} == {TokenState.REVOKED}


def test_401s_are_counted_by_cause_per_hour_and_rows_without_a_cause_as_unclassified(tenant_a):
    with tenant_schema(TenantRef.of(tenant_a)):
        log_401("conn-1", cause="")
        log_401("conn-1", cause="expired_token")
        log_401("conn-1", cause="expired_token")
        by_hour = auth_failures.auth_failures_by_hour(since=timezone.now() - timedelta(hours=1))
    assert list(by_hour.values()) == [{auth_failures.UNCLASSIFIED: 1, "expired_token": 2}]


def test_replaying_one_delivery_is_audited_and_resets_it(tenant_a):
    acme = TenantRef.of(tenant_a)
    with tenant_schema(acme):
        endpoint = services_endpoint(acme)
        make_user("ada@acme.test")
    drain(acme)
    with tenant_schema(acme):
        delivery = WebhookDelivery.objects.get(endpoint=endpoint)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(status=WebhookDelivery.Status.DEAD, attempts=12)

    replayed = services.replay_delivery(tenant=tenant_a, delivery_id=delivery.pk, actor=SUPPORT, reason="ticket 9")

    assert replayed.status == WebhookDelivery.Status.PENDING and replayed.attempts == 0
    row = AuditEvent.objects.get(type="webhook_delivery.replayed")
    assert (row.actor_role, row.target_id, row.reason, row.data["event_seq"]) == ("support", str(delivery.pk), "ticket 9", delivery.event_seq)
    with pytest.raises(services.ActionError, match="unknown delivery"):
        services.replay_delivery(tenant=tenant_a, delivery_id=999_999, actor=SUPPORT)
    assert AuditEvent.objects.filter(type="webhook_delivery.replayed").count() == 1


def services_endpoint(tenant: TenantRef) -> WebhookEndpoint:
    return endpoints.create_endpoint(url="http://127.0.0.1:9/hooks").endpoint


def test_webhook_endpoint_management_is_audited_and_secrets_stay_out_of_the_log(tenant_a):
    created = services.create_webhook_endpoint(tenant=tenant_a, url="http://127.0.0.1:9/in", actor=OPERATOR)
    services.set_webhook_endpoint_active(tenant=tenant_a, endpoint_id=created.endpoint.pk, active=False, actor=OPERATOR)
    secret = services.rotate_webhook_secret(tenant=tenant_a, endpoint_id=created.endpoint.pk, actor=OPERATOR)
    types = list(AuditEvent.objects.filter(target_type="webhook_endpoint").order_by("id").values_list("type", flat=True))
    assert types == ["webhook_endpoint.created", "webhook_endpoint.disabled", "webhook_endpoint.secret_rotated"]
    dumped = str(list(AuditEvent.objects.values_list("data", flat=True)))
    assert created.secret not in dumped and secret not in dumped
    with tenant_schema(TenantRef.of(tenant_a)):
        assert WebhookEndpoint.objects.get(pk=created.endpoint.pk).active is False
    with pytest.raises(services.ActionError, match="absolute http"):
        services.create_webhook_endpoint(tenant=tenant_a, url="ftp://nope", actor=OPERATOR)
    with pytest.raises(services.ActionError, match="no webhook endpoint"):
        services.rotate_webhook_secret(tenant=tenant_a, endpoint_id=uuid.uuid4(), actor=OPERATOR)


def test_retrying_or_skipping_a_stuck_event_needs_a_reason_and_is_audited(tenant_a):
    acme = TenantRef.of(tenant_a)

    @register("test_console_poison", [EventType.USER_CREATED], order=0)
    def refuse(ctx: HandlerContext) -> None:
        raise PermanentHandlerError("cannot be sent")

    try:
        with tenant_schema(acme):
            make_user("poison@acme.test")
            make_user("second@acme.test")
        drain(acme)
    finally:
        unregister("test_console_poison")
    with tenant_schema(acme):
        first, second = [p.seq for p in parked_events()]

    with pytest.raises(services.ActionError, match="reason"):
        services.retry_parked_event(tenant=tenant_a, seq=first, actor=OPERATOR, reason=" ")
    with pytest.raises(services.ActionError, match="is not parked"):
        services.skip_parked_event(tenant=tenant_a, seq=999_999, actor=OPERATOR, reason="poison payload")
    assert not AuditEvent.objects.filter(type__in=["event.retried", "event.skipped"]).exists()

    assert services.skip_parked_event(tenant=tenant_a, seq=first, actor=OPERATOR, reason="test user") == 0
    assert services.retry_parked_event(tenant=tenant_a, seq=second, actor=OPERATOR, reason="handler fixed") == 0
    rows = list(AuditEvent.objects.filter(target_type="event").order_by("id").values_list("type", "target_id", "reason"))
    assert rows == [("event.skipped", str(first), "test user"), ("event.retried", str(second), "handler fixed")]
    drain(acme)
    with tenant_schema(acme):
        assert Event.objects.get(seq=first).skipped_at is not None
        assert Event.objects.get(seq=second).handled_at is not None and parked_event_count() == 0
