"""Process-independent metrics kept in Redis and rendered in Prometheus text format.

Web processes and Celery workers are separate processes (and, in production, machines), so
counters and histograms live in Redis hashes; /metrics reads them back. Recording is one
pipelined round trip and never raises: metrics must not break a request.
"""

from __future__ import annotations

import bisect
import logging
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


def _parse_labels(raw: str) -> dict[str, str]:
    if not raw:
        return {}
    return dict(part.split("=", 1) for part in raw.split(","))


@dataclass(frozen=True)
class Counter:
    name: str
    help: str

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        record([(self, labels, amount)])


@dataclass(frozen=True)
class Gauge:
    name: str
    help: str

    def set(self, value: float, **labels: str) -> None:
        try:
            redis_client().hset(PREFIX + self.name, _labels_key(labels), value)
        except redis.RedisError:
            log.warning("metrics: redis unavailable, gauge %s dropped", self.name)


@dataclass(frozen=True)
class Histogram:
    name: str
    help: str
    buckets: Sequence[float]

    def observe(self, value: float, **labels: str) -> None:
        record([(self, labels, value)])


def record(samples: Iterable[tuple[Counter | Histogram, dict[str, str], float]]) -> None:
    """Record several samples in one Redis round trip."""
    try:
        pipe = redis_client().pipeline(transaction=False)
        for metric, labels, value in samples:
            key = PREFIX + metric.name
            lk = _labels_key(labels)
            if isinstance(metric, Counter):
                pipe.hincrbyfloat(key, lk, value)
            else:
                index = bisect.bisect_left(list(metric.buckets), value)
                bucket = str(metric.buckets[index]) if index < len(metric.buckets) else "+Inf"
                pipe.hincrbyfloat(key, f"{lk}|{bucket}", 1)
                pipe.hincrbyfloat(key, f"{lk}|_sum", value)
        pipe.execute()
    except redis.RedisError:
        log.warning("metrics: redis unavailable, samples dropped")


LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LONG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0)

SCIM_REQUESTS = Counter("rollcall_scim_requests_total", "SCIM requests by IdP, method, resource and status")
SCIM_LATENCY = Histogram("rollcall_scim_request_seconds", "SCIM request latency", LATENCY_BUCKETS)
EVENTS_PENDING = Gauge("rollcall_events_pending", "Outbox events not yet handled, per tenant")
DISPATCH_LAG = Histogram("rollcall_event_dispatch_lag_seconds", "Event commit to handled", LONG_BUCKETS)
HANDLER_FAILURES = Counter("rollcall_handler_failures_total", "Event handler failures by handler")
EVENTS_HANDLED = Counter("rollcall_events_handled_total", "Events handled by type")
DEPROVISION_LATENCY = Histogram(
    "rollcall_deprovision_latency_seconds", "SCIM deactivate/delete request to access removed", LONG_BUCKETS
)
WEBHOOK_DELIVERIES = Counter("rollcall_webhook_deliveries_total", "Webhook delivery attempts by outcome")

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
                gauge = GaugeMetricFamily(metric.name, metric.help)
                for lk, value in sorted(raw.items()):
                    gauge.add_sample(metric.name, _parse_labels(lk), value)
                yield gauge
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
