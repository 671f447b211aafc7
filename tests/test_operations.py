"""Anju as a city's operator runs it: `anju serve` with two workers, JSON logs at DEBUG, and
/metrics behind a token, beside the test stack's Anju (same database and simulator)."""

from __future__ import annotations

import json
import secrets
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack.anju import wait_until_ready
from devstack.procs import free_port, start, stop
from tests.conftest import ADMIN_PASSWORD, ADMIN_PHONE, Stack
from tests.door_support import building, open_door, start_lease
from tests.door_support import id_number as new_id_number
from tests.support import Api, Caller, eventually
from tests.test_metrics import scrape, value

LOG_IN = """mutation($input: LogInInput!) { logIn(input: $input) {
  accessToken userErrors { code } } }"""
ME = "query WhoAmI { me { id role } }"


@dataclass
class Served:
    url: str
    log: Path
    metrics_dir: Path
    metrics_token: str

    def lines(self) -> list[dict[str, Any]]:
        """Every log line, each of which must be one JSON object."""
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def served(stack: Stack) -> Iterator[Served]:
    port = free_port()
    log = stack.workdir / f"anju-served-{port}.log"
    metrics_dir = stack.workdir / f"metrics-{port}"
    token = secrets.token_urlsafe(32)
    env = {
        **stack.env,
        "ANJU_LOG_FORMAT": "json",
        "ANJU_LOG_LEVEL": "DEBUG",
        "ANJU_METRICS_TOKEN": token,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    command = [sys.executable, "-m", "app.cli", "serve", "--workers", "2", "--port", str(port)]
    proc = start("Anju (anju serve)", command, port=port, env=env, log_path=log, timeout=60)
    try:
        wait_until_ready(f"http://127.0.0.1:{port}", proc)
        yield Served(f"http://127.0.0.1:{port}", log, metrics_dir, token)
    finally:
        stop(proc)


@pytest.fixture
def ops(api: Api, served: Served, http: httpx.Client) -> Api:
    """The served Anju, over the clean database `api` has just made."""
    return Api(served.url, http, ADMIN_PHONE, ADMIN_PASSWORD, api.sim_url)


def test_every_worker_is_counted(ops: Api, served: Served) -> None:
    # given two workers, each answering some of many requests (fresh connections, which
    # the kernel hands to either)
    with httpx.Client() as http:
        before = scrape(http, served.url, served.metrics_token)
    # when forty requests are served
    for _ in range(40):
        with httpx.Client() as fresh:
            fresh.post(f"{served.url}/graphql", json={"query": "query CountMe { __typename }"})
    # then /metrics, whichever worker answers it, counts all forty: the two workers'
    # files are read together
    with httpx.Client() as http:
        after = scrape(http, served.url, served.metrics_token)
    counted = value(after, "anju_requests_total", operation="CountMe") - value(
        before, "anju_requests_total", operation="CountMe"
    )
    assert counted == 40
    writers = {path.stem.rsplit("_", 1)[-1] for path in served.metrics_dir.glob("counter_*.db")}
    assert len(writers) >= 2, writers


def test_metrics_need_the_token_where_one_is_set(served: Served, http: httpx.Client) -> None:
    # when a scrape comes without the token, or with another one
    bare = http.get(f"{served.url}/metrics")
    wrong = http.get(f"{served.url}/metrics", headers={"authorization": "Bearer guess"})
    # then it is refused and learns nothing
    assert bare.status_code == wrong.status_code == 401
    assert "anju_" not in bare.text + wrong.text
    # and with it, the figures are there
    assert scrape(http, served.url, served.metrics_token)["anju_requests_total"]


def test_one_json_line_per_request_with_its_request_id(ops: Api, served: Served) -> None:
    # given a signed-in tenant
    tenant = ops.caller("TENANT")
    # when they ask who they are, and someone sends a bad token
    asked = ops.client.post(
        f"{served.url}/graphql",
        json={"query": ME},
        headers={"authorization": f"Bearer {tenant.token}"},
    )
    refused = ops.client.post(
        f"{served.url}/graphql", json={"query": ME}, headers={"authorization": "Bearer nope"}
    )
    # then each answer carries a request id, and the log has one JSON line for each
    # request, with that id, the operation, the role, the outcome and the duration
    ids = asked.headers["x-request-id"], refused.headers["x-request-id"]

    def access_lines() -> dict[str, dict[str, Any]]:
        lines = [line for line in served.lines() if line["logger"] == "anju.access"]
        return {line["request_id"]: line for line in lines if line["request_id"] in ids}

    found = eventually(lambda: len(access_lines()) == 2 and access_lines())
    assert found, served.log.read_text()[-2000:]
    ok, bad = found[ids[0]], found[ids[1]]
    assert (ok["operation"], ok["role"], ok["outcome"], ok["status"]) == (
        "WhoAmI",
        "TENANT",
        "ok",
        200,
    )
    assert (bad["operation"], bad["role"], bad["outcome"]) == ("WhoAmI", "invalid-token", "refused")
    for line in (ok, bad):
        assert line["level"] == "INFO" and line["duration_ms"] >= 0 and line["time"]


def test_the_request_id_reaches_the_gateway(api: Api, http: httpx.Client, stack: Stack) -> None:
    # given a tenant with a door
    landlord, tenant = api.caller("LANDLORD"), api.caller("TENANT")
    home = building(landlord)
    start_lease(landlord, home.room_id, tenant)
    # when they open it
    response = http.post(
        f"{api.base_url}/graphql",
        json={
            "query": "mutation($i: OpenDoorInput!) { openDoor(input: $i) { command { status } } }",
            "variables": {"i": {"doorId": home.door_id}},
        },
        headers={"authorization": f"Bearer {tenant.token}"},
    )
    # then the gateway's open call carried the request's id, to match both logs
    request_id = response.headers["x-request-id"]
    calls = http.get(f"{stack.sim_url}/sim/calls").json()
    opens = [c for c in calls if c["path"].endswith(f"/{home.door_device}/open")]
    assert [c["requestId"] for c in opens] == [request_id]


def test_no_personal_data_or_secret_reaches_the_log(ops: Api, served: Served) -> None:
    # given people signing up, a lease with an occupant's ID number, a door opened, a
    # failed log-in with a wrong password and a forged token, at DEBUG level
    landlord, tenant = ops.caller("LANDLORD"), ops.caller("TENANT")
    home = building(landlord)
    occupant_id = new_id_number()
    start_lease(
        landlord,
        home.room_id,
        tenant,
        occupants=[{"name": "王秀英", "idNumber": occupant_id, "phone": tenant.phone}],
    )
    open_door(tenant, home.door_id)
    wrong_password = f"wrong-{secrets.token_hex(6)}"
    refused = Caller(ops).data(
        LOG_IN, {"input": {"phone": tenant.phone, "password": wrong_password}}
    )
    assert refused["logIn"]["userErrors"], refused
    forged = tenant.token[:-4] + "AAAA" if tenant.token else "x"
    Caller(ops, token=forged).post(ME)
    # when the operator reads the log
    text = served.log.read_text()
    # then none of it is there, in any form the apps sent it
    secrets_used = {
        "landlord's phone": landlord.phone,
        "tenant's phone": tenant.phone,
        "landlord's password": landlord.password,
        "tenant's password": tenant.password,
        "wrong password": wrong_password,
        "ID number": occupant_id,
        "access token": tenant.token,
        "refresh token": tenant.refresh_token,
        "forged token": forged,
        "occupant's name": "王秀英",
    }
    leaked = [what for what, secret in secrets_used.items() if secret and secret in text]
    assert not leaked, leaked
    assert '"logger": "anju.access"' in text  # the log was written, at all
