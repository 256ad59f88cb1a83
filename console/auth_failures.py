"""401s by cause, from the tenant's request log: the one place that knows how causes are stored.

The SCIM edge is gaining `RequestLog.auth_failure` (missing_header, not_bearer, bearer_doubled,
unknown_token, revoked_token, expired_token, other_connection_token, connection_disabled,
tenant_suspended). Until that field exists, every 401 counts under UNCLASSIFIED; once it does,
these functions group by it without any caller changing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncHour

from scim_api.models import RequestLog

UNCLASSIFIED = "unclassified"
AUTH_FAILURE_FIELD = "auth_failure"


def causes_recorded() -> bool:
    """Whether the request log stores why an authentication failed."""
    return any(f.name == AUTH_FAILURE_FIELD for f in RequestLog._meta.get_fields())


def _unauthorized(since: datetime, until: datetime | None) -> QuerySet[RequestLog]:
    qs = RequestLog.objects.filter(status=401, received_at__gte=since)
    return qs if until is None else qs.filter(received_at__lt=until)


def _cause_column() -> list[str]:
    return [AUTH_FAILURE_FIELD] if causes_recorded() else []


def auth_failures_by_connection(
    *, since: datetime, until: datetime | None = None, connection_ids: Sequence[str] | None = None
) -> dict[str, dict[str, int]]:
    """connection id -> cause -> number of 401s in [since, until) (current tenant schema, one query)."""
    qs = _unauthorized(since, until)
    if connection_ids is not None:
        qs = qs.filter(connection_id__in=list(connection_ids))
    found: dict[str, dict[str, int]] = defaultdict(dict)
    for row in qs.values("connection_id", *_cause_column()).annotate(n=Count("id")):
        cause = str(row.get(AUTH_FAILURE_FIELD) or UNCLASSIFIED)
        found[row["connection_id"]][cause] = found[row["connection_id"]].get(cause, 0) + int(row["n"])
    return dict(found)


def auth_failures_by_hour(*, since: datetime, until: datetime | None = None) -> dict[datetime, dict[str, int]]:
    """hour -> cause -> number of 401s (current tenant schema, one query)."""
    found: dict[datetime, dict[str, int]] = defaultdict(dict)
    rows = _unauthorized(since, until).annotate(hour=TruncHour("received_at")).values("hour", *_cause_column())
    for row in rows.annotate(n=Count("id")):
        cause = str(row.get(AUTH_FAILURE_FIELD) or UNCLASSIFIED)
        found[row["hour"]][cause] = found[row["hour"]].get(cause, 0) + int(row["n"])
    return dict(found)
