"""The tenant health rollup: per tenant a summary row, hourly rows and daily rows in the public schema.

The console's tenant list reads only these rows, never a tenant schema. The workers keep them
current without visiting idle tenants:
- the SCIM edge, the drain and the webhook sender mark a tenant active (observability.activity);
- a beat job (`refresh_active_tenants`) re-aggregates only the tenants marked since its last run:
  the hours they were active in, from their request log, outbox and webhook tables, and their
  current state (backlog, dead deliveries, users, seats, setup progress);
- at each hour boundary it rolls the 24-hour counters forward for the tenants whose counters are
  non-zero (a partial index finds them);
- `reconcile_tenants` refreshes a few of the least recently refreshed tenants per run, so a lost
  mark (Redis down) heals by itself; a `rollup_rebuild` job recomputes a longer window.
Work per run is O(active tenants) plus a constant.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Max, Min, Q
from django.db.models.functions import TruncDate, TruncHour
from django.utils import timezone

from console import auth_failures
from console.setup_progress import setup_progress
from console.sql import PercentileCont
from directory.models import DirectoryGroup, DirectoryUser, OffboardingRecord
from directory.roles import seat_counts
from observability import activity
from outbox.models import Event
from outbox.selectors import parked_event_count
from provisioning.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from provisioning.tunables import pipeline_config
from scim_api.models import RequestLog
from tenants.context import TenantRef, tenant_schema
from tenants.models import ScimConnection, Tenant, TenantHealth, TenantHealthDay, TenantHealthHour

log = logging.getLogger(__name__)

HOUR = timedelta(hours=1)
WINDOW_HOURS = 24
BACKLOG_CAP = 100_000
DEPROVISION_WINDOW = timedelta(days=7)
# Never aggregate further back than this on a beat run (a longer outage is a rebuild job).
MAX_REFRESH_WINDOW = timedelta(days=2)
_HOUR_COUNTERS = (
    "requests",
    "status_2xx",
    "status_4xx",
    "status_5xx",
    "unauthorized",
    "events_appended",
    "events_handled",
    "webhooks_succeeded",
    "webhooks_failed",
    "webhooks_dead",
)


def hour_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


# --------------------------------------------------------------------------- tenant-schema reads


@dataclass
class HourRow:
    values: dict[str, Any] = field(default_factory=dict)
    auth_failures: dict[str, int] = field(default_factory=dict)

    def add(self, **counts: Any) -> None:
        self.values.update({k: v for k, v in counts.items() if v is not None})

    @property
    def empty(self) -> bool:
        return not any(self.values.get(k) for k in _HOUR_COUNTERS)


def _window(qs: Any, column: str, start: datetime, end: datetime | None) -> Any:
    qs = qs.filter(**{f"{column}__gte": start})
    return qs if end is None else qs.filter(**{f"{column}__lt": end})


@dataclass
class WindowFacts:
    hours: dict[datetime, HourRow]
    last_request_at: datetime | None
    last_error_at: datetime | None
    last_webhook_failure_at: datetime | None


def _hour(hours: dict[datetime, HourRow], at: datetime) -> HourRow:
    return hours.setdefault(hour_of(at), HourRow())


def _window_facts(start: datetime, end: datetime | None) -> WindowFacts:
    """Per-hour activity of the current tenant schema in [start, end)."""
    hours: dict[datetime, HourRow] = {}
    last_request = last_error = last_webhook_failure = None
    requests = (
        _window(RequestLog.objects, "received_at", start, end)
        .annotate(h=TruncHour("received_at"))
        .values("h")
        .annotate(
            n=Count("id"),
            s2=Count("id", filter=Q(status__gte=200, status__lt=300)),
            s4=Count("id", filter=Q(status__gte=400, status__lt=500)),
            s5=Count("id", filter=Q(status__gte=500)),
            s401=Count("id", filter=Q(status=401)),
            last=Max("received_at"),
            last_error=Max("received_at", filter=Q(status__gte=400)),
        )
    )
    for row in requests:
        _hour(hours, row["h"]).add(
            requests=row["n"], status_2xx=row["s2"], status_4xx=row["s4"], status_5xx=row["s5"], unauthorized=row["s401"]
        )
        last_request = max(filter(None, [last_request, row["last"]]), default=None)
        last_error = max(filter(None, [last_error, row["last_error"]]), default=None)
    for at, causes in auth_failures.auth_failures_by_hour(since=start, until=end).items():
        _hour(hours, at).auth_failures = causes
    # outbox_event has no time index (it is the SCIM write path's hottest table). seq follows append
    # order and occurred_at is stamped at append, so the window starts after the newest event older
    # than `start`: a backward scan of the primary key that reads only the window's events.
    boundary = Event.objects.filter(occurred_at__lt=start).order_by("-seq").values_list("seq", flat=True).first() or 0
    lag = ExpressionWrapper(F("handled_at") - F("occurred_at"), output_field=DurationField())
    events = (
        _window(Event.objects.filter(seq__gt=boundary), "occurred_at", start, end)
        .annotate(h=TruncHour("occurred_at"))
        .values("h")
        .annotate(
            n=Count("seq"),
            handled=Count("seq", filter=Q(handled_at__isnull=False)),
            lag_avg=Avg(lag, filter=Q(handled_at__isnull=False)),
            lag_max=Max(lag, filter=Q(handled_at__isnull=False)),
        )
    )
    for row in events:
        _hour(hours, row["h"]).add(
            events_appended=row["n"],
            events_handled=row["handled"],
            event_lag_avg_seconds=row["lag_avg"].total_seconds() if row["lag_avg"] is not None else None,
            event_lag_max_seconds=row["lag_max"].total_seconds() if row["lag_max"] is not None else None,
        )
    ok = Q(status_code__gte=200, status_code__lt=300, error="")
    attempts = (
        _window(WebhookAttempt.objects, "attempted_at", start, end)
        .annotate(h=TruncHour("attempted_at"))
        .values("h")
        .annotate(ok=Count("id", filter=ok), failed=Count("id", filter=~ok), last_failed=Max("attempted_at", filter=~ok))
    )
    for row in attempts:
        _hour(hours, row["h"]).add(webhooks_succeeded=row["ok"], webhooks_failed=row["failed"])
        last_webhook_failure = max(filter(None, [last_webhook_failure, row["last_failed"]]), default=None)
    dead = (
        _window(WebhookDelivery.objects.filter(status=WebhookDelivery.Status.DEAD), "dead_at", start, end)
        .annotate(h=TruncHour("dead_at"))
        .values("h")
        .annotate(n=Count("id"))
    )
    for row in dead:
        _hour(hours, row["h"]).add(webhooks_dead=row["n"])
    return WindowFacts(hours, last_request, last_error, last_webhook_failure)


def _deprovision_days(start: datetime, end: datetime | None) -> dict[date, tuple[int, float | None, float | None]]:
    """Per day touched by [start, end): deprovisions and their p50/p95 latency (whole days)."""
    records = OffboardingRecord.objects.filter(completed_at__gte=_day_start(start.date()))
    if end is not None:
        records = records.filter(completed_at__lt=_day_start(end.date()) + timedelta(days=1))
    rows = (
        records.annotate(d=TruncDate("completed_at"))
        .values("d")
        .annotate(
            n=Count("id"),
            p50=PercentileCont("latency_seconds", 0.5),
            p95=PercentileCont("latency_seconds", 0.95),
        )
    )
    return {row["d"]: (row["n"], row["p50"], row["p95"]) for row in rows}


def _current_state(now: datetime) -> dict[str, Any]:
    """What the tenant looks like now: backlog, failing work, webhooks, directory size, seats."""
    pending = Event.objects.filter(handled_at__isnull=True).order_by("seq")[:BACKLOG_CAP]
    backlog = pending.aggregate(
        n=Count("seq"),
        oldest=Min("occurred_at"),
        failing=Count("seq", filter=Q(attempts__gt=0) & ~Q(last_error="")),
    )
    threshold = pipeline_config().webhook_failing_after
    endpoints = WebhookEndpoint.objects.filter(active=True).aggregate(
        failing=Count("id", filter=Q(consecutive_failures__gte=threshold)), last_failure=Max("last_failure_at")
    )
    users = DirectoryUser.objects.aggregate(total=Count("id"), active=Count("id", filter=Q(active=True)))
    seats = seat_counts()
    latency = OffboardingRecord.objects.filter(completed_at__gte=now - DEPROVISION_WINDOW).aggregate(
        p50=PercentileCont("latency_seconds", 0.5), p95=PercentileCont("latency_seconds", 0.95)
    )
    return {
        "outbox_backlog": backlog["n"] or 0,
        "oldest_pending_at": backlog["oldest"],
        "handler_failures": backlog["failing"] or 0,
        "parked_events": parked_event_count(),
        "webhooks_dead": WebhookDelivery.objects.filter(status=WebhookDelivery.Status.DEAD).count(),
        "webhook_endpoints_failing": endpoints["failing"] or 0,
        "endpoint_last_failure_at": endpoints["last_failure"],
        "users_total": users["total"] or 0,
        "users_active": users["active"] or 0,
        "groups_total": DirectoryGroup.objects.count(),
        "seats": {s.role: s.seats for s in seats if s.seats},
        "billable_seats": sum(s.seats for s in seats if s.billable),
        "deprovision_p50_7d": latency["p50"],
        "deprovision_p95_7d": latency["p95"],
    }


# --------------------------------------------------------------------------- writing one tenant


def _lock_tenant_rollup(tenant_id: str) -> None:
    """Serialise refreshes of one tenant (the beat job, a rebuild job) until this transaction ends."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"rollcall.health:{tenant_id}"])


