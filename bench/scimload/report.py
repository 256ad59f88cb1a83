"""Side-by-side table on stdout and bench/results/scim_load.json."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scimload.load import ScenarioResult
from scimload.scenarios import ScalingResult

# Rollcall / peer throughput the issue asks for, per scenario.
THROUGHPUT_GOALS = {
    "create": 2.0,
    "filter": 2.0,
    "paginate": 10.0,
    "patch_user": 2.0,
    "group_add": 10.0,
    "group_remove_filter": 10.0,
    "group_remove_list": 10.0,
    "delete": 2.0,
}
SCALING_GOAL = 1.5  # Rollcall's p99 on the large group at most this times its p99 on the small one


@dataclass
class TargetReport:
    name: str
    label: str
    seeding: str = ""
    scenarios: dict[str, list[ScenarioResult]] = field(default_factory=dict)  # one result per round
    scaling: ScalingResult | None = None
    failure: str | None = None
    server_argv: list[str] = field(default_factory=list)
    duration_s: float = 0.0
    pipeline: dict[str, float] | None = None  # the worker's CPU per 1000 events (Rollcall with its pipeline)

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "failure": self.failure,
            "seeding": self.seeding,
            "server_argv": self.server_argv,
            "duration_s": round(self.duration_s, 1),
            "scenarios": {name: [r.to_json() for r in rounds] for name, rounds in self.scenarios.items()},
            "group_scaling": self.scaling.to_json() if self.scaling else None,
            "pipeline": self.pipeline,
        }


@dataclass(frozen=True)
class Summary:
    """One app's results for one scenario across the rounds: medians of the per-round values."""

    rounds: list[ScenarioResult]

    @property
    def rps(self) -> float:
        return statistics.median(r.rps for r in self.rounds)

    @property
    def p99(self) -> float:
        return statistics.median(r.percentile(99) for r in self.rounds)

    @property
    def error_count(self) -> int:
        return sum(r.error_count for r in self.rounds)


def _summary(report: TargetReport | None, name: str) -> Summary | None:
    rounds = report.scenarios.get(name) if report else None
    return Summary(rounds) if rounds else None


def _ratio(peer: Summary | None, rollcall: Summary | None) -> float | None:
    """Median Rollcall req/s over median peer req/s, only when no round of either side had a failure."""
    if not peer or not rollcall or peer.error_count or rollcall.error_count or peer.rps <= 0:
        return None
    return rollcall.rps / peer.rps


def _round_ratios(peer: Summary | None, rollcall: Summary | None) -> list[float]:
    """Rollcall/peer per round (rounds are paired: both apps ran the scenario back to back)."""
    if not peer or not rollcall:
        return []
    return [r.rps / p.rps for p, r in zip(peer.rounds, rollcall.rounds, strict=False) if p.rps > 0]


def comparison(
    peer: TargetReport | None, rollcall: TargetReport | None, floor: TargetReport | None = None
) -> list[dict[str, Any]]:
    rows = []
    for name, goal in THROUGHPUT_GOALS.items():
        p = _summary(peer, name)
        r = _summary(rollcall, name)
        f = _summary(floor, name)
        ratio = _ratio(p, r)
        of_floor = _ratio(f, r)
        per_round = _round_ratios(p, r)
        rows.append(
            {
                "scenario": name,
                "rounds": min(len(p.rounds) if p else 0, len(r.rounds) if r else 0),
                "peer_rps": round(p.rps, 2) if p else None,
                "rollcall_rps": round(r.rps, 2) if r else None,
                "ratio": None if ratio is None else round(ratio, 2),
                "round_ratios": [round(x, 2) for x in per_round],
                "goal": goal,
                "met": None if ratio is None else ratio >= goal,
                "peer_p99_ms": round(p.p99, 1) if p else None,
                "rollcall_p99_ms": round(r.p99, 1) if r else None,
                "peer_errors": p.error_count if p else None,
                "rollcall_errors": r.error_count if r else None,
                "floor_rps": round(f.rps, 2) if f else None,
                "rollcall_of_floor": None if of_floor is None else round(of_floor, 2),
            }
        )
    return rows


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def _errors_cell(count: int | None) -> str:
    return "-" if count is None else (f"{count} !" if count else "0")


