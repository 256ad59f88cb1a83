"""The SCIM error-rate alert: computed from the tenant's request log, deduplicated, per tenant."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from provisioning.models import Notification
from scim_api.error_rates import check_error_rate
from scim_api.models import RequestLog
from tenants.context import TenantRef, tenant_schema
from tenants.models import Tenant
from tests.provisioning.support import send_mail

pytestmark = pytest.mark.django_db
ADMINS = {"admin_emails": ["it@acme.test", "sec@acme.test"]}


@pytest.fixture
def acme_admins(tenant_a) -> TenantRef:
    Tenant.objects.filter(id=tenant_a.id).update(settings=ADMINS)
    tenant_a.refresh_from_db()
    return TenantRef.of(tenant_a)


@pytest.fixture
def bravo(tenant_b) -> TenantRef:
    return TenantRef.of(tenant_b)


def _log(status: int, n: int, ago: timedelta = timedelta(seconds=30)) -> None:
    RequestLog.objects.bulk_create(
        RequestLog(
            request_id=f"r{status}{i}",
            connection_id="c",
            idp="okta",
            method="PATCH",
            path="/Users/x",
            status=status,
            latency_ms=3.0,
            received_at=timezone.now() - ago,
        )
        for i in range(n)
    )


def test_error_rate_spike_is_detected_from_the_request_log(acme_admins, bravo, mailoutbox):
    with tenant_schema(acme_admins):
        _log(200, 10)
        _log(400, 15)
        _log(500, 50, ago=timedelta(minutes=30))  # outside the 5-minute window
        note = check_error_rate(acme_admins)
        assert note is not None and note.kind == Notification.Kind.ERROR_RATE_SPIKE
        assert note.data == {"total": 25, "errors": 15, "window_seconds": 300}
        again = check_error_rate(acme_admins)
        assert again is not None and again.occurrences == 2  # deduplicated
    send_mail(acme_admins)
    assert len(mailoutbox) == 1
    with tenant_schema(bravo):
        _log(200, 30)
        _log(404, 2)
        assert check_error_rate(bravo) is None


def test_too_few_requests_never_count_as_a_spike(acme_admins):
    with tenant_schema(acme_admins):
        _log(500, 5)
        assert check_error_rate(acme_admins) is None


