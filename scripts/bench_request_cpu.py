"""Anju's CPU per request, one client, against issue 25's targets (item 5): `make bench-cpu`.

An API-only Anju (`ANJU_BACKGROUND_WORKERS=0`, one uvicorn worker) serves sequential requests
of each benchmarked operation on the benchmark's city; its CPU is its threads' run time
(`/proc/PID/task/*/schedstat`). What an idle Anju spends meanwhile (uvicorn's ticks, PyMongo's
monitors: a few ms a second here) is taken off two ways:
- a fast operation (under two seconds; 60 requests at most past half a second): CPU over N
  requests less the idle rate measured first times the time they took;
- a slow one (FerretDB v1 scans for it: seconds a request): each request is followed by an
  idle window as long as it took, and the request's CPU less its window's is its figure. The
  idle rate drifts by a ms a second or so, which over a ten-second request would be a larger
  error than the figure itself; the paired window follows the drift.
Without the background workers no pass lands in a request's figure; the simulator's
door.opened webhook reaches this Anju too and is part of openDoor's figure.

    python -m scripts.bench_request_cpu --scale 0.01 [--only search,openDoor] [--requests 300]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import httpx

from devstack.anju import start_anju, start_simulator
from devstack.ferretdb import start_ferretdb
from devstack.procs import free_port, stop
from scripts.bench import OUT
from scripts.bench_cpu import CpuCounter
from scripts.bench_fixture import Fixture, anju_env, ensure_city
from scripts.bench_ops import DASHBOARD, MY_LEASES, OPEN_DOOR, RESIDENTS, SEARCH, STATS

# issue 25, item 5: ms of Anju's CPU per request on FerretDB v1 at SCALE=0.01, one client
TARGETS = {
    "search": 3.0,
    "dashboard": 15.0,
    "populationStats": 3.0,
    "residents": 5.0,
    "openDoor": 15.0,
    "myLeases": 6.0,
}
SLOW_S = 2.0  # requests slower than this get a paired idle window
MEDIUM_S = 0.5  # requests slower than this are sent 60 times at most
FIXTURE_S = 600  # access tokens live 15 minutes: sign in again after this


def operations(fx: Fixture) -> dict[str, tuple[str, Callable[[int], Any], str | None]]:
    """The benchmark's operations (its queries, its fixture) with the same variables for every
    request, unlike `make bench`'s varied ones: a figure per operation, not per mix of inputs."""
    town, community = fx.communities[0]
    rent = {"town": town, "community": community, "minRentFen": 50000, "maxRentFen": 200000}
    ops: dict[str, tuple[str, Callable[[int], Any], str | None]] = {
        "search": (SEARCH, lambda i: {"f": rent, "s": "RENT_ASC"}, None),
        "dashboard": (DASHBOARD, lambda i: {}, fx.landlord),
        "populationStats": (STATS, lambda i: {"s": {"town": fx.towns[0]}}, fx.police),
        "openDoor": (OPEN_DOOR, lambda i: {"i": {"doorId": fx.door_id}}, fx.landlord),
    }
    if fx.id_numbers:
        ids = fx.id_numbers
        ops["residents"] = (RESIDENTS, lambda i: {"f": {"idNumber": ids[i % len(ids)]}}, fx.police)
    if fx.tenants:
        ops["myLeases"] = (MY_LEASES, lambda i: {}, fx.tenants[0])
    return ops


