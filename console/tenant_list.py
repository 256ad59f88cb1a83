"""The console's tenant list: searchable, filterable, sortable, keyset-paged, from the rollup rows only.

One query per page whatever the number of tenants (the summary row carries everything the list
shows), and no COUNT: the next page starts after the last row's sort value and id.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db.models import Count, Expression, F, Q, QuerySet, Value
from django.db.models.functions import Coalesce, Lower
from django.utils import timezone

from console.cadence import Cadence, cadence_of
from console.setup_progress import SETUP_DONE_STAGE, SetupStage
from tenants.models import EPOCH, ScimConnection, Tenant, TenantHealth

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


class TenantListError(ValueError):
    """A bad filter, sort or cursor in the query string: a clear message."""


class TenantFilter(StrEnum):
    ERRORS_LAST_HOUR = "errors"
    SETUP_STALLED = "setup_stalled"
    WEBHOOKS_FAILING = "webhooks_failing"
    SUSPENDED = "suspended"


class TenantSort(StrEnum):
    NAME = "name"
    NEWEST = "newest"
    LAST_REQUEST = "last_request"
    REQUESTS = "requests"
    ERROR_RATE = "error_rate"
    BACKLOG = "backlog"
    WEBHOOK_FAILURES = "webhook_failures"
    USERS = "users"


@dataclass(frozen=True)
class _SortSpec:
    expression: Expression | F
    descending: bool
    kind: str  # how the cursor encodes the value: str, int, float, time


_SORTS: dict[TenantSort, _SortSpec] = {
    TenantSort.NAME: _SortSpec(Lower("tenant__name"), False, "str"),
    TenantSort.NEWEST: _SortSpec(F("tenant__created_at"), True, "time"),
    TenantSort.LAST_REQUEST: _SortSpec(Coalesce("last_scim_request_at", Value(EPOCH)), True, "time"),
    TenantSort.REQUESTS: _SortSpec(F("requests_24h"), True, "int"),
    TenantSort.ERROR_RATE: _SortSpec(F("error_rate_24h"), True, "float"),
    TenantSort.BACKLOG: _SortSpec(F("outbox_backlog"), True, "int"),
    TenantSort.WEBHOOK_FAILURES: _SortSpec(
        F("webhooks_dead") + F("webhooks_failed_24h") + F("webhook_endpoints_failing"), True, "int"
    ),
    TenantSort.USERS: _SortSpec(F("users_active"), True, "int"),
}


def parse_filter(raw: str | None) -> TenantFilter | None:
    if not raw:
        return None
    try:
        return TenantFilter(raw)
    except ValueError:
        raise TenantListError(f"unknown filter {raw!r}; use one of {', '.join(f.value for f in TenantFilter)}") from None


def parse_sort(raw: str | None) -> TenantSort:
    if not raw:
        return TenantSort.NAME
    try:
        return TenantSort(raw)
    except ValueError:
        raise TenantListError(f"unknown sort {raw!r}; use one of {', '.join(s.value for s in TenantSort)}") from None


def stalled_after() -> timedelta:
    return timedelta(hours=float(settings.ROLLCALL_SETUP_STALLED_AFTER_HOURS))


def filter_condition(name: TenantFilter, now: datetime) -> Q:
    if name is TenantFilter.ERRORS_LAST_HOUR:
        return Q(last_error_at__gte=now - timedelta(hours=1))
    if name is TenantFilter.SETUP_STALLED:
        return Q(setup_stage__lt=int(SETUP_DONE_STAGE), setup_updated_at__lt=now - stalled_after()) & Q(
            tenant__status=Tenant.Status.ACTIVE
        )
    if name is TenantFilter.WEBHOOKS_FAILING:
        return Q(webhooks_dead__gt=0) | Q(webhook_endpoints_failing__gt=0)
    return Q(tenant__status=Tenant.Status.SUSPENDED)


# --------------------------------------------------------------------------- cursor


def _encode_cursor(sort: TenantSort, value: Any, tenant_id: uuid.UUID) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    raw = json.dumps([sort.value, value, str(tenant_id)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: TenantSort) -> tuple[Any, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        name, value, tenant_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if name != sort.value:
            raise ValueError("cursor of another sort")
        kind = _SORTS[sort].kind
        if kind == "time":
            value = datetime.fromisoformat(value)
        elif kind == "int":
            value = int(value)
        elif kind == "float":
            value = float(value)
        elif not isinstance(value, str):
            raise ValueError("not a string")
        return value, uuid.UUID(tenant_id)
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
        raise TenantListError("this page link is out of date: start again from the first page") from None


# --------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class TenantRow:
    """One line of the tenant list."""

    id: uuid.UUID
    name: str
    slug: str
    status: str
    created_at: datetime
    idps: tuple[str, ...]
    detected_idps: tuple[str, ...]
    setup_stage: SetupStage
    setup_stalled: bool
    last_request_at: datetime | None
    cadence: Cadence
    requests_24h: int
    errors_24h: int
    error_rate_24h: float
    errors_last_hour: bool
    outbox_backlog: int
    oldest_pending_at: datetime | None
    handler_failures: int
    parked_events: int
    webhooks_failed_24h: int
    webhooks_dead: int
    webhook_endpoints_failing: int
    users_active: int
    users_total: int
    seats: dict[str, int]
    billable_seats: int
    refreshed_at: datetime | None


def _row(health: TenantHealth, now: datetime) -> TenantRow:
    tenant = health.tenant
    idps = tuple(i for i in health.idps.split(",") if i)
    detected = tuple(i for i in health.detected_idps.split(",") if i)
    return TenantRow(
        id=tenant.pk,
        name=tenant.name,
        slug=tenant.slug,
        status=tenant.status,
        created_at=tenant.created_at,
        idps=idps,
        detected_idps=detected,
        setup_stage=SetupStage(health.setup_stage),
        setup_stalled=(
            health.setup_stage < SETUP_DONE_STAGE
            and health.setup_updated_at < now - stalled_after()
            and tenant.status == Tenant.Status.ACTIVE
        ),
        last_request_at=health.last_scim_request_at,
        cadence=cadence_of(idps[0] if idps else "", health.last_scim_request_at, now),
        requests_24h=health.requests_24h,
        errors_24h=health.errors_24h,
        error_rate_24h=health.error_rate_24h,
        errors_last_hour=bool(health.last_error_at and health.last_error_at >= now - timedelta(hours=1)),
        outbox_backlog=health.outbox_backlog,
        oldest_pending_at=health.oldest_pending_at,
        handler_failures=health.handler_failures,
        parked_events=health.parked_events,
        webhooks_failed_24h=health.webhooks_failed_24h,
        webhooks_dead=health.webhooks_dead,
        webhook_endpoints_failing=health.webhook_endpoints_failing,
        users_active=health.users_active,
        users_total=health.users_total,
        seats=dict(health.seats or {}),
        billable_seats=health.billable_seats,
        refreshed_at=health.refreshed_at,
    )


@dataclass(frozen=True)
class TenantPage:
    rows: list[TenantRow]
    next_cursor: str | None
    sort: TenantSort
    filter: TenantFilter | None
    search: str


def _search_condition(search: str) -> Q:
    condition = Q(tenant__name__icontains=search) | Q(tenant__slug__icontains=search)
    with contextlib.suppress(ValueError):
        condition |= Q(tenant_id=uuid.UUID(search))
    # A connection id (from an IdP's SCIM URL) finds its tenant: an indexed primary-key subquery.
    condition |= Q(tenant_id__in=ScimConnection.objects.filter(pk=search).values("tenant_id"))
    return condition


def _base(search: str, filter_: TenantFilter | None, now: datetime) -> QuerySet[TenantHealth]:
    qs = TenantHealth.objects.select_related("tenant")
    if search:
        qs = qs.filter(_search_condition(search))
    if filter_ is not None:
        qs = qs.filter(filter_condition(filter_, now))
    return qs


def tenant_list(
    *,
    search: str = "",
    filter: TenantFilter | str | None = None,
    sort: TenantSort | str | None = None,
    cursor: str | None = None,
    page_size: int = PAGE_SIZE,
    now: datetime | None = None,
) -> TenantPage:
    """A page of the tenant list in one query, at any number of tenants."""
    now = now or timezone.now()
    search = (search or "").strip()[:200]
    filter_ = filter if isinstance(filter, TenantFilter) or filter is None else parse_filter(filter)
    sort_ = sort if isinstance(sort, TenantSort) else parse_sort(sort)
    size = max(1, min(int(page_size), MAX_PAGE_SIZE))
    spec = _SORTS[sort_]
    # Sort expressions match the index definitions exactly (tenants.models), so the planner reads
    # the page off the index.
    qs = _base(search, filter_, now).annotate(sort_value=spec.expression)
    # Ties break on the tenant id in the sort's own direction, so each sort is one index, read
    # forwards or backwards.
    if cursor:
        value, after_id = _decode_cursor(cursor, sort_)
        if spec.descending:
            qs = qs.filter(Q(sort_value__lt=value) | Q(sort_value=value, tenant_id__lt=after_id))
        else:
            qs = qs.filter(Q(sort_value__gt=value) | Q(sort_value=value, tenant_id__gt=after_id))
    ordering = [F("sort_value").desc(), F("tenant_id").desc()] if spec.descending else [F("sort_value").asc(), "tenant_id"]
    found = list(qs.order_by(*ordering)[: size + 1])
    more = len(found) > size
    found = found[:size]
    next_cursor = _encode_cursor(sort_, found[-1].sort_value, found[-1].tenant_id) if more and found else None  # type: ignore[attr-defined]
    return TenantPage([_row(h, now) for h in found], next_cursor, sort_, filter_, search)


def filter_counts(*, search: str = "", now: datetime | None = None) -> dict[TenantFilter, int]:
    """How many tenants each filter would show (one aggregate query, for the filter chips)."""
    now = now or timezone.now()
    qs = _base((search or "").strip()[:200], None, now)
    counts = qs.aggregate(**{f.value: Count("tenant_id", filter=filter_condition(f, now)) for f in TenantFilter})
    return {f: int(counts[f.value] or 0) for f in TenantFilter}
