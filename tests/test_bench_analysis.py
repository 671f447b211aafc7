"""The benchmark's own arithmetic, without the stack: plans read from recorded explain answers
in each engine's format (MongoDB, PostgreSQL as FerretDB v2 / DocumentDB return it, FerretDB
v1), CPU per request and the idle line from CPU samples, CPU read from /proc (this test's
own process and a child of it), and `--compare` of two results."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from scripts import bench_compare
from scripts.bench_analysis import idle_summary, window_cpu
from scripts.bench_cpu import CpuCounter, local_pids_of_uri, pids_listening_on, uri_hosts
from scripts.bench_plans import parse_explain, parse_ferretdb_v1, parse_mongodb, parse_postgresql

# --- MongoDB (the shapes of the manual's "Explain Results") ----------------------------------

MONGO_FIND_EXECUTION_STATS = {
    "explainVersion": "1",
    "queryPlanner": {
        "namespace": "anju.invoices",
        "indexFilterSet": False,
        "parsedQuery": {"lease_id": {"$eq": "l1"}},
        "winningPlan": {
            "stage": "LIMIT",
            "limitAmount": 3,
            "inputStage": {
                "stage": "FETCH",
                "inputStage": {
                    "stage": "IXSCAN",
                    "keyPattern": {"lease_id": 1, "due_date": 1},
                    "indexName": "lease_due",
                    "isMultiKey": False,
                    "direction": "forward",
                    "indexBounds": {
                        "lease_id": ['["l1", "l1"]'],
                        "due_date": ["[MinKey, MaxKey]"],
                    },
                },
            },
        },
        "rejectedPlans": [],
    },
    "executionStats": {
        "executionSuccess": True,
        "nReturned": 3,
        "executionTimeMillis": 0,
        "totalKeysExamined": 3,
        "totalDocsExamined": 3,
        "executionStages": {"stage": "LIMIT", "nReturned": 3},
    },
    "command": {"find": "invoices", "filter": {"lease_id": "l1"}, "limit": 3, "$db": "anju"},
    "serverInfo": {"host": "db", "port": 27017, "version": "8.0.4"},
    "ok": 1.0,
}

MONGO_COLLSCAN = {
    "queryPlanner": {
        "plannerVersion": 1,
        "namespace": "anju.occupants",
        "winningPlan": {
            "stage": "COLLSCAN",
            "filter": {"left_at": {"$eq": None}},
            "direction": "forward",
        },
        "rejectedPlans": [],
    },
    "ok": 1,
}

MONGO_INTERSECTION_AND_SORT = {
    "queryPlanner": {
        "winningPlan": {
            "stage": "SORT",
            "sortPattern": {"due_date": 1},
            "inputStage": {
                "stage": "FETCH",
                "filter": {"void": {"$ne": True}},
                "inputStage": {
                    "stage": "AND_SORTED",
                    "inputStages": [
                        {"stage": "IXSCAN", "indexName": "tenant_due", "keyPattern": {}},
                        {"stage": "IXSCAN", "indexName": "lease", "keyPattern": {}},
                    ],
                },
            },
        }
    },
    "executionStats": {"nReturned": 2, "totalKeysExamined": 40, "totalDocsExamined": 12},
}

MONGO_AGGREGATE = {
    "explainVersion": "1",
    "stages": [
        {
            "$cursor": {
                "queryPlanner": {
                    "winningPlan": {
                        "stage": "PROJECTION_COVERED",
                        "inputStage": {"stage": "IXSCAN", "indexName": "place"},
                    }
                },
                "executionStats": {
                    "nReturned": 40,
                    "totalKeysExamined": 40,
                    "totalDocsExamined": 0,
                    "executionTimeMillis": 1,
                },
            }
        },
        {"$group": {"_id": "$kind", "n": {"$sum": {"$const": 1}}}},
    ],
    "ok": 1,
}

MONGO_7_SLOT_BASED = {
    "explainVersion": "2",
    "queryPlanner": {
        "winningPlan": {
            "queryPlan": {
                "stage": "FETCH",
                "planNodeId": 2,
                "inputStage": {"stage": "IXSCAN", "planNodeId": 1, "indexName": "id_number"},
            },
            "slotBasedPlan": {"slots": "$$RESULT=s11 env: { }", "stages": "[2] nlj ..."},
        }
    },
    "executionStats": {"nReturned": 1, "totalKeysExamined": 1, "totalDocsExamined": 1},
}

MONGO_SHARDED = {
    "queryPlanner": {
        "mongosPlannerVersion": 1,
        "winningPlan": {
            "stage": "SINGLE_SHARD",
            "shards": [
                {
                    "shardName": "rs0",
                    "winningPlan": {"stage": "IDHACK"},
                }
            ],
        },
    }
}

# --- PostgreSQL: FerretDB v2 wraps `EXPLAIN (FORMAT JSON)` of DocumentDB's query -------------

FERRETDB_V2_BITMAP_AND = {
    "queryPlanner": {
        "Plan": {
            "Node Type": "Bitmap Heap Scan",
            "Parallel Aware": False,
            "Relation Name": "documents_12",
            "Alias": "collection",
            "Startup Cost": 9.2,
            "Total Cost": 13.25,
            "Plan Rows": 1,
            "Plan Width": 32,
            "Recheck Cond": "((document @= '{ \"lease_id\" : ... }') AND (...))",
            "Plans": [
                {
                    "Node Type": "BitmapAnd",
                    "Parent Relationship": "Outer",
                    "Plans": [
                        {
                            "Node Type": "Bitmap Index Scan",
                            "Parent Relationship": "Member",
                            "Index Name": "tenant_due",
                            "Plan Rows": 40,
                        },
                        {
                            "Node Type": "Bitmap Index Scan",
                            "Parent Relationship": "Member",
                            "Index Name": "lease",
                            "Plan Rows": 12,
                        },
                    ],
                }
            ],
        }
    },
    "explainVersion": "1",
    "command": {"find": "invoices", "filter": {"lease_id": {"$in": ["l1", "l2"]}}},
    "serverInfo": {
        "host": "db",
        "port": 27017,
        "version": "7.0.77",
        "ferretdb": {"version": "v2.5.0"},
    },
    "ok": 1.0,
}

POSTGRESQL_JSON_ANALYZE = [
    {
        "Plan": {
            "Node Type": "Limit",
            "Actual Rows": 3,
            "Actual Loops": 1,
            "Plans": [
                {
                    "Node Type": "Index Scan",
                    "Scan Direction": "Forward",
                    "Index Name": "lease_due",
                    "Relation Name": "documents_12",
                    "Alias": "collection",
                    "Plan Rows": 3,
                    "Actual Rows": 3,
                    "Actual Loops": 1,
                    "Rows Removed by Filter": 1,
                }
            ],
        },
        "Planning Time": 0.21,
        "Execution Time": 0.057,
    }
]

POSTGRESQL_TEXT_SEQ_SCAN = """                              QUERY PLAN
-----------------------------------------------------------------------
 Seq Scan on documents_7 collection  (cost=0.00..2891.00 rows=131 width=32)
   Filter: (document @= '{ "id_number_hash" : "ab12" }'::documentdb_core.bson)
