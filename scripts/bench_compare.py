"""`python -m scripts.bench --compare A.json B.json`: B against A, operation by operation.

An operation has regressed when B is more than the threshold (10%) worse than A in
throughput (requests/s), p99 latency, or the net CPU per request of Anju, the database or
its backend (scripts/bench_analysis.py), or when its error rate grew; and Anju's idle line
is compared the same way. Differences under a floor (1 ms of p99, 0.05 ms of CPU per
request, 1 ms/s of idle CPU, half a request per second) are noise and never flagged.
Operations are matched by name (a name's "(N rooms)" part may differ). The table goes to
stdout; the exit status is 1 when something regressed, 0 otherwise. Runs that differ in
engine, scale, workers, concurrency or machine are compared all the same, with a warning."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.bench_analysis import net_ms
from scripts.bench_report import anju_idle

CPU_GROUPS = ("anju", "database", "db backend")


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    higher_is_better: bool
    floor: float  # an absolute difference smaller than this is noise


RPS = Metric("rps", "rps", True, 0.5)
P99 = Metric("p99_ms", "p99 ms", False, 1.0)
IDLE = Metric("idle", "idle ms/s", False, 1.0)
ERRORS = Metric("error_rate", "errors %", False, 1.0)


def cpu_metric(group: str) -> Metric:
    return Metric(f"cpu:{group}", f"{group} CPU ms/req", False, 0.05)


@dataclass
class Change:
    operation: str
    metric: Metric
    a: float
    b: float
    threshold: float

    @property
    def ratio(self) -> float | None:
        return (self.b - self.a) / self.a if self.a else None

    @property
    def worse(self) -> bool:
        delta = self.b - self.a if not self.metric.higher_is_better else self.a - self.b
        if delta <= self.metric.floor:
            return False
        if self.metric is ERRORS:  # percentage points
            return True
        return self.a == 0 or delta / self.a > self.threshold

    @property
    def better(self) -> bool:
        delta = self.a - self.b if not self.metric.higher_is_better else self.b - self.a
        return delta > self.metric.floor and (self.a == 0 or delta / self.a > self.threshold)


def _key(name: str) -> str:
    return re.sub(r"\s*\(\d+ rooms\)", "", name)


def _figures(report: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Operation -> metric key -> value, from a benchmark's JSON."""
    cpu = report.get("cpu_ms_per_request", {})
    out: dict[str, dict[str, float]] = {}
    for result in report.get("results", []):
        name = result["name"]
        figures = {"rps": float(result.get("rps", 0)), "p99_ms": float(result.get("p99_ms", 0))}
        if result.get("requests"):
            figures["error_rate"] = 100 * result.get("errors", 0) / result["requests"]
        for group in CPU_GROUPS:
            value = net_ms(cpu.get(name, {}), group)
            if value is not None:
                figures[f"cpu:{group}"] = value
        out[_key(name)] = figures
    idle = anju_idle(report.get("idle") or {})
    if idle is not None and idle.get("mean_ms_per_s") is not None:
        out["(idle)"] = {"idle": float(idle["mean_ms_per_s"])}
    return out


def compare(a: dict[str, Any], b: dict[str, Any], threshold: float = 0.10) -> list[Change]:
    fa, fb = _figures(a), _figures(b)
    metrics = [RPS, P99, ERRORS, IDLE, *(cpu_metric(g) for g in CPU_GROUPS)]
    out = []
    for op in fa:
        if op not in fb:
            continue
        for metric in metrics:
            if metric.key in fa[op] and metric.key in fb[op]:
                out.append(Change(op, metric, fa[op][metric.key], fb[op][metric.key], threshold))
    return out


def context_warnings(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    out = []
    for key in ("scale", "workers", "concurrency", "database"):
        if a.get(key) != b.get(key):
            out.append(f"{key} differs: {a.get(key)} against {b.get(key)}")
    cpus = (a.get("machine") or {}).get("cpus"), (b.get("machine") or {}).get("cpus")
    if cpus[0] != cpus[1]:
        out.append(f"cores differ: {cpus[0]} against {cpus[1]}")
    only_a = sorted(set(_figures(a)) - set(_figures(b)))
    only_b = sorted(set(_figures(b)) - set(_figures(a)))
    if only_a:
        out.append("only in A: " + ", ".join(only_a))
    if only_b:
        out.append("only in B: " + ", ".join(only_b))
    return out


def _describe(path: str, report: dict[str, Any]) -> str:
    git = report.get("git") or {}
    return (
        f"{path}: {report.get('when', '?')}, commit {git.get('commit', '?')[:12]}"
        f"{' (uncommitted changes)' if git.get('dirty') else ''}, {report.get('database', '?')}, "
        f"scale {report.get('scale')}, {report.get('workers')} workers, "
        f"concurrency {report.get('concurrency')}"
    )


def _change(c: Change) -> str:
    if c.ratio is not None:
        return f"{c.ratio * 100:+.1f}%"
    return "" if c.a == c.b else "from 0"


def table(changes: list[Change]) -> str:
    head = f"{'operation':<36}{'metric':<24}{'A':>10}{'B':>10}{'change':>9}  verdict"
    rows = [head, "-" * len(head)]
    last = None
    for c in changes:
        ratio = _change(c)
        verdict = "WORSE" if c.worse else ("better" if c.better else "")
        name = c.operation if c.operation != last else ""
        last = c.operation
        rows.append(
            f"{name[:35]:<36}{c.metric.label:<24}{c.a:>10.2f}{c.b:>10.2f}{ratio:>9}  {verdict}"
        )
    return "\n".join(rows)


def main(path_a: str, path_b: str, threshold: float = 0.10) -> int:
    a = json.loads(Path(path_a).read_text())
    b = json.loads(Path(path_b).read_text())
    print("A " + _describe(path_a, a))
    print("B " + _describe(path_b, b))
    for warning in context_warnings(a, b):
        print(f"warning: {warning}")
    changes = compare(a, b, threshold)
    print(table(changes))
    worse = [c for c in changes if c.worse]
    if worse:
        ops = sorted({c.operation for c in worse})
        print(
            f"\nREGRESSED ({len(worse)} figures more than {threshold:.0%} worse): " + "; ".join(ops)
        )
        return 1
    print(f"\nno operation more than {threshold:.0%} worse")
    return 0
