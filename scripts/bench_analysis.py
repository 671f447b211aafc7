"""What the benchmark makes of its measurements: CPU per request and the idle line from the
CPU samples (scripts/bench_cpu.py), the plan of every query an operation sends (explained on
the database in use, read by scripts/bench_plans.py, and matched against the indexes that
app/store/indexes.py declares for MongoDB), and a projection onto a MongoDB that serves
every query from an index.

**Idle line.** With no request arriving, the groups' CPU is sampled every half second for
`--idle-seconds` (default 60, long enough to include Anju's periodic passes). The idle line
is the mean over the whole window (ms of CPU per second): what the background costs.
The *floor* is the 20th percentile of the half-second rates: what the processes spend
between bursts (timers, pollers), the part that is always there. (Not the median: a pass that
keeps a process busy for more than half the window would become the floor, and subtracting
it from a loaded window, where the pass competes with requests, zeroes the figures.)

**CPU per request**, per operation and per group, over the measured window (warm-up
excluded, scripts/bench_cpu.py samples its edges):
- *raw*: all the group's CPU in the window / the requests counted in it. It includes
  whatever background work ran meanwhile.
- *net*: the window is cut into slices of at least a second and about a twentieth of the
  requests each; each slice's CPU, less the idle floor for its length, is divided by the
  requests answered in it; the median over the slices is the figure. A background burst
  lands in a few slices and moves the median little, where it would move a mean a lot.
  With fewer than three slices (a slow operation), the whole window less the floor.
- *background*: what the window spent beyond net x requests, per second of window (ms/s).

**Projection.** The CPU each request costs in Anju and in the load generator (measured,
net), plus `mongo_ms_per_command` of database CPU for each round trip (an assumption: an
indexed point or short range read on a warm MongoDB costs a few tenths of a millisecond of
CPU). With every core busy, a closed loop of C clients then sees a mean latency of
C / throughput (Little's law)."""

from __future__ import annotations

import bisect
import itertools
import statistics
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from bson import json_util
from pymongo import MongoClient

from app.store import INDEXES, Engine
from app.store.indexes import model_for
from scripts.bench_cpu import Sample
from scripts.bench_plans import parse_explain

MIN_SLICE_S = 1.0
TARGET_SLICES = 20
MIN_SLICE_REQUESTS = 5
FLOOR_QUANTILE = 0.2


def _rates(samples: Sequence[Sample]) -> dict[str, list[float]]:
    """CPU seconds per second of each group in each interval between samples."""
    out: dict[str, list[float]] = {}
    for (t0, a), (t1, b) in itertools.pairwise(samples):
        if t1 <= t0:
            continue
        for name in b:
            out.setdefault(name, []).append(max(0.0, b[name] - a.get(name, 0.0)) / (t1 - t0))
    return out


def idle_summary(samples: Sequence[Sample]) -> dict[str, dict[str, float]]:
    """Per group: the mean (the idle line), the floor (20th percentile interval), the median,
    the 90th percentile and the busiest interval, in ms of CPU per second; and the window's
    length."""
    if len(samples) < 2:
        return {}
    seconds = samples[-1][0] - samples[0][0]
    out = {}
    for name, rates in _rates(samples).items():
        total = samples[-1][1][name] - samples[0][1].get(name, 0.0)
        ordered = sorted(rates)
        out[name] = {
            "mean_ms_per_s": round(total * 1000 / seconds, 2),
            "floor_ms_per_s": round(ordered[int(FLOOR_QUANTILE * (len(ordered) - 1))] * 1000, 2),
            "median_ms_per_s": round(statistics.median(ordered) * 1000, 2),
            "p90_ms_per_s": round(ordered[int(0.9 * (len(ordered) - 1))] * 1000, 2),
            "max_ms_per_s": round(ordered[-1] * 1000, 2),
            "seconds": round(seconds, 1),
        }
    return out


