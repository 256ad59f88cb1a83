"""Process-independent metrics kept in Redis and rendered in Prometheus text format.

Web processes and Celery workers are separate processes (and, in production, machines), so
counters and histograms live in Redis hashes; /metrics reads them back. Recording is one
pipelined round trip and never raises: metrics must not break a request. The SCIM hot path records
into a per-process buffer instead (`record_buffered`), written to Redis at most once a second.

Every label's values are bounded (issue 17: 300 requests with made-up HTTP methods grew /metrics
from 277 to 4,777 series). A label either lists its allowed values (request-driven ones: method,
status, resource) or takes values from code (handler names, event types, IdP keys), capped at
MAX_CODE_VALUES per label and process; anything else is recorded as "other". Per-tenant gauges are
kept per tenant in Redis but exposed only as totals: tenant schema names never leave the process.
"""

from __future__ import annotations

import atexit
import bisect
import logging
import os
import re
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import redis
from django.conf import settings
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

log = logging.getLogger(__name__)
PREFIX = "rollcall:metrics:"

_client: redis.Redis | None = None


def redis_client() -> redis.Redis:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1.0, socket_connect_timeout=1.0)
    return _client


def _labels_key(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


OTHER = "other"
MAX_CODE_VALUES = 64
_CODE_VALUE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
HTTP_STATUSES = frozenset(str(code) for code in range(100, 600))
SCIM_RESOURCES = frozenset({"User", "Group"})


@dataclass(frozen=True)
class Label:
    """A label and its values: `allowed` for values a client controls, None for values from code."""

    name: str
    allowed: frozenset[str] | None = None


_seen_lock = threading.Lock()
_seen: dict[tuple[str, str], set[str]] = {}


def _bounded_value(metric_name: str, label: Label, value: str) -> str:
    if label.allowed is not None:
        return value if value in label.allowed else OTHER
    if not _CODE_VALUE.match(value):
        return OTHER
    with _seen_lock:
        values = _seen.setdefault((metric_name, label.name), set())
        if value in values:
            return value
        if len(values) >= MAX_CODE_VALUES:
            return OTHER
        values.add(value)
    return value


def bounded_labels(metric_name: str, declared: Sequence[Label], labels: dict[str, str]) -> dict[str, str]:
    """Only the declared labels, each value within its bound."""
    by_name = {label.name: label for label in declared}
    return {name: _bounded_value(metric_name, by_name[name], str(value)) for name, value in labels.items() if name in by_name}


def _parse_labels(raw: str) -> dict[str, str]:
    if not raw:
        return {}
    return dict(part.split("=", 1) for part in raw.split(","))


@dataclass(frozen=True)
class Counter:
    name: str
    help: str
    labels: tuple[Label, ...] = ()

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        record([(self, labels, amount)])


@dataclass(frozen=True)
class Gauge:
    """A gauge set per `per` key (e.g. per tenant) and exposed as the total and the count of non-zero keys."""

    name: str
    help: str
    per: str

    def set(self, value: float, **labels: str) -> None:
        try:
            redis_client().hset(PREFIX + self.name, str(labels.get(self.per, "")), value)
        except redis.RedisError:
            log.warning("metrics: redis unavailable, gauge %s dropped", self.name)


@dataclass(frozen=True)
class Histogram:
    name: str
    help: str
    buckets: Sequence[float]
    labels: tuple[Label, ...] = ()

    def observe(self, value: float, **labels: str) -> None:
        record([(self, labels, value)])


Sample = tuple[Counter | Histogram, dict[str, str], float]


def _increments(samples: Iterable[Sample]) -> Iterable[tuple[str, str, float]]:
    """(hash key, field, amount) for each HINCRBYFLOAT the samples stand for."""
    for metric, labels, value in samples:
        key = PREFIX + metric.name
        lk = _labels_key(bounded_labels(metric.name, metric.labels, labels))
        if isinstance(metric, Counter):
            yield key, lk, value
        else:
            index = bisect.bisect_left(metric.buckets, value)
            bucket = str(metric.buckets[index]) if index < len(metric.buckets) else "+Inf"
            yield key, f"{lk}|{bucket}", 1.0
            yield key, f"{lk}|_sum", value


def _write(increments: Iterable[tuple[str, str, float]]) -> None:
    try:
        pipe = redis_client().pipeline(transaction=False)
        for key, field, amount in increments:
            pipe.hincrbyfloat(key, field, amount)
        pipe.execute()
    except redis.RedisError:
        log.warning("metrics: redis unavailable, samples dropped")


def record(samples: Iterable[Sample]) -> None:
    """Record several samples in one Redis round trip."""
    _write(_increments(samples))


# Buffered samples reach Redis within this long, or sooner once this many have accumulated.
FLUSH_INTERVAL_S = 1.0
FLUSH_EVERY = 1000


class _Buffer:
    """Per-process sums of buffered increments, written in one pipelined round trip when due.

    Due means FLUSH_EVERY samples or FLUSH_INTERVAL_S since the first unwritten one. The request
    thread that makes it due writes it; a one-shot timer covers a process that goes idle, and the
    buffer is written at exit and before this process serves /metrics.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Start empty; also used in a forked child, whose copy of the parent's buffer the parent writes."""
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, str], float] = {}
        self._samples = 0
        self._first_at = 0.0
        self._timer: threading.Timer | None = None

    def add(self, samples: Sequence[Sample]) -> None:
        now = time.monotonic()
        with self._lock:
            if not self._pending:
                self._first_at = now
                self._arm_timer()
            for key, field, amount in _increments(samples):
                self._pending[key, field] = self._pending.get((key, field), 0.0) + amount
            self._samples += len(samples)
            due = self._samples >= FLUSH_EVERY or now - self._first_at >= FLUSH_INTERVAL_S
        if due:
            self.flush()

    def _arm_timer(self) -> None:
        timer = threading.Timer(FLUSH_INTERVAL_S, self.flush)
        timer.daemon = True
        timer.start()
        self._timer = timer

    def flush(self) -> None:
        with self._lock:
            pending, self._pending, self._samples = self._pending, {}, 0
            timer, self._timer = self._timer, None
        if timer is not None and timer is not threading.current_thread():
            timer.cancel()
        if pending:
            _write((key, field, amount) for (key, field), amount in pending.items())


