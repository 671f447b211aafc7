"""The device and payment simulator on its own (../shared/DEVICES.md).

The simulator is driven in process through httpx's ASGI transport; its webhooks go over real
HTTP to a small receiver that checks signatures the way Anju must, so a wrong signature here
is a wrong signature there. One test starts `python -m sim` as the stack does.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import pytest_asyncio
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.settings import Settings, load_settings
from devstack.anju import start_simulator
from devstack.procs import free_port, stop
from sim.app import create_app

SETTINGS = load_settings({"ANJU_ENV": "test"})
GATEWAY = {"authorization": f"Bearer {SETTINGS.gateway_token}"}
PAYMENTS = {"authorization": f"Bearer {SETTINGS.payments_token}"}
GATEWAY_EVENT_KEYS = {"eventId", "type", "deviceId", "at", "data"}
PAYMENT_EVENT_KEYS = {"eventId", "chargeId", "status", "at"}


# --- a stand-in for Anju's webhook endpoints --------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    raw: bytes
    verified: bool

    @property
    def body(self) -> Any:
        return json.loads(self.raw)


def verify(secret: str, headers: dict[str, str], raw: bytes) -> bool:
    """DEVICES.md's check, written independently of the simulator's signing code."""
    stamp, signature = headers.get("x-anju-timestamp"), headers.get("x-anju-signature")
    if not stamp or not signature or not stamp.isdigit() or abs(time.time() - int(stamp)) > 300:
        return False
    expected = hmac.new(secret.encode(), f"{stamp}.".encode() + raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(signature, f"sha256={expected}")


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 5.0) -> None:
    """Polls until `check` holds or time runs out (the caller asserts what it needs)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.02)


@dataclass
class Receiver:
    """Records every webhook; answers 401 to a bad signature, 400 to a body that is not JSON."""

    url: str
    got: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def clear(self) -> None:
        with self.lock:
            self.got.clear()

    def received(self) -> list[Received]:
        with self.lock:
            return list(self.got)

    async def wait_for(self, count: int, seconds: float = 5.0) -> list[Received]:
        async def enough() -> bool:
            return len(self.received()) >= count

        await eventually(enough, seconds)
        got = self.received()
        assert len(got) >= count, f"expected {count} webhooks, got {got}"
        return got

    async def handle(self, request: Request) -> Response:
        raw = await request.body()
        secret = (
            SETTINGS.gateway_webhook_secret
            if request.url.path == "/webhooks/gateway"
            else SETTINGS.payments_webhook_secret
        )
        headers = {k.lower(): v for k, v in request.headers.items()}
        ok = verify(secret, headers, raw)
        with self.lock:
            self.got.append(Received(request.url.path, headers, raw, ok))
        if not ok:
            return JSONResponse({"error": "bad signature"}, status_code=401)
        try:
            json.loads(raw)
        except ValueError:
            return JSONResponse({"error": "malformed"}, status_code=400)
        return JSONResponse({"ok": True})


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    port = free_port()
    rec = Receiver(f"http://127.0.0.1:{port}")
    app = Starlette(routes=[Route("/{path:path}", rec.handle, methods=["POST"])])
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", ws="none"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    try:
        yield rec
    finally:
        server.should_exit = True
        thread.join(10)


@asynccontextmanager
async def sim_client(settings: Settings, anju_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, anju_url)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as c,
    ):
        yield c


@pytest_asyncio.fixture
async def sim(receiver: Receiver) -> AsyncIterator[httpx.AsyncClient]:
    """A fresh simulator whose webhooks reach the receiver."""
    receiver.clear()
    async with sim_client(SETTINGS, receiver.url) as client:
        yield client


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def card_body(start: dt.timedelta, end: dt.timedelta) -> dict[str, str]:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    return {
        "validFrom": (now + start).isoformat().replace("+00:00", "Z"),
        "validUntil": (now + end).isoformat().replace("+00:00", "Z"),
    }


HOUR = dt.timedelta(hours=1)


# --- authentication and lookup ---------------------------------------------------------------


