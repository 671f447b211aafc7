"""What the benchmark adds to its figures: where each request's CPU went (Anju's workers,
the database, the simulator, the load generator, read from /proc), the plan of every query an
operation sends (explained on the database in use, and matched against the indexes that
app/db.py declares for MongoDB), and what the figures would be on a MongoDB that serves each
of those queries from its index.

The projection is a model, stated as one: the CPU each request costs in Anju and in the load
generator (measured here), plus `mongo_ms_per_command` of database CPU for each round trip
(an assumption: an indexed point or short range read on a warm MongoDB costs a few tenths of
a millisecond of CPU). With every core busy, a closed loop of C clients then sees a mean
latency of C / throughput (Little's law)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bson import json_util
from pymongo import MongoClient

from app.store import INDEXES, Engine
from app.store.indexes import model_for

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SUBTRACT_IDLE = frozenset({"anju", "simulator"})


def cpu_seconds(pid: int) -> float:
    """User and system CPU of one process so far (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def children(pid: int) -> list[int]:
    """A process's direct children (uvicorn's workers); none if it is gone."""
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def with_children(pid: int) -> list[int]:
    """A process and its direct children."""
    return [pid, *children(pid)]


@dataclass
class CpuMeter:
    """CPU seconds of named groups of processes; `delta()` since the last `mark()`, less
    what Anju and the simulator spend when no request arrives (`measure_idle()`: their
    timers and pollers), so that an operation served a few times a second is not charged for
    them. The database's idle CPU is reported, not subtracted: what it does unasked is
    mostly Anju's background passes (workers/pacing.py), which come in bursts that a short
    idle window does not sample, and which requests do compete with."""

    groups: dict[str, list[int]]
    last: dict[str, float] = field(default_factory=dict)
    idle_per_s: dict[str, float] = field(default_factory=dict)
    marked_at: float = 0.0

    def _now(self) -> dict[str, float]:
        out = {name: sum(cpu_seconds(p) for p in pids) for name, pids in self.groups.items()}
        t = os.times()
        out["load generator"] = t.user + t.system
        return out

    def measure_idle(self, seconds: float) -> dict[str, float]:
        """CPU per second of each group while nothing is asked of it."""
        self.mark()
        time.sleep(seconds)
        raw = self.delta()
        measured = {k: v / seconds for k, v in raw.items() if k != "load generator"}
        self.idle_per_s = {k: v for k, v in measured.items() if k in SUBTRACT_IDLE}
        return measured

    def mark(self) -> None:
        self.last = self._now()
        self.marked_at = time.monotonic()

    def delta(self) -> dict[str, float]:
        now, elapsed = self._now(), time.monotonic() - self.marked_at
        return {
            name: max(
                0.0, now[name] - self.last.get(name, 0.0) - self.idle_per_s.get(name, 0.0) * elapsed
            )
            for name in now
        }


def per_request_ms(delta: dict[str, float], requests: int) -> dict[str, float]:
    return {k: round(v * 1000 / requests, 2) for k, v in delta.items()} if requests else {}


# --- plans -----------------------------------------------------------------------------------


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


def _plan_summary(plan: dict[str, Any]) -> str:
    """One line from an explain answer, for FerretDB and for MongoDB."""
    if "filterPushdown" in plan:  # FerretDB
        steps = plan.get("queryPlanner", {}).get("Plan", [])
        detail = "; ".join(str(s).split("detail=", 1)[-1] for s in steps)
        return f"pushdown={plan['filterPushdown']} backend: {detail}"[:110]
    winning = plan.get("queryPlanner", {}).get("winningPlan", {})
    stages = []
    node = winning.get("queryPlan", winning)
    while isinstance(node, dict) and node:
        stage = node.get("stage", "?")
        if node.get("indexName"):
            stage += f"({node['indexName']})"
        stages.append(stage)
        node = node.get("inputStage") or {}
    return " <- ".join(stages) or "?"


def explain_commands(uri: str, raw: str) -> list[dict[str, str]]:
    """Explains each captured command (Extended JSON from `extensions.dbCommands`)."""
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
            sort = command.get("sort")
            row = {
                "command": name,
                "collection": collection,
                "fields": ",".join(_fields(flt)) or "-",
                "declared index": declared_index(collection, flt, sort),
            }
            if name in ("find", "count", "aggregate"):
                try:
                    row["plan here"] = _plan_summary(
                        db.command("explain", command, verbosity="queryPlanner")
                    )
                except Exception as exc:  # noqa: BLE001 - a plan we cannot get is reported
                    row["plan here"] = f"explain failed: {exc}"[:110]
            else:
                row["plan here"] = "(write)"
            rows.append(row)
    return rows


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
    ours = sum(v for k, v in cpu_ms.items() if k not in ("database",))
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


def explain_table(per_operation: dict[str, list[dict[str, str]]]) -> str:
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
                f"  {r['command']:<9} {r['collection']:<16} by {r['fields']:<40} "
                f"index on MongoDB: {r['declared index']:<24} here: {r['plan here']}"
            )
    return "\n".join(lines)
