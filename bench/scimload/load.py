"""The load runner: a fixed number of client threads, one keep-alive httpx.Client each."""

from __future__ import annotations

import itertools
import json
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

SCIM_JSON = "application/scim+json"
REQUEST_TIMEOUT = 120.0

# A check on a 2xx response: returns a short description of what is wrong, or None.
Check = Callable[[httpx.Response], str | None]
# Pulls what later scenarios need (e.g. a created id) out of a response.
Extract = Callable[[httpx.Response], Any]


@dataclass(frozen=True)
class Call:
    method: str
    path: str  # relative to the target's SCIM base URL, e.g. "Users/12"
    body: Any = None
    params: dict[str, str | int] | None = None
    check: Check | None = None
    extract: Extract | None = None


@dataclass
class Outcome:
    ok: bool
    latency_ms: float
    error: str | None = None
    value: Any = None


@dataclass
class ScenarioResult:
    name: str
    description: str
    requests: int
    ok: int
    wall_s: float
    latencies_ms: list[float] = field(repr=False)
    errors: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    @property
    def error_count(self) -> int:
        return self.requests - self.ok

    @property
    def rps(self) -> float:
        """Successful requests per second of wall time (failed requests do not count)."""
        return self.ok / self.wall_s if self.wall_s > 0 else 0.0

    def percentile(self, q: float) -> float:
        return percentile(self.latencies_ms, q)

    def to_json(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "requests": self.requests,
            "ok": self.ok,
            "errors": self.error_count,
            "error_kinds": dict(self.errors),
            "wall_s": round(self.wall_s, 3),
            "rps": round(self.rps, 2),
            "p50_ms": round(self.percentile(50), 2),
            "p99_ms": round(self.percentile(99), 2),
            "max_ms": round(max(self.latencies_ms, default=0.0), 2),
            "notes": self.notes,
        }


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Endpoint:
    """Where a target's SCIM API lives and how to authenticate to it."""

    base_url: str  # ends with "/"
    token: str

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {self.token}", "Accept": SCIM_JSON},
            timeout=REQUEST_TIMEOUT,
        )


def execute(client: httpx.Client, call: Call) -> Outcome:
    headers = {"Content-Type": SCIM_JSON} if call.body is not None else None
    content = json.dumps(call.body).encode() if call.body is not None else None
    started = time.perf_counter()
    try:
        response = client.request(
            call.method, call.path, params=call.params, content=content, headers=headers
        )
    except httpx.HTTPError as exc:
        return Outcome(False, (time.perf_counter() - started) * 1000, error=type(exc).__name__)
    latency = (time.perf_counter() - started) * 1000
    if not response.is_success:
        return Outcome(False, latency, error=f"HTTP {response.status_code}")
    problem = call.check(response) if call.check else None
    if problem:
        return Outcome(False, latency, error=f"wrong result: {problem}")
    try:
        value = call.extract(response) if call.extract else None
    except (ValueError, KeyError, TypeError) as exc:
        return Outcome(False, latency, error=f"unreadable response: {type(exc).__name__}")
    return Outcome(True, latency, value=value)


def run_calls(
    endpoint: Endpoint, calls: Sequence[Call], concurrency: int, *, name: str, description: str
) -> tuple[ScenarioResult, list[Outcome]]:
    """Send `calls` with `concurrency` threads (each takes the next call in order) and time the batch."""
    outcomes: list[Outcome | None] = [None] * len(calls)
    next_index = itertools.count()
    clients = [endpoint.client() for _ in range(max(1, min(concurrency, len(calls))))]

    def worker(client: httpx.Client) -> None:
        for index in next_index:
            if index >= len(calls):
                return
            outcomes[index] = execute(client, calls[index])

    threads = [threading.Thread(target=worker, args=(client,), daemon=True) for client in clients]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    for client in clients:
        client.close()

    done = [o if o is not None else Outcome(False, 0.0, error="not sent") for o in outcomes]
    result = ScenarioResult(
        name=name,
        description=description,
        requests=len(done),
        ok=sum(o.ok for o in done),
        wall_s=wall,
        latencies_ms=[o.latency_ms for o in done],
        errors=Counter(o.error for o in done if o.error),
    )
    return result, done