@pytest.mark.asyncio
async def test_protocol_calls_need_their_own_token(sim: httpx.AsyncClient) -> None:
    charge = {"idempotencyKey": "k", "amountFen": 100, "method": "ALIPAY", "description": "x"}
    for headers in ({}, {"authorization": "Bearer nope"}, {"authorization": "Basic x"}, PAYMENTS):
        assert (await sim.get("/v1/devices/door-1", headers=headers)).status_code == 401
        r = await sim.post("/v1/doors/door-1/open", json={"commandId": "c"}, headers=headers)
        assert r.status_code == 401
        assert (await sim.get("/v1/cameras/cam-1/snapshot", headers=headers)).status_code == 401
    for headers in ({}, GATEWAY):
        assert (await sim.post("/v1/charges", json=charge, headers=headers)).status_code == 401
    assert await ok(await sim.get("/sim/doors/door-1/opens")) == []  # nothing was opened


@pytest.mark.asyncio
async def test_devices_exist_by_prefix(sim: httpx.AsyncClient) -> None:
    for device_id, kind in (("door-1", "door"), ("cam-9", "camera"), ("smoke-2", "smoke_detector")):
        body = await ok(await sim.get(f"/v1/devices/{device_id}", headers=GATEWAY))
        assert body == {"deviceId": device_id, "kind": kind, "online": True}
    for unknown in ("lock-1", "door-", "camera-1", "DOOR-1"):
        assert (await sim.get(f"/v1/devices/{unknown}", headers=GATEWAY)).status_code == 404
        assert (await sim.post(f"/sim/devices/{unknown}/offline")).status_code == 404
    await ok(await sim.post("/sim/devices/cam-9/offline"))
    body = await ok(await sim.get("/v1/devices/cam-9", headers=GATEWAY))
    assert body["online"] is False  # a lookup reports an offline device, it does not refuse
    await ok(await sim.post("/sim/devices/cam-9/online"))
    assert (await ok(await sim.get("/v1/devices/cam-9", headers=GATEWAY)))["online"] is True


# --- doors ----------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_command_opens_the_door_once(sim: httpx.AsyncClient, receiver: Receiver) -> None:
    for _ in range(2):
        r = await sim.post("/v1/doors/door-1/open", json={"commandId": "c1"}, headers=GATEWAY)
        assert await ok(r) == {"status": "opened"}
    r = await sim.post("/v1/doors/door-1/open", json={"commandId": "c2"}, headers=GATEWAY)
    assert await ok(r) == {"status": "opened"}
    assert await ok(await sim.get("/sim/doors/door-1/opens")) == ["c1", "c2"]
    assert await ok(await sim.get("/sim/doors/door-2/opens")) == []

    got = await receiver.wait_for(2)
    await asyncio.sleep(0.2)  # a duplicate open would have sent a third event by now
    assert len(receiver.received()) == 2
    assert all(g.verified and g.path == "/webhooks/gateway" for g in got)
    bodies = sorted((g.body for g in got), key=lambda b: b["data"]["commandId"])
    assert [b["data"] for b in bodies] == [{"commandId": "c1"}, {"commandId": "c2"}]
    for body in bodies:
        assert set(body) == GATEWAY_EVENT_KEYS
        assert body["type"] == "door.opened" and body["deviceId"] == "door-1"
        assert body["at"].endswith("Z")
    assert bodies[0]["eventId"] != bodies[1]["eventId"]


@pytest.mark.asyncio
async def test_open_refusals(sim: httpx.AsyncClient) -> None:
    r = await sim.post("/v1/doors/cam-1/open", json={"commandId": "c"}, headers=GATEWAY)
    assert r.status_code == 404
    for bad in ({}, {"commandId": ""}, {"commandId": 3}):
        r = await sim.post("/v1/doors/door-1/open", json=bad, headers=GATEWAY)
        assert r.status_code == 400
    r = await sim.post("/v1/doors/door-1/open", content=b"{", headers=GATEWAY)
    assert r.status_code == 400

    await ok(await sim.post("/sim/devices/door-1/offline"))
    r = await sim.post("/v1/doors/door-1/open", json={"commandId": "c"}, headers=GATEWAY)
    assert (r.status_code, r.json()) == (409, {"status": "offline"})
    assert await ok(await sim.get("/sim/doors/door-1/opens")) == []
    await ok(await sim.post("/sim/devices/door-1/online"))
    r = await sim.post("/v1/doors/door-1/open", json={"commandId": "c"}, headers=GATEWAY)
    assert await ok(r) == {"status": "opened"}


