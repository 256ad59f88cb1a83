"""The tenant's SCIM request log as export rows (the customer portal's CSV export, run as a job).

Keyset-paged by id, so an export of a million rows holds one chunk in memory. Bodies are the
redacted ones the log keeps; no header or token was ever stored.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from scim_api.models import RequestLog

REQUEST_LOG_COLUMNS = (
    "id",
    "received_at",
    "connection_id",
    "method",
    "path",
    "query",
    "status",
    "latency_ms",
    "resource_type",
    "resource_id",
    "scim_type",
    "error_detail",
    "auth_failure",
    "quirks",
    "source_ip",
    "user_agent",
    "request_id",
    "request_body",
)


def request_log_chunk(
    *, since: datetime | None, until: datetime | None, after_id: int | None, limit: int, count: bool = False
) -> tuple[list[tuple[Any, ...]], int]:
    """The next `limit` rows (id order) in the time range after `after_id`, and the range's size when asked."""
    qs = RequestLog.objects.all()
    if since is not None:
        qs = qs.filter(received_at__gte=since)
    if until is not None:
        qs = qs.filter(received_at__lt=until)
    total = qs.count() if count else 0
    if after_id is not None:
        qs = qs.filter(id__gt=after_id)
    return list(qs.order_by("id").values_list(*REQUEST_LOG_COLUMNS)[:limit]), total


def request_log_csv_rows(rows: Sequence[tuple[Any, ...]]) -> Iterator[list[Any]]:
    for row in rows:
        values = dict(zip(REQUEST_LOG_COLUMNS, row, strict=True))
        values["received_at"] = values["received_at"].isoformat()
        values["quirks"] = " ".join(values["quirks"] or [])
        body = values["request_body"]
        values["request_body"] = "" if body is None else json.dumps(body, sort_keys=True, separators=(",", ":"))
        yield list(values.values())