def _later(*moments: datetime | None) -> datetime | None:
    return max((m for m in moments if m is not None), default=None)


def refresh_tenant(
    tenant: TenantRef, *, since: datetime, until: datetime | None = None, now: datetime | None = None
) -> TenantHealth:
    """Recompute the tenant's hourly rows for [hour of `since`, `until` or now), the daily rows of
    those days, and its summary. Idempotent: rows in the window are replaced, not added to."""
    now = now or timezone.now()
    start = hour_of(since)
    end = until if until is not None and until < now else None
    last_hour = hour_of(end - timedelta(microseconds=1)) if end is not None else hour_of(now)
    with transaction.atomic():
        _lock_tenant_rollup(tenant.id)
        with tenant_schema(tenant):
            facts = _window_facts(start, end)
            days = _deprovision_days(start, end)
            state = _current_state(now)
        progress = setup_progress(tenant)
        connections = list(
            ScimConnection.objects.filter(tenant_id=tenant.id).values_list("idp", "detected_idp", "last_request_at")
        )
        TenantHealthHour.objects.filter(tenant_id=tenant.id, hour__gte=start, hour__lte=last_hour).delete()
        TenantHealthHour.objects.bulk_create(
            TenantHealthHour(tenant_id=tenant.id, hour=hour, auth_failures=row.auth_failures, **row.values)
            for hour, row in sorted(facts.hours.items())
            if start <= hour <= last_hour and not row.empty
        )
        first_day, last_day = start.date(), last_hour.date()
        TenantHealthDay.objects.filter(tenant_id=tenant.id, day__gte=first_day, day__lte=last_day).delete()
        TenantHealthDay.objects.bulk_create(
            TenantHealthDay(tenant_id=tenant.id, day=day, deprovisions=n, deprovision_p50_seconds=p50, deprovision_p95_seconds=p95)
            for day, (n, p50, p95) in sorted(days.items())
            if first_day <= day <= last_day
        )
        health = TenantHealth.objects.select_for_update().filter(tenant_id=tenant.id).first() or TenantHealth(
            tenant_id=tenant.id
        )
        _apply_window_sums(health, _window_sums([tenant.id], now).get(tenant.id, {}))
        endpoint_failure = state.pop("endpoint_last_failure_at")
        for key, value in state.items():
            setattr(health, key, value)
        health.idps = ",".join(sorted({idp for idp, _, _ in connections if idp}))[:200]
        health.detected_idps = ",".join(sorted({d for _, d, _ in connections if d}))[:200]
        health.last_scim_request_at = _later(health.last_scim_request_at, facts.last_request_at, *(c[2] for c in connections))
        health.last_error_at = _later(health.last_error_at, facts.last_error_at)
        health.last_webhook_failure_at = _later(health.last_webhook_failure_at, facts.last_webhook_failure_at, endpoint_failure)
        health.setup_stage = int(progress.stage)
        health.setup_updated_at = progress.updated_at or tenant_created_at(tenant)
        health.setup = progress.as_json()
        health.refreshed_at = now
        health.save()
    return health


