"""Query plans, read from `explain` in each engine's own format, and the index of
app/store/indexes.py that serves each query on MongoDB.

One parser per format, each returning a `Plan`:
- `parse_mongodb`: MongoDB's `queryPlanner.winningPlan` stage tree (also inside an
  aggregate's `$cursor` stage, MongoDB 7's `winningPlan.queryPlan`, and a sharded
  cluster's first shard), with `executionStats` (keys and documents examined, returned).
- `parse_postgresql`: PostgreSQL's EXPLAIN, as FerretDB v2 (DocumentDB) returns it in
  `queryPlanner` (`EXPLAIN (FORMAT JSON)`), or as text (psql's output, including
  DocumentDB's Citus task lines); with ANALYZE, the actual rows.
- `parse_ferretdb_v1`: FerretDB v1's pushdown flags and its backend's plan (SQLite's
  `EXPLAIN QUERY PLAN` rows, or PostgreSQL's JSON).
`parse_explain` tells the formats apart."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Plan:
    format: str
    stages: str = "?"  # the plan tree on one line, the root first
    indexes: list[str] = field(default_factory=list)
    collection_scan: bool = False  # COLLSCAN, Seq Scan, SQLite's SCAN
    intersection: bool = False  # two indexes ANDed: AND_SORTED/AND_HASH, BitmapAnd
    blocking_sort: bool = False  # sorted in memory: SORT, Sort
    keys_examined: int | None = None
    docs_examined: int | None = None
    returned: int | None = None
    estimated_rows: float | None = None
    time_ms: float | None = None
    pushdown: str | None = None  # FerretDB v1: what it handed to its backend

    def warnings(self) -> list[str]:
        out = []
        if self.collection_scan:
            out.append("scans the collection")
        if self.intersection:
            out.append("intersects two indexes")
        if self.blocking_sort:
            out.append("sorts in memory")
        return out

    def line(self) -> str:
        parts = [self.stages]
        counts = [
            f"{label} {value}"
            for label, value in (
                ("keys", self.keys_examined),
                ("docs", self.docs_examined),
                ("returned", self.returned),
            )
            if value is not None
        ]
        if counts:
            parts.append(" ".join(counts))
        if self.time_ms is not None:
            parts.append(f"{self.time_ms:g} ms")
        if self.pushdown is not None:
            parts.append(f"pushdown: {self.pushdown}")
        warnings = self.warnings()
        if warnings:
            parts.append("! " + ", ".join(warnings))
        return "; ".join(parts)


# --- MongoDB ---------------------------------------------------------------------------------

_MONGO_INDEX_STAGES = {"IDHACK": "_id_", "EXPRESS_IDHACK": "_id_"}


def _mongo_tree(node: dict[str, Any], plan: Plan) -> str:
    if "queryPlan" in node:  # MongoDB 7+ (slot-based engine)
        node = node["queryPlan"]
    if node.get("shards"):  # a sharded cluster: the first shard's plan
        shard = node["shards"][0]
        inner = shard.get("winningPlan", shard.get("queryPlanner", {}).get("winningPlan", {}))
        return f"{node.get('stage', 'SHARDS')} <- {_mongo_tree(inner, plan)}"
    stage = str(node.get("stage", "?"))
    label = stage
    index = node.get("indexName") or _MONGO_INDEX_STAGES.get(stage)
    if index:
        label += f"({index})"
        if index not in plan.indexes:
            plan.indexes.append(index)
    plan.collection_scan |= stage == "COLLSCAN"
    plan.intersection |= stage in ("AND_SORTED", "AND_HASH")
    plan.blocking_sort |= stage == "SORT"
    if isinstance(node.get("inputStage"), dict):
        return f"{label} <- {_mongo_tree(node['inputStage'], plan)}"
    inputs = [s for s in node.get("inputStages", []) if isinstance(s, dict)]
    if inputs:
        return f"{label}[{', '.join(_mongo_tree(s, plan) for s in inputs)}]"
    return label


def _mongo_parts(explain: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """queryPlanner and executionStats, at the top or in an aggregate's first stage."""
    if "queryPlanner" in explain:
        return explain["queryPlanner"], explain.get("executionStats", {})
    for stage in explain.get("stages", []):
        cursor = stage.get("$cursor") if isinstance(stage, dict) else None
        if isinstance(cursor, dict) and "queryPlanner" in cursor:
            return cursor["queryPlanner"], cursor.get("executionStats", {})
    return {}, {}


