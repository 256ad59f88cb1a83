"""The SCIM error rate of a tenant, from its request log, and the alert when it spikes (a beat job)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, Q
from django.utils import timezone

from provisioning.models import Notification
from provisioning.notifications import raise_notification
from provisioning.tunables import pipeline_config
from scim_api.models import RequestLog
from tenants.context import TenantRef


@dataclass(frozen=True)
class ErrorRate:
    total: int
    errors: int

    @property
    def share(self) -> float:
        return self.errors / self.total if self.total else 0.0


def recent_error_rate(window: timedelta) -> ErrorRate:
    """Share of SCIM requests answered 4xx/5xx in the window (from the tenant's request log)."""
    since = timezone.now() - window
    row = RequestLog.objects.filter(received_at__gte=since).aggregate(
        total=Count("id"), errors=Count("id", filter=Q(status__gte=400))
    )
    return ErrorRate(total=row["total"] or 0, errors=row["errors"] or 0)


def check_error_rate(tenant: TenantRef) -> Notification | None:
    """Beat: raise error_rate_spike when enough recent requests failed (current tenant schema)."""
    conf = pipeline_config()
    threshold = float(tenant.settings.get("error_rate_threshold", conf.error_rate_threshold))
    window = timedelta(seconds=conf.error_rate_window_seconds)
    rate = recent_error_rate(window)
    if rate.total < conf.error_rate_min_requests or rate.share <= threshold:
        return None
    minutes = round(window.total_seconds() / 60)
    return raise_notification(
        tenant=tenant,
        kind=Notification.Kind.ERROR_RATE_SPIKE,
        key="error_rate_spike",
        title=f"{rate.share:.0%} of SCIM requests failed in the last {minutes} minutes",
        body=(
            f"{rate.errors} of {rate.total} requests from your identity provider were rejected. "
            "Open the request log to see the errors; provisioning may be incomplete until they are fixed."
        ),
        severity=Notification.Severity.CRITICAL,
        data={"total": rate.total, "errors": rate.errors, "window_seconds": int(window.total_seconds())},
        cooldown=timedelta(hours=1),
    )