@pytest.mark.asyncio
async def test_latency_delays_every_device_answer(sim: httpx.AsyncClient) -> None:
    body = await ok(await sim.post("/sim/devices/door-1/latency", json={"seconds": 0.3}))
    assert body["latencySeconds"] == 0.3
    await ok(await sim.post("/sim/devices/cam-1/latency", json={"seconds": 0.3}))
    calls = [
        sim.post("/v1/doors/door-1/open", json={"commandId": "c"}, headers=GATEWAY),
        sim.put("/v1/doors/door-1/cards/A1", json=card_body(-HOUR, HOUR), headers=GATEWAY),
        sim.get("/v1/devices/door-1", headers=GATEWAY),
        sim.get("/v1/cameras/cam-1/snapshot", headers=GATEWAY),
    ]
    for call in calls:
        started = time.monotonic()
        response = await call
        assert response.status_code < 300
        assert time.monotonic() - started >= 0.28
    started = time.monotonic()
    await ok(await sim.get("/v1/devices/door-2", headers=GATEWAY))
    assert time.monotonic() - started < 0.25  # only the slowed devices are slow
    for bad in ({"seconds": -1}, {"seconds": "1"}, {"seconds": True}, {"seconds": 1e9}, {}):
        assert (await sim.post("/sim/devices/door-1/latency", json=bad)).status_code == 400
    await ok(await sim.post("/sim/devices/door-1/latency", json={"seconds": 0}))
    started = time.monotonic()
    await ok(await sim.get("/v1/devices/door-1", headers=GATEWAY))
    assert time.monotonic() - started < 0.25


@pytest.mark.asyncio
async def test_a_failing_device_answers_500(sim: httpx.AsyncClient) -> None:
    body = await ok(await sim.post("/sim/devices/door-1/fail"))
    assert body["failing"] is True
    r = await sim.post("/v1/doors/door-1/open", json={"commandId": "c"}, headers=GATEWAY)
    assert r.status_code == 500
    assert (await sim.get("/v1/devices/door-1", headers=GATEWAY)).status_code == 500
    r = await sim.put("/v1/doors/door-1/cards/A", json=card_body(-HOUR, HOUR), headers=GATEWAY)
    assert r.status_code == 500
    assert await ok(await sim.get("/sim/doors/door-1/opens")) == []
    assert await ok(await sim.get("/sim/doors/door-1/cards?all=1")) == []
    await ok(await sim.post("/sim/devices/door-1/ok"))
    r = await sim.post("/v1/doors/door-1/open", json={"commandId": "c"}, headers=GATEWAY)
    assert r.status_code == 200


@pytest.mark.asyncio
async def test_a_gateway_that_is_down_answers_503_to_everything(sim: httpx.AsyncClient) -> None:
    assert await ok(await sim.post("/sim/gateway/offline")) == {"gatewayOnline": False}
    calls = [
        sim.get("/v1/devices/door-1", headers=GATEWAY),
        sim.post("/v1/doors/door-1/open", json={"commandId": "c"}, headers=GATEWAY),
        sim.put("/v1/doors/door-1/cards/A", json=card_body(-HOUR, HOUR), headers=GATEWAY),
        sim.delete("/v1/doors/door-1/cards/A", headers=GATEWAY),
        sim.get("/v1/cameras/cam-1/snapshot", headers=GATEWAY),
        sim.get("/v1/devices/lock-1", headers=GATEWAY),
    ]
    for call in calls:
        assert (await call).status_code == 503
    charge = {"idempotencyKey": "k", "amountFen": 1, "method": "ALIPAY", "description": ""}
    assert (await sim.post("/v1/charges", json=charge, headers=PAYMENTS)).status_code == 201
    await ok(await sim.post("/sim/gateway/online"))
    assert (await sim.get("/v1/devices/door-1", headers=GATEWAY)).status_code == 200