_buffer = _Buffer()
atexit.register(_buffer.flush)
os.register_at_fork(after_in_child=_buffer.reset)


def record_buffered(samples: Sequence[Sample]) -> None:
    """Record samples via this process's buffer: no Redis round trip on the caller's path."""
    _buffer.add(samples)


def flush() -> None:
    """Write this process's buffered samples to Redis now."""
    _buffer.flush()


LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LONG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0)

IDP = Label("idp")
METHOD = Label("method", HTTP_METHODS)
SCIM_REQUESTS = Counter(
    "rollcall_scim_requests_total",
    "SCIM requests by IdP, method, resource and status",
    (IDP, METHOD, Label("resource", SCIM_RESOURCES), Label("status", HTTP_STATUSES)),
)
SCIM_LATENCY = Histogram("rollcall_scim_request_seconds", "SCIM request latency", LATENCY_BUCKETS, (IDP, METHOD))
EVENTS_PENDING = Gauge("rollcall_events_pending", "Outbox events not yet handled (all tenants)", per="tenant")
DISPATCH_LAG = Histogram("rollcall_event_dispatch_lag_seconds", "Event commit to handled", LONG_BUCKETS)
HANDLER_FAILURES = Counter("rollcall_handler_failures_total", "Event handler failures by handler", (Label("handler"),))
EVENTS_HANDLED = Counter("rollcall_events_handled_total", "Events handled by type", (Label("type"),))
DEPROVISION_LATENCY = Histogram(
    "rollcall_deprovision_latency_seconds", "SCIM deactivate/delete request to access removed", LONG_BUCKETS
)
WEBHOOK_DELIVERIES = Counter(
    "rollcall_webhook_deliveries_total", "Webhook delivery attempts by outcome", (Label("outcome"),)
)

ALL_METRICS: tuple[Counter | Gauge | Histogram, ...] = (
    SCIM_REQUESTS,
    SCIM_LATENCY,
    EVENTS_PENDING,
    DISPATCH_LAG,
    HANDLER_FAILURES,
    EVENTS_HANDLED,
    DEPROVISION_LATENCY,
    WEBHOOK_DELIVERIES,
)


def _text(key: bytes | str) -> str:
    return key.decode() if isinstance(key, bytes) else key


class RedisCollector:
    """A prometheus_client collector that reads the Redis-held metrics."""

    def collect(self):  # type: ignore[no-untyped-def]
        flush()  # this process's own recent samples; other processes write theirs within a second
        client = redis_client()
        for metric in ALL_METRICS:
            raw = {_text(k): float(v) for k, v in client.hgetall(PREFIX + metric.name).items()}
            if isinstance(metric, Counter):
                family = CounterMetricFamily(metric.name.removesuffix("_total"), metric.help, labels=None)
                for lk, value in sorted(raw.items()):
                    labels = _parse_labels(lk)
                    family.add_sample(metric.name, labels, value)
                yield family
            elif isinstance(metric, Gauge):
                yield GaugeMetricFamily(metric.name, metric.help, value=sum(raw.values()))
                yield GaugeMetricFamily(
                    f"{metric.name}_{metric.per}s",
                    f"How many {metric.per}s have a non-zero {metric.name}",
                    value=sum(1 for v in raw.values() if v),
                )
            else:
                yield _histogram_family(metric, raw)


def _histogram_family(metric: Histogram, raw: dict[str, float]) -> HistogramMetricFamily:
    family = HistogramMetricFamily(metric.name, metric.help)
    series: dict[str, dict[str, float]] = {}
    for field, value in raw.items():
        lk, _, bucket = field.rpartition("|")
        series.setdefault(lk, {})[bucket] = value
    for lk, values in sorted(series.items()):
        labels = _parse_labels(lk)
        cumulative = 0.0
        buckets: list[tuple[str, float]] = []
        for bound in metric.buckets:
            cumulative += values.get(str(bound), 0.0)
            buckets.append((str(bound), cumulative))
        cumulative += values.get("+Inf", 0.0)
        buckets.append(("+Inf", cumulative))
        family.add_sample(metric.name + "_count", labels, cumulative)
        family.add_sample(metric.name + "_sum", labels, values.get("_sum", 0.0))
        for bound_text, count in buckets:
            family.add_sample(metric.name + "_bucket", {**labels, "le": bound_text}, count)
    return family
