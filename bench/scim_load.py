"""Side-by-side SCIM load benchmark: Rollcall vs a django-scim2 peer, measured in one run.

Both apps run under the same HTTP server configuration (config.webserver) on the same PostgreSQL server and are driven
by the same client (fixed thread count, one keep-alive httpx.Client per thread), in alternating
rounds (each scenario on one app, then on the other). Prints median req/s per side, the ratio of
the medians and the group-size p99 experiment; writes
bench/results/scim_load.json. See bench/README.md.

    python bench/scim_load.py [--users N] [--quick] [--rounds R] [--only peer|rollcall] [--concurrency 8]
                              [--web-only]

By default Rollcall runs as `make run` deploys it: web server, Celery worker and beat, so the side
effects of every change (welcome email, role recompute) are handled on the same cores while the
load runs; the summary reports the worker's CPU seconds per 1,000 events. `--web-only` runs the web
server alone (events accumulate in the outbox), as earlier versions of this benchmark did.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import platform
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import httpx
from scimload.infra import (
    PYTHON,
    RESULTS_DIR,
    ROOT,
    SERVER_DESCRIPTION,
    BenchError,
    Postgres,
    Redis,
    child_env,
    redact,
    run_command,
)
from scimload.load import ScenarioResult
from scimload.report import (
    SCALING_GOAL,
    THROUGHPUT_GOALS,
    TargetReport,
    comparison,
    print_flags,
    print_notes,
    print_pipeline,
    print_scaling,
    print_table,
    write_json,
)
from scimload.scenarios import SCENARIOS, BenchConfig, RunState, clean_up, group_scaling, warm_up
from scimload.targets import FloorTarget, PeerTarget, PipelineSample, RollcallTarget, Target


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--users",
        type=int,
        default=None,
        help="users created by the create scenario (default 2000, --quick 300)",
    )
    parser.add_argument("--quick", action="store_true", help="small smoke run, 2 rounds (about 5 minutes)")
    parser.add_argument("--rounds", type=int, default=None, help="alternating rounds (default 3, --quick 2)")
    parser.add_argument("--only", choices=("peer", "rollcall"), help="run one app only")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads (default 8)")
    parser.add_argument("--web-only", action="store_true", help="run Rollcall without its worker and beat")
    parser.add_argument("--no-floor", action="store_true", help="leave out the floor (bare WSGI + raw SQL)")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "scim_load.json")
    args = parser.parse_args(argv)
    if args.users is not None and not 1 <= args.users <= 100_000:
        parser.error("--users must be between 1 and 100000")
    if args.rounds is not None and not 1 <= args.rounds <= 20:
        parser.error("--rounds must be between 1 and 20")
    if not 1 <= args.concurrency <= 64:
        parser.error("--concurrency must be between 1 and 64")
    return args


def rollcall_unavailable(postgres: Postgres, redis: Redis) -> str | None:
    """Why Rollcall cannot be benchmarked yet (its CLI is still being built), or None."""
    command = ROOT / "tenants" / "management" / "commands" / "rollcall_tenant.py"
    if not command.exists():
        return f"{command.relative_to(ROOT)} does not exist yet"
    env = child_env(DATABASE_URL=postgres.url, REDIS_URL=redis.url, DJANGO_SETTINGS_MODULE="config.settings")
    try:
        run_command([PYTHON, str(ROOT / "manage.py"), "rollcall_tenant", "--help"], env, timeout=120)
    except BenchError as exc:
        return f"`manage.py rollcall_tenant --help` does not work: {exc}"
    return None


def _progress(label: str, number: int, result: ScenarioResult) -> None:
    flag = f"  !! {result.error_count} failed: {dict(result.errors)}" if result.error_count else ""
    print(
        f"  r{number} {label:<9} {result.name:<20} {result.rps:9.1f} req/s  p50 {result.percentile(50):8.1f} ms"
        f"  p99 {result.percentile(99):8.1f} ms  ({result.requests} req, {result.wall_s:.1f} s){flag}",
        flush=True,
    )


def _fail(report: TargetReport, exc: Exception) -> None:
    report.failure = f"{type(exc).__name__}: {exc}"
    print(f"!! {report.label}: {report.failure}", flush=True)


def start_target(target: Target, report: TargetReport, cfg: BenchConfig) -> None:
    """Fresh database, migrations, HTTP server, warm-up. Both apps stay up; only one is loaded at a time."""
    started = time.perf_counter()
    print(f"\n== {target.label}: set-up (fresh database, migrations, HTTP server)", flush=True)
    try:
        target.start()
        report.server_argv = target.server_argv
        print(f"   serving {target.endpoint.base_url} in {time.perf_counter() - started:.0f} s", flush=True)
        warm_up(target.endpoint, cfg)
    except (BenchError, httpx.HTTPError) as exc:
        _fail(report, exc)
    report.duration_s += time.perf_counter() - started


def run_rounds(targets: list[Target], reports: dict[str, TargetReport], cfg: BenchConfig) -> None:
    """cfg.rounds passes; in each, every scenario runs on one app, then at once on the other.

    Pairing the apps per scenario and swapping who goes first every round keeps a slow stretch of
    the machine (other load, autovacuum) from landing on one side only. Each pass has its own names.
    """
    pipelines = {t.name: t for t in targets if isinstance(t, RollcallTarget) and t.with_pipeline}
    first = {name: t.wait_for_pipeline() for name, t in pipelines.items()}  # seeding's events handled first
    max_backlog = dict.fromkeys(pipelines, 0)
    for number in range(1, cfg.rounds + 1):
        order = targets if number % 2 else list(reversed(targets))
        print(
            f"\n== round {number}/{cfg.rounds}: {' then '.join(t.label for t in order)} per scenario",
            flush=True,
        )
        states = {t.name: RunState(prefix=f"r{number}") for t in order}
        for scenario in SCENARIOS:
            for target in order:
                report = reports[target.name]
                if report.failure:
                    continue
                started = time.perf_counter()
                try:
                    result = scenario(target, cfg, states[target.name])
                except (BenchError, httpx.HTTPError) as exc:
                    _fail(report, exc)
                    continue
                finally:
                    report.duration_s += time.perf_counter() - started
                report.scenarios.setdefault(result.name, []).append(result)
                _progress(target.name, number, result)
                if target.name in pipelines:
                    sample = pipelines[target.name].pipeline_sample()
                    if sample is not None:
                        max_backlog[target.name] = max(max_backlog[target.name], sample.pending)
        for target in order:
            if not reports[target.name].failure:
                try:
                    clean_up(target, cfg, states[target.name])
                except (BenchError, httpx.HTTPError) as exc:
                    _fail(reports[target.name], exc)
    for name, target in pipelines.items():
        start = first[name]
        if start is not None and not reports[name].failure:
            reports[name].pipeline = pipeline_figures(target, start, max_backlog[name])


def pipeline_figures(target: RollcallTarget, start: PipelineSample, max_backlog: int) -> dict[str, float]:
    """The worker's CPU per 1,000 events over the rounds, once it has handled every event they made."""
    load_ended = time.perf_counter()
    end = target.wait_for_pipeline()
    assert end is not None
    events = end.last_seq - start.last_seq
    cpu = end.cpu_seconds - start.cpu_seconds
    return {
        "events": events,
        "cpu_seconds": round(cpu, 2),
        "cpu_seconds_per_1000_events": round(1000 * cpu / events, 3) if events else 0.0,
        "max_backlog": max_backlog,
        "drain_seconds": round(time.perf_counter() - load_ended, 1),
        "pending_at_end": end.pending,
    }