# --- cards ----------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_cards_are_put_listed_replaced_and_deleted(sim: httpx.AsyncClient) -> None:
    async def put(card: str, body: Any) -> int:
        r = await sim.put(f"/v1/doors/door-1/cards/{card}", json=body, headers=GATEWAY)
        return r.status_code

    now_body = card_body(-HOUR, HOUR)
    assert await put("A1", now_body) == 204
    assert await put("F1", card_body(HOUR, 2 * HOUR)) == 204  # a lease that starts later
    assert await put("E1", card_body(-2 * HOUR, -HOUR)) == 204  # expired
    valid = await ok(await sim.get("/sim/doors/door-1/cards"))
    assert valid == [{"cardNumber": "A1", **now_body}]
    every = await ok(await sim.get("/sim/doors/door-1/cards?all=1"))
    assert [c["cardNumber"] for c in every] == ["A1", "E1", "F1"]
    assert all(c["validFrom"].endswith("Z") and c["validUntil"].endswith("Z") for c in every)
    assert await ok(await sim.get("/sim/doors/door-2/cards")) == []

    # repeating a PUT replaces the validity: the future card becomes valid now
    assert await put("F1", card_body(-HOUR, 3 * HOUR)) == 204
    valid = await ok(await sim.get("/sim/doors/door-1/cards"))
    assert [c["cardNumber"] for c in valid] == ["A1", "F1"]
    # other zones are accepted and shown in UTC
    assert (
        await put(
            "Z1",
            {"validFrom": "2020-01-01T08:00:00+08:00", "validUntil": "2099-01-01T00:00:00+00:00"},
        )
        == 204
    )
    cards = {c["cardNumber"]: c for c in await ok(await sim.get("/sim/doors/door-1/cards"))}
    assert cards["Z1"]["validFrom"] == "2020-01-01T00:00:00Z"

    r = await sim.delete("/v1/doors/door-1/cards/A1", headers=GATEWAY)
    assert r.status_code == 204
    r = await sim.delete("/v1/doors/door-1/cards/A1", headers=GATEWAY)
    assert r.status_code == 404
    valid = await ok(await sim.get("/sim/doors/door-1/cards"))
    assert [c["cardNumber"] for c in valid] == ["F1", "Z1"]


@pytest.mark.asyncio
async def test_card_refusals(sim: httpx.AsyncClient) -> None:
    good = card_body(-HOUR, HOUR)
    bad_bodies: list[Any] = [
        {},
        {"validFrom": good["validFrom"]},
        {"validFrom": "yesterday", "validUntil": good["validUntil"]},
        {"validFrom": "2026-01-01T00:00:00", "validUntil": "2026-02-01T00:00:00"},  # no zone
        {"validFrom": good["validUntil"], "validUntil": good["validFrom"]},
        {"validFrom": good["validFrom"], "validUntil": good["validFrom"]},
        {"validFrom": 1, "validUntil": 2},
        ["not", "an", "object"],
    ]
    for body in bad_bodies:
        r = await sim.put("/v1/doors/door-1/cards/A", json=body, headers=GATEWAY)
        assert r.status_code == 400, body
    assert await ok(await sim.get("/sim/doors/door-1/cards?all=1")) == []
    r = await sim.put("/v1/doors/cam-1/cards/A", json=good, headers=GATEWAY)
    assert r.status_code == 404
    assert (await sim.get("/sim/doors/cam-1/cards")).status_code == 404

    await ok(await sim.post("/sim/devices/door-1/offline"))
    r = await sim.put("/v1/doors/door-1/cards/A", json=good, headers=GATEWAY)
    assert r.status_code == 409
    r = await sim.delete("/v1/doors/door-1/cards/A", headers=GATEWAY)
    assert r.status_code == 409


