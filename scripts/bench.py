"""`make bench SCALE=0.1 WORKERS=2`: the synthetic city, the stack with WORKERS uvicorn
workers, and the load generator (in this process) driving each operation alone and a
realistic mix at fixed concurrency for a fixed duration. Prints the idle line, a table of
throughput and latency, CPU per request of every process (the database's too when it runs
on this machine, whoever started it), the plan of every query, and writes JSON to .bench/.
`--compare A.json B.json` compares two such results (scripts/bench_compare.py).

Not part of the tests. Everything runs on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import time
from typing import Any
from urllib.parse import urlparse

from devstack.anju import start_anju, start_simulator
from devstack.ferretdb import start_ferretdb
from devstack.loadgen import Result, dump, run, table
from devstack.procs import ROOT, free_port, stop
from scripts import bench_compare
from scripts.bench_analysis import explain_table, idle_summary, projection, window_cpu
from scripts.bench_cpu import CpuCounter, Sampler, is_local, local_pids_of_uri, pids_listening_on
from scripts.bench_fixture import Fixture, anju_env, ensure_city, wait_ready
from scripts.bench_ops import explain_operations, mix, operations
from scripts.bench_report import (
    WHOLE,
    cpu_table,
    engine_info,
    git_info,
    idle_block,
    idle_line,
    projection_table,
    versions,
)

OUT = ROOT / ".bench"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--compare",
        nargs=2,
        metavar=("A.json", "B.json"),
        help="compare two results (B against A); exit status 1 if B regressed",
    )
    parser.add_argument(
        "--threshold", type=float, default=10, help="--compare: percent worse that is flagged"
    )
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--concurrency",
        "--clients",
        type=int,
        default=32,
        help="clients in the closed loop; 1 gives CPU per request with no queueing",
    )
    parser.add_argument("--duration", type=float, default=15, help="seconds per operation")
    parser.add_argument("--warmup", type=float, default=2, help="seconds not counted first")
    parser.add_argument(
        "--min-requests",
        type=int,
        default=100,
        help="keep an operation going past --duration until this many requests were counted",
    )
    parser.add_argument(
        "--max-duration", type=float, default=0, help="seconds at most (default 2 x --duration)"
    )
    parser.add_argument("--only", default="", help="comma-separated name prefixes")
    parser.add_argument(
        "--idle-seconds",
        type=float,
        default=60,
        help="CPU with no requests before the operations (the idle line); long enough for "
        "Anju's periodic passes; 0 skips it",
    )
    parser.add_argument(
        "--together",
        action="store_true",
        help="serve the operations from the Anju that runs the background workers (by default "
        "an API-only Anju, ANJU_BACKGROUND_WORKERS=0, serves them while a whole one runs the "
        "background work and gives the idle line: CPU per request without background bursts)",
    )
    parser.add_argument("--sample-interval", type=float, default=0.5, help="seconds")
    parser.add_argument(
        "--db-port",
        type=int,
        action="append",
        default=[],
        help="also measure the processes listening on this local port as the database's "
        "backend (PostgreSQL behind FerretDB v2); repeatable",
    )
    parser.add_argument(
        "--db-pids", default="", help="comma-separated pids measured as the database's backend"
    )
    parser.add_argument(
        "--explain-verbosity",
        choices=("queryPlanner", "executionStats"),
        default="executionStats",
        help="executionStats runs each explained query once, for keys and documents examined",
    )
    parser.add_argument(
        "--mongo-ms-per-command",
        type=float,
        default=0.3,
        help="database CPU per indexed command assumed by the MongoDB projection",
    )
    parser.add_argument(
        "--postgresql-url",
        default=os.environ.get("ANJU_BENCH_POSTGRESQL_URL", ""),
        help="run FerretDB on this PostgreSQL database instead of SQLite (benchmark only)",
    )
    return parser.parse_args()


def database_groups(
    args: argparse.Namespace, uri: str, started: list[int]
) -> tuple[dict[str, CpuCounter], dict[str, str]]:
    """The database's processes (those the benchmark started, else those listening on the
    URI's port) and its backend's (--db-port, --db-pids, a local --postgresql-url)."""
    groups: dict[str, CpuCounter] = {}
    found: dict[str, str] = {}
    if started:
        groups["database"] = CpuCounter(started)
        found["database"] = f"started by the benchmark (pid {started[0]}) and its children"
    else:
        pids, how = local_pids_of_uri(uri)
        found["database"] = how
        if pids:
            groups["database"] = CpuCounter(pids)
    ports = list(args.db_port)
    if args.postgresql_url:
        url = urlparse(args.postgresql_url)
        if url.hostname and is_local(url.hostname):
            ports.append(url.port or 5432)
    backend = [int(p) for p in args.db_pids.split(",") if p.strip()]
    for port in ports:
        backend += pids_listening_on(port)
    if backend:
        groups["db backend"] = CpuCounter(sorted(set(backend)))
        found["db backend"] = f"pids {sorted(set(backend))} and their children"
    elif ports:
        found["db backend"] = f"not measured: nothing this user can see listens on {ports}"
    return groups, found


def main() -> None:
    args = parse_args()
    if args.compare:
        path_a, path_b = args.compare
        sys.exit(bench_compare.main(path_a, path_b, threshold=args.threshold / 100))
    OUT.mkdir(exist_ok=True)
    procs: list[subprocess.Popen[bytes]] = []
    sampler: Sampler | None = None
    try:
        uri = os.environ.get("MONGODB_URI", "")
        label = None
        if not uri:
            fport = free_port()
            if args.postgresql_url:
                procs.append(
                    start_ferretdb(
                        fport, None, OUT / "ferretdb.log", postgresql_url=args.postgresql_url
                    )
                )
            else:
                data = OUT / f"ferretdb-scale{args.scale}-seed{args.seed}"
                procs.append(start_ferretdb(fport, data, OUT / "ferretdb.log"))
                label = "FerretDB v1.24.2 (SQLite)"
            uri = f"mongodb://127.0.0.1:{fport}/"
        engine = engine_info(uri, label)
        if args.postgresql_url and not label:
            engine["label"] = f"FerretDB v1.24.2 ({engine.get('backend', 'PostgreSQL')})"
        print(f"database: {engine['label']}", flush=True)
        db_groups, db_found = database_groups(args, uri, [p.pid for p in procs])
        db_name = "anju_bench"
        city = ensure_city(uri, db_name, args.scale, args.seed)
        aport, sport = free_port(), free_port()
        env = anju_env(uri, db_name, sport, OUT / "keys")
        simulator = start_simulator(sport, f"http://127.0.0.1:{aport}", env, OUT / "sim.log")
        procs.append(simulator)
        # the operations' Anju (which the simulator's webhooks reach too) and, unless
        # --together, a whole Anju beside it that runs the background work
        whole = None
        if not args.together:
            whole = start_anju(
                free_port(),
                env,
                workers=args.workers,
                log_path=OUT / "anju-workers.log",
                extra_args=("--log-level", "warning"),
            )
            procs.append(whole)
            env = {**env, "ANJU_BACKGROUND_WORKERS": "0"}
        anju = start_anju(
            aport,
            env,
            workers=args.workers,
            log_path=OUT / "anju.log",
            extra_args=("--log-level", "warning"),
        )
        procs.append(anju)
        base = f"http://127.0.0.1:{aport}"
        wait_ready(base)
        sampler = Sampler(
            {
                "anju": CpuCounter([anju.pid]),
                **({WHOLE: CpuCounter([whole.pid])} if whole else {}),
                **db_groups,
                "simulator": CpuCounter([simulator.pid]),
                "load generator": CpuCounter([os.getpid()], tree=False),
            },
            interval=args.sample_interval,
        )
        for name, how in db_found.items():
            print(f"{name} CPU: {how}", flush=True)
        sampler.start()
        fx = Fixture(base, uri, db_name, f"http://127.0.0.1:{sport}")
        idle: dict[str, dict[str, float]] = {}
        if args.idle_seconds > 0:
            print(f"measuring idle CPU for {args.idle_seconds:.0f} s...", flush=True)
            t0 = sampler.sample_now()[0]
            time.sleep(args.idle_seconds)
            t1 = sampler.sample_now()[0]
            idle = idle_summary(sampler.between(t0, t1))
        print(idle_block(idle, args.scale, args.workers), flush=True)
        floors = {k: v["floor_ms_per_s"] / 1000 for k, v in idle.items()}
        ops = operations(fx)
        ops["realistic mix"] = mix(ops)
        wanted = [p.strip() for p in args.only.split(",") if p.strip()]
        results: list[Result] = []
        cpu: dict[str, dict[str, dict[str, float]]] = {}
        for name, send in ops.items():
            if wanted and not any(name.startswith(p) for p in wanted):
                continue
            edges: dict[str, float] = {}

            def edge(which: str, edges: dict[str, float] = edges) -> None:
                edges[which] = sampler.sample_now()[0] if sampler else time.monotonic()

            result = asyncio.run(
                run(
                    name,
                    send,
                    base_url=base,
                    concurrency=args.concurrency,
                    duration_s=args.duration,
                    warmup_s=args.warmup,
                    min_requests=args.min_requests,
                    max_duration_s=args.max_duration or 2 * args.duration,
                    on_window=edge,
                )
            )
            window = sampler.between(edges["start"], edges["end"])
            cpu[name] = window_cpu(window, result.completed_at, floors)
            results.append(result)
            anju_cpu = cpu[name].get("anju", {})
            print(
                table([result]).splitlines()[-1] + f"  anju {anju_cpu.get('net_ms', 0):.2f} ms/req",
                flush=True,
            )
        graphql = next((r for r in results if r.name == "search: community + rent"), None)
        bare = next((r for r in results if r.name.startswith("search: bare")), None)
        ratio = bare.rps / graphql.rps if graphql and bare and graphql.rps else None
        print("\n" + table(results))
        if ratio:
            print(
                f"\nGraphQL layer cost: the bare route serves {ratio:.2f}x the GraphQL "
                "throughput for the same search"
            )
        print(cpu_table(results, cpu, args.min_requests))
        cores = os.cpu_count() or 1
        net = {n: {g: v["net_ms"] for g, v in c.items()} for n, c in cpu.items()}
        projected = {
            r.name: projection(
                net.get(r.name, {}),
                # the bare route sends the same queries as the GraphQL search (it does not
                # report them): count the same database CPU for both
                r.round_trips if r is not bare or graphql is None else graphql.round_trips,
                cores=cores,
                concurrency=args.concurrency,
                mongo_ms_per_command=args.mongo_ms_per_command,
            )
            for r in results
        }
        print(projection_table(results, projected, args.mongo_ms_per_command))
        print("\n" + idle_line(idle, args.scale, args.workers))
        plans = explain_operations(fx, base, uri, [r.name for r in results], args.explain_verbosity)
        print("\nEvery query each operation sends, the index that serves it on MongoDB")
        print(f"(app/store/indexes.py) and its plan on this database ({engine['label']}):")
        print(explain_table(plans))
        report: dict[str, Any] = {
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "git": git_info(),
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
            "scale": args.scale,
            "seed": args.seed,
            "workers": args.workers,
            "concurrency": args.concurrency,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "min_requests": args.min_requests,
            "database": engine["label"],
            "engine": engine,
            "measured_processes": db_found,
            "city": {k: v for k, v in city.items() if k != "_id"},
            "versions": versions(),
            "graphql_cost_ratio": ratio,
            "results": json.loads(dump(results)),
            "idle": idle,
            "cpu_ms_per_request": cpu,
            "mongo_ms_per_command_assumed": args.mongo_ms_per_command,
            "projected_on_indexed_mongodb": projected,
            "plans": plans,
        }
        path = OUT / f"bench-{time.strftime('%Y%m%dT%H%M%S')}.json"
        path.write_text(json.dumps(report, indent=2, default=str))
        print(f"\nJSON: {path}")
    finally:
        if sampler:
            sampler.stop()
        for proc in reversed(procs):
            stop(proc)


if __name__ == "__main__":
    main()
