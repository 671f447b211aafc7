"""`make bench SCALE=0.1 WORKERS=2`: the synthetic city, the stack with WORKERS uvicorn
workers, and a separate load-generator process driving each operation alone and a realistic
mix at fixed concurrency for a fixed duration. Prints a table; writes JSON to .bench/.

Not part of the tests. Everything runs on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import subprocess
import sys
import time
from collections.abc import Callable
from importlib import metadata
from typing import Any

import httpx
from pymongo import MongoClient

from app.settings import DEV_ADMIN_PASSWORD, DEV_ADMIN_PHONE
from devstack.anju import start_anju, start_simulator
from devstack.ferretdb import backend_version, start_ferretdb
from devstack.loadgen import Request, Result, dump, graphql_request, run, table
from devstack.procs import ROOT, free_port, stop
from devstack.sim_labels import claim_code
from devstack.sim_sms import messages, newest_code
from scripts.bench_analysis import (
    CpuMeter,
    explain_commands,
    explain_table,
    per_request_ms,
    projection,
    with_children,
)
from scripts.city import CITY_VERSION
from scripts.workload import _post as gql

OUT = ROOT / ".bench"
# the first admin, as the city (and Anju at start-up) creates it with the development default
ADMIN_PHONE, ADMIN_PASSWORD = DEV_ADMIN_PHONE, DEV_ADMIN_PASSWORD

SEARCH = """query($f: ListingFilter, $s: ListingSort, $after: String) {
  listings(filter: $f, sort: $s, first: 20, after: $after) { totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id title monthlyRentFen areaSqm address availableFrom distanceKm } } } }"""
DASHBOARD = """{ myProperties(first: 20) { totalCount edges { node { id name
  rooms(first: 100) { totalCount edges { node { id number status monthlyRentFen
    activeLease { id endDate invoices(status: OPEN, first: 3) { edges { node { id amountFen
      paidFen dueDate status } } } } } } } } } } }"""
OPEN_DOOR = """mutation($i: OpenDoorInput!) { openDoor(input: $i) {
  command { status } userErrors { code } } }"""
RESIDENTS = """query($f: ResidentFilter!) { residents(filter: $f, reason: "bench case 2026-001",
  first: 20) { totalCount edges { node { name idNumber room { number } } } } }"""
STATS = """query($s: StatsScope) { populationStats(scope: $s) { properties rooms occupiedRooms
  residents byKind { kind properties rooms } } }"""
MY_LEASES = """{ myLeases { id status endDate
  invoices(first: 12) { edges { node { id amountFen paidFen status dueDate } } } } }"""


def log_in(client: httpx.Client, phone: str, password: str, sim: str = "") -> str:
    """An access token; an account an admin made confirms its phone on the way, with the
    code its phone (the simulator's SMS inbox) received."""
    given = {"phone": phone, "password": password}
    data = gql(
        client,
        "mutation($i: LogInInput!) { logIn(input: $i) { accessToken userErrors { code } } }",
        {"i": given},
    )
    payload = data["logIn"]
    if sim and [e["code"] for e in payload["userErrors"]] == ["PHONE_VERIFICATION_REQUIRED"]:
        known = len(messages(client, sim, phone))
        gql(
            client,
            "mutation($i: RequestPhoneCodeInput!) { requestPhoneCode(input: $i) { sent } }",
            {"i": {"phone": phone, "purpose": "LOG_IN"}},
        )
        given["phoneCode"] = newest_code(client, sim, phone, after=known)
        payload = gql(
            client,
            "mutation($i: LogInWithCodeInput!) { logInWithCode(input: $i) { accessToken } }",
            {"i": given},
        )["logInWithCode"]
    token = payload["accessToken"]
    if not token:
        raise RuntimeError(f"cannot log in {phone}: {data}")
    return str(token)


def wait_ready(base: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if httpx.get(f"{base}/readyz").status_code == 200:
            return
        time.sleep(0.2)
    raise RuntimeError("Anju did not become ready")


def ensure_city(uri: str, db_name: str, scale: float, seed: int) -> dict[str, Any]:
    """Builds the city unless this database already holds it, made by this version of the
    generator (marker document)."""
    with MongoClient(uri) as client:
        marker = client[db_name].bench_marker.find_one({"_id": "city"})
        if (
            marker
            and marker.get("scale") == scale
            and marker.get("seed") == seed
            and marker.get("version") == CITY_VERSION
        ):
            print(f"city at scale {scale} already loaded ({marker['summary']})", flush=True)
            return dict(marker)
    started = time.perf_counter()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "scripts.city",
            "--scale",
            str(scale),
            "--seed",
            str(seed),
            "--mongodb-uri",
            uri,
            "--db",
            db_name,
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    print(result.stdout, flush=True)
    seconds = time.perf_counter() - started
    with MongoClient(uri) as client:
        doc = {
            "_id": "city",
            "scale": scale,
            "seed": seed,
            "version": CITY_VERSION,
            "load_seconds": seconds,
            "summary": result.stdout.strip().splitlines()[-1] if result.stdout else "",
        }
        client[db_name].bench_marker.replace_one({"_id": "city"}, doc, upsert=True)
    return doc


class Fixture:
    """What the operations need, picked from the city and prepared through the API."""

    def __init__(self, base: str, uri: str, db_name: str, sim: str) -> None:
        from scripts.city import CITY_PASSWORD

        # name -> (query, variables(i), token(i)) of each GraphQL operation, for explain
        self.samples: dict[str, tuple[str, Any, Any]] = {}

        self.rng = random.Random(1)
        with MongoClient(uri) as mongo, httpx.Client(base_url=base, timeout=120) as client:
            db = mongo[db_name]
            self.communities = [
                (d["_id"]["town"], d["_id"]["community"])
                for d in db.listings.aggregate(
                    [
                        {
                            "$group": {
                                "_id": {"town": "$place.town", "community": "$place.community"},
                                "n": {"$sum": 1},
                            }
                        }
                    ]
                )
            ]
            self.towns = sorted({t for t, _ in self.communities})
            sample = db.listings.find_one({}, {"location": 1})
            self.center = sample["location"] if sample else {"lat": 28.35, "lng": 121.6}
            # the landlord whose room count is closest to 50
            counts = list(
                db.rooms.aggregate([{"$group": {"_id": "$landlord_id", "n": {"$sum": 1}}}])
            )
            best = min(counts, key=lambda c: abs(c["n"] - 50))
            self.dashboard_rooms = best["n"]
            landlord = db.accounts.find_one({"_id": best["_id"]})
            assert landlord is not None
            self.landlord = log_in(client, landlord["phone"], CITY_PASSWORD)
            # a door of theirs on the simulator, for openDoor
            prop = db.properties.find_one({"landlord_id": best["_id"]})
            assert prop is not None
            door = db.devices.find_one({"property_id": prop["_id"], "kind": "DOOR"})
            # a room's door (an entrance would first receive every live card of the building),
            # on a vacant room if there is one: registering a door on an occupied room puts its
            # residents' cards, which looks them up (a scan of every occupant on FerretDB)
            room = db.rooms.find_one(
                {"property_id": prop["_id"], "status": "VACANT"}
            ) or db.rooms.find_one({"property_id": prop["_id"]})
            assert room is not None
            if door is None:
                from app.ids import encode_id

                payload = gql(
                    client,
                    """mutation($i: RegisterDeviceInput!) {
                  registerDevice(input: $i) { door { id } userErrors { code } } }""",
                    {
                        "i": {
                            "kind": "DOOR",
                            "deviceId": f"door-bench-{prop['_id']}",
                            "claimCode": claim_code(client, sim, f"door-bench-{prop['_id']}"),
                            "name": "Bench door",
                            "propertyId": encode_id("Property", prop["_id"]),
                            "roomId": encode_id("Room", room["_id"]),
                        }
                    },
                    self.landlord,
                )
                self.door_id = payload["registerDevice"]["door"]["id"]
            else:
                from app.ids import encode_id

                self.door_id = encode_id("Door", door["_id"])
            admin = log_in(client, ADMIN_PHONE, ADMIN_PASSWORD, sim)
            phone = "13812340000"
            gql(
                client,
                """mutation($i: CreateAccountInput!) { createAccount(input: $i) {
                userErrors { code } } }""",
                {
                    "i": {
                        "role": "POLICE",
                        "name": "Bench officer",
                        "phone": phone,
                        "password": "bench-police-pw",
                    }
                },
                admin,
            )
            self.police = log_in(client, phone, "bench-police-pw", sim)
            self.id_numbers = self._id_numbers(db)
            self.tenants = self._tenants(client, db)

    def _id_numbers(self, db: Any) -> list[str]:
        """Real ID numbers of current residents (decrypted with the development key)."""
        try:
            from app.services import idnumbers
            from app.settings import load_settings

            settings = load_settings()
            docs = db.occupants.find({"current": True}).limit(200)
            return [idnumbers.reveal_id_number(d, settings) for d in docs]
        except (ImportError, AttributeError):
            return []

    def _tenants(self, client: httpx.Client, db: Any) -> list[str]:
        try:
            from scripts.city import CITY_PASSWORD
        except ImportError:
            return []
        tokens = []
        for lease in db.leases.find({"status": "ACTIVE"}).limit(30):
            tenant = db.accounts.find_one({"_id": lease["tenant_id"]})
            if tenant:
                try:
                    tokens.append(log_in(client, tenant["phone"], CITY_PASSWORD))
                except RuntimeError:
                    continue
        return tokens


def operations(fx: Fixture) -> dict[str, Request]:
    rng = fx.rng

    def community_rent(i: int) -> dict[str, Any]:
        town, community = fx.communities[i % len(fx.communities)]
        low = rng.choice([50000, 80000, 100000])
        return {
            "f": {
                "town": town,
                "community": community,
                "minRentFen": low,
                "maxRentFen": low + 150000,
            },
            "s": "RENT_ASC",
        }

    def near(i: int) -> dict[str, Any]:
        return {
            "f": {
                "near": {
                    "lat": fx.center["lat"] + rng.uniform(-0.05, 0.05),
                    "lng": fx.center["lng"] + rng.uniform(-0.05, 0.05),
                    "radiusKm": 3,
                }
            },
            "s": "DISTANCE",
        }

    def text(i: int) -> dict[str, Any]:
        return {
            "f": {"text": rng.choice(["单间", "地铁", "拎包入住", "近工业区", "一室"])},
            "s": "NEWEST",
        }

    ops: dict[str, Request] = {}

    def gql_op(
        name: str,
        query: str,
        variables: Callable[[int], dict[str, Any]],
        token: Callable[[int], str | None],
        check: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        kwargs = {"check": check} if check else {}
        ops[name] = graphql_request(query, variables, token, **kwargs)
        fx.samples[name] = (query, variables, token)

    gql_op("search: community + rent", SEARCH, community_rent, lambda i: None)
    gql_op("search: near, by distance", SEARCH, near, lambda i: None)
    gql_op("search: text", SEARCH, text, lambda i: None)
    ops["search: walk to page 5"] = walk_pages(community_rent)
    ops["search: bare route (baseline)"] = bare_route(community_rent)
    gql_op(
        f"landlord dashboard ({fx.dashboard_rooms} rooms)",
        DASHBOARD,
        lambda i: {},
        lambda i: fx.landlord,
    )
    gql_op(
        "openDoor",
        OPEN_DOOR,
        lambda i: {"i": {"doorId": fx.door_id}},
        lambda i: fx.landlord,
        check=lambda b: (
            "errors" not in b and b["data"]["openDoor"]["command"]["status"] == "OPENED"
        ),
    )
    gql_op(
        "populationStats: a town",
        STATS,
        lambda i: {"s": {"town": fx.towns[i % len(fx.towns)]}},
        lambda i: fx.police,
    )
    if fx.id_numbers:
        gql_op(
            "residents: by ID number",
            RESIDENTS,
            lambda i: {"f": {"idNumber": fx.id_numbers[i % len(fx.id_numbers)]}},
            lambda i: fx.police,
        )
    if fx.tenants:
        gql_op(
            "tenant myLeases", MY_LEASES, lambda i: {}, lambda i: fx.tenants[i % len(fx.tenants)]
        )
    return ops


def explain_operations(fx: Fixture, base: str, uri: str) -> dict[str, list[dict[str, str]]]:
    """One request of each GraphQL operation, and the plan of every query it sent."""
    out: dict[str, list[dict[str, str]]] = {}
    with httpx.Client(base_url=base, timeout=120) as client:
        for name, (query, variables, token) in fx.samples.items():
            t = token(0)
            headers = {"authorization": f"Bearer {t}"} if t else {}
            headers["x-anju-capture-commands"] = "1"
            body = client.post(
                "/graphql", json={"query": query, "variables": variables(0)}, headers=headers
            ).json()
            raw = body.get("extensions", {}).get("dbCommands")
            if raw:
                out[name] = explain_commands(uri, raw)
    return out


def walk_pages(variables: Callable[[int], dict[str, Any]]) -> Request:
    async def send(client: httpx.AsyncClient, i: int) -> tuple[bool, int]:
        v, trips, after = variables(i), 0, None
        for _ in range(5):
            response = await client.post(
                "/graphql", json={"query": SEARCH, "variables": {**v, "after": after}}
            )
            body = response.json()
            if response.status_code != 200 or "errors" in body:
                return False, -1
            trips += body.get("extensions", {}).get("dbRoundTrips", 0)
            info = body["data"]["listings"]["pageInfo"]
            if not info["hasNextPage"]:
                break
            after = info["endCursor"]
        return True, trips

    return send


def bare_route(variables: Callable[[int], dict[str, Any]]) -> Request:
    async def send(client: httpx.AsyncClient, i: int) -> tuple[bool, int]:
        f = variables(i)["f"]
        params = {
            "town": f["town"],
            "community": f["community"],
            "minRentFen": f["minRentFen"],
            "maxRentFen": f["maxRentFen"],
            "sort": "RENT_ASC",
        }
        response = await client.get("/bench/listings", params=params)
        return response.status_code == 200, -1

    return send


def mix(ops: dict[str, Request]) -> Request:
    weights = {
        name: w
        for name, w in (
            ("search: community + rent", 30),
            ("search: near, by distance", 15),
            ("search: text", 10),
            ("openDoor", 5),
            ("populationStats: a town", 2),
            ("residents: by ID number", 3),
            ("tenant myLeases", 15),
        )
        if name in ops
    }
    dash = next(n for n in ops if n.startswith("landlord dashboard"))
    weights[dash] = 20
    names = list(weights)
    rng = random.Random(3)

    async def send(client: httpx.AsyncClient, i: int) -> tuple[bool, int]:
        name = rng.choices(names, [weights[n] for n in names])[0]
        return await ops[name](client, i)

    return send


def cpu_table(
    results: list[Result],
    cpu: dict[str, dict[str, float]],
    projected: dict[str, dict[str, float]],
    mongo_ms: float,
) -> str:
    head = (
        f"{'operation':<34}{'anju':>8}{'db':>9}{'sim':>7}{'loadgen':>9}"
        f"{'| proj. rps':>12}{'mean ms':>9}{'| load elsewhere: rps':>22}{'mean ms':>9}"
    )
    rows = [
        "\nCPU per request (ms), and a projection onto a MongoDB that answers each round trip",
        f"from an index at {mongo_ms} ms of CPU (scripts/bench_analysis.py says how):",
        head,
        "-" * len(head),
    ]
    for r in results:
        c, p = cpu.get(r.name, {}), projected.get(r.name, {})
        rows.append(
            f"{r.name:<34}{c.get('anju', 0):>8.1f}{c.get('database', 0):>9.1f}"
            f"{c.get('simulator', 0):>7.1f}{c.get('load generator', 0):>9.1f}"
            f"{p.get('rps', 0):>12.0f}{p.get('mean_latency_ms', 0):>9.0f}"
            f"{p.get('remote_load_rps', 0):>22.0f}{p.get('remote_load_mean_latency_ms', 0):>9.0f}"
        )
    return "\n".join(rows)


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("strawberry-graphql", "graphql-core", "starlette", "uvicorn", "pymongo"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            continue
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=float, default=15, help="seconds per operation")
    parser.add_argument("--only", default="", help="comma-separated name prefixes")
    parser.add_argument(
        "--mongo-ms-per-command",
        type=float,
        default=0.3,
        help="database CPU per indexed command assumed by the MongoDB projection",
    )
    parser.add_argument(
        "--idle-seconds",
        type=float,
        default=10,
        help="how long to measure the processes' CPU with no requests before the operations",
    )
    parser.add_argument(
        "--postgresql-url",
        default=os.environ.get("ANJU_BENCH_POSTGRESQL_URL", ""),
        help="run FerretDB on this PostgreSQL database instead of SQLite (benchmark only)",
    )
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        uri = os.environ.get("MONGODB_URI")
        database = "MongoDB at MONGODB_URI"
        if not uri and args.postgresql_url:
            fport = free_port()
            log = OUT / "ferretdb.log"
            procs.append(start_ferretdb(fport, None, log, postgresql_url=args.postgresql_url))
            uri = f"mongodb://127.0.0.1:{fport}/"
            database = f"FerretDB v1.24.2 ({backend_version(uri)})"
        elif not uri:
            fport = free_port()
            data = OUT / f"ferretdb-scale{args.scale}-seed{args.seed}"
            procs.append(start_ferretdb(fport, data, OUT / "ferretdb.log"))
            uri = f"mongodb://127.0.0.1:{fport}/"
            database = "FerretDB v1.24.2 (SQLite)"
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
            "ANJU_BENCH_ROUTES": "1",
            "ANJU_JWT_KEYS_DIR": str(OUT / "keys"),
            "ANJU_DOOR_RATE_LIMIT": "100000000",
            "ANJU_ADMIN_PHONE": ADMIN_PHONE,
            "ANJU_ADMIN_PASSWORD": ADMIN_PASSWORD,
        }
        database_procs = list(procs)  # FerretDB, when the benchmark started it
        simulator = start_simulator(sport, f"http://127.0.0.1:{aport}", env, OUT / "sim.log")
        procs.append(simulator)
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
        meter = CpuMeter(
            {
                "anju": with_children(anju.pid),
                "database": [p.pid for p in database_procs],
                "simulator": [simulator.pid],
            }
        )
        fx = Fixture(base, uri, db_name, f"http://127.0.0.1:{sport}")
        idle = meter.measure_idle(args.idle_seconds)
        print(
            "CPU when idle (Anju's and the simulator's subtracted from each operation's): "
            + ", ".join(f"{k} {v * 1000:.0f} ms/s" for k, v in idle.items()),
            flush=True,
        )
        ops = operations(fx)
        ops["realistic mix"] = mix(ops)
        wanted = [p.strip() for p in args.only.split(",") if p.strip()]
        results: list[Result] = []
        cpu: dict[str, dict[str, float]] = {}
        for name, send in ops.items():
            if wanted and not any(name.startswith(p) for p in wanted):
                continue
            meter.mark()
            result = asyncio.run(
                run(
                    name,
                    send,
                    base_url=base,
                    concurrency=args.concurrency,
                    duration_s=args.duration,
                )
            )
            # the warm-up's requests are not counted, so this slightly overstates the cost
            cpu[name] = per_request_ms(meter.delta(), result.requests)
            results.append(result)
            print(table([result]).splitlines()[-1], flush=True)
        graphql = next((r for r in results if r.name == "search: community + rent"), None)
        bare = next((r for r in results if r.name.startswith("search: bare")), None)
        ratio = bare.rps / graphql.rps if graphql and bare and graphql.rps else None
        print("\n" + table(results))
        if ratio:
            print(
                f"\nGraphQL layer cost: the bare route serves {ratio:.2f}x the GraphQL "
                "throughput for the same search"
            )
        cores = os.cpu_count() or 1
        projected = {
            r.name: projection(
                cpu.get(r.name, {}),
                # the bare route sends the same queries as the GraphQL search (it does not
                # report them): count the same database CPU for both
                r.round_trips if r is not bare or graphql is None else graphql.round_trips,
                cores=cores,
                concurrency=args.concurrency,
                mongo_ms_per_command=args.mongo_ms_per_command,
            )
            for r in results
        }
        print(cpu_table(results, cpu, projected, args.mongo_ms_per_command))
        plans = explain_operations(fx, base, uri)
        print("\nEvery query each operation sends, the index that serves it on MongoDB")
        print("(app/db.py) and its plan on this database:")
        print(explain_table(plans))
        report = {
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
            "scale": args.scale,
            "seed": args.seed,
            "workers": args.workers,
            "concurrency": args.concurrency,
            "duration_s": args.duration,
            "database": database,
            "city": {k: v for k, v in city.items() if k != "_id"},
            "versions": versions(),
            "graphql_cost_ratio": ratio,
            "results": json.loads(dump(results)),
            "cpu_ms_per_request": cpu,
            "idle_cpu_ms_per_s_subtracted": {k: round(v * 1000, 1) for k, v in idle.items()},
            "mongo_ms_per_command_assumed": args.mongo_ms_per_command,
            "projected_on_indexed_mongodb": projected,
            "plans": plans,
        }
        path = OUT / f"bench-{time.strftime('%Y%m%dT%H%M%S')}.json"
        path.write_text(json.dumps(report, indent=2, default=str))
        print(f"\nJSON: {path}")
    finally:
        for proc in reversed(procs):
            stop(proc)


if __name__ == "__main__":
    main()