def _slices(
    samples: Sequence[Sample], completed: Sequence[float], min_requests: int
) -> list[tuple[float, int, dict[str, float]]]:
    """(seconds, requests answered, CPU seconds per group) of consecutive runs of sample
    intervals, each at least MIN_SLICE_S long with at least `min_requests` requests; a short
    last run joins the one before it."""
    done = sorted(completed)
    out: list[tuple[float, int, dict[str, float]]] = []
    start = 0
    for i in range(1, len(samples)):
        t0, t1 = samples[start][0], samples[i][0]
        n = bisect.bisect_left(done, t1) - bisect.bisect_left(done, t0)
        if t1 - t0 >= MIN_SLICE_S and n >= min_requests:
            cpu = {k: samples[i][1][k] - samples[start][1].get(k, 0.0) for k in samples[i][1]}
            out.append((t1 - t0, n, cpu))
            start = i
    if start < len(samples) - 1 and out:
        t0, t1 = samples[start][0], samples[-1][0]
        n = bisect.bisect_right(done, t1) - bisect.bisect_left(done, t0)
        seconds, count, cpu = out.pop()
        tail = {k: samples[-1][1][k] - samples[start][1].get(k, 0.0) for k in cpu}
        out.append((seconds + t1 - t0, count + n, {k: cpu[k] + tail[k] for k in cpu}))
    return out


