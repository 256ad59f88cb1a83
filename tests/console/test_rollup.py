"""The tenant health rollup: hourly rows and summaries from real traffic, refreshed only for active tenants."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from console import rollup
from console.setup_progress import SetupStage
from directory.roles import map_group_to_role
from observability import activity
from outbox.append import Actor
from provisioning.webhooks import delivery as sending
from provisioning.webhooks import endpoints
from tenants.context import TenantRef, tenant_schema
from tenants.models import TenantHealth, TenantHealthDay, TenantHealthHour
from tests.provisioning.support import drain, webhook_receiver
from tests.support.queries import count_queries
from tests.support.scim_client import PATCH_OP, ScimClient
from tests.support.tenants import ensure_tenant

pytestmark = pytest.mark.django_db


def deactivate(scim: ScimClient, user_id: str) -> None:
    body = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": False}]}
    assert scim.patch(f"/Users/{user_id}", body).status == 200


def test_a_refresh_aggregates_requests_events_webhooks_directory_and_deprovisions(scim, tenant_a, settings):
    settings.ROLLCALL_WEBHOOK_MAX_ATTEMPTS = 1  # the failing endpoint dead-letters at once
    acme = TenantRef.of(tenant_a)
    with webhook_receiver() as receiver:
        with tenant_schema(acme):
            endpoints.create_endpoint(url=receiver.on("/ok"))
            endpoints.create_endpoint(url=receiver.on("/down", then=500))
        ids = [scim.create_user(f"u{i}@acme.test").body["id"] for i in range(4)]
        assert scim.create_user("u0@acme.test").status == 409
        assert scim.get("/Users/5b0c6f3e-0000-4000-8000-000000000000").status == 404
        group = scim.create_group("Editors", members=ids[2:]).body["id"]
        with tenant_schema(acme):
            map_group_to_role(group_id=group, role_key="editor", actor=Actor(kind="portal", id="admin"))
        deactivate(scim, ids[0])
        deactivate(scim, ids[1])
        drain(acme)
        with tenant_schema(acme):
            sending.deliver(acme, limit=500)

    health = rollup.refresh_tenant(acme, since=timezone.now() - timedelta(hours=1))

    assert (health.requests_24h, health.status_2xx_24h, health.status_4xx_24h, health.status_5xx_24h) == (9, 7, 2, 0)
    assert health.errors_24h == 2 and health.error_rate_24h == pytest.approx(2 / 9)
    assert health.last_error_at is not None and health.last_scim_request_at is not None
    assert (health.users_total, health.users_active, health.groups_total) == (4, 2, 1)
    assert health.seats == {"editor": 2} and health.billable_seats == 2
    assert health.outbox_backlog == 0 and health.handler_failures == 0 and health.oldest_pending_at is None
    assert health.webhooks_succeeded_24h >= 1 and health.webhooks_failed_24h == health.webhooks_dead >= 1
    assert health.setup_stage == SetupStage.MAPPED and health.idps == "generic"  # a role mapping was saved
    assert health.setup["connected"] is not None and health.setup["link_opened"] is None
    assert health.deprovision_p50_7d is not None and health.deprovision_p95_7d is not None
    assert health.deprovision_p95_7d >= health.deprovision_p50_7d
    (hour,) = TenantHealthHour.objects.filter(tenant=tenant_a)
    assert (hour.requests, hour.status_4xx, hour.events_appended) == (9, 2, hour.events_handled)
    assert hour.event_lag_max_seconds is not None and hour.event_lag_avg_seconds is not None
    assert hour.event_lag_max_seconds >= hour.event_lag_avg_seconds
    (day,) = TenantHealthDay.objects.filter(tenant=tenant_a)
    assert day.deprovision_p95_seconds is not None and day.deprovision_p50_seconds is not None
    assert day.deprovisions == 2 and day.deprovision_p95_seconds >= day.deprovision_p50_seconds


def test_the_backlog_and_its_oldest_event_show_before_the_drain(scim, tenant_a):
    scim.create_user("ada@acme.test")
    health = rollup.refresh_tenant(TenantRef.of(tenant_a), since=timezone.now())
    assert health.outbox_backlog == 1 and health.oldest_pending_at is not None


def test_refreshing_twice_replaces_the_hour_rows_instead_of_adding(scim, tenant_a):
    scim.create_user("ada@acme.test")
    acme = TenantRef.of(tenant_a)
    rollup.refresh_tenant(acme, since=timezone.now())
    health = rollup.refresh_tenant(acme, since=timezone.now())
    assert health.requests_24h == 1 and TenantHealthHour.objects.filter(tenant=tenant_a).count() == 1


def test_the_beat_refreshes_only_tenants_marked_active_since_its_last_run(broker, tenant_a, tenant_b):
    quiet = ensure_tenant("charlie", "Charlie Ltd")
    scim = ScimClient.for_tenant(tenant_a)
    scim.create_user("ada@acme.test")  # the SCIM edge marks alpha active
    activity.mark_tenant_active(tenant_b.schema_name, now=time.time() - 600)  # bravo: long before the watermark
    activity.advance_watermark(time.time() - 60)

    with count_queries() as queries:
        report = rollup.refresh_active_tenants()

    assert report.refreshed == [tenant_a.schema_name] and report.failed == []
    entered = {q for q in queries.statements if q.startswith("SET search_path")}
    assert any(tenant_a.schema_name in q for q in entered)
    assert not any(s in q for s in (tenant_b.schema_name, quiet.schema_name) for q in entered)  # never entered
    assert TenantHealth.objects.get(tenant=tenant_a).requests_24h == 1
    assert TenantHealth.objects.get(tenant=tenant_b).refreshed_at is None
    assert TenantHealth.objects.get(tenant=quiet).refreshed_at is None
    assert (activity.read_watermark() or 0) > time.time() - 5


def test_the_marker_is_throttled_per_process_and_never_raises(broker, settings):
    activity.mark_tenant_active("t_one", now=1000.0)
    activity.mark_tenant_active("t_one", now=1002.0)  # inside the throttle: no round trip
    assert broker.client().zscore(activity.ACTIVITY_KEY, "t_one") == 1000.0
    activity.mark_tenant_active("t_one", now=1010.0)
    assert broker.client().zscore(activity.ACTIVITY_KEY, "t_one") == 1010.0
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    activity.mark_tenant_active("t_two")  # logged, not raised


def test_at_an_hour_boundary_old_hours_leave_the_24_hour_counters(tenant_a, tenant_b):
    now = timezone.now()
    for tenant, hours_ago, requests in ((tenant_a, 30, 50), (tenant_a, 2, 7), (tenant_b, 26, 5)):
        TenantHealthHour.objects.create(
            tenant=tenant, hour=rollup.hour_of(now - timedelta(hours=hours_ago)), requests=requests, status_2xx=requests
        )
    TenantHealth.objects.filter(tenant__in=[tenant_a, tenant_b]).update(requests_24h=57, status_2xx_24h=57)

    assert rollup.roll_window_forward(now) == 2

    assert TenantHealth.objects.get(tenant=tenant_a).requests_24h == 7
    assert TenantHealth.objects.get(tenant=tenant_b).requests_24h == 0


def test_reconcile_refreshes_the_least_recently_refreshed_tenants_a_batch_at_a_time(tenant_a, tenant_b):
    TenantHealth.objects.filter(tenant=tenant_b).update(refreshed_at=timezone.now() - timedelta(days=1))
    TenantHealth.objects.filter(tenant=tenant_a).update(refreshed_at=timezone.now())
    report = rollup.reconcile_tenants(batch=1)
    assert report.refreshed == [tenant_b.schema_name]


def test_a_tenant_without_a_summary_row_gets_one(tenant_a):
    TenantHealth.objects.filter(tenant=tenant_a).delete()
    assert rollup.ensure_health_rows() >= 1
    assert TenantHealth.objects.filter(tenant=tenant_a).exists()


def test_tenant_services_mark_the_tenant_for_a_refresh_after_commit(broker, tenant_a, django_capture_on_commit_callbacks):
    from tenants.services import create_connection
    from tests.support.actors import OPERATOR

    with django_capture_on_commit_callbacks(execute=True):
        create_connection(tenant=tenant_a, idp="entra", actor=OPERATOR)
    assert activity.tenants_active_since(time.time() - 60) == [tenant_a.schema_name]
    health = rollup.refresh_tenant(TenantRef.of(tenant_a), since=timezone.now())
    assert health.idps == "entra" and health.setup_stage == SetupStage.LINK_ISSUED