def tenant_created_at(tenant: TenantRef) -> datetime:
    created = Tenant.objects.filter(pk=tenant.id).values_list("created_at", flat=True).first()
    return created or timezone.now()


# --------------------------------------------------------------------------- the 24-hour window


_SUMS = {
    "requests_24h": "requests",
    "status_2xx_24h": "status_2xx",
    "status_4xx_24h": "status_4xx",
    "status_5xx_24h": "status_5xx",
    "unauthorized_24h": "unauthorized",
    "webhooks_succeeded_24h": "webhooks_succeeded",
    "webhooks_failed_24h": "webhooks_failed",
}


def window_start(now: datetime) -> datetime:
    """The first of the 24 hourly buckets that make up "the last 24 hours" (the current one included)."""
    return hour_of(now) - (WINDOW_HOURS - 1) * HOUR


def _window_sums(tenant_ids: Iterable[str], now: datetime) -> dict[str, dict[str, Any]]:
    """tenant id -> the 24-hour sums and 401 causes, from the hourly rows (one query)."""
    rows = (
        TenantHealthHour.objects.filter(tenant_id__in=list(tenant_ids), hour__gte=window_start(now))
        .values("tenant_id", "hour", "auth_failures", *_SUMS.values())
        .order_by()
    )
    sums: dict[str, dict[str, Any]] = {}
    for row in rows:
        found = sums.setdefault(str(row["tenant_id"]), {"auth_failures_24h": {}})
        for summary_field, hour_field in _SUMS.items():
            found[summary_field] = found.get(summary_field, 0) + (row[hour_field] or 0)
        for cause, n in (row["auth_failures"] or {}).items():
            found["auth_failures_24h"][cause] = found["auth_failures_24h"].get(cause, 0) + n
    return sums


