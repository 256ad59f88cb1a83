"""Reads of the current tenant's SCIM request log (for the portal's live checks and the console)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from outbox.models import Event
from scim_api.export import REQUEST_LOG_COLUMNS
from scim_api.models import RequestLog
from tenants.context import tenant_schema
from tenants.models import ScimConnection


def recent_requests(connection: ScimConnection, *, limit: int = 10) -> list[dict[str, Any]]:
    """The connection's latest requests, newest first (read in the connection's tenant schema)."""
    with tenant_schema(connection.tenant):
        rows = (
            RequestLog.objects.filter(connection_id=connection.id)
            .order_by("-id")
            .values("received_at", "method", "path", "status", "scim_type", "error_detail", "quirks")[:limit]
        )
        return [dict(row) for row in rows]


# The portal's readers below run in the tenant schema the caller activated (TenantPortalView does).

USER_WRITES = ("POST", "PUT", "PATCH")


@dataclass(frozen=True)
class ReceivedPayload:
    """A redacted User body an IdP sent on a connection (POST/PUT: a resource; PATCH: operations)."""

    request_id: int
    received_at: datetime
    method: str
    resource_id: str
    body: Any


def received_user_payloads(connection_id: str, *, limit: int = 5, methods: tuple[str, ...] = ("POST", "PUT")) -> list[ReceivedPayload]:
    """The connection's latest successful User writes with a body, newest first (one query)."""
    rows = (
        RequestLog.objects.filter(
            connection_id=connection_id,
            resource_type="User",
            method__in=methods,
            status__gte=200,
            status__lt=300,
            request_body__isnull=False,
        )
        .order_by("-id")
        .values_list("id", "received_at", "method", "resource_id", "request_body")[:limit]
    )
    return [ReceivedPayload(*row) for row in rows if isinstance(row[4], dict) and not row[4].get("truncated")]


def requests_by_id(resource_type: str, resource_ids: list[str], request_ids: set[str]) -> dict[str, RequestLog]:
    """The request-log rows with these request ids among the requests about these resources (indexed)."""
    if not resource_ids or not request_ids:
        return {}
    rows = RequestLog.objects.filter(
        resource_type=resource_type, resource_id__in=resource_ids, request_id__in=list(request_ids)
    ).defer("response_body")
    return {row.request_id: row for row in rows}


STATUS_CLASSES = {"2xx": (200, 300), "3xx": (300, 400), "4xx": (400, 500), "5xx": (500, 600)}
RESOURCES = ("User", "Group")


@dataclass(frozen=True)
class RequestFilter:
    """The request log's filters (the portal's Activity page, the console's request log); empty values mean "any"."""

    status: str = ""  # a STATUS_CLASSES key, or an exact code such as "401"
    method: str = ""
    resource: str = ""  # "User", "Group" or "other"
    resource_id: str = ""  # a user's or group's id
    connection_id: str = ""
    since: datetime | None = None
    until: datetime | None = None
    scim_type: str = ""
    body_text: str = ""  # text anywhere in the redacted request or response body
    min_latency_ms: float | None = None
    errors_only: bool = False  # status 400 and above

    def queryset(self) -> QuerySet[RequestLog]:
        qs = RequestLog.objects.all()
        if self.status in STATUS_CLASSES:
            low, high = STATUS_CLASSES[self.status]
            qs = qs.filter(status__gte=low, status__lt=high)
        elif self.status.isdigit():
            qs = qs.filter(status=int(self.status))
        if self.method:
            qs = qs.filter(method=self.method.upper())
        if self.resource in RESOURCES:
            qs = qs.filter(resource_type=self.resource)
        elif self.resource == "other":
            qs = qs.exclude(resource_type__in=RESOURCES)
        if self.resource_id:
            qs = qs.filter(resource_id=self.resource_id)
        if self.connection_id:
            qs = qs.filter(connection_id=self.connection_id)
        if self.since is not None:
            qs = qs.filter(received_at__gte=self.since)
        if self.until is not None:
            qs = qs.filter(received_at__lt=self.until)
        if self.scim_type:
            qs = qs.filter(scim_type=self.scim_type)
        if self.body_text:
            qs = qs.filter(Q(request_body__icontains=self.body_text) | Q(response_body__icontains=self.body_text))
        if self.min_latency_ms is not None:
            qs = qs.filter(latency_ms__gte=self.min_latency_ms)
        if self.errors_only:
            qs = qs.filter(status__gte=400)
        return qs


def request_page(filters: RequestFilter, *, before_id: int | None = None, limit: int = 50) -> tuple[list[RequestLog], int | None]:
    """Newest requests first, keyset-paged by id (one query); the cursor of the next page or None."""
    qs = filters.queryset()
    if before_id is not None:
        qs = qs.filter(id__lt=before_id)
    rows = list(qs.order_by("-id").defer("response_body")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)


def filtered_request_rows(filters: RequestFilter, *, chunk_size: int = 500) -> Iterator[tuple[Any, ...]]:
    """Every row the filters match as REQUEST_LOG_COLUMNS tuples plus response_body, newest first, one
    keyset query per chunk (an export's memory is one chunk, whatever the log's size)."""
    before: int | None = None
    while True:
        qs = filters.queryset()
        if before is not None:
            qs = qs.filter(id__lt=before)
        rows = list(qs.order_by("-id").values_list(*REQUEST_LOG_COLUMNS, "response_body")[:chunk_size])
        yield from rows
        if len(rows) < chunk_size:
            return
        before = rows[-1][0]


def request_log_pks(entries: list[tuple[str, datetime]]) -> dict[str, int]:
    """request id -> request-log pk for (request id, received_at) pairs, found through the time index (one query)."""
    if not entries:
        return {}
    rows = RequestLog.objects.filter(
        received_at__in={at for _, at in entries}, request_id__in={rid for rid, _ in entries}
    ).values_list("request_id", "id")
    return {request_id: pk for request_id, pk in rows}


def events_of_requests(rows: list[RequestLog]) -> dict[str, list[Event]]:
    """The outbox events each request caused (same request id, found through the resource index): one query."""
    condition = Q()
    for row in rows:
        if row.request_id and row.resource_type and row.resource_id:
            condition |= Q(resource_type=row.resource_type, resource_id=row.resource_id, request_id=row.request_id)
    if not condition:
        return {}
    found: dict[str, list[Event]] = {}
    for event in Event.objects.filter(condition).only("seq", "type", "request_id", "occurred_at", "handled_at", "payload").order_by("seq"):
        found.setdefault(event.request_id, []).append(event)
    return found
