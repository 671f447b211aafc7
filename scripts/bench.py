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
from devstack.ferretdb import start_ferretdb
from devstack.loadgen import Request, Result, dump, graphql_request, run, table
from devstack.procs import ROOT, free_port, stop
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


def log_in(client: httpx.Client, phone: str, password: str) -> str:
    data = gql(
        client,
        "mutation($i: LogInInput!) { logIn(input: $i) { accessToken userErrors { code } } }",
        {"i": {"phone": phone, "password": password}},
    )
    token = data["logIn"]["accessToken"]
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
    """Builds the city unless this database already holds it (marker document)."""
    with MongoClient(uri) as client:
        marker = client[db_name].bench_marker.find_one({"_id": "city"})
        if marker and marker.get("scale") == scale and marker.get("seed") == seed:
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
            "load_seconds": seconds,
            "summary": result.stdout.strip().splitlines()[-1] if result.stdout else "",
        }
        client[db_name].bench_marker.replace_one({"_id": "city"}, doc, upsert=True)
    return doc


class Fixture:
    """What the operations need, picked from the city and prepared through the API."""

    def __init__(self, base: str, uri: str, db_name: str, sim: str) -> None:
        from scripts.city import CITY_PASSWORD

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
            # a room's door (an entrance would first receive every live card of the building)
            room = db.rooms.find_one({"property_id": prop["_id"]})
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
            admin = log_in(client, ADMIN_PHONE, ADMIN_PASSWORD)
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
            self.police = log_in(client, phone, "bench-police-pw")
            self.id_numbers = self._id_numbers(db)
            self.tenants = self._tenants(client, db)

    def _id_numbers(self, db: Any) -> list[str]:
        """Real ID numbers of current residents (decrypted with the development key)."""
        try:
            from app.services import idnumbers
            from app.settings import load_settings

            settings = load_settings()
            docs = db.occupants.find({"left_at": None}).limit(200)
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

    ops: dict[str, Request] = {
        "search: community + rent": graphql_request(SEARCH, community_rent, lambda i: None),
        "search: near, by distance": graphql_request(SEARCH, near, lambda i: None),
        "search: text": graphql_request(SEARCH, text, lambda i: None),
        "search: walk to page 5": walk_pages(community_rent),
        "search: bare route (baseline)": bare_route(community_rent),
        f"landlord dashboard ({fx.dashboard_rooms} rooms)": graphql_request(
            DASHBOARD, lambda i: {}, lambda i: fx.landlord
        ),
        "openDoor": graphql_request(
            OPEN_DOOR,
            lambda i: {"i": {"doorId": fx.door_id}},
            lambda i: fx.landlord,
            check=lambda b: (
                "errors" not in b and b["data"]["openDoor"]["command"]["status"] == "OPENED"
            ),
        ),
        "populationStats: a town": graphql_request(
            STATS, lambda i: {"s": {"town": fx.towns[i % len(fx.towns)]}}, lambda i: fx.police
        ),
    }
    if fx.id_numbers:
        ops["residents: by ID number"] = graphql_request(
            RESIDENTS,
            lambda i: {"f": {"idNumber": fx.id_numbers[i % len(fx.id_numbers)]}},
            lambda i: fx.police,
        )
    if fx.tenants:
        ops["tenant myLeases"] = graphql_request(
            MY_LEASES, lambda i: {}, lambda i: fx.tenants[i % len(fx.tenants)]
        )
    return ops


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
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        uri = os.environ.get("MONGODB_URI")
        database = "MongoDB at MONGODB_URI"
        if not uri:
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
        procs.append(start_simulator(sport, f"http://127.0.0.1:{aport}", env, OUT / "sim.log"))
        procs.append(
            start_anju(
                aport,
                env,
                workers=args.workers,
                log_path=OUT / "anju.log",
                extra_args=("--log-level", "warning"),
            )
        )
        base = f"http://127.0.0.1:{aport}"
        wait_ready(base)
        fx = Fixture(base, uri, db_name, f"http://127.0.0.1:{sport}")
        ops = operations(fx)
        ops["realistic mix"] = mix(ops)
        wanted = [p.strip() for p in args.only.split(",") if p.strip()]
        results: list[Result] = []
        for name, send in ops.items():
            if wanted and not any(name.startswith(p) for p in wanted):
                continue
            result = asyncio.run(
                run(
                    name,
                    send,
                    base_url=base,
                    concurrency=args.concurrency,
                    duration_s=args.duration,
                )
            )
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
        }
        path = OUT / f"bench-{time.strftime('%Y%m%dT%H%M%S')}.json"
        path.write_text(json.dumps(report, indent=2, default=str))
        print(f"\nJSON: {path}")
    finally:
        for proc in reversed(procs):
            stop(proc)


if __name__ == "__main__":
    main()