# --- cameras --------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_snapshot_modes(sim: httpx.AsyncClient) -> None:
    async def snap() -> httpx.Response:
        return await sim.get("/v1/cameras/cam-1/snapshot", headers=GATEWAY)

    r = await snap()
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert r.content.startswith(b"\xff\xd8\xff") and r.content.endswith(b"\xff\xd9")
    assert len(r.content) < 1024

    await ok(await sim.post("/sim/cameras/cam-1/mode", json={"mode": "garbage"}))
    r = await snap()
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    await ok(await sim.post("/sim/cameras/cam-1/mode", json={"mode": "huge"}))
    r = await snap()
    assert r.headers["content-type"] == "image/jpeg"
    assert len(r.content) > 10 * 1024 * 1024 and r.content.startswith(b"\xff\xd8\xff")
    await ok(await sim.post("/sim/cameras/cam-1/mode", json={"mode": "error"}))
    assert (await snap()).status_code == 500
    await ok(await sim.post("/sim/cameras/cam-1/mode", json={"mode": "ok"}))
    assert (await snap()).status_code == 200

    await ok(await sim.post("/sim/devices/cam-1/offline"))
    r = await snap()
    assert (r.status_code, r.json()) == (409, {"status": "offline"})
    r = await sim.get("/v1/cameras/door-1/snapshot", headers=GATEWAY)
    assert r.status_code == 404
    assert (await sim.post("/sim/cameras/cam-1/mode", json={"mode": "x"})).status_code == 400
    assert (await sim.post("/sim/cameras/door-1/mode", json={"mode": "ok"})).status_code == 404


# --- events to Anju -------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_swipes_are_granted_by_valid_cards_and_delivered_signed(
    sim: httpx.AsyncClient, receiver: Receiver
) -> None:
    await sim.put("/v1/doors/door-1/cards/A1", json=card_body(-HOUR, HOUR), headers=GATEWAY)
    await sim.put("/v1/doors/door-1/cards/F1", json=card_body(HOUR, 2 * HOUR), headers=GATEWAY)
    expected = {"A1": True, "F1": False, "ZZ": False}
    for card, granted in expected.items():
        answer = await ok(await sim.post("/sim/doors/door-1/swipe", json={"cardNumber": card}))
        assert answer["granted"] is granted and answer["anjuStatus"] == 200
        last = receiver.received()[-1]  # delivered before the answer
        assert last.verified and last.path == "/webhooks/gateway"
        assert set(last.body) == GATEWAY_EVENT_KEYS
        assert last.body["eventId"] == answer["eventId"]
        assert last.body["type"] == "door.card" and last.body["deviceId"] == "door-1"
        assert last.body["data"] == {"cardNumber": card, "granted": granted}
    # a card valid on one door opens no other
    answer = await ok(await sim.post("/sim/doors/door-2/swipe", json={"cardNumber": "A1"}))
    assert answer["granted"] is False

    assert (await sim.post("/sim/doors/door-1/swipe", json={})).status_code == 400
    assert (await sim.post("/sim/doors/cam-1/swipe", json={"cardNumber": "A1"})).status_code == 404
    await ok(await sim.post("/sim/devices/door-1/offline"))
    r = await sim.post("/sim/doors/door-1/swipe", json={"cardNumber": "A1"})
    assert r.status_code == 409


@pytest.mark.asyncio
async def test_smoke_alarm_and_clear(sim: httpx.AsyncClient, receiver: Receiver) -> None:
    answer = await ok(await sim.post("/sim/smoke/smoke-1/alarm"))
    assert answer["anjuStatus"] == 200
    answer = await ok(await sim.post("/sim/smoke/smoke-1/alarm", json={"level": "heat"}))
    answer = await ok(await sim.post("/sim/smoke/smoke-1/clear"))
    got = receiver.received()
    assert [(g.body["type"], g.body["data"]) for g in got] == [
        ("smoke.alarm", {"level": "smoke"}),
        ("smoke.alarm", {"level": "heat"}),
        ("smoke.cleared", {}),
    ]
    assert all(g.verified and g.body["deviceId"] == "smoke-1" for g in got)
    assert got[-1].body["eventId"] == answer["eventId"]
    r = await sim.post("/sim/smoke/smoke-1/alarm", json={"level": "fire"})
    assert r.status_code == 400
    assert (await sim.post("/sim/smoke/door-1/alarm")).status_code == 404
    assert (await sim.post("/sim/smoke/door-1/clear")).status_code == 404


@pytest.mark.asyncio
async def test_online_changes_can_be_announced(sim: httpx.AsyncClient, receiver: Receiver) -> None:
    await ok(await sim.post("/sim/devices/door-1/offline"))
    assert receiver.received() == []  # silent unless asked
    answer = await ok(await sim.post("/sim/devices/door-1/online", json={"notify": True}))
    assert answer["online"] is True and answer["anjuStatus"] == 200
    answer = await ok(await sim.post("/sim/devices/door-1/offline", json={"notify": True}))
    types = [g.body["type"] for g in receiver.received()]
    assert types == ["device.online", "device.offline"]