def run_scaling(target: Target, report: TargetReport, cfg: BenchConfig) -> None:
    if report.failure:
        return
    started = time.perf_counter()
    print(
        f"  {target.name:<9} group scaling: seeding {cfg.scale_large + cfg.batch} users and two groups ...",
        flush=True,
    )
    try:
        report.scaling = group_scaling(target, cfg)
    except (BenchError, httpx.HTTPError) as exc:
        _fail(report, exc)
    report.duration_s += time.perf_counter() - started


def run_all(targets: list[Target], cfg: BenchConfig) -> dict[str, TargetReport]:
    reports = {t.name: TargetReport(t.name, t.label, t.seeding) for t in targets}
    try:
        for target in targets:
            start_target(target, reports[target.name], cfg)
        run_rounds(targets, reports, cfg)
        print("\n== group-size scaling (sequential requests, one app at a time)", flush=True)
        for target in targets:
            run_scaling(target, reports[target.name], cfg)
    finally:
        for target in targets:
            target.stop()
    for target in targets:
        reports[target.name].seeding = target.seeding
    return reports


def select_targets(
    only: str | None, postgres: Postgres, *, with_pipeline: bool = True, with_floor: bool = True
) -> tuple[list[Target], dict[str, str]]:
    """The apps to run (floor, peer, Rollcall), and the ones skipped with the reason."""
    targets: list[Target] = [FloorTarget(postgres)] if with_floor and only is None else []
    skipped: dict[str, str] = {}
    if only != "rollcall":
        targets.append(PeerTarget(postgres))
    if only != "peer":
        redis = Redis()
        redis.start()
        reason = rollcall_unavailable(postgres, redis)
        if reason:
            skipped["rollcall"] = reason
            print(f"!! skipping Rollcall: {reason}")
        else:
            targets.append(RollcallTarget(postgres, redis, with_pipeline=with_pipeline))
    return targets, skipped