def _int(value: Any) -> int | None:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def parse_mongodb(explain: dict[str, Any]) -> Plan:
    planner, stats = _mongo_parts(explain)
    plan = Plan("MongoDB")
    winning = planner.get("winningPlan")
    if isinstance(winning, dict):
        plan.stages = _mongo_tree(winning, plan)
    if stats:
        plan.keys_examined = _int(stats.get("totalKeysExamined"))
        plan.docs_examined = _int(stats.get("totalDocsExamined"))
        plan.returned = _int(stats.get("nReturned"))
        time_ms = stats.get("executionTimeMillis")
        plan.time_ms = float(time_ms) if time_ms is not None else None
    return plan


# --- PostgreSQL (FerretDB v2 / DocumentDB) ---------------------------------------------------

_SEQ_SCANS = ("Seq Scan", "Parallel Seq Scan")
_TABLE_SCANS = (*_SEQ_SCANS, "Index Scan", "Index Only Scan", "Bitmap Heap Scan")
_INDEX_SCANS = ("Index Scan", "Index Only Scan", "Bitmap Index Scan")


def _base(kind: str) -> str:
    """ "Parallel Seq Scan" -> "Seq Scan", "Index Scan Backward" -> "Index Scan"."""
    return kind.removeprefix("Parallel ").replace(" Backward", "")


def _pg_label(kind: str, index: str | None, relation: str | None, plan: Plan) -> str:
    base = _base(kind)
    plan.collection_scan |= base == "Seq Scan"
    plan.intersection |= base == "BitmapAnd"
    plan.blocking_sort |= base == "Sort"
    if index:
        if index not in plan.indexes:
            plan.indexes.append(index)
        return f"{kind}({index})"
    if relation and base in _TABLE_SCANS:
        return f"{kind}({relation})"
    return kind


def _pg_json_tree(node: dict[str, Any], plan: Plan, counts: dict[str, int]) -> str:
    kind = str(node.get("Node Type", "?"))
    if kind == "Custom Scan" and node.get("Custom Plan Provider"):
        kind = f"Custom Scan ({node['Custom Plan Provider']})"
    label = _pg_label(kind, node.get("Index Name"), node.get("Relation Name"), plan)
    if "Actual Rows" in node:
        rows = float(node["Actual Rows"]) * float(node.get("Actual Loops", 1))
        removed = float(node.get("Rows Removed by Filter", 0)) + float(
            node.get("Rows Removed by Index Recheck", 0)
        )
        base = _base(kind)
        if base in _INDEX_SCANS:
            counts["keys"] += int(rows)
        if base in _TABLE_SCANS:
            counts["docs"] += int(rows + removed)
    children = [c for c in node.get("Plans", []) if isinstance(c, dict)]
    if len(children) == 1:
        return f"{label} <- {_pg_json_tree(children[0], plan, counts)}"
    if children:
        return f"{label}[{', '.join(_pg_json_tree(c, plan, counts) for c in children)}]"
    return label


_PG_NODE = re.compile(
    r"^(?P<indent>\s*)(?:->\s+)?(?P<kind>[A-Z][A-Za-z]*(?: [A-Z][A-Za-z]*)*(?: \([^)]*\))?)"
    r"(?: using (?P<index>\S+))?(?: on (?P<on>\S+)(?: \S+)?)?"
    r"(?:\s{2,}\(.*|\s*)$"
)
_PG_ACTUAL = re.compile(r"actual (?:time=\S+ )?rows=(?P<rows>[\d.]+) loops=(?P<loops>\d+)")
_PG_PLAN_ROWS = re.compile(r"\(cost=\S+ rows=(?P<rows>\d+)")


