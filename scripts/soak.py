"""`make soak MINUTES=10`: a mixed load against a running stack for a set time, reporting
errors (5xx above all), latency over time and the memory of each uvicorn worker.

It starts its own FerretDB (or uses MONGODB_URI), simulator and Anju with WORKERS workers,
creates a small world through the public API (with --scale, inside the synthetic city: a copy
of the benchmark's FerretDB folder, built first if missing), then drives anonymous searches,
landlord dashboards, door openings, tenant leases and notifications from one load-generator
process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from devstack.anju import start_anju, start_simulator
from devstack.ferretdb import start_ferretdb
from devstack.procs import ROOT, free_port, stop
from scripts.bench_cpu import children
from scripts.bench_fixture import ensure_city
from scripts.workload import Workload, build_workload

OUT = ROOT / ".bench"
# the clients log in again this often (access tokens live 15 minutes)
RELOGIN_S = 10 * 60


def worker_rss_kib(master_pid: int) -> dict[int, int]:
    """RSS of the uvicorn master's worker processes (or of the master alone)."""
    pids = children(master_pid) or [master_pid]
    rss = {}
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss[pid] = int(line.split()[1])
        except OSError:
            continue
    return rss


async def run_window(
    client: httpx.AsyncClient,
    work: Workload,
    concurrency: int,
    until: float,
    statuses: dict[int, int],
    seed: int,
) -> tuple[list[float], int]:
    """Closed-loop clients until `until`; returns the latencies (ms) and the error count."""
    lat: list[float] = []
    errors = 0

    async def one(i: int) -> None:
        nonlocal errors
        rng = random.Random(seed + i)
        while time.monotonic() < until:
            op = work.pick(rng)
            t = time.monotonic()
            try:
                status, ok = await op(client, rng)
            except httpx.HTTPError:
                status, ok = 599, False
            lat.append((time.monotonic() - t) * 1000)
            statuses[status] = statuses.get(status, 0) + 1
            if not ok:
                errors += 1

    await asyncio.gather(*(one(i) for i in range(concurrency)))
    return lat, errors


async def soak(
    base: str,
    work: Workload,
    minutes: float,
    concurrency: int,
    master_pid: int,
    client_timeout: float = 60,
) -> dict[str, Any]:
    windows: list[dict[str, Any]] = []
    started = time.monotonic()
    end = started + minutes * 60
    window_s = 30.0 if minutes >= 2 else 10.0
    rss_start = worker_rss_kib(master_pid)
    statuses: dict[int, int] = {}
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=client_timeout, limits=limits) as client:
        while time.monotonic() < end:
            if time.monotonic() - work.logged_in_at > RELOGIN_S:
                await asyncio.to_thread(work.log_in_again, base)
            w_end = min(end, time.monotonic() + window_s)
            lat, errors = await run_window(
                client, work, concurrency, w_end, statuses, seed=len(windows) * 1000
            )
            lat.sort()
            windows.append(
                {
                    # real time since the start: a window waits for its requests in flight
                    "t_s": round(time.monotonic() - started),
                    "requests": len(lat),
                    "errors": errors,
                    "p50_ms": round(lat[len(lat) // 2], 1) if lat else None,
                    "p99_ms": round(lat[int(len(lat) * 0.99)], 1) if lat else None,
                    "rss_kib": worker_rss_kib(master_pid),
                }
            )
            print(json.dumps(windows[-1]), flush=True)
    rss_end = worker_rss_kib(master_pid)
    return {
        "minutes": minutes,
        "concurrency": concurrency,
        "statuses": statuses,
        "server_errors_5xx": sum(n for s, n in statuses.items() if 500 <= s < 600),
        "windows": windows,
        "rss_start_kib": rss_start,
        "rss_end_kib": rss_end,
        "rss_growth_kib": {pid: rss_end.get(pid, 0) - kib for pid, kib in rss_start.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--scale",
        type=float,
        default=None,
        help="run inside the synthetic city at this scale (a copy of the benchmark's)",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--request-timeout",
        type=float,
        default=30,
        help="Anju's request timeout (ANJU_REQUEST_TIMEOUT_S, also the database socket "
        "timeout) and the clients' (+30 s)",
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="anju-soak-"))
    procs: list[subprocess.Popen[bytes]] = []
    city: dict[str, Any] | None = None
    db_name = "anju_soak"
    try:
        uri = os.environ.get("MONGODB_URI")
        if not uri:
            fport = free_port()
            data = workdir / "db"
            kept = OUT / f"ferretdb-scale{args.scale}-seed{args.seed}"
            if args.scale is not None and kept.exists():
                # the benchmark's city, copied: the soak's writes stay out of it
                shutil.copytree(kept, data)
            procs.append(start_ferretdb(fport, data, workdir / "ferretdb.log"))
            uri = f"mongodb://127.0.0.1:{fport}/"
        if args.scale is not None:
            db_name = "anju_bench"
            city = ensure_city(uri, db_name, args.scale, args.seed)
        aport, sport = free_port(), free_port()
        env = {
            "ANJU_ENV": "development",
            "MONGODB_URI": uri,
            "MONGODB_DB": db_name,
            "SIM_PORT": str(sport),
            "GATEWAY_URL": f"http://127.0.0.1:{sport}",
            "PAYMENTS_URL": f"http://127.0.0.1:{sport}",
            "ANJU_JWT_KEYS_DIR": str(workdir / "keys"),
            "ANJU_DOOR_RATE_LIMIT": "100000",
            "ANJU_REQUEST_TIMEOUT_S": str(args.request_timeout),
            "MONGODB_SOCKET_TIMEOUT_MS": str(int(args.request_timeout * 1000)),
        }
        procs.append(start_simulator(sport, f"http://127.0.0.1:{aport}", env, workdir / "sim.log"))
        anju = start_anju(aport, env, workers=args.workers, log_path=workdir / "anju.log")
        procs.append(anju)
        base = f"http://127.0.0.1:{aport}"
        work = build_workload(base, f"http://127.0.0.1:{sport}")
        report = asyncio.run(
            soak(
                base,
                work,
                args.minutes,
                args.concurrency,
                anju.pid,
                client_timeout=args.request_timeout + 30,
            )
        )
        report["request_timeout_s"] = args.request_timeout
        report["city"] = {k: v for k, v in (city or {}).items() if k != "_id"} or None
        report["workers"] = args.workers
        report["machine"] = {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        }
        OUT.mkdir(exist_ok=True)
        path = OUT / f"soak-{time.strftime('%Y%m%dT%H%M%S')}.json"
        path.write_text(json.dumps(report, indent=2))
        print(f"\n5xx: {report['server_errors_5xx']}  statuses: {report['statuses']}")
        print(f"worker RSS growth (KiB): {report['rss_growth_kib']}")
        print(f"report: {path}")
    finally:
        for proc in reversed(procs):
            stop(proc)


if __name__ == "__main__":
    main()