@pytest.mark.asyncio
async def test_event_log_and_replay(sim: httpx.AsyncClient, receiver: Receiver) -> None:
    answer = await ok(await sim.post("/sim/doors/door-1/swipe", json={"cardNumber": "A"}))
    replayed = await ok(await sim.post("/sim/events/replay", json={"eventId": answer["eventId"]}))
    assert replayed["anjuStatus"] == 200
    first, second = receiver.received()
    assert first.raw == second.raw and second.verified  # the same body, signed afresh
    log = await ok(await sim.get("/sim/events"))
    assert [(e["eventId"], e["kind"], e["anjuStatus"]) for e in log] == [
        (answer["eventId"], "event", 200),
        (answer["eventId"], "replay", 200),
    ]
    assert log[0]["target"] == "gateway" and log[0]["url"] == f"{receiver.url}/webhooks/gateway"
    assert log[0]["body"]["data"] == {"cardNumber": "A", "granted": False}
    r = await sim.post("/sim/events/replay", json={"eventId": "nope"})
    assert r.status_code == 404


@pytest.mark.asyncio
async def test_hand_made_webhooks(sim: httpx.AsyncClient, receiver: Receiver) -> None:
    body = {"eventId": "e1", "type": "smoke.cleared", "deviceId": "smoke-1", "at": "x", "data": {}}
    cases: list[tuple[dict[str, Any], int]] = [
        ({"target": "gateway", "body": body}, 200),
        ({"target": "payments", "body": body, "signature": "valid"}, 200),
        ({"target": "gateway", "body": body, "signature": "bad"}, 401),
        ({"target": "gateway", "body": body, "signature": "missing"}, 401),
        ({"target": "gateway", "body": body, "timestampOffset": -301}, 401),
        ({"target": "gateway", "body": body, "timestampOffset": 400}, 401),
        ({"target": "gateway", "body": "{not json"}, 400),
    ]
    for request, status in cases:
        answer = await ok(await sim.post("/sim/webhooks/send", json=request))
        assert answer["anjuStatus"] == status, request
        assert isinstance(answer["anjuBody"], dict)
    got = receiver.received()
    assert [g.path for g in got[:2]] == ["/webhooks/gateway", "/webhooks/payments"]
    assert got[-1].raw == b"{not json"
    # a shifted timestamp is still correctly signed: only its age is wrong
    stamp = int(got[4].headers["x-anju-timestamp"])
    assert abs(stamp - (time.time() - 301)) < 5
    mac = hmac.new(
        SETTINGS.gateway_webhook_secret.encode(), f"{stamp}.".encode() + got[4].raw, hashlib.sha256
    ).hexdigest()
    assert got[4].headers["x-anju-signature"] == f"sha256={mac}"
    for bad in (
        {"target": "x", "body": {}},
        {"target": "gateway"},
        {"target": "gateway", "body": {}, "signature": "meh"},
        {"target": "gateway", "body": {}, "timestampOffset": "1"},
    ):
        assert (await sim.post("/sim/webhooks/send", json=bad)).status_code == 400


@pytest.mark.asyncio
async def test_an_unreachable_anju_is_logged_not_raised() -> None:
    async with sim_client(SETTINGS, f"http://127.0.0.1:{free_port()}") as sim:
        answer = await ok(await sim.post("/sim/doors/door-1/swipe", json={"cardNumber": "A"}))
        assert answer["anjuStatus"] is None and answer["error"]
        r = await sim.post("/v1/doors/door-1/open", json={"commandId": "c"}, headers=GATEWAY)
        assert r.status_code == 200

        async def both_logged() -> bool:
            return len(await ok(await sim.get("/sim/events"))) >= 2

        await eventually(both_logged)
        log = await ok(await sim.get("/sim/events"))
        assert len(log) == 2 and all(e["error"] and e["anjuStatus"] is None for e in log)


# --- payments -------------------------------------------------------------------------------


def charge(key: str = "inv-1", **overrides: Any) -> dict[str, Any]:
    return {
        "idempotencyKey": key,
        "amountFen": 150000,
        "method": "WECHAT_PAY",
        "description": "rent 2026-05",
        **overrides,
    }


