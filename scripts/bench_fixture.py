"""What the benchmark's operations need, prepared before they run: the synthetic city (built
once per scale, seed and generator version, and reused), and the accounts, door and look-up
values picked from it and signed in through the API."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from pymongo import MongoClient

from app.settings import DEV_ADMIN_PASSWORD, DEV_ADMIN_PHONE
from devstack.procs import ROOT
from devstack.sim_labels import claim_code
from devstack.sim_sms import messages, newest_code
from scripts.city import CITY_VERSION
from scripts.workload import _post as gql

# the first admin, as the city (and Anju at start-up) creates it with the development default
ADMIN_PHONE, ADMIN_PASSWORD = DEV_ADMIN_PHONE, DEV_ADMIN_PASSWORD


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


def anju_env(uri: str, db_name: str, sim_port: int, keys_dir: Path) -> dict[str, str]:
    """The environment of a benchmark's Anju: development rules on the city's database, the
    simulator as gateway and payment provider, door openings not rate-limited."""
    return {
        "ANJU_ENV": "development",
        "MONGODB_URI": uri,
        "MONGODB_DB": db_name,
        "SIM_PORT": str(sim_port),
        "GATEWAY_URL": f"http://127.0.0.1:{sim_port}",
        "PAYMENTS_URL": f"http://127.0.0.1:{sim_port}",
        "ANJU_BENCH_ROUTES": "1",
        "ANJU_JWT_KEYS_DIR": str(keys_dir),
        "ANJU_DOOR_RATE_LIMIT": "100000000",
        "ANJU_ADMIN_PHONE": ADMIN_PHONE,
        "ANJU_ADMIN_PASSWORD": ADMIN_PASSWORD,
    }


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