def _apply_window_sums(health: TenantHealth, sums: dict[str, Any]) -> None:
    for summary_field in _SUMS:
        setattr(health, summary_field, int(sums.get(summary_field, 0)))
    health.auth_failures_24h = sums.get("auth_failures_24h", {})
    health.errors_24h = health.status_4xx_24h + health.status_5xx_24h
    health.error_rate_24h = health.errors_24h / health.requests_24h if health.requests_24h else 0.0


def roll_window_forward(now: datetime | None = None) -> int:
    """At an hour boundary, drop the oldest hour from the 24-hour counters of every tenant that has
    non-zero ones (found through a partial index: O(tenants active in the last day)). Returns how many."""
    now = now or timezone.now()
    updated = 0
    with transaction.atomic():
        candidates = list(
            TenantHealth.objects.select_for_update()
            .filter(Q(requests_24h__gt=0) | Q(webhooks_succeeded_24h__gt=0) | Q(webhooks_failed_24h__gt=0))
            .order_by("tenant_id")
        )
        for start in range(0, len(candidates), 500):
            batch = candidates[start : start + 500]
            sums = _window_sums([str(h.tenant_id) for h in batch], now)
            for health in batch:
                _apply_window_sums(health, sums.get(str(health.tenant_id), {}))
            TenantHealth.objects.bulk_update(batch, [*_SUMS, "auth_failures_24h", "errors_24h", "error_rate_24h"])
            updated += len(batch)
    return updated