def _pg_text(text: str, plan: Plan) -> None:
    """Reads psql's EXPLAIN text: node lines are the first one and those after "->"; the
    others are a node's properties (conditions, rows removed, timings)."""
    nodes: list[tuple[int, str]] = []
    counts = {"keys": 0, "docs": 0}
    seen_actual, kind = False, ""
    lines = [line for line in text.splitlines() if line.strip() and "QUERY PLAN" not in line]
    lines = [line for line in lines if not set(line.strip()) <= {"-", "+"}]
    for number, line in enumerate(lines):
        stripped = line.strip()
        timing = re.match(r"Execution Time: ([\d.]+) ms", stripped)
        if timing:
            plan.time_ms = float(timing.group(1))
            continue
        match = _PG_NODE.match(line)
        if match and (number == 0 or stripped.startswith("->")):
            kind = match["kind"]
            on = match["on"]
            index = match["index"] or (on if kind.endswith("Bitmap Index Scan") else None)
            relation = None if index == on else on
            nodes.append((len(match["indent"]), _pg_label(kind, index, relation, plan)))
            if plan.estimated_rows is None and (rows := _PG_PLAN_ROWS.search(line)):
                plan.estimated_rows = float(rows["rows"])
            actual = _PG_ACTUAL.search(line)
            if actual:
                seen_actual = True
                n = int(float(actual["rows"]) * int(actual["loops"]))
                base = _base(kind)
                if base in _INDEX_SCANS:
                    counts["keys"] += n
                if base in _TABLE_SCANS:
                    counts["docs"] += n
                if len(nodes) == 1:
                    plan.returned = n
        elif stripped.startswith("Rows Removed by") and _base(kind) in _TABLE_SCANS:
            counts["docs"] += int(stripped.rsplit(":", 1)[1])
    plan.stages = _nest(nodes) if nodes else "?"
    if seen_actual:
        plan.keys_examined, plan.docs_examined = counts["keys"], counts["docs"]


def _nest(nodes: list[tuple[int, str]]) -> str:
    """The tree of (depth, label) lines on one line, as the JSON form is written."""
    label = nodes[0][1]
    kids: list[list[tuple[int, str]]] = []
    for node in nodes[1:]:
        if not kids or node[0] <= kids[-1][0][0]:
            kids.append([node])
        else:
            kids[-1].append(node)
    if len(kids) == 1:
        return f"{label} <- {_nest(kids[0])}"
    if kids:
        return f"{label}[{', '.join(_nest(k) for k in kids)}]"
    return label


def parse_postgresql(explain: Any) -> Plan:
    """A plan from FerretDB v2's explain answer, or PostgreSQL's EXPLAIN as JSON or text."""
    plan = Plan("PostgreSQL")
    body = explain.get("queryPlanner", explain) if isinstance(explain, dict) else explain
    if isinstance(body, list) and body and all(isinstance(line, str) for line in body):
        body = "\n".join(body)
    if isinstance(body, str):
        _pg_text(body, plan)
        return plan
    if isinstance(body, list) and body:
        body = body[0]
    if not isinstance(body, dict):
        return plan
    root = body.get("Plan", body)
    if isinstance(root, dict):
        counts = {"keys": 0, "docs": 0}
        plan.stages = _pg_json_tree(root, plan, counts)
        if "Plan Rows" in root:
            plan.estimated_rows = float(root["Plan Rows"])
        if "Actual Rows" in root:
            plan.returned = int(float(root["Actual Rows"]) * float(root.get("Actual Loops", 1)))
            plan.keys_examined, plan.docs_examined = counts["keys"], counts["docs"]
    if "Execution Time" in body:
        plan.time_ms = float(body["Execution Time"])
    return plan


# --- FerretDB v1 -----------------------------------------------------------------------------


def parse_ferretdb_v1(explain: dict[str, Any]) -> Plan:
    flags = [
        name for name in ("filter", "sort", "limit") if explain.get(f"{name}Pushdown") in (True, 1)
    ]
    steps = explain.get("queryPlanner", {}).get("Plan", [])
    if isinstance(steps, dict):  # the PostgreSQL backend
        plan = parse_postgresql({"Plan": steps})
        plan.format = "FerretDB v1 (PostgreSQL)"
    else:
        plan = Plan("FerretDB v1 (SQLite)")
        details = [str(s).split("detail=", 1)[-1] for s in steps]
        for detail in details:
            plan.collection_scan |= detail.startswith("SCAN ") and " USING " not in detail
            plan.blocking_sort |= "TEMP B-TREE" in detail
            index = re.search(r"USING (?:COVERING )?INDEX (\S+)", detail)
            if index and index[1] not in plan.indexes:
                plan.indexes.append(index[1])
        plan.stages = " | ".join(details) or "?"
    plan.pushdown = ", ".join(flags) or "none"
    return plan


def parse_explain(explain: Any) -> Plan:
    """Whichever format the answer is in."""
    if isinstance(explain, dict):
        if "filterPushdown" in explain:
            return parse_ferretdb_v1(explain)
        planner, _ = _mongo_parts(explain)
        if "winningPlan" in planner:
            return parse_mongodb(explain)
        if not planner and "Plan" not in explain and "Node Type" not in explain:
            return Plan("unknown")
    return parse_postgresql(explain)