def window_cpu(
    samples: Sequence[Sample], completed: Sequence[float], floor_per_s: dict[str, float]
) -> dict[str, dict[str, float]]:
    """CPU per request of each group over a measured window (samples from its first to its
    last edge; `completed`: when each counted request was answered): raw, net and
    background, as the module says."""
    requests = len(completed)
    if requests == 0 or len(samples) < 2:
        return {}
    seconds = samples[-1][0] - samples[0][0]
    min_requests = max(MIN_SLICE_REQUESTS, requests // TARGET_SLICES)
    slices = _slices(samples, completed, min_requests)
    out = {}
    for name in samples[-1][1]:
        total = samples[-1][1][name] - samples[0][1].get(name, 0.0)
        floor = floor_per_s.get(name, 0.0)
        if len(slices) >= 3:
            net = statistics.median(
                max(0.0, cpu[name] - floor * dt) / n for dt, n, cpu in slices if n
            )
        else:
            net = max(0.0, total - floor * seconds) / requests
        out[name] = {
            "raw_ms": round(total * 1000 / requests, 3),
            "net_ms": round(net * 1000, 3),
            "background_ms_per_s": round(max(0.0, total - net * requests) * 1000 / seconds, 1),
            "slices": len(slices) if len(slices) >= 3 else 0,
            "samples": len(samples),
        }
    return out


def net_ms(cpu: dict[str, Any], group: str) -> float | None:
    """A group's CPU per request in a result, net where the result has it (older results
    hold one number per group)."""
    value = cpu.get(group)
    if isinstance(value, dict):
        figure = value.get("net_ms", value.get("raw_ms"))
        return float(figure) if figure is not None else None
    return float(value) if isinstance(value, int | float) else None


# --- projection -------------------------------------------------------------------------------


def projection(
    cpu_ms: dict[str, float],
    round_trips: float | None,
    *,
    cores: int,
    concurrency: int,
    mongo_ms_per_command: float,
) -> dict[str, float]:
    """Throughput and mean latency if the database answered each command from an index:
    Anju's, the simulator's and the load generator's CPU stay as measured, the database's
    becomes `mongo_ms_per_command` per round trip. The `remote_load_*` figures are the same
    with the load generator on another machine (its CPU no longer shares the cores)."""
    ours = sum(v for k, v in cpu_ms.items() if k not in ("database", "db backend"))
    database = (round_trips or 0) * mongo_ms_per_command
    per_request = ours + database
    if per_request <= 0:
        return {}
    rps = cores * 1000 / per_request
    remote = max(per_request - cpu_ms.get("load generator", 0.0), 1e-6)
    remote_rps = cores * 1000 / remote
    return {
        "cpu_ms_per_request": round(per_request, 2),
        "rps": round(rps, 1),
        "mean_latency_ms": round(concurrency / rps * 1000, 1),
        "remote_load_rps": round(remote_rps, 1),
        "remote_load_mean_latency_ms": round(concurrency / remote_rps * 1000, 1),
    }


# --- plans -------------------------------------------------------------------------------------


def _fields(flt: Any) -> list[str]:
    """The fields a filter constrains (the top level, and inside $and / $or)."""
    if not isinstance(flt, dict):
        return []
    out: list[str] = []
    for key, value in flt.items():
        if key in ("$and", "$or") and isinstance(value, list):
            for part in value:
                out += [f for f in _fields(part) if f not in out]
        elif not key.startswith("$") and key not in out:
            out.append(key)
    return out


def declared_index(collection: str, flt: Any, sort: Any = None) -> str:
    """The declared index whose leading keys the query constrains most (the one MongoDB's
    planner would pick for it), or "none: a collection scan"."""
    wanted = _fields(flt)
    if "_id" in wanted:
        return "_id_"
    sort_keys = list(sort) if isinstance(sort, dict) else []
    best, best_len = None, 0
    for declared in INDEXES.get(collection, []):
        model = model_for(declared, Engine("MongoDB"))  # the indexes MongoDB would have
        keys = list(model.document["key"])
        n = 0
        for key in keys:
            if key in wanted:
                n += 1
            else:
                break
        # an index that also serves the sort (its keys in order, after part of the prefix)
        # is worth one more
        if n and sort_keys and any(keys[i : i + len(sort_keys)] == sort_keys for i in range(n + 1)):
            n += 1
        if n > best_len:
            best, best_len = model.document["name"], n
    if best is None and not wanted:
        return "none needed (no filter)"
    return best or "none: a collection scan"


def explain_commands(uri: str, raw: str, verbosity: str = "executionStats") -> list[dict[str, Any]]:
    """Explains each captured read command (Extended JSON from `extensions.dbCommands`)."""
    rows = []
    with MongoClient(uri) as client:
        for command in json_util.loads(raw):
            name = next(iter(command))
            collection = command[name]
            db = client[command.pop("$db")]
            flt = command.get("filter", command.get("query"))
            if name in ("update", "delete"):  # the first statement's filter
                statements = command.get("updates") or command.get("deletes") or [{}]
                flt = statements[0].get("q")
            if name == "aggregate":
                flt = next(
                    (s["$match"] for s in command.get("pipeline", []) if "$match" in s), None
                )
            row: dict[str, Any] = {
                "command": name,
                "collection": collection,
                "fields": ",".join(_fields(flt)) or "-",
                "declared index": declared_index(collection, flt, command.get("sort")),
            }
            if name in ("find", "count", "aggregate"):
                try:
                    plan = parse_explain(db.command("explain", command, verbosity=verbosity))
                    row["plan here"] = plan.line()
                    row["plan"] = asdict(plan)
                except Exception as exc:  # noqa: BLE001 - a plan we cannot get is reported
                    row["plan here"] = f"explain failed: {exc}"[:110]
            else:
                row["plan here"] = "(write)"
            rows.append(row)
    return rows


def explain_table(per_operation: dict[str, list[dict[str, Any]]]) -> str:
    lines = []
    for op, rows in per_operation.items():
        lines.append(f"\n{op}")
        seen = set()
        for r in rows:
            key = (r["command"], r["collection"], r["fields"])
            if key in seen:
                continue
            seen.add(key)
            lines.append(
                f"  {r['command']:<13} {r['collection']:<16} by {r['fields']:<40} "
                f"index on MongoDB: {r['declared index']:<24} here: {r['plan here']}"
            )
    return "\n".join(lines)