"""

# DocumentDB's regression output (EXPLAIN (COSTS OFF) through Citus)
DOCUMENTDB_TEXT_BITMAP = """ Custom Scan (Citus Adaptive)
   Task Count: 1
   Tasks Shown: All
   ->  Task
         Node: host=localhost port=58070 dbname=regression
         ->  Limit
               ->  Aggregate
                     ->  Bitmap Heap Scan on documents_5010_50100 collection
                           Recheck Cond: (document OPERATOR(documentdb_api_catalog.@=) '{}')
                           ->  Bitmap Index Scan on order_id_1
                                 Index Cond: (document OPERATOR(documentdb_api_catalog.@=) '{}')
"""

POSTGRESQL_TEXT_ANALYZE = [
    "Limit  (cost=0.42..8.44 rows=20 width=32) (actual time=0.030..0.041 rows=2 loops=1)",
    "  ->  Index Scan using property_current on documents_9 collection  "
    "(cost=0.42..8.44 rows=1 width=32) (actual time=0.028..0.038 rows=2 loops=1)",
    '        Index Cond: (document @= \'{ "property_id" : "p1" }\')',
    '        Filter: (document @= \'{ "id_number_hash" : "ab12" }\')',
    "        Rows Removed by Filter: 38",
    "Planning Time: 0.110 ms",
    "Execution Time: 0.062 ms",
]

# --- FerretDB v1 (recorded from tools/ferretdb, v1.24.2 on SQLite) ----------------------------

FERRETDB_V1_SQLITE = {
    "queryPlanner": {"Plan": ["id=2 parent=0 notused=0 detail=SCAN inv_93e97b38"]},
    "explainVersion": "1",
    "command": {"find": "inv", "filter": {"lease_id": 1}, "sort": {"due": 1}, "$db": "t"},
    "filterPushdown": False,
    "sortPushdown": False,
    "limitPushdown": False,
    "ok": 1.0,
}

FERRETDB_V1_POSTGRESQL = {
    "queryPlanner": {
        "Plan": {
            "Node Type": "Seq Scan",
            "Relation Name": "objectidkeys_0afa5667",
            "Alias": "objectidkeys_0afa5667",
            "Filter": "((_jsonb -> '_id'::text) = '{\"$o\": \"0001\"}'::jsonb)",
            "Plan Rows": 7,
        }
    },
    "explainVersion": "1",
    "filterPushdown": True,
    "sortPushdown": False,
    "limitPushdown": False,
    "ok": 1.0,
}


def test_mongodb_index_scan_with_execution_stats() -> None:
    # when
    plan = parse_mongodb(MONGO_FIND_EXECUTION_STATS)

    # then
    assert plan.format == "MongoDB"
    assert plan.stages == "LIMIT <- FETCH <- IXSCAN(lease_due)"
    assert plan.indexes == ["lease_due"]
    assert (plan.keys_examined, plan.docs_examined, plan.returned) == (3, 3, 3)
    assert plan.warnings() == []
    assert "keys 3 docs 3 returned 3" in plan.line()


def test_mongodb_collection_scan_is_flagged() -> None:
    # when
    plan = parse_mongodb(MONGO_COLLSCAN)

    # then
    assert plan.stages == "COLLSCAN"
    assert plan.collection_scan
    assert plan.keys_examined is None  # queryPlanner verbosity: no counts
    assert "! scans the collection" in plan.line()


def test_mongodb_index_intersection_and_in_memory_sort_are_flagged() -> None:
    # when
    plan = parse_mongodb(MONGO_INTERSECTION_AND_SORT)

    # then
    assert plan.stages == "SORT <- FETCH <- AND_SORTED[IXSCAN(tenant_due), IXSCAN(lease)]"
    assert plan.indexes == ["tenant_due", "lease"]
    assert plan.warnings() == ["intersects two indexes", "sorts in memory"]
    assert (plan.keys_examined, plan.docs_examined) == (40, 12)


def test_mongodb_aggregate_slot_based_and_sharded_plans() -> None:
    # when
    aggregate = parse_mongodb(MONGO_AGGREGATE)
    slot_based = parse_mongodb(MONGO_7_SLOT_BASED)
    sharded = parse_mongodb(MONGO_SHARDED)

    # then
    assert aggregate.stages == "PROJECTION_COVERED <- IXSCAN(place)"
    assert (aggregate.keys_examined, aggregate.docs_examined, aggregate.time_ms) == (40, 0, 1.0)
    assert slot_based.stages == "FETCH <- IXSCAN(id_number)"
    assert slot_based.returned == 1
    assert sharded.stages == "SINGLE_SHARD <- IDHACK(_id_)"
    assert sharded.indexes == ["_id_"]


def test_ferretdb_v2_json_plan_with_a_bitmap_and() -> None:
    # when
    plan = parse_postgresql(FERRETDB_V2_BITMAP_AND)

    # then
    assert plan.format == "PostgreSQL"
    assert plan.stages == (
        "Bitmap Heap Scan(documents_12) <- BitmapAnd"
        "[Bitmap Index Scan(tenant_due), Bitmap Index Scan(lease)]"
    )
    assert plan.indexes == ["tenant_due", "lease"]
    assert plan.intersection
    assert not plan.collection_scan
    assert plan.estimated_rows == 1
    assert plan.keys_examined is None  # not EXPLAIN ANALYZE


def test_postgresql_json_with_analyze_counts_rows() -> None:
    # when
    plan = parse_postgresql(POSTGRESQL_JSON_ANALYZE)

    # then
    assert plan.stages == "Limit <- Index Scan(lease_due)"
    assert (plan.keys_examined, plan.docs_examined, plan.returned) == (3, 4, 3)
    assert plan.time_ms == 0.057


def test_postgresql_text_plans() -> None:
    # when
    seq = parse_postgresql(POSTGRESQL_TEXT_SEQ_SCAN)
    citus = parse_postgresql(DOCUMENTDB_TEXT_BITMAP)
    analyzed = parse_postgresql(POSTGRESQL_TEXT_ANALYZE)

    # then
    assert seq.stages == "Seq Scan(documents_7)"
    assert seq.collection_scan
    assert seq.estimated_rows == 131
    assert citus.stages == (
        "Custom Scan (Citus Adaptive) <- Task <- Limit <- Aggregate <- "
        "Bitmap Heap Scan(documents_5010_50100) <- Bitmap Index Scan(order_id_1)"
    )
    assert citus.indexes == ["order_id_1"]
    assert citus.warnings() == []
    assert analyzed.stages == "Limit <- Index Scan(property_current)"
    assert (analyzed.keys_examined, analyzed.docs_examined, analyzed.returned) == (2, 40, 2)
    assert analyzed.time_ms == 0.062


def test_ferretdb_v1_plans_and_pushdown() -> None:
    # when
    sqlite = parse_ferretdb_v1(FERRETDB_V1_SQLITE)
    postgresql = parse_ferretdb_v1(FERRETDB_V1_POSTGRESQL)

    # then
    assert sqlite.format == "FerretDB v1 (SQLite)"
    assert sqlite.stages == "SCAN inv_93e97b38"
    assert sqlite.collection_scan
    assert sqlite.pushdown == "none"
    assert postgresql.format == "FerretDB v1 (PostgreSQL)"
    assert postgresql.stages == "Seq Scan(objectidkeys_0afa5667)"
    assert postgresql.pushdown == "filter"


def test_each_format_is_recognised() -> None:
    # given
    answers: list[tuple[Any, str]] = [
        (MONGO_FIND_EXECUTION_STATS, "MongoDB"),
        (MONGO_AGGREGATE, "MongoDB"),
        (FERRETDB_V2_BITMAP_AND, "PostgreSQL"),
        (POSTGRESQL_JSON_ANALYZE, "PostgreSQL"),
        (DOCUMENTDB_TEXT_BITMAP, "PostgreSQL"),
        (FERRETDB_V1_SQLITE, "FerretDB v1 (SQLite)"),
        (FERRETDB_V1_POSTGRESQL, "FerretDB v1 (PostgreSQL)"),
        ({"ok": 1}, "unknown"),
    ]

    # when / then
    for answer, expected in answers:
        assert parse_explain(answer).format == expected


# --- CPU per request and the idle line --------------------------------------------------------


def _samples(
    seconds: float, per_request_s: float, rps: float, floor_per_s: float, bursts: dict[int, float]
) -> tuple[list[tuple[float, dict[str, float]]], list[float]]:
    """Half-second samples of a process costing `per_request_s` per request at `rps`, plus a
    floor, plus a burst of CPU in the intervals given (index -> seconds)."""
    samples, completed, total = [], [], 0.0
    steps = int(seconds * 2)
    for i in range(steps + 1):
        t = 100 + i * 0.5
        if i:
            total += 0.5 * rps * per_request_s + 0.5 * floor_per_s + bursts.get(i, 0.0)
        samples.append((t, {"anju": total}))
    for k in range(int(seconds * rps)):
        completed.append(100 + (k + 0.5) / rps)
    return samples, completed


def test_net_cpu_per_request_ignores_a_background_burst() -> None:
    # given 20 s at 10 requests/s of 5 ms each, a floor of 2 ms/s, and a 400 ms burst
    samples, completed = _samples(20, 0.005, 10, 0.002, {7: 0.4})

    # when
    cpu = window_cpu(samples, completed, {"anju": 0.002})["anju"]

    # then
    assert abs(cpu["net_ms"] - 5.0) < 0.05
    assert abs(cpu["raw_ms"] - (1000 + 40 + 400) / 200) < 0.01
    assert abs(cpu["background_ms_per_s"] - 22.0) < 1.0
    assert cpu["slices"] >= 10


def test_too_few_requests_for_slices_use_the_whole_window() -> None:
    # given 4 s at 1 request/s of 30 ms each, and a floor of 2 ms/s
    samples, completed = _samples(4, 0.030, 1, 0.002, {})

    # when
    cpu = window_cpu(samples, completed, {"anju": 0.002})["anju"]

    # then
    assert cpu["slices"] == 0
    assert abs(cpu["net_ms"] - 30.0) < 0.01


def test_idle_line_is_the_mean_and_the_floor_the_median() -> None:
    # given 60 s of 1 ms/s with one pass of 300 ms
    samples, _ = _samples(60, 0.0, 0, 0.001, {50: 0.3})

    # when
    idle = idle_summary(samples)["anju"]

    # then
    assert abs(idle["mean_ms_per_s"] - 6.0) < 0.01
    assert abs(idle["floor_ms_per_s"] - 1.0) < 0.01
    assert idle["max_ms_per_s"] > 600
    assert idle["seconds"] == 60


# --- reading /proc ----------------------------------------------------------------------------


def test_a_process_tree_counts_its_children_after_they_exit() -> None:
    # given
    counter = CpuCounter([os.getpid()])
    before = counter.read()
    children_before = os.times().children_user + os.times().children_system

    # when a child spends CPU and exits
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import time\nwhile time.process_time() < 0.3: pass",
        ],
        check=True,
    )

    # then
    spent = os.times().children_user + os.times().children_system - children_before
    assert spent >= 0.29
    assert counter.read() - before >= spent - 0.02


def test_the_database_is_found_by_its_listening_port() -> None:
    # given a socket this process listens on
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]

        # when
        pids = pids_listening_on(port)
        found, how = local_pids_of_uri(f"mongodb://user:pw@localhost:{port}/anju?tls=false")

    # then
    assert pids == [os.getpid()]
    assert found == [os.getpid()]
    assert f"listening on port {port}" in how


def test_uris_of_remote_or_unlisted_databases_are_not_measured() -> None:
    # when
    remote = local_pids_of_uri("mongodb+srv://cluster0.example.net/anju")
    hosts = uri_hosts("mongodb://a:1,[::1]:27018,b/db?replicaSet=rs")

    # then
    assert remote[0] == []
    assert "not measured" in remote[1]
    assert hosts == [("a", 1), ("::1", 27018), ("b", 27017)]


# --- --compare --------------------------------------------------------------------------------


def _result(name: str, rps: float, p99: float, errors: int = 0) -> dict[str, Any]:
    return {"name": name, "requests": 1000, "errors": errors, "rps": rps, "p99_ms": p99}


def _report(results: list[dict[str, Any]], cpu: dict[str, Any], idle: float) -> dict[str, Any]:
    return {
        "when": "2026-12-01T00:00:00Z",
        "git": {"commit": "0123456789abcdef", "dirty": False},
        "database": "FerretDB v1.24.2 (SQLite)",
        "scale": 0.01,
        "workers": 2,
        "concurrency": 1,
        "machine": {"cpus": 2},
        "results": results,
        "cpu_ms_per_request": cpu,
        "idle": {"anju": {"mean_ms_per_s": idle}},
    }


def _cpu(anju: float, database: float) -> dict[str, Any]:
    return {
        "anju": {"net_ms": anju, "raw_ms": anju + 1},
        "database": {"net_ms": database, "raw_ms": database},
    }


def _run(
    search_rps: float = 100,
    rooms: int = 20,
    dashboard_p99: float = 400,
    dashboard_cpu: tuple[float, float] = (32, 200),
    door_cpu: float = 0.02,
    idle: float = 5.0,
) -> dict[str, Any]:
    """A result of three operations; the defaults are run A."""
    dashboard = f"landlord dashboard ({rooms} rooms)"
    return _report(
        [
            _result("search: community + rent", search_rps, 50),
            _result(dashboard, 10, dashboard_p99),
            _result("openDoor", 40, 100),
        ],
        {
            "search: community + rent": _cpu(4.8, 30),
            dashboard: _cpu(*dashboard_cpu),
            "openDoor": _cpu(door_cpu, 1),
        },
        idle=idle,
    )


A = _run()


def test_compare_flags_what_is_more_than_ten_percent_worse(tmp_path: Path, capsys: Any) -> None:
    # given B: search 20% slower, the dashboard's p99 5% worse (noise) and its Anju CPU 15%
    # worse, openDoor's CPU 50% worse but by 0.01 ms (under the floor), idle 4x
    b = _run(
        search_rps=80,
        rooms=21,
        dashboard_p99=420,
        dashboard_cpu=(36.8, 190),
        door_cpu=0.03,
        idle=20.0,
    )
    (tmp_path / "a.json").write_text(json.dumps(A))
    (tmp_path / "b.json").write_text(json.dumps(b))

    # when
    changes = bench_compare.compare(A, b)
    status = bench_compare.main(str(tmp_path / "a.json"), str(tmp_path / "b.json"))

    # then
    worse = {(c.operation, c.metric.key) for c in changes if c.worse}
    assert worse == {
        ("search: community + rent", "rps"),
        ("landlord dashboard", "cpu:anju"),
        ("(idle)", "idle"),
    }
    assert status == 1
    out = capsys.readouterr().out
    assert "WORSE" in out
    assert "REGRESSED" in out


def test_compare_of_equal_or_better_results_passes(tmp_path: Path, capsys: Any) -> None:
    # given B better everywhere, with CPU figures in the older one-number-per-group form
    b = json.loads(json.dumps(A))
    b["results"][0]["rps"] = 150
    b["cpu_ms_per_request"] = {
        name: {group: figures["net_ms"] * 0.5 for group, figures in cpu.items()}
        for name, cpu in A["cpu_ms_per_request"].items()
    }
    (tmp_path / "a.json").write_text(json.dumps(A))
    (tmp_path / "b.json").write_text(json.dumps(b))

    # when
    status = bench_compare.main(str(tmp_path / "a.json"), str(tmp_path / "b.json"))

    # then
    assert status == 0
    out = capsys.readouterr().out
    assert "better" in out
    assert "no operation more than 10% worse" in out


def test_compare_warns_when_the_runs_differ() -> None:
    # given
    b = json.loads(json.dumps(A))
    b["scale"], b["concurrency"] = 0.1, 32
    b["results"].append(_result("tenant myLeases", 5, 900))

    # when
    warnings = bench_compare.context_warnings(A, b)

    # then
    assert "scale differs: 0.01 against 0.1" in warnings
    assert "concurrency differs: 1 against 32" in warnings
    assert "only in B: tenant myLeases" in warnings