def print_table(rows: list[dict[str, Any]]) -> None:
    header = (
        "scenario",
        "peer req/s",
        "Rollcall req/s",
        "ratio",
        "rounds min-max",
        "goal",
        "met",
        "peer p99 ms",
        "Rollcall p99 ms",
        "err peer",
        "err Rollcall",
        "floor req/s",
        "Rollcall/floor",
    )
    lines = [header]
    for row in rows:
        ratio = (
            _fmt(row["ratio"], 2) + "x"
            if row["ratio"] is not None
            else ("n/a (errors)" if (row["peer_errors"] or row["rollcall_errors"]) else "-")
        )
        lines.append(
            (
                row["scenario"],
                _fmt(row["peer_rps"]),
                _fmt(row["rollcall_rps"]),
                ratio,
                (
                    f"{min(row['round_ratios']):.2f}-{max(row['round_ratios']):.2f}x"
                    if row["round_ratios"]
                    else "-"
                ),
                f">={row['goal']:g}x",
                _fmt(row["met"]),
                _fmt(row["peer_p99_ms"]),
                _fmt(row["rollcall_p99_ms"]),
                _errors_cell(row["peer_errors"]),
                _errors_cell(row["rollcall_errors"]),
                _fmt(row["floor_rps"]),
                "-" if row["rollcall_of_floor"] is None else f"{row['rollcall_of_floor']:.2f}x",
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for n, line in enumerate(lines):
        print(
            "  ".join(
                cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(line)
            )
        )
        if n == 0:
            print("  ".join("-" * w for w in widths))


def print_scaling(reports: list[TargetReport]) -> None:
    ran = [(r.label, r.scaling) for r in reports if r.scaling]
    if not ran:
        return
    first = ran[0][1]
    print(
        f"\nGroup-size scaling: {first.batch}-member PATCH on a {first.small:,} vs a {first.large:,} member group "
        f"({first.rounds} sequential add+remove rounds per size; groups seeded untimed)"
    )
    label_width, cell_width = 20, 34
    print(" " * label_width + "".join(f"{label:>{cell_width}}" for label, _ in ran))
    for key in first.series:
        cells = [_latency_cell(scaling.series[key].to_json()) for _, scaling in ran]
        print(f"{'  ' + key:<{label_width}}" + "".join(f"{c:>{cell_width}}" for c in cells))
    for op in ("add", "remove"):
        ratios = [scaling.ratio(op) for _, scaling in ran]
        cells = ["-" if r is None else f"{r:.2f}x" for r in ratios]
        label = f"  p99 {op} {first.large // 1000}k/{first.small // 1000}k"
        print(
            f"{label:<{label_width}}"
            + "".join(f"{c:>{cell_width}}" for c in cells)
            + f"   (goal: Rollcall <= {SCALING_GOAL}x)"
        )
    for label, scaling in ran:
        print(f"  {label} seeding: {scaling.seeding} ({scaling.seed_s:.1f} s, untimed)")


def _latency_cell(stats: dict[str, Any]) -> str:
    err = f" ({stats['errors']} err !)" if stats["errors"] else ""
    return f"p50 {stats['p50_ms']:>8.1f}  p99 {stats['p99_ms']:>8.1f}{err}"


def print_flags(reports: list[TargetReport]) -> None:
    for report in reports:
        if report.failure:
            print(f"\n!! {report.label} did not complete: {report.failure}")
        for number, result in _each_round(report):
            if result.error_count:
                kinds = ", ".join(f"{kind} x{n}" for kind, n in result.errors.most_common())
                print(
                    f"!! {report.label} {result.name} round {number}: "
                    f"{result.error_count}/{result.requests} requests failed ({kinds})"
                )


def print_pipeline(reports: list[TargetReport]) -> None:
    for report in reports:
        figures = report.pipeline
        if not figures:
            continue
        print(
            f"\n{report.label}: worker + beat used {figures['cpu_seconds']:.1f} CPU s for {int(figures['events'])} events"
            f" = {figures['cpu_seconds_per_1000_events']:.2f} CPU s per 1,000 events; largest backlog at the end of"
            f" a scenario {int(figures['max_backlog'])} events, drained {figures['drain_seconds']:.1f} s after the last"
        )


def print_notes(reports: list[TargetReport]) -> None:
    for report in reports:
        for number, result in _each_round(report):
            for note in result.notes:
                print(f"   {report.label} {result.name} round {number}: {note}")


def _each_round(report: TargetReport) -> list[tuple[int, ScenarioResult]]:
    return [
        (number, result)
        for rounds in report.scenarios.values()
        for number, result in enumerate(rounds, start=1)
    ]


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n")
