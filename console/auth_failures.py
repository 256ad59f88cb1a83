"""401s by cause (scim_api.models.AuthFailure), from the tenant's request log.

A 401 logged without a cause (rows older than the cause column) counts under UNCLASSIFIED.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncHour

from scim_api.models import RequestLog

UNCLASSIFIED = "unclassified"


def _unauthorized(since: datetime, until: datetime | None) -> QuerySet[RequestLog]:
    qs = RequestLog.objects.filter(status=401, received_at__gte=since)
    return qs if until is None else qs.filter(received_at__lt=until)


def auth_failures_by_connection(
    *, since: datetime, until: datetime | None = None, connection_ids: Sequence[str] | None = None
) -> dict[str, dict[str, int]]:
    """connection id -> cause -> number of 401s in [since, until) (current tenant schema, one query)."""
    qs = _unauthorized(since, until)
    if connection_ids is not None:
        qs = qs.filter(connection_id__in=list(connection_ids))
    found: dict[str, dict[str, int]] = defaultdict(dict)
    for row in qs.values("connection_id", "auth_failure").annotate(n=Count("id")):
        cause = str(row["auth_failure"] or UNCLASSIFIED)
        found[row["connection_id"]][cause] = found[row["connection_id"]].get(cause, 0) + int(row["n"])
    return dict(found)


def auth_failures_by_hour(*, since: datetime, until: datetime | None = None) -> dict[datetime, dict[str, int]]:
    """hour -> cause -> number of 401s (current tenant schema, one query)."""
    found: dict[datetime, dict[str, int]] = defaultdict(dict)
    rows = _unauthorized(since, until).annotate(hour=TruncHour("received_at")).values("hour", "auth_failure")
    for row in rows.annotate(n=Count("id")):
        cause = str(row["auth_failure"] or UNCLASSIFIED)
        found[row["hour"]][cause] = found[row["hour"]].get(cause, 0) + int(row["n"])
    return dict(found)
