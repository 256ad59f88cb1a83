"""The benchmark scenarios. Each sends a bounded list of SCIM calls at fixed concurrency.

Order matters: users created by `create` are filtered, paged, patched, put into groups and
finally deleted. The group-scaling experiment runs last on its own seeded users.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from scimload.infra import BenchError
from scimload.load import Call, Endpoint, Outcome, ScenarioResult, percentile, run_calls
from scimload.payloads import (
    group_payload,
    member_filter_removal,
    member_patch,
    user_name,
    user_patch,
    user_payload,
)
from scimload.targets import Target


@dataclass(frozen=True)
class BenchConfig:
    users: int = 2000
    concurrency: int = 8
    min_page_requests: int = 100  # full sweeps over /Users are repeated until at least this many pages
    page_size: int = 100
    groups: int = 8  # groups filled concurrently in the membership scenario
    group_size: int = 1000
    batch: int = 100  # members per membership PATCH
    removals_per_group: int = 200  # per removal scenario
    remove_ops_per_request: int = 10
    scale_small: int = 1000
    scale_large: int = 10000
    scale_rounds: int = 40  # add+remove pairs per group size in the scaling experiment
    warmup_requests: int = 50
    rounds: int = 3  # alternating peer/Rollcall passes over the scenarios; medians are reported

    @classmethod
    def build(cls, users: int | None, quick: bool) -> BenchConfig:
        if quick:
            return cls(
                users=users or 300,
                min_page_requests=30,
                groups=2,
                removals_per_group=100,
                scale_rounds=8,
                rounds=2,
            )
        return cls(users=users or 2000)


@dataclass
class RunState:
    """What one pass over the scenarios created on one app; `prefix` keeps each pass's names unique."""

    prefix: str = "bench"
    user_ids: list[str] = field(default_factory=list)
    user_names: list[str] = field(default_factory=list)
    pool: list[str] = field(default_factory=list)  # group members, the first group_size users
    seeded: list[str] = field(default_factory=list)  # pool users seeded untimed; removed by clean_up
    groups: list[str] = field(default_factory=list)


Scenario = Callable[[Target, BenchConfig, RunState], ScenarioResult]


