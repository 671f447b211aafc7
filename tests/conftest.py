"""The test stack: FerretDB (or MONGODB_URI), the device simulator and Anju, each its own
process on a free loopback port, started once per session. Every test starts from an empty
database (indexes and the first admin in place) and a reset simulator."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from pymongo import AsyncMongoClient, MongoClient

from app.passwords import Passwords
from app.services import accounts
from app.settings import load_settings
from app.store import Doc, open_store
from devstack.anju import start_anju, start_simulator
from devstack.ferretdb import start_ferretdb
from devstack.procs import free_port, stop
from tests.support import Api

# the test process itself (the operator's commands run in it) is a test environment: unset,
# ANJU_ENV would mean production rules
os.environ.setdefault("ANJU_ENV", "test")

ADMIN_PHONE = "13800000001"
ADMIN_PASSWORD = "test-admin-password"
T = TypeVar("T")


@dataclass
class Stack:
    mongodb_uri: str
    db_name: str
    anju_url: str
    sim_url: str
    env: dict[str, str]
    workdir: Path
    procs: dict[str, subprocess.Popen[bytes]]


def _test_env(
    workdir: Path, mongodb_uri: str, db_name: str, anju_port: int, sim_port: int
) -> dict[str, str]:
    return {
        "ANJU_ENV": "test",
        "MONGODB_URI": mongodb_uri,
        "MONGODB_DB": db_name,
        "ANJU_PUBLIC_URL": f"http://127.0.0.1:{anju_port}",
        "GATEWAY_URL": f"http://127.0.0.1:{sim_port}",
        "PAYMENTS_URL": f"http://127.0.0.1:{sim_port}",
        "SIM_PORT": str(sim_port),
        "ANJU_JWT_KEYS_DIR": str(workdir / "keys"),
        "ANJU_ADMIN_PHONE": ADMIN_PHONE,
        "ANJU_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "GATEWAY_TIMEOUT_S": "1.5",
        "ANJU_CORS_ORIGINS": "https://app.anju.example",
        "ANJU_LOGIN_MAX_FAILURES": "5",
        "ANJU_LOGIN_LOCKOUT_S": "900",
        # hundreds of accounts: a cheaper argon2 than production's (app/passwords.py)
        "ANJU_PASSWORD_HASH_MEMORY_KIB": "1024",
        # a revoked session's tokens stop within this (20 s in production): tests wait less
        "ANJU_ACCESS_CHECK_CACHE_S": "1",
        # photo bytes in the test's own directory; the janitor's passes every second
        "ANJU_STORAGE_DIR": str(workdir / "files"),
        "ANJU_PHOTO_SWEEP_INTERVAL_S": "1",
        # tests move the clock by months: the retention sweep runs only when a test asks
        # (POST /test/retention-sweep), never on its own in the middle of another test
        "ANJU_RETENTION_SWEEP_S": str(365 * 24 * 3600),
    }


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    workdir = Path(tempfile.mkdtemp(prefix="anju-test-"))
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        mongodb_uri = os.environ.get("MONGODB_URI")
        if not mongodb_uri:
            fport = free_port()
            procs["ferretdb"] = start_ferretdb(
                fport, workdir / "ferretdb", workdir / "ferretdb.log"
            )
            mongodb_uri = f"mongodb://127.0.0.1:{fport}/"
        db_name = f"anju_test_{secrets.token_hex(4)}"
        anju_port, sim_port = free_port(), free_port()
        env = _test_env(workdir, mongodb_uri, db_name, anju_port, sim_port)
        procs["sim"] = start_simulator(
            sim_port, f"http://127.0.0.1:{anju_port}", env, workdir / "sim.log"
        )
        procs["anju"] = start_anju(anju_port, env, log_path=workdir / "anju.log")
        yield Stack(
            mongodb_uri,
            db_name,
            f"http://127.0.0.1:{anju_port}",
            f"http://127.0.0.1:{sim_port}",
            env,
            workdir,
            procs,
        )
    finally:
        for proc in reversed(list(procs.values())):
            stop(proc)
        if os.environ.get("MONGODB_URI") and procs.get("anju"):
            with MongoClient(os.environ["MONGODB_URI"]) as client:
                client.drop_database(db_name)
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def another_anju(stack: Stack, overrides: dict[str, str], name: str) -> Iterator[str]:
    """A second Anju on the stack's database and simulator, with settings of its own (strict
    limits): its base URL, while the block runs."""
    port = free_port()
    env = {**stack.env, **overrides, "ANJU_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    proc = start_anju(port, env, log_path=stack.workdir / f"anju-{name}.log")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


@contextlib.contextmanager
def city_anju(
    stack: Stack, api: Api, mongo: MongoClient[Doc], name: str, build: Callable[[str], T]
) -> Iterator[tuple[Api, str, T]]:
    """A synthetic city built by `build(db_name)` in a database of its own, then served by an
    Anju of its own: (its Api, the database's name, what `build` gave). The city's wipe drops
    every collection, and FerretDB v1 now and then keeps an index of a collection dropped
    while an Anju was at work on it, then refuses to create it again; so the stack's Anju
    never runs on a database the city wipes."""
    db_name = f"{stack.db_name}_{name}"
    mongo.drop_database(db_name)
    try:
        built = build(db_name)
        with another_anju(stack, {"MONGODB_DB": db_name}, name) as url:
            yield Api(url, api.client, ADMIN_PHONE, ADMIN_PASSWORD, api.sim_url), db_name, built
    finally:
        mongo.drop_database(db_name)


RESET_FIRST = frozenset(
    {"safety_checks", "properties", "rooms", "devices", "leases", "occupants", "card_jobs"}
)


async def _reset_database(stack: Stack) -> None:
    settings = load_settings(stack.env)
    client: AsyncMongoClient[Doc] = AsyncMongoClient(stack.mongodb_uri, tz_aware=True)
    try:
        db = client[stack.db_name]
        # what the background workers read to decide first, what they write after: a pass
        # under way during the reset then finds nothing, or its writes are emptied after it
        # (a hazard of a property already gone would break the next test's reads)
        names = await db.list_collection_names()
        for name in sorted(names, key=lambda n: (n not in RESET_FIRST, n)):
            await db[name].delete_many({})
        await accounts.ensure_admin(
            await open_store(db), settings, Passwords(settings.password_hash_memory_kib)
        )
    finally:
        await client.close()


# The limits that the strict stack sets low enough for a test to reach (the test stack's own are
# generous, as development's are).
STRICT_LIMITS = {
    "ANJU_ANONYMOUS_SEARCHES_PER_MINUTE": "5",
    "ANJU_COUNT_CAP": "3",
    "ANJU_NEAR_MAX_RADIUS_KM": "5",
    "ANJU_POLICE_RESULTS_PER_REASON": "3",
    "ANJU_REGISTRATION_PROBES_PER_DAY": "1",
}


@pytest.fixture(scope="session")
def strict_stack(stack: Stack) -> Iterator[Stack]:
    """A second Anju with low limits (STRICT_LIMITS) on a database of its own, beside the test
    stack's simulator; started by the first test that asks for it."""
    port = free_port()
    db_name = f"{stack.db_name}_strict"
    env = {
        **stack.env,
        **STRICT_LIMITS,
        "MONGODB_DB": db_name,
        "ANJU_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    proc = start_anju(port, env, log_path=stack.workdir / "anju-strict.log")
    try:
        yield Stack(
            stack.mongodb_uri,
            db_name,
            f"http://127.0.0.1:{port}",
            stack.sim_url,
            env,
            stack.workdir,
            {"anju": proc},
        )
    finally:
        stop(proc)
        if os.environ.get("MONGODB_URI"):
            with MongoClient(os.environ["MONGODB_URI"]) as client:
                client.drop_database(db_name)


@pytest.fixture
def strict_api(strict_stack: Stack, http: httpx.Client) -> Api:
    """The strict stack on a clean slate (its database emptied, the simulator reset)."""
    return _clean_slate(strict_stack, http)


def _clean_slate(stack: Stack, http: httpx.Client) -> Api:
    """An empty database (indexes, first admin), a reset simulator and Anju's real clock."""
    asyncio.run(_reset_database(stack))
    http.post(f"{stack.sim_url}/sim/reset").raise_for_status()
    http.post(f"{stack.anju_url}/test/clock", json={"offsetSeconds": 0}).raise_for_status()
    return Api(stack.anju_url, http, ADMIN_PHONE, ADMIN_PASSWORD, stack.sim_url)


@pytest.fixture(scope="session")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


@pytest.fixture
def api(stack: Stack, http: httpx.Client) -> Api:
    """A clean slate: empty database (indexes, first admin) and a reset simulator."""
    return _clean_slate(stack, http)


@pytest.fixture
def mongo(stack: Stack) -> Iterator[MongoClient[Doc]]:
    """Direct database access, for assertions on what is stored (never for set-up)."""
    with MongoClient(stack.mongodb_uri, tz_aware=True) as client:
        yield client
