"""Pipeline metrics reach /metrics (Redis-held, shared by web and worker processes)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tenants.context import tenant_schema
from tests.provisioning.support import drain, make_user, set_active

pytestmark = pytest.mark.django_db


def test_metrics_expose_pending_lag_handled_and_deprovision_latency(
    acme, broker, django_capture_on_commit_callbacks, settings
):
    with tenant_schema(acme):
        ada = make_user("ada@acme.test")
        set_active(ada.id, False)
    with django_capture_on_commit_callbacks(execute=True):
        drain(acme)
    settings.METRICS_TOKEN = "t"
    text = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer t").content.decode()
    assert re.search(r"^rollcall_events_pending \d", text, re.M) and acme.schema_name not in text
    assert "rollcall_event_dispatch_lag_seconds_count" in text
    assert 'rollcall_events_handled_total{type="user.deactivated"}' in text
    assert "rollcall_deprovision_latency_seconds_bucket" in text
