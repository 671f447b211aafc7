"""Traces, optional: with ANJU_OTLP_ENDPOINT, a request's server span, its database commands
and its call to the gateway reach the collector (a small OTLP/HTTP receiver here), carrying
Anju's request id and no personal data; without it, nothing of OpenTelemetry is loaded."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from devstack.anju import start_anju
from devstack.procs import free_port, stop
from tests.conftest import ADMIN_PASSWORD, ADMIN_PHONE, Stack
from tests.door_support import building, start_lease
from tests.support import Api, eventually

trace_service = pytest.importorskip("opentelemetry.proto.collector.trace.v1.trace_service_pb2")

OPEN = "mutation OpenFrontDoor($i: OpenDoorInput!) { openDoor(input: $i) { command { status } } }"


class Collector:
    """Receives OTLP/HTTP trace exports (protobuf) and keeps their spans."""

    def __init__(self) -> None:
        self.spans: list[Any] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                request = trace_service.ExportTraceServiceRequest.FromString(body)
                for resource in request.resource_spans:
                    for scope in resource.scope_spans:
                        collector.spans.extend(scope.spans)
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.end_headers()
                self.wfile.write(trace_service.ExportTraceServiceResponse().SerializeToString())

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def attributes(span: Any) -> dict[str, Any]:
    found = {}
    for item in span.attributes:
        value = item.value
        found[item.key] = (
            getattr(value, value.WhichOneof("value")) if value.WhichOneof("value") else None
        )
    return found


@pytest.fixture(scope="module")
def traced(stack: Stack) -> Iterator[tuple[str, Collector]]:
    collector = Collector()
    port = free_port()
    env = {**stack.env, "ANJU_OTLP_ENDPOINT": collector.url, "OTEL_BSP_SCHEDULE_DELAY": "200"}
    proc = start_anju(port, env, log_path=stack.workdir / f"anju-traced-{port}.log")
    try:
        yield f"http://127.0.0.1:{port}", collector
    finally:
        stop(proc)
        collector.close()


def test_a_request_its_database_commands_and_its_gateway_call_are_traced(
    api: Api, http: httpx.Client, traced: tuple[str, Collector]
) -> None:
    base_url, collector = traced
    ops = Api(base_url, http, ADMIN_PHONE, ADMIN_PASSWORD, api.sim_url)
    # given a tenant with a door
    landlord, tenant = ops.caller("LANDLORD"), ops.caller("TENANT")
    home = building(landlord)
    start_lease(landlord, home.room_id, tenant)
    # when they open it
    response = http.post(
        f"{base_url}/graphql",
        json={"query": OPEN, "variables": {"i": {"doorId": home.door_id}}},
        headers={"authorization": f"Bearer {tenant.token}"},
    )
    request_id = response.headers["x-request-id"]

    # then the collector has the request's server span, with Anju's attributes
    def server_span() -> Any:
        return next(
            (s for s in collector.spans if attributes(s).get("anju.request_id") == request_id),
            None,
        )

    server = eventually(server_span, within=30)
    assert server is not None, [s.name for s in collector.spans][-20:]
    assert attributes(server)["anju.operation"] == "OpenFrontDoor"
    assert attributes(server)["anju.role"] == "TENANT"

    # and, in the same trace, its database commands and its call to the gateway
    def children() -> list[Any]:
        return [s for s in collector.spans if s.trace_id == server.trace_id and s is not server]

    def has_both() -> bool:
        found = [attributes(s) for s in children()]
        database = any(
            a.get("db.system") == "mongodb" or a.get("db.system.name") == "mongodb" for a in found
        )
        gateway = any("/open" in str(a.get("url.full") or a.get("http.url") or "") for a in found)
        return database and gateway

    assert eventually(has_both, within=30), [(s.name, attributes(s)) for s in children()]
    # and no span carries a phone, a password or a token
    everything = repr([(s.name, attributes(s)) for s in collector.spans])
    for secret in (tenant.phone, landlord.phone, tenant.password, tenant.token):
        assert secret and secret not in everything


def test_without_a_collector_nothing_of_opentelemetry_is_loaded(stack: Stack) -> None:
    # when Anju's application is made without ANJU_OTLP_ENDPOINT
    script = (
        "import sys\n"
        "from app.main import create_app\n"
        "from app.settings import load_settings\n"
        f"create_app(load_settings({stack.env!r}))\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    # then no OpenTelemetry module was imported
    assert done.stdout.strip() == "[]", done.stdout