@pytest.mark.asyncio
async def test_charge_validation(sim: httpx.AsyncClient) -> None:
    bad = [
        charge(amountFen=0),
        charge(amountFen=-5),
        charge(amountFen=1.5),
        charge(amountFen="100"),
        charge(amountFen=True),
        charge(method="CASH"),
        charge(idempotencyKey=""),
        charge(notifyUrl="ftp://x"),
        charge(description=3),
        {"amountFen": 1, "method": "ALIPAY"},
    ]
    for body in bad:
        assert (await sim.post("/v1/charges", json=body, headers=PAYMENTS)).status_code == 400
    assert await ok(await sim.get("/sim/payments/charges")) == []


@pytest.mark.asyncio
async def test_one_charge_per_key_under_20_concurrent_calls(
    sim: httpx.AsyncClient, receiver: Receiver
) -> None:
    calls = [sim.post("/v1/charges", json=charge("inv-7"), headers=PAYMENTS) for _ in range(20)]
    responses = await asyncio.gather(*calls)
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["chargeId"] for r in responses}) == 1
    assert {r.json()["status"] for r in responses} == {"succeeded"}
    charges = await ok(await sim.get("/sim/payments/charges"))
    assert len(charges) == 1 and charges[0]["idempotencyKey"] == "inv-7"
    await receiver.wait_for(1)
    await asyncio.sleep(0.2)
    assert len(receiver.received()) == 1  # confirmed once


@pytest.mark.asyncio
async def test_payment_modes(sim: httpx.AsyncClient, receiver: Receiver) -> None:
    created = await ok(await sim.post("/v1/charges", json=charge("a"), headers=PAYMENTS), 201)
    assert created["status"] == "succeeded"
    [got] = await receiver.wait_for(1)
    assert got.verified and got.path == "/webhooks/payments"
    assert set(got.body) == PAYMENT_EVENT_KEYS and got.body["at"].endswith("Z")
    assert (got.body["chargeId"], got.body["status"]) == (created["chargeId"], "succeeded")

    assert await ok(await sim.post("/sim/payments/mode", json={"mode": "fail"})) == {"mode": "fail"}
    created = await ok(await sim.post("/v1/charges", json=charge("b"), headers=PAYMENTS), 201)
    assert created["status"] == "failed"
    got = (await receiver.wait_for(2))[1]
    assert got.verified and got.body["status"] == "failed"

    await ok(await sim.post("/sim/payments/mode", json={"mode": "hold"}))
    held = await ok(await sim.post("/v1/charges", json=charge("c"), headers=PAYMENTS), 201)
    assert held["status"] == "pending"
    await asyncio.sleep(0.2)
    assert len(receiver.received()) == 2  # nothing until settled
    url = f"/sim/payments/{held['chargeId']}/settle"
    answer = await ok(await sim.post(url, json={"status": "succeeded"}))
    assert answer["anjuStatus"] == 200 and answer["status"] == "succeeded"
    got = receiver.received()[2]
    assert got.verified and got.body["eventId"] == answer["eventId"]
    assert (got.body["chargeId"], got.body["status"]) == (held["chargeId"], "succeeded")
    again = await ok(await sim.post("/v1/charges", json=charge("c"), headers=PAYMENTS), 201)
    assert again == {"chargeId": held["chargeId"], "status": "succeeded"}

    statuses = [
        (c["idempotencyKey"], c["status"]) for c in await ok(await sim.get("/sim/payments/charges"))
    ]
    assert statuses == [("a", "succeeded"), ("b", "failed"), ("c", "succeeded")]
    assert (await sim.post(url, json={"status": "pending"})).status_code == 400
    assert (
        await sim.post("/sim/payments/nope/settle", json={"status": "failed"})
    ).status_code == 404
    assert (await sim.post("/sim/payments/mode", json={"mode": "maybe"})).status_code == 400