def _json(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    return body if isinstance(body, dict) else {}


def _created_id(response: httpx.Response) -> str:
    return str(_json(response)["id"])


def warm_up(endpoint: Endpoint, cfg: BenchConfig) -> None:
    """Untimed: load code paths and open connections in every worker thread."""
    calls = [Call("GET", "ServiceProviderConfig") for _ in range(cfg.warmup_requests)]
    calls += [Call("GET", "Users", params={"count": 1}) for _ in range(cfg.warmup_requests)]
    run_calls(endpoint, calls, cfg.concurrency, name="warmup", description="")


def create_users(target: Target, cfg: BenchConfig, state: RunState) -> ScenarioResult:
    calls = [
        Call("POST", "Users", user_payload(state.prefix, i), extract=_created_id) for i in range(cfg.users)
    ]
    result, outcomes = run_calls(
        target.endpoint, calls, cfg.concurrency, name="create", description=f"POST /Users x {cfg.users}"
    )
    for index, outcome in enumerate(outcomes):
        if outcome.ok:
            state.user_ids.append(outcome.value)
            state.user_names.append(user_name(state.prefix, index))
    return result


def _expect_total(expected: int) -> Callable[[httpx.Response], str | None]:
    def check(response: httpx.Response) -> str | None:
        total = _json(response).get("totalResults")
        return None if total == expected else f"totalResults {total}, expected {expected}"

    return check


def filter_users(target: Target, cfg: BenchConfig, state: RunState) -> ScenarioResult:
    """N lookups by userName: even ones hit an existing user, odd ones miss."""
    existing = state.user_names
    calls = []
    for i in range(cfg.users):
        hit = i % 2 == 0 and bool(existing)
        name = existing[(i * 7) % len(existing)] if hit else user_name(f"{state.prefix}-missing", i)
        calls.append(
            Call("GET", "Users", params={"filter": f'userName eq "{name}"'}, check=_expect_total(int(hit)))
        )
    result, _ = run_calls(
        target.endpoint,
        calls,
        cfg.concurrency,
        name="filter",
        description=f'GET /Users?filter=userName eq "..." x {len(calls)}, half hits',
    )
    return result


def _expect_page(start: int, total: int, size: int) -> Callable[[httpx.Response], str | None]:
    expected = max(0, min(size, total - start + 1))

    def check(response: httpx.Response) -> str | None:
        body = _json(response)
        got = len(body.get("Resources") or [])
        if got != expected or body.get("totalResults") != total:
            return f"page at {start}: {got} items / total {body.get('totalResults')}, expected {expected} / {total}"
        return None

    return check


def paginate_users(target: Target, cfg: BenchConfig, state: RunState) -> ScenarioResult:
    total = len(state.user_ids)
    starts = list(range(1, total + 1, cfg.page_size)) or [1]
    sweeps = max(1, math.ceil(cfg.min_page_requests / len(starts)))
    calls = [
        Call(
            "GET",
            "Users",
            params={"startIndex": start, "count": cfg.page_size},
            check=_expect_page(start, total, cfg.page_size),
        )
        for _ in range(sweeps)
        for start in starts
    ]
    result, _ = run_calls(
        target.endpoint,
        calls,
        cfg.concurrency,
        name="paginate",
        description=f"GET /Users?startIndex=..&count={cfg.page_size}: {sweeps} sweep(s) over {total} users",
    )
    return result


def patch_users(target: Target, cfg: BenchConfig, state: RunState) -> ScenarioResult:
    calls = [Call("PATCH", f"Users/{uid}", user_patch(i)) for i, uid in enumerate(state.user_ids)]
    result, _ = run_calls(
        target.endpoint,
        calls,
        cfg.concurrency,
        name="patch_user",
        description=f"PATCH /Users/{{id}} x {len(calls)}: replace name.givenName | active=false",
    )
    return result


def _ensure_pool(target: Target, cfg: BenchConfig, state: RunState) -> list[str]:
    pool = state.user_ids[: cfg.group_size]
    if len(pool) < cfg.group_size:
        state.seeded = target.seed_users(f"{state.prefix}-pool", cfg.group_size - len(pool))
        pool += state.seeded
    return pool


def _create_groups(endpoint: Endpoint, names: list[str]) -> list[str]:
    calls = [Call("POST", "Groups", group_payload(name), extract=_created_id) for name in names]
    result, outcomes = run_calls(endpoint, calls, 1, name="create groups", description="")
    if result.error_count:
        raise BenchError(f"creating groups failed: {dict(result.errors)}")
    return [str(o.value) for o in outcomes]


def _member_counts(endpoint: Endpoint, groups: list[str]) -> list[int | None]:
    counts: list[int | None] = []
    with endpoint.client() as client:
        for group in groups:
            response = client.get(f"Groups/{group}")
            members = _json(response).get("members") if response.is_success else None
            counts.append(len(members) if isinstance(members, list) else None)
    return counts


def group_add(target: Target, cfg: BenchConfig, state: RunState) -> ScenarioResult:
    """Fill `groups` groups to group_size members with PATCH adds of `batch`, round-robin across groups."""
    seeded = max(0, cfg.group_size - len(state.user_ids))
    state.pool = _ensure_pool(target, cfg, state)
    state.groups = _create_groups(target.endpoint, [f"{state.prefix}-group-{g}" for g in range(cfg.groups)])
    batches = [state.pool[i : i + cfg.batch] for i in range(0, cfg.group_size, cfg.batch)]
    calls = [
        Call("PATCH", f"Groups/{group}", member_patch("add", batch))
        for batch in batches
        for group in state.groups
    ]
    result, _ = run_calls(
        target.endpoint,
        calls,
        cfg.concurrency,
        name="group_add",
        description=f"PATCH /Groups add {cfg.batch} members/request until {cfg.groups} groups have {cfg.group_size}",
    )
    if seeded:
        result.notes.append(
            f"{seeded} of the {cfg.group_size} pool users were seeded untimed ({target.seeding})"
        )
    result.notes.append(
        f"members afterwards (GET /Groups/id): {_member_counts(target.endpoint, state.groups)}"
    )
    return result


def _removal_calls(
    cfg: BenchConfig, state: RunState, members: list[str], body: Callable[[list[str]], Any]
) -> list[Call]:
    step = cfg.remove_ops_per_request
    chunks = [members[i : i + step] for i in range(0, len(members), step)]
    return [Call("PATCH", f"Groups/{group}", body(chunk)) for chunk in chunks for group in state.groups]


def group_remove_filter(target: Target, cfg: BenchConfig, state: RunState) -> ScenarioResult:
    members = state.pool[: cfg.removals_per_group]
    calls = _removal_calls(cfg, state, members, member_filter_removal)
    result, _ = run_calls(
        target.endpoint,
        calls,
        cfg.concurrency,
        name="group_remove_filter",
        description=f'PATCH /Groups remove members[value eq "id"], {cfg.remove_ops_per_request} ops/request',
    )
    return result


def group_remove_list(target: Target, cfg: BenchConfig, state: RunState) -> ScenarioResult:
    members = state.pool[cfg.removals_per_group : 2 * cfg.removals_per_group]
    calls = _removal_calls(cfg, state, members, lambda chunk: member_patch("remove", chunk))
    result, _ = run_calls(
        target.endpoint,
        calls,
        cfg.concurrency,
        name="group_remove_list",
        description=f'PATCH /Groups remove path "members" value [{cfg.remove_ops_per_request} ids]/request',
    )
    result.notes.append(
        f"members afterwards (GET /Groups/id): {_member_counts(target.endpoint, state.groups)}"
    )
    return result


def delete_users(target: Target, cfg: BenchConfig, state: RunState) -> ScenarioResult:
    calls = [Call("DELETE", f"Users/{uid}") for uid in state.user_ids]
    result, _ = run_calls(
        target.endpoint,
        calls,
        cfg.concurrency,
        name="delete",
        description=f"DELETE /Users/{{id}} x {len(calls)}",
    )
    return result


def clean_up(target: Target, cfg: BenchConfig, state: RunState) -> None:
    """Untimed: delete the users seeded for the groups, so the next round pages over its own users only."""
    calls = [Call("DELETE", f"Users/{uid}") for uid in state.seeded]
    result, _ = run_calls(target.endpoint, calls, cfg.concurrency, name="clean-up", description="")
    if result.error_count:
        raise BenchError(
            f"deleting {len(calls)} seeded users: {result.error_count} failed: {dict(result.errors)}"
        )


SCENARIOS: tuple[Scenario, ...] = (
    create_users,
    filter_users,
    paginate_users,
    patch_users,
    group_add,
    group_remove_filter,
    group_remove_list,
    delete_users,
)


# -- Group-size scaling: p99 of a 100-member PATCH on a 1k vs a 10k member group ------------------


@dataclass
class LatencySeries:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0

    def add(self, outcome: Outcome) -> None:
        self.latencies_ms.append(outcome.latency_ms)
        self.errors += not outcome.ok

    def to_json(self) -> dict[str, Any]:
        return {
            "n": len(self.latencies_ms),
            "errors": self.errors,
            "p50_ms": round(percentile(self.latencies_ms, 50), 2),
            "p99_ms": round(percentile(self.latencies_ms, 99), 2),
        }


@dataclass
class ScalingResult:
    small: int
    large: int
    batch: int
    rounds: int
    seed_s: float
    seeding: str
    series: dict[str, LatencySeries]  # keys like "add@1000", "remove@10000"

    def p99(self, op: str, size: int) -> float:
        return percentile(self.series[f"{op}@{size}"].latencies_ms, 99)

    def ratio(self, op: str) -> float | None:
        small = self.p99(op, self.small)
        return self.p99(op, self.large) / small if small > 0 else None

    @property
    def errors(self) -> int:
        return sum(s.errors for s in self.series.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "group_sizes": [self.small, self.large],
            "members_per_patch": self.batch,
            "rounds": self.rounds,
            "seeding": self.seeding,
            "seed_s": round(self.seed_s, 1),
            "series": {key: s.to_json() for key, s in self.series.items()},
            "p99_ratio_large_vs_small": {op: _round(self.ratio(op)) for op in ("add", "remove")},
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def group_scaling(target: Target, cfg: BenchConfig) -> ScalingResult:
    """Seed a small and a large group (untimed), then alternate add/remove of the same 100 members.

    Each round patches the small group then the large one, so drift (autovacuum, caches) hits both
    sizes alike. Requests are sequential: this measures latency, not throughput.
    """
    started = time.perf_counter()
    ids = target.seed_users("scale", cfg.scale_large + cfg.batch)
    groups = {
        cfg.scale_small: target.seed_group(f"scale-{cfg.scale_small}", ids[: cfg.scale_small]),
        cfg.scale_large: target.seed_group(f"scale-{cfg.scale_large}", ids[: cfg.scale_large]),
    }
    seed_s = time.perf_counter() - started
    movers = ids[cfg.scale_large :]
    plan = [(op, size) for _ in range(cfg.scale_rounds) for size in groups for op in ("add", "remove")]
    calls = [Call("PATCH", f"Groups/{groups[size]}", member_patch(op, movers)) for op, size in plan]
    _, outcomes = run_calls(target.endpoint, calls, 1, name="group_scaling", description="")
    series = {f"{op}@{size}": LatencySeries() for size in groups for op in ("add", "remove")}
    for (op, size), outcome in zip(plan, outcomes, strict=True):
        series[f"{op}@{size}"].add(outcome)
    return ScalingResult(
        cfg.scale_small, cfg.scale_large, cfg.batch, cfg.scale_rounds, seed_s, target.seeding, series
    )