def measure(
    client: httpx.Client,
    anju: CpuCounter,
    op: tuple[str, Callable[[int], Any], str | None],
    requests: int,
    idle_rate: float,
) -> dict[str, Any]:
    query, variables, token = op
    headers = {"authorization": f"Bearer {token}"} if token else {}

    def send(i: int) -> int:
        body = client.post(
            "/graphql", json={"query": query, "variables": variables(i)}, headers=headers
        ).json()
        if "errors" in body:
            raise RuntimeError(f"the operation failed: {body['errors'][:2]}")
        return int(body.get("extensions", {}).get("dbRoundTrips", 0))

    started = time.monotonic()
    trips = send(0)  # warm
    took = time.monotonic() - started
    slow = took > SLOW_S
    if slow:
        requests = max(3, min(requests, 8))
    elif took > MEDIUM_S:
        requests = min(requests, 60)
    figures: list[float] = []
    walls: list[float] = []
    if not slow:
        send(1)
        c0, t0 = anju.read(), time.monotonic()
        for i in range(requests):
            send(i)
        c1, t1 = anju.read(), time.monotonic()
        walls.append((t1 - t0) / requests)
        figures.append(((c1 - c0) - idle_rate * (t1 - t0)) / requests)
    else:
        for i in range(requests):
            c0, t0 = anju.read(), time.monotonic()
            send(i)
            c1, wall = anju.read(), time.monotonic() - t0
            time.sleep(wall)
            figures.append((c1 - c0) - (anju.read() - c1))
            walls.append(wall)
    return {
        "ms": 1000 * statistics.mean(figures),
        "spread_ms": 1000 * (statistics.stdev(figures) if len(figures) > 1 else 0.0),
        "requests": requests,
        "wall_ms": 1000 * statistics.mean(walls),
        "round_trips": trips,
        "paired": slow,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--requests", type=int, default=300, help="per fast operation")
    parser.add_argument("--idle-seconds", type=float, default=30)
    parser.add_argument("--only", default="", help="comma-separated operation names")
    args = parser.parse_args()
    os.environ.setdefault("ANJU_ENV", "development")  # the fixture reads development settings
    OUT.mkdir(exist_ok=True)
    procs = []
    try:
        uri = os.environ.get("MONGODB_URI", "")
        if not uri:
            port = free_port()
            data = OUT / f"ferretdb-scale{args.scale}-seed{args.seed}"
            procs.append(start_ferretdb(port, data, OUT / "ferretdb.log"))
            uri = f"mongodb://127.0.0.1:{port}/"
        ensure_city(uri, "anju_bench", args.scale, args.seed)
        aport, sport = free_port(), free_port()
        env = {
            **anju_env(uri, "anju_bench", sport, OUT / "keys"),
            "ANJU_BACKGROUND_WORKERS": "0",
        }
        procs.append(start_simulator(sport, f"http://127.0.0.1:{aport}", env, OUT / "sim.log"))
        anju = start_anju(
            aport, env, log_path=OUT / "anju-cpu.log", extra_args=("--log-level", "warning")
        )
        procs.append(anju)
        base = f"http://127.0.0.1:{aport}"
        sim = f"http://127.0.0.1:{sport}"
        fx = Fixture(base, uri, "anju_bench", sim)
        cpu = CpuCounter([anju.pid], tree=False)
        time.sleep(5)  # start-up work (the fixture's log-ins) settles
        c0 = cpu.read()
        time.sleep(args.idle_seconds)
        idle_rate = (cpu.read() - c0) / args.idle_seconds
        print(f"idle: {1000 * idle_rate:.2f} ms/s (API-only Anju, one worker)")
        wanted = {n.strip() for n in args.only.split(",") if n.strip()}
        head = (
            f"{'operation':<17}{'ms/request':>11}{'spread':>8}{'target':>8}{'requests':>9}"
            f"{'wall ms':>9}{'trips':>6}"
        )
        print(head + "\n" + "-" * len(head))
        signed_in = time.monotonic()
        with httpx.Client(base_url=base, timeout=120) as client:
            for name in list(operations(fx)):
                if wanted and name not in wanted:
                    continue
                if time.monotonic() - signed_in > FIXTURE_S:
                    fx, signed_in = Fixture(base, uri, "anju_bench", sim), time.monotonic()
                op = operations(fx)[name]
                r = measure(client, cpu, op, args.requests, idle_rate)
                target = TARGETS.get(name)
                mark = "" if target is None else (" met" if r["ms"] <= target else " NOT met")
                how = " (paired idle windows)" if r["paired"] else ""
                print(
                    f"{name:<17}{r['ms']:>11.2f}{r['spread_ms']:>8.2f}{target or 0:>8.1f}"
                    f"{r['requests']:>9}{r['wall_ms']:>9.0f}{r['round_trips']:>6}{mark}{how}",
                    flush=True,
                )
    finally:
        for proc in reversed(procs):
            stop(proc)


if __name__ == "__main__":
    main()