@pytest.mark.asyncio
async def test_charges_confirm_to_their_notify_url(
    sim: httpx.AsyncClient, receiver: Receiver
) -> None:
    body = charge("n", method="ALIPAY", notifyUrl=f"{receiver.url}/hooks/pay?x=1")
    created = await ok(await sim.post("/v1/charges", json=body, headers=PAYMENTS), 201)
    [got] = await receiver.wait_for(1)
    assert got.path == "/hooks/pay" and got.verified  # signed with the payments secret
    assert got.body["chargeId"] == created["chargeId"]
    [listed] = await ok(await sim.get("/sim/payments/charges"))
    assert listed["notifyUrl"] == body["notifyUrl"] and listed["method"] == "ALIPAY"
    assert listed["amountFen"] == 150000


@pytest.mark.asyncio
async def test_payments_down(sim: httpx.AsyncClient) -> None:
    await ok(await sim.post("/sim/payments/down"))
    assert (await sim.post("/v1/charges", json=charge(), headers=PAYMENTS)).status_code == 503
    assert await ok(await sim.get("/sim/payments/charges")) == []
    await ok(await sim.post("/sim/payments/up"))
    assert (await sim.post("/v1/charges", json=charge(), headers=PAYMENTS)).status_code == 201


# --- reset ----------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_reset_forgets_everything(sim: httpx.AsyncClient, receiver: Receiver) -> None:
    await sim.put("/v1/doors/door-1/cards/A", json=card_body(-HOUR, HOUR), headers=GATEWAY)
    await sim.post("/v1/doors/door-1/open", json={"commandId": "c"}, headers=GATEWAY)
    await sim.post("/v1/charges", json=charge(), headers=PAYMENTS)
    await receiver.wait_for(2)
    for control, body in (
        ("/sim/devices/door-1/offline", None),
        ("/sim/devices/door-2/fail", None),
        ("/sim/devices/door-3/latency", {"seconds": 5}),
        ("/sim/cameras/cam-1/mode", {"mode": "error"}),
        ("/sim/gateway/offline", None),
        ("/sim/payments/down", None),
        ("/sim/payments/mode", {"mode": "hold"}),
    ):
        await ok(await sim.post(control, json=body))
    await ok(await sim.post("/sim/reset"))

    assert await ok(await sim.get("/sim/doors/door-1/cards?all=1")) == []
    assert await ok(await sim.get("/sim/doors/door-1/opens")) == []
    assert await ok(await sim.get("/sim/payments/charges")) == []
    assert await ok(await sim.get("/sim/events")) == []
    assert (await ok(await sim.get("/v1/devices/door-1", headers=GATEWAY)))["online"] is True
    assert (await sim.get("/v1/devices/door-2", headers=GATEWAY)).status_code == 200
    started = time.monotonic()
    await ok(await sim.get("/v1/devices/door-3", headers=GATEWAY))
    assert time.monotonic() - started < 1
    assert (await sim.get("/v1/cameras/cam-1/snapshot", headers=GATEWAY)).status_code == 200
    created = await ok(await sim.post("/v1/charges", json=charge(), headers=PAYMENTS), 201)
    assert created["status"] == "succeeded"


# --- the process --------------------------------------------------------------------------


def test_python_m_sim_serves_on_sim_port(receiver: Receiver) -> None:
    """Started as the stack starts it: SIM_PORT to listen on, SIM_ANJU_URL for webhooks."""
    receiver.clear()
    port = free_port()
    env = {
        "ANJU_ENV": "test",
        "GATEWAY_TOKEN": SETTINGS.gateway_token,
        "GATEWAY_WEBHOOK_SECRET": SETTINGS.gateway_webhook_secret,
        "PAYMENTS_TOKEN": SETTINGS.payments_token,
        "PAYMENTS_WEBHOOK_SECRET": SETTINGS.payments_webhook_secret,
    }
    proc = start_simulator(port, receiver.url, env)
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=5) as http:
            r = http.get("/v1/devices/door-1", headers=GATEWAY)
            assert r.json() == {"deviceId": "door-1", "kind": "door", "online": True}
            r = http.post("/v1/doors/door-1/open", json={"commandId": "c"}, headers=GATEWAY)
            assert r.json() == {"status": "opened"}
            r = http.post("/sim/smoke/smoke-1/alarm")
            assert r.json()["anjuStatus"] == 200
        deadline = time.monotonic() + 5
        while len(receiver.received()) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        got = receiver.received()
        assert sorted(g.body["type"] for g in got) == ["door.opened", "smoke.alarm"]
        assert all(g.verified for g in got)
    finally:
        stop(proc)