def prune_hours(now: datetime | None = None) -> int:
    """Forget hourly rows older than ROLLCALL_HEALTH_HOURS_KEPT_DAYS (daily rows are kept)."""
    cutoff = (now or timezone.now()) - timedelta(days=int(settings.ROLLCALL_HEALTH_HOURS_KEPT_DAYS))
    deleted, _ = TenantHealthHour.objects.filter(hour__lt=cutoff).delete()
    return deleted


# --------------------------------------------------------------------------- beat jobs


@dataclass(frozen=True)
class RefreshReport:
    refreshed: list[str]
    failed: list[str]
    rolled: int = 0
    skipped: bool = False  # another refresh was running


def _try_global_lock(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", [name])
        row = cursor.fetchone()
    return bool(row and row[0])


def _unlock_global(name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [name])


def _refresh_each(tenants: Iterable[tuple[Tenant, datetime]], now: datetime) -> tuple[list[str], list[str]]:
    refreshed: list[str] = []
    failed: list[str] = []
    for tenant, since in tenants:
        try:
            refresh_tenant(TenantRef.of(tenant), since=since, now=now)
            refreshed.append(tenant.schema_name)
        except Exception:
            log.exception("health rollup of %s failed", tenant.schema_name)
            failed.append(tenant.schema_name)
    return refreshed, failed


def refresh_active_tenants(*, now: datetime | None = None) -> RefreshReport:
    """Beat: re-aggregate the tenants marked active since the previous run (and roll the 24-hour
    window forward once per hour). Tenants with no activity are not touched."""
    lock = "rollcall.health.refresh"
    if not _try_global_lock(lock):
        return RefreshReport([], [], skipped=True)
    try:
        started = time.time()
        now = now or timezone.now()
        watermark = activity.read_watermark()
        floor = (now - MAX_REFRESH_WINDOW).timestamp()
        since_ts = max(floor, (watermark if watermark is not None else started - 3600) - activity.MARK_INTERVAL_SECONDS - 1)
        schemas = activity.tenants_active_since(since_ts)
        since = datetime.fromtimestamp(since_ts, UTC)
        tenants = list(Tenant.objects.filter(schema_name__in=schemas).order_by("schema_name")) if schemas else []
        refreshed, failed = _refresh_each(((t, since) for t in tenants), now)
        for schema in failed:  # try again next run
            activity.activity_redis().zadd(activity.ACTIVITY_KEY, {schema: started})
        rolled = 0
        if watermark is None or hour_of(datetime.fromtimestamp(watermark, UTC)) < hour_of(now):
            rolled = roll_window_forward(now)
            prune_hours(now)
        activity.advance_watermark(started)
        return RefreshReport(refreshed, failed, rolled)
    finally:
        _unlock_global(lock)


def ensure_health_rows() -> int:
    """Give every tenant a summary row (tenants created outside tenants.services lack one)."""
    missing = list(Tenant.objects.filter(health__isnull=True).values_list("pk", flat=True)[:1000])
    TenantHealth.objects.bulk_create([TenantHealth(tenant_id=pk) for pk in missing], ignore_conflicts=True)
    return len(missing)


def reconcile_tenants(*, batch: int | None = None, now: datetime | None = None) -> RefreshReport:
    """Beat: refresh the `batch` least recently refreshed tenants, whatever their activity marks say
    (heals marks lost while Redis was down; a constant amount of work per run)."""
    now = now or timezone.now()
    size = int(settings.ROLLCALL_HEALTH_RECONCILE_BATCH if batch is None else batch)
    ensure_health_rows()
    stale = list(
        TenantHealth.objects.select_related("tenant").order_by(F("refreshed_at").asc(nulls_first=True), "tenant_id")[:size]
    )
    floor = now - MAX_REFRESH_WINDOW
    pairs = [(h.tenant, max(floor, h.refreshed_at or floor)) for h in stale]
    refreshed, failed = _refresh_each(pairs, now)
    return RefreshReport(refreshed, failed)