def print_summary(cfg: BenchConfig, reports: list[TargetReport], rows: list[dict[str, Any]]) -> None:
    if not reports:
        return
    print(
        f"\nSCIM load: {cfg.users} users, {cfg.concurrency} client threads, {cfg.rounds} alternating rounds,"
        f" {SERVER_DESCRIPTION}"
    )
    print(
        "req/s and p99 = median over the rounds; ratio = median Rollcall req/s / median peer req/s"
        " (n/a when any round of either side had errors); rounds min-max = the per-round ratios;"
        " Rollcall/floor = Rollcall's median over the floor's (bench/floor: bare WSGI + raw SQL)\n"
    )
    print_table(rows)
    print_scaling(reports)
    print_pipeline(reports)
    print_notes(reports)
    print_flags(reports)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")  # pgserver's lock dir, harmless
    cfg = BenchConfig.build(args.users, args.quick)
    cfg = dataclasses.replace(cfg, concurrency=args.concurrency, rounds=args.rounds or cfg.rounds)
    postgres = Postgres()
    postgres.start()
    server = "embedded pgserver (.data/bench-pg)" if postgres.embedded else redact(postgres.url)
    version = postgres.version()
    print(f"PostgreSQL {version} at {server}; {os.cpu_count()} CPUs; client threads: {cfg.concurrency}")

    targets, skipped = select_targets(
        args.only, postgres, with_pipeline=not args.web_only, with_floor=not args.no_floor
    )
    reports = run_all(targets, cfg)
    rows = comparison(reports.get("peer"), reports.get("rollcall"), reports.get("floor"))
    print_summary(cfg, list(reports.values()), rows)
    for name, reason in skipped.items():
        print(f"!! {name} skipped: {reason}")

    write_json(
        args.output,
        {
            "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
            "postgres": {"server": server, "version": version},
            "config": dataclasses.asdict(cfg),
            "server": SERVER_DESCRIPTION,
            "goals": {"throughput_ratio": THROUGHPUT_GOALS, "scaling_p99_ratio_max": SCALING_GOAL},
            "targets": {name: report.to_json() for name, report in reports.items()},
            "skipped": skipped,
            "comparison": rows,
        },
    )
    print(f"\nwrote {args.output}")
    return 1 if skipped or any(r.failure for r in reports.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
