"""The sweeper: one query per chunk of tenants finds pending events and due webhook retries."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from outbox import queues
from outbox.models import Event
from provisioning import sweeper
from provisioning.models import WebhookDelivery
from provisioning.webhooks import endpoints
from tenants.context import tenant_schema
from tests.provisioning.support import count_queries, drain, make_user

pytestmark = pytest.mark.django_db


def _queued_tasks(broker, queue: str) -> list[tuple[str, list]]:
    import base64

    found = []
    for raw in broker.client().lrange(queue, 0, -1):
        message = json.loads(raw)
        body = json.loads(base64.b64decode(message["body"]))
        found.append((message["headers"]["task"], body[0]))
    return found


def test_scan_reports_pending_ready_and_due_per_tenant(acme, bravo):
    with tenant_schema(acme):
        make_user("a@acme.test")
        make_user("b@acme.test")
    with tenant_schema(bravo):
        make_user("x@bravo.test")
        drain(bravo)
        endpoints.create_endpoint(url="https://hooks.example.com/x")
        make_user("y@bravo.test")
        drain(bravo)
        WebhookDelivery.objects.update(status=WebhookDelivery.Status.RETRYING, next_attempt_at=timezone.now())
    # one probe (inside the test's transaction: plus a savepoint and its release)
    with count_queries(at_most=3, include_search_path=False):
        found = {b.schema_name: b for b in sweeper.scan_backlogs([acme.schema_name, bravo.schema_name])}
    assert (found[acme.schema_name].pending, found[acme.schema_name].ready) == (2, True)
    assert found[acme.schema_name].webhooks_due is False
    assert (found[bravo.schema_name].pending, found[bravo.schema_name].webhooks_due) == (0, True)


def test_a_tenant_backing_off_is_not_ready(acme):
    with tenant_schema(acme):
        make_user("a@acme.test")
        Event.objects.update(retry_at=timezone.now() + timedelta(minutes=5))
    (backlog,) = sweeper.scan_backlogs([acme.schema_name])
    assert backlog.pending == 1 and backlog.ready is False


def test_sweep_dispatches_only_ready_tenants_with_pending_events(acme, bravo, broker):
    with tenant_schema(acme):
        make_user("a@acme.test")
    with tenant_schema(bravo):
        make_user("x@bravo.test")
        drain(bravo)
    report = sweeper.sweep()
    assert report.dispatched == [acme.schema_name]
    assert _queued_tasks(broker, queues.EVENTS_QUEUE) == [(queues.DISPATCH_TASK, [acme.schema_name])]
    sweeper.sweep()  # coalesced: the first request is still pending
    assert len(_queued_tasks(broker, queues.EVENTS_QUEUE)) == 1


def test_a_tenant_without_a_schema_does_not_stop_the_sweep_for_the_others(acme, bravo, broker):
    """A tenant row with no schema (as Django admin's "Add tenant" used to create) is reported,
    and every other tenant is still dispatched."""
    from tenants.models import Tenant

    Tenant.objects.create(name="Broken", slug="broken", schema_name="t_broken_no_schema")
    with tenant_schema(acme):
        make_user("a@acme.test")
    with tenant_schema(bravo):
        make_user("x@bravo.test")
    report = sweeper.sweep()
    assert report.failed == ["t_broken_no_schema"]
    assert set(report.dispatched) == {acme.schema_name, bravo.schema_name}


def test_the_sweep_task_reports_failed_tenants_for_healthz(acme, broker):
    from provisioning import tasks
    from tenants.models import Tenant

    Tenant.objects.create(name="Broken", slug="broken", schema_name="t_broken_no_schema")
    assert tasks.sweep_outbox.run()["failed_tenants"] == 1
