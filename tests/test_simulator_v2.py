"""The simulator's version 2 protocol (../shared/DEVICES.md, "Version 2 additions"): device
claims, door codes, payment agreements and the SMS provider.

Unlike test_simulator.py, which drives the app in process, these tests talk HTTP to `python
-m sim` started as the stack starts it (with SMS_TOKEN from its environment), reset before
each test; its webhooks reach test_simulator.py's receiver, which checks signatures the way
Anju must.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import string
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from app.settings import SettingsError
from devstack.anju import start_simulator
from devstack.procs import free_port, stop
from sim.claims import CLAIM_ALPHABET, claim_code
from sim.settings import DEV_SMS_TOKEN, load_sms_token
from tests import test_simulator as v1
from tests.test_simulator import (
    GATEWAY,
    GATEWAY_EVENT_KEYS,
    HOUR,
    PAYMENT_EVENT_KEYS,
    PAYMENTS,
    SETTINGS,
    Received,
    Receiver,
    card_body,
    charge,
    eventually,
    ok,
)

receiver = v1.receiver  # the module's own webhook receiver, as in test_simulator.py

SMS_TOKEN = "test-sms-token"  # not the development default: the process reads SMS_TOKEN
SMS = {"authorization": f"Bearer {SMS_TOKEN}"}
Headers = dict[str, str]


@pytest.fixture(scope="module")
def sim_url(receiver: Receiver) -> Iterator[str]:
    port = free_port()
    env = {
        "ANJU_ENV": "test",
        "GATEWAY_TOKEN": SETTINGS.gateway_token,
        "GATEWAY_WEBHOOK_SECRET": SETTINGS.gateway_webhook_secret,
        "PAYMENTS_TOKEN": SETTINGS.payments_token,
        "PAYMENTS_WEBHOOK_SECRET": SETTINGS.payments_webhook_secret,
        "SMS_TOKEN": SMS_TOKEN,
    }
    proc = start_simulator(port, receiver.url, env)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


@pytest_asyncio.fixture
async def sim(sim_url: str, receiver: Receiver) -> AsyncIterator[httpx.AsyncClient]:
    """The simulator process, reset; the receiver emptied. Afterwards, waits for the webhooks
    the test set off in the background, so that none reaches the next test's receiver."""
    async with httpx.AsyncClient(base_url=sim_url, timeout=10) as client:
        await ok(await client.post("/sim/reset"))
        receiver.clear()
        yield client

        async def delivered() -> bool:
            log = await ok(await client.get("/sim/events"))
            return all(e["anjuStatus"] is not None or e["error"] is not None for e in log)

        await eventually(delivered)


async def claim(
    sim: httpx.AsyncClient, device_id: str, code: str, owner: str, headers: Headers = GATEWAY
) -> httpx.Response:
    body = {"claimCode": code, "owner": owner}
    return await sim.post(f"/v1/devices/{device_id}/claims", json=body, headers=headers)


async def release(
    sim: httpx.AsyncClient, device_id: str, owner: str, headers: Headers = GATEWAY
) -> httpx.Response:
    url = f"/v1/devices/{device_id}/claims"
    return await sim.request("DELETE", url, json={"owner": owner}, headers=headers)


# --- device claims ---------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_labels_show_a_claim_code_derived_from_the_id(sim: httpx.AsyncClient) -> None:
    codes = {}
    for device_id, kind in (("door-1", "door"), ("cam-1", "camera"), ("smoke-1", "smoke_detector")):
        label = await ok(await sim.get(f"/sim/devices/{device_id}/label"))
        assert label == {"deviceId": device_id, "kind": kind, "claimCode": claim_code(device_id)}
        codes[device_id] = label["claimCode"]
    assert set(CLAIM_ALPHABET) <= set(string.ascii_uppercase + string.digits) - set("01IO")
    for code in codes.values():
        assert len(code) == 8 and set(code) <= set(CLAIM_ALPHABET)
    assert len(set(codes.values())) == 3
    await ok(await sim.post("/sim/reset"))
    assert (await ok(await sim.get("/sim/devices/door-1/label")))["claimCode"] == codes["door-1"]
    assert (await sim.get("/sim/devices/lock-1/label")).status_code == 404
    with pytest.raises(ValueError, match="no such device"):
        claim_code("lock-1")


@pytest.mark.asyncio
async def test_a_device_is_claimed_with_its_label_code(sim: httpx.AsyncClient) -> None:
    code = claim_code("door-1")
    expected = {"deviceId": "door-1", "kind": "door", "online": True}
    assert await ok(await claim(sim, "door-1", code, "prop-A")) == expected
    assert await ok(await claim(sim, "door-1", code, "prop-A")) == expected  # same owner again
    typed = f" {code[:4].lower()}-{code[4:].lower()} "  # as a person copies it from the label
    assert await ok(await claim(sim, "door-1", typed, "prop-A")) == expected
    assert await ok(await sim.get("/sim/claims")) == [{"deviceId": "door-1", "owner": "prop-A"}]

    r = await claim(sim, "door-1", code, "prop-B")
    assert (r.status_code, r.json()) == (409, {"error": "claimed"})
    r = await claim(sim, "door-1", claim_code("door-2"), "prop-B")  # the code comes first
    assert (r.status_code, r.json()) == (403, {"error": "claim_rejected"})
    r = await claim(sim, "door-2", code, "prop-B")  # door-1's code does not claim door-2
    assert (r.status_code, r.json()) == (403, {"error": "claim_rejected"})
    for unknown in ("lock-1", "door-", "DOOR-1"):
        r = await claim(sim, unknown, code, "prop-A")
        assert r.status_code == 404
    assert await ok(await sim.get("/sim/claims")) == [{"deviceId": "door-1", "owner": "prop-A"}]

    bad_bodies: list[object] = [
        {"owner": "prop-A"},
        {"claimCode": 12345678, "owner": "prop-A"},
        {"claimCode": code},
        {"claimCode": code, "owner": ""},
        {"claimCode": code, "owner": "x" * 201},
        ["not", "an", "object"],
    ]
    for body in bad_bodies:
        r = await sim.post("/v1/devices/cam-1/claims", json=body, headers=GATEWAY)
        assert r.status_code == 400, body

    # an offline device is claimed all the same (the platform holds the claim) and says so
    await ok(await sim.post("/sim/devices/smoke-1/offline"))
    body = await ok(await claim(sim, "smoke-1", claim_code("smoke-1"), "prop-B"))
    assert body == {"deviceId": "smoke-1", "kind": "smoke_detector", "online": False}
    # version 1 lookups are unchanged by claims
    assert await ok(await sim.get("/v1/devices/door-1", headers=GATEWAY)) == expected


@pytest.mark.asyncio
async def test_only_the_owner_releases_a_claim(sim: httpx.AsyncClient) -> None:
    code = claim_code("cam-7")
    assert (await release(sim, "cam-7", "prop-A")).status_code == 404  # not claimed
    await ok(await claim(sim, "cam-7", code, "prop-A"))
    r = await release(sim, "cam-7", "prop-B")
    assert r.status_code == 404
    assert (await claim(sim, "cam-7", code, "prop-B")).status_code == 409  # still prop-A's
    assert (await release(sim, "lock-7", "prop-A")).status_code == 404
    r = await sim.request("DELETE", "/v1/devices/cam-7/claims", json={}, headers=GATEWAY)
    assert r.status_code == 400

    r = await release(sim, "cam-7", "prop-A")
    assert r.status_code == 204 and r.content == b""
    assert await ok(await sim.get("/sim/claims")) == []
    assert (await release(sim, "cam-7", "prop-A")).status_code == 404
    await ok(await claim(sim, "cam-7", code, "prop-B"))  # free for the next owner


@pytest.mark.asyncio
async def test_claims_meet_the_gateway_faults(sim: httpx.AsyncClient) -> None:
    code = claim_code("door-1")
    await ok(await sim.post("/sim/gateway/offline"))
    assert (await claim(sim, "door-1", code, "p")).status_code == 503
    assert (await release(sim, "door-1", "p")).status_code == 503
    await ok(await sim.post("/sim/gateway/online"))

    await ok(await sim.post("/sim/gateway/garbage", json={"kind": "html"}))
    r = await claim(sim, "door-1", code, "p")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    await ok(await sim.post("/sim/gateway/sane"))
    assert await ok(await sim.get("/sim/claims")) == []  # garbage answered, nothing done

    await ok(await sim.post("/sim/devices/door-1/fail"))
    assert (await claim(sim, "door-1", code, "p")).status_code == 500
    await ok(await sim.post("/sim/devices/door-1/ok"))
    await ok(await sim.post("/sim/devices/door-1/latency", json={"seconds": 0.3}))
    started = time.monotonic()
    await ok(await claim(sim, "door-1", code, "p"))
    assert time.monotonic() - started >= 0.28


@pytest.mark.asyncio
async def test_reset_forgets_claims(sim: httpx.AsyncClient) -> None:
    await ok(await claim(sim, "door-1", claim_code("door-1"), "prop-A"))
    await ok(await sim.post("/sim/reset"))
    assert await ok(await sim.get("/sim/claims")) == []
    await ok(await claim(sim, "door-1", claim_code("door-1"), "prop-B"))


# --- door codes ------------------------------------------------------------------------------


def code_body(code: str, start: dt.timedelta, end: dt.timedelta) -> dict[str, str]:
    return {"code": code, **card_body(start, end)}


async def put_code(
    sim: httpx.AsyncClient, door: str, code_id: str, body: object, headers: Headers = GATEWAY
) -> httpx.Response:
    return await sim.put(f"/v1/doors/{door}/codes/{code_id}", json=body, headers=headers)


async def delete_code(
    sim: httpx.AsyncClient, door: str, code_id: str, headers: Headers = GATEWAY
) -> httpx.Response:
    return await sim.delete(f"/v1/doors/{door}/codes/{code_id}", headers=headers)


@pytest.mark.asyncio
async def test_codes_are_put_listed_replaced_and_deleted(sim: httpx.AsyncClient) -> None:
    now_body = code_body("123456", -HOUR, HOUR)
    assert (await put_code(sim, "door-1", "C1", now_body)).status_code == 204
    r = await put_code(sim, "door-1", "F1", code_body("222222", HOUR, 2 * HOUR))
    assert r.status_code == 204  # a visit later today
    r = await put_code(sim, "door-1", "E1", code_body("333333", -2 * HOUR, -HOUR))
    assert r.status_code == 204  # expired
    assert await ok(await sim.get("/sim/doors/door-1/codes")) == [{"codeId": "C1", **now_body}]
    every = await ok(await sim.get("/sim/doors/door-1/codes?all=1"))
    assert [(c["codeId"], c["code"]) for c in every] == [
        ("C1", "123456"),
        ("E1", "333333"),
        ("F1", "222222"),
    ]
    assert await ok(await sim.get("/sim/doors/door-2/codes")) == []
    assert await ok(await sim.get("/sim/doors/door-1/cards?all=1")) == []  # codes are not cards

    # repeating a PUT replaces the digits and the validity
    moved = code_body("654321", -HOUR, 3 * HOUR)
    assert (await put_code(sim, "door-1", "F1", moved)).status_code == 204
    valid = await ok(await sim.get("/sim/doors/door-1/codes"))
    assert valid == [{"codeId": "C1", **now_body}, {"codeId": "F1", **moved}]
    zoned = {"code": "000000", "validFrom": "2020-01-01T08:00:00+08:00"}
    zoned["validUntil"] = "2099-01-01T00:00:00+00:00"
    assert (await put_code(sim, "door-1", "Z1", zoned)).status_code == 204
    listed = {c["codeId"]: c for c in await ok(await sim.get("/sim/doors/door-1/codes"))}
    assert listed["Z1"]["validFrom"] == "2020-01-01T00:00:00Z"

    r = await delete_code(sim, "door-1", "C1")
    assert r.status_code == 204 and r.content == b""
    assert (await delete_code(sim, "door-1", "C1")).status_code == 404
    assert (await delete_code(sim, "door-2", "F1")).status_code == 404
    valid = await ok(await sim.get("/sim/doors/door-1/codes"))
    assert [c["codeId"] for c in valid] == ["F1", "Z1"]


@pytest.mark.asyncio
async def test_code_refusals_and_faults(sim: httpx.AsyncClient) -> None:
    good = code_body("123456", -HOUR, HOUR)
    bad_bodies: list[object] = [
        {},
        {**good, "code": "12345"},
        {**good, "code": "1234567"},
        {**good, "code": 123456},
        {**good, "code": "12a456"},
        {**good, "code": "\u0661\u0662\u0663\u0664\u0665\u0666"},  # digits, not ASCII ones
        {"code": "123456", "validFrom": good["validFrom"]},
        {**good, "validFrom": "2026-01-01T00:00:00", "validUntil": "2026-02-01T00:00:00"},
        {**good, "validFrom": good["validUntil"], "validUntil": good["validFrom"]},
        ["not", "an", "object"],
    ]
    for body in bad_bodies:
        assert (await put_code(sim, "door-1", "C", body)).status_code == 400, body
    assert await ok(await sim.get("/sim/doors/door-1/codes?all=1")) == []
    assert (await put_code(sim, "cam-1", "C", good)).status_code == 404
    assert (await put_code(sim, "lock-1", "C", good)).status_code == 404
    assert (await sim.get("/sim/doors/cam-1/codes")).status_code == 404

    # the card calls' faults, on the code calls
    await ok(await sim.post("/sim/devices/door-1/offline"))
    r = await put_code(sim, "door-1", "C", good)
    assert (r.status_code, r.json()) == (409, {"status": "offline"})
    assert (await delete_code(sim, "door-1", "C")).status_code == 409
    await ok(await sim.post("/sim/devices/door-1/online"))
    await ok(await sim.post("/sim/devices/door-1/fail"))
    assert (await put_code(sim, "door-1", "C", good)).status_code == 500
    await ok(await sim.post("/sim/devices/door-1/ok"))
    await ok(await sim.post("/sim/gateway/offline"))
    assert (await put_code(sim, "door-1", "C", good)).status_code == 503
    assert (await delete_code(sim, "door-1", "C")).status_code == 503
    await ok(await sim.post("/sim/gateway/online"))
    await ok(await sim.post("/sim/gateway/garbage", json={"kind": "invalid-json"}))
    r = await put_code(sim, "door-1", "C", good)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    await ok(await sim.post("/sim/gateway/sane"))
    assert await ok(await sim.get("/sim/doors/door-1/codes?all=1")) == []  # nothing reached it

    await ok(await sim.post("/sim/devices/door-1/latency", json={"seconds": 0.3}))
    for call in (put_code(sim, "door-1", "C", good), delete_code(sim, "door-1", "C")):
        started = time.monotonic()
        assert (await call).status_code == 204
        assert time.monotonic() - started >= 0.28


@pytest.mark.asyncio
async def test_the_keypad_grants_codes_valid_now_and_tells_anju(
    sim: httpx.AsyncClient, receiver: Receiver
) -> None:
    for held, body in (
        ("C1", code_body("123456", -HOUR, HOUR)),
        ("F1", code_body("222222", HOUR, 2 * HOUR)),  # not yet
        ("E1", code_body("333333", -2 * HOUR, -HOUR)),  # expired
        ("R1", code_body("444444", -HOUR, HOUR)),  # revoked below
    ):
        assert (await put_code(sim, "door-1", held, body)).status_code == 204
    assert (await delete_code(sim, "door-1", "R1")).status_code == 204

    expected: dict[str, tuple[str | None, bool]] = {
        "123456": ("C1", True),
        "222222": (None, False),
        "333333": (None, False),
        "444444": (None, False),
        "999999": (None, False),
        "12345": (None, False),
    }
    for typed, (code_id, granted) in expected.items():
        answer = await ok(await sim.post("/sim/doors/door-1/keypad", json={"code": typed}))
        assert (answer["codeId"], answer["granted"]) == (code_id, granted)
        assert answer["anjuStatus"] == 200 and answer["error"] is None
        last = receiver.received()[-1]  # delivered before the answer
        assert last.verified and last.path == "/webhooks/gateway"
        assert last.headers["x-anju-signature"].startswith("sha256=")
        assert set(last.body) == GATEWAY_EVENT_KEYS and last.body["at"].endswith("Z")
        assert last.body["eventId"] == answer["eventId"]
        assert last.body["type"] == "door.code" and last.body["deviceId"] == "door-1"
        assert last.body["data"] == {"codeId": code_id, "granted": granted}  # never the digits
    assert len(receiver.received()) == len(expected)

    # a code valid on one door opens no other
    answer = await ok(await sim.post("/sim/doors/door-2/keypad", json={"code": "123456"}))
    assert (answer["codeId"], answer["granted"]) == (None, False)
    # the same digits under two ids: the smallest id valid now is reported
    await put_code(sim, "door-1", "B0", code_body("123456", -HOUR, HOUR))
    answer = await ok(await sim.post("/sim/doors/door-1/keypad", json={"code": "123456"}))
    assert (answer["codeId"], answer["granted"]) == ("B0", True)

    for bad in ({}, {"code": ""}, {"code": 123456}, {"code": "12 34"}, {"code": "1" * 13}):
        assert (await sim.post("/sim/doors/door-1/keypad", json=bad)).status_code == 400
    r = await sim.post("/sim/doors/cam-1/keypad", json={"code": "123456"})
    assert r.status_code == 404
    await ok(await sim.post("/sim/devices/door-1/offline"))
    r = await sim.post("/sim/doors/door-1/keypad", json={"code": "123456"})
    assert (r.status_code, r.json()) == (409, {"status": "offline"})
    events = [e for e in await ok(await sim.get("/sim/events")) if e["target"] == "gateway"]
    assert len(events) == len(expected) + 2  # the refused presses sent nothing


@pytest.mark.asyncio
async def test_reset_forgets_codes(sim: httpx.AsyncClient) -> None:
    await put_code(sim, "door-1", "C1", code_body("123456", -HOUR, HOUR))
    await ok(await sim.post("/sim/reset"))
    assert await ok(await sim.get("/sim/doors/door-1/codes?all=1")) == []


# --- payment agreements ----------------------------------------------------------------------

AGREEMENT_EVENT_KEYS = {"eventId", "type", "agreementId", "at"}


def agreement(key: str = "ag-1", **overrides: object) -> dict[str, object]:
    return {
        "idempotencyKey": key,
        "method": "WECHAT_PAY",
        "payerPhone": "13912345678",
        "description": "rent for room 101, monthly",
        **overrides,
    }


async def create_agreement(sim: httpx.AsyncClient, body: object) -> dict[str, Any]:
    created = await ok(await sim.post("/v1/agreements", json=body, headers=PAYMENTS), 201)
    assert isinstance(created, dict)
    return created


async def signed_agreement(sim: httpx.AsyncClient, key: str, **overrides: object) -> str:
    agreement_id = (await create_agreement(sim, agreement(key, **overrides)))["agreementId"]
    await ok(await sim.post(f"/sim/agreements/{agreement_id}/sign"))
    assert isinstance(agreement_id, str)
    return agreement_id


async def cancel(sim: httpx.AsyncClient, agreement_id: str) -> httpx.Response:
    return await sim.delete(f"/v1/agreements/{agreement_id}", headers=PAYMENTS)


def of_type(receiver: Receiver, event_type: str) -> list[Received]:
    return [g for g in receiver.received() if g.body.get("type") == event_type]


@pytest.mark.asyncio
async def test_an_agreement_is_created_once_per_key(
    sim: httpx.AsyncClient, sim_url: str, receiver: Receiver
) -> None:
    created = await create_agreement(sim, agreement())
    agreement_id = created["agreementId"]
    assert created == {
        "agreementId": agreement_id,
        "status": "pending",
        "signUrl": f"{sim_url}/sim/agreements/{agreement_id}",
    }
    again = await create_agreement(sim, agreement(method="ALIPAY"))  # the key decides
    assert again == created
    other = await create_agreement(sim, agreement("ag-2", method="ALIPAY"))
    assert other["agreementId"] != agreement_id
    page = await ok(await sim.get(created["signUrl"]))
    assert page["status"] == "pending" and page["payerPhone"] == "13912345678"
    assert page["method"] == "WECHAT_PAY" and page["idempotencyKey"] == "ag-1"
    listed = await ok(await sim.get("/sim/agreements"))
    assert [a["agreementId"] for a in listed] == [agreement_id, other["agreementId"]]
    await ok(await sim.post(f"/sim/agreements/{agreement_id}/sign"))
    again = await create_agreement(sim, agreement())
    assert (again["agreementId"], again["status"]) == (agreement_id, "active")

    bad_bodies: list[object] = [
        agreement("k", method="CASH"),
        agreement("k", payerPhone="12345"),
        agreement("k", payerPhone="+8613912345678"),
        agreement("k", payerPhone="1391234567"),
        agreement("k", payerPhone="12912345678"),
        agreement("k", payerPhone=13912345678),
        agreement(""),
        agreement("k", description=3),
        agreement("k", notifyUrl="ftp://x"),
        ["not", "an", "object"],
    ]
    for body in bad_bodies:
        r = await sim.post("/v1/agreements", json=body, headers=PAYMENTS)
        assert r.status_code == 400, body
    assert len(await ok(await sim.get("/sim/agreements"))) == 2
    assert (await sim.get("/sim/agreements/ag_nope")).status_code == 404
    assert of_type(receiver, "agreement.cancelled") == []


@pytest.mark.asyncio
async def test_the_payer_signs_and_cancels_and_anju_hears_it(
    sim: httpx.AsyncClient, receiver: Receiver
) -> None:
    body = agreement(notifyUrl=f"{receiver.url}/hooks/autopay?room=101")
    agreement_id = (await create_agreement(sim, body))["agreementId"]
    answer = await ok(await sim.post(f"/sim/agreements/{agreement_id}/sign"))
    assert answer == {
        "agreementId": agreement_id,
        "status": "active",
        "eventId": answer["eventId"],
        "anjuStatus": 200,
        "error": None,
    }
    [got] = receiver.received()  # delivered before the answer, to the notifyUrl
    assert got.path == "/hooks/autopay" and got.verified  # under the payments secret
    assert got.headers["x-anju-signature"].startswith("sha256=")
    assert set(got.body) == AGREEMENT_EVENT_KEYS and got.body["at"].endswith("Z")
    assert got.body["eventId"] == answer["eventId"]
    assert (got.body["type"], got.body["agreementId"]) == ("agreement.active", agreement_id)
    assert (await ok(await sim.get(f"/sim/agreements/{agreement_id}")))["status"] == "active"

    answer = await ok(await sim.post(f"/sim/agreements/{agreement_id}/cancel"))
    assert answer["status"] == "cancelled" and answer["anjuStatus"] == 200
    got = receiver.received()[-1]
    assert got.verified and set(got.body) == AGREEMENT_EVENT_KEYS
    assert (got.body["type"], got.body["agreementId"]) == ("agreement.cancelled", agreement_id)
    r = await sim.post(f"/sim/agreements/{agreement_id}/sign")  # a new agreement is needed
    assert (r.status_code, r.json()) == (409, {"error": "agreement_cancelled"})
    assert (await ok(await sim.get(f"/sim/agreements/{agreement_id}")))["status"] == "cancelled"

    # without a notifyUrl the events go to Anju's payments webhook
    other = (await create_agreement(sim, agreement("ag-2")))["agreementId"]
    answer = await ok(await sim.post(f"/sim/agreements/{other}/sign"))
    again = await ok(await sim.post(f"/sim/agreements/{other}/sign"))  # a duplicate, told again
    latest = receiver.received()[-2:]
    assert [g.path for g in latest] == ["/webhooks/payments"] * 2
    assert all(g.verified for g in latest)
    assert [g.body["eventId"] for g in latest] == [answer["eventId"], again["eventId"]]
    assert answer["eventId"] != again["eventId"]
    assert len(receiver.received()) == 4  # the refused sign sent nothing
    for control in ("sign", "cancel"):
        assert (await sim.post(f"/sim/agreements/ag_nope/{control}")).status_code == 404


@pytest.mark.asyncio
async def test_charges_through_an_agreement(sim: httpx.AsyncClient, receiver: Receiver) -> None:
    agreement_id = (await create_agreement(sim, agreement()))["agreementId"]
    for agreed in (agreement_id, "ag_nope"):  # pending, unknown
        r = await sim.post("/v1/charges", json=charge("c1", agreementId=agreed), headers=PAYMENTS)
        assert (r.status_code, r.json()) == (409, {"error": "agreement_inactive"})
    assert await ok(await sim.get("/sim/payments/charges")) == []
    await ok(await sim.post(f"/sim/agreements/{agreement_id}/sign"))
    receiver.clear()

    body = charge("c1", agreementId=agreement_id)
    created = await ok(await sim.post("/v1/charges", json=body, headers=PAYMENTS), 201)
    assert created["status"] == "succeeded"
    [got] = await receiver.wait_for(1)
    assert got.verified and got.path == "/webhooks/payments"
    assert set(got.body) == PAYMENT_EVENT_KEYS  # a charge event keeps its version 1 shape
    assert (got.body["chargeId"], got.body["status"]) == (created["chargeId"], "succeeded")
    [listed] = await ok(await sim.get("/sim/payments/charges"))
    assert listed["agreementId"] == agreement_id
    for bad in (
        charge("c2", agreementId=agreement_id, method="ALIPAY"),  # not the agreement's wallet
        charge("c2", agreementId=""),
        charge("c2", agreementId=5),
    ):
        assert (await sim.post("/v1/charges", json=bad, headers=PAYMENTS)).status_code == 400

    # modes apply as to any charge; a held charge still settles after the agreement ends
    await ok(await sim.post("/sim/payments/mode", json={"mode": "fail"}))
    body = charge("c3", agreementId=agreement_id)
    assert (await ok(await sim.post("/v1/charges", json=body, headers=PAYMENTS), 201))[
        "status"
    ] == "failed"
    await ok(await sim.post("/sim/payments/mode", json={"mode": "hold"}))
    body = charge("c4", agreementId=agreement_id)
    held = await ok(await sim.post("/v1/charges", json=body, headers=PAYMENTS), 201)
    assert held["status"] == "pending"
    r = await cancel(sim, agreement_id)
    assert r.status_code == 204 and r.content == b""
    [ended] = [g for g in await receiver.wait_for(3) if g.body.get("type")]
    assert ended.verified and ended.path == "/webhooks/payments"
    assert set(ended.body) == AGREEMENT_EVENT_KEYS
    assert (ended.body["type"], ended.body["agreementId"]) == ("agreement.cancelled", agreement_id)
    assert (await cancel(sim, agreement_id)).status_code == 204  # already ended: told once
    assert (await cancel(sim, "ag_nope")).status_code == 404

    r = await sim.post("/v1/charges", json=charge("c5", agreementId=agreement_id), headers=PAYMENTS)
    assert (r.status_code, r.json()) == (409, {"error": "agreement_inactive"})
    again = await ok(await sim.post("/v1/charges", json=body, headers=PAYMENTS), 201)
    assert again == held  # the same key answers its charge, taken while the agreement held
    settled = await ok(
        await sim.post(f"/sim/payments/{held['chargeId']}/settle", json={"status": "succeeded"})
    )
    assert settled["anjuStatus"] == 200
    await asyncio.sleep(0.2)
    assert len(of_type(receiver, "agreement.cancelled")) == 1
    got = receiver.received()[-1]
    assert (got.body["chargeId"], got.body["status"]) == (held["chargeId"], "succeeded")


@pytest.mark.asyncio
async def test_agreements_meet_the_provider_faults(sim: httpx.AsyncClient) -> None:
    await ok(await sim.post("/sim/payments/down"))
    assert (await sim.post("/v1/agreements", json=agreement(), headers=PAYMENTS)).status_code == 503
    assert (await cancel(sim, "ag_nope")).status_code == 503
    assert await ok(await sim.get("/sim/agreements")) == []
    await ok(await sim.post("/sim/payments/up"))

    await ok(await sim.post("/sim/payments/garbage", json={"kind": "wrong-shape"}))
    r = await sim.post("/v1/agreements", json=agreement(), headers=PAYMENTS)
    assert r.status_code == 200 and isinstance(r.json(), list)
    [taken] = await ok(await sim.get("/sim/agreements"))  # taken, its answer garbled
    await ok(await sim.post(f"/sim/agreements/{taken['agreementId']}/sign"))
    assert (await cancel(sim, taken["agreementId"])).status_code == 200
    await ok(await sim.post("/sim/payments/sane"))
    assert (await ok(await sim.get("/sim/agreements")))[0]["status"] == "cancelled"

    await ok(await sim.post("/sim/payments/latency", json={"seconds": 0.3}))
    started = time.monotonic()
    created = await create_agreement(sim, agreement("ag-2"))
    assert time.monotonic() - started >= 0.28
    started = time.monotonic()
    assert (await cancel(sim, created["agreementId"])).status_code == 204
    assert time.monotonic() - started >= 0.28


@pytest.mark.asyncio
async def test_reset_forgets_agreements(sim: httpx.AsyncClient) -> None:
    agreement_id = await signed_agreement(sim, "ag-1")
    await ok(await sim.post("/sim/reset"))
    assert await ok(await sim.get("/sim/agreements")) == []
    body = charge("c1", agreementId=agreement_id)
    assert (await sim.post("/v1/charges", json=body, headers=PAYMENTS)).status_code == 409


# --- the SMS provider -------------------------------------------------------------------------

PHONE = "13912345678"


def message(key: str = "m-1", **overrides: object) -> dict[str, object]:
    return {
        "to": PHONE,
        "template": "verification_code",
        "params": {"code": "482913"},
        "idempotencyKey": key,
        **overrides,
    }


async def send(sim: httpx.AsyncClient, body: object, headers: Headers = SMS) -> httpx.Response:
    return await sim.post("/v1/messages", json=body, headers=headers)


async def inbox(sim: httpx.AsyncClient, phone: str | None = PHONE) -> list[dict[str, Any]]:
    listed = await ok(await sim.get("/sim/sms", params={"phone": phone} if phone else None))
    assert isinstance(listed, list)
    return listed


@pytest.mark.asyncio
async def test_a_message_is_sent_once_per_key(sim: httpx.AsyncClient) -> None:
    first = await ok(await send(sim, message()), 202)
    assert set(first) == {"messageId"}
    again = await ok(await send(sim, message(template="lease_invitation", params={})), 202)
    assert again == first  # the key decides: nothing is sent twice
    visit = {"code": "204816", "from": "2026-12-01T09:00:00Z", "until": "2026-12-01T18:00:00Z"}
    visit["address"] = "Room 101, 8 Anju Road"
    second = await ok(await send(sim, message("m-2", template="visitor_pass", params=visit)), 202)
    third = await ok(await send(sim, message("m-3", to="18000000001", params=None)), 202)
    assert len({first["messageId"], second["messageId"], third["messageId"]}) == 3

    listed = await inbox(sim)
    assert [m["messageId"] for m in listed] == [second["messageId"], first["messageId"]]
    assert listed[0] == {
        "messageId": second["messageId"],
        "to": PHONE,
        "template": "visitor_pass",
        "params": visit,
        "at": listed[0]["at"],
    }
    assert listed[1]["template"] == "verification_code"
    assert listed[1]["params"] == {"code": "482913"}
    assert listed[0]["at"].endswith("Z") and listed[0]["at"] >= listed[1]["at"]
    [other] = await inbox(sim, "18000000001")
    assert other["messageId"] == third["messageId"] and other["params"] == {}
    assert await inbox(sim, "13700000000") == []
    assert len(await inbox(sim, None)) == 3


@pytest.mark.asyncio
async def test_a_throttled_message_is_not_sent(sim: httpx.AsyncClient) -> None:
    accepted = await ok(await send(sim, message("m-1")), 202)
    answer = await ok(await sim.post("/sim/sms/mode", json={"mode": "throttle", "retryAfter": 7}))
    assert answer == {"mode": "throttle", "retryAfter": 7}
    r = await send(sim, message("m-2"))
    assert (r.status_code, r.json(), r.headers["retry-after"]) == (429, {"retryAfter": 7}, "7")
    assert await ok(await send(sim, message("m-1")), 202) == accepted  # answered from the key
    await ok(await sim.post("/sim/sms/mode", json={"mode": "throttle"}))
    r = await send(sim, message("m-2"))
    assert (r.status_code, r.json()) == (429, {"retryAfter": 1})
    assert len(await inbox(sim)) == 1

    await ok(await sim.post("/sim/sms/mode", json={"mode": "deliver"}))
    await ok(await send(sim, message("m-2")), 202)  # the throttled key was not used up
    assert len(await inbox(sim)) == 2


@pytest.mark.asyncio
async def test_a_number_it_cannot_reach_is_a_400(sim: httpx.AsyncClient) -> None:
    for to in (
        "+8613912345678",
        "8613912345678",
        "1391234567",
        "139123456789",
        "23912345678",
        "12912345678",
        "139 1234 5678",
        "139-1234-5678",
        "\uff11\uff13\uff19\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18",  # full-width
        "",
    ):
        r = await send(sim, message("m-1", to=to))
        assert (r.status_code, r.json()) == (400, {"error": "unreachable"}), to
    await ok(await sim.post("/sim/sms/mode", json={"mode": "fail"}))
    r = await send(sim, message("m-1"))
    assert (r.status_code, r.json()) == (400, {"error": "unreachable"})
    assert await inbox(sim, None) == []
    await ok(await sim.post("/sim/sms/mode", json={"mode": "deliver"}))
    await ok(await send(sim, message("m-1")), 202)  # the refused key was not used up
    assert len(await inbox(sim)) == 1


@pytest.mark.asyncio
async def test_message_refusals(sim: httpx.AsyncClient) -> None:
    malformed: list[object] = [
        message(to=13912345678),
        message(template="Verification Code"),
        message(template=""),
        message(params=["482913"]),
        message(params={"code": True}),
        message(params={"code": {"digits": "482913"}}),
        message(idempotencyKey=""),
        {"to": PHONE, "template": "verification_code"},
        ["not", "an", "object"],
    ]
    for body in malformed:
        r = await send(sim, body)
        assert r.status_code == 400 and r.json()["error"] != "unreachable", body
    for params in (
        {"password": "hunter22"},
        {"newPassword": "hunter22"},
        {"id_number": "x"},
        {"address": "tenant 11010119900307451X, room 101"},
        {"code": 110101199003074514},
    ):
        r = await send(sim, message(params=params))
        assert (r.status_code, r.json()) == (400, {"error": "forbidden_content"}), params
    assert await inbox(sim, None) == []
    for bad in (
        {"mode": "maybe"},
        {},
        {"mode": "throttle", "retryAfter": 0},
        {"mode": "throttle", "retryAfter": "5"},
        {"mode": "throttle", "retryAfter": True},
        {"mode": "throttle", "retryAfter": 1.5},
        {"mode": "throttle", "retryAfter": 3601},
    ):
        assert (await sim.post("/sim/sms/mode", json=bad)).status_code == 400, bad
    await ok(await send(sim, message()), 202)  # still delivering


@pytest.mark.asyncio
async def test_reset_forgets_messages_and_the_mode(sim: httpx.AsyncClient) -> None:
    first = await ok(await send(sim, message()), 202)
    await ok(await sim.post("/sim/sms/mode", json={"mode": "throttle"}))
    await ok(await sim.post("/sim/reset"))
    assert await inbox(sim, None) == []
    again = await ok(await send(sim, message()), 202)  # delivering, and the key is new again
    assert again != first


def test_sms_token_comes_from_the_environment() -> None:
    dev = {"ANJU_ENV": "development"}
    assert load_sms_token(dev) == DEV_SMS_TOKEN == "dev-only-sms-token"
    assert load_sms_token({**dev, "SMS_TOKEN": ""}) == DEV_SMS_TOKEN
    assert load_sms_token({"ANJU_ENV": "test", "SMS_TOKEN": "s3cret"}) == "s3cret"
    assert load_sms_token({"ANJU_ENV": "production", "SMS_TOKEN": "s3cret"}) == "s3cret"
    # production rules, unless ANJU_ENV says development or test (unset included)
    for env in ({}, {"ANJU_ENV": "production"}, {"ANJU_ENV": "prod", "SMS_TOKEN": DEV_SMS_TOKEN}):
        with pytest.raises(SettingsError, match="SMS_TOKEN"):
            load_sms_token(env)


@pytest.mark.asyncio
async def test_the_call_log_names_each_service(sim: httpx.AsyncClient) -> None:
    await send(sim, message())
    await sim.post("/v1/agreements", json=agreement(), headers=PAYMENTS)
    await claim(sim, "door-1", claim_code("door-1"), "p")
    await put_code(sim, "door-1", "C1", code_body("123456", -HOUR, HOUR))
    calls = await ok(await sim.get("/sim/calls"))
    assert [(c["api"], c["path"], c["status"]) for c in calls] == [
        ("sms", "/v1/messages", 202),
        ("payments", "/v1/agreements", 201),
        ("gateway", "/v1/devices/door-1/claims", 200),
        ("gateway", "/v1/doors/door-1/codes/C1", 204),
    ]


# --- authentication --------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_version_2_calls_need_their_own_token(sim: httpx.AsyncClient) -> None:
    wrong: tuple[Headers, ...] = (
        {},
        {"authorization": "Bearer nope"},
        {"authorization": f"Basic {SMS_TOKEN}"},
    )
    active = await signed_agreement(sim, "ag-1")
    for headers in (*wrong, PAYMENTS, SMS):
        assert (await claim(sim, "door-1", claim_code("door-1"), "p", headers)).status_code == 401
        r = await release(sim, "door-1", "p", headers)
        assert r.status_code == 401
        r = await put_code(sim, "door-1", "C", code_body("123456", -HOUR, HOUR), headers)
        assert r.status_code == 401
        assert (await delete_code(sim, "door-1", "C", headers)).status_code == 401
    for headers in (*wrong, GATEWAY, SMS):
        r = await sim.post("/v1/agreements", json=agreement(), headers=headers)
        assert r.status_code == 401
        assert (await sim.delete(f"/v1/agreements/{active}", headers=headers)).status_code == 401
        body = charge("c1", agreementId=active)
        assert (await sim.post("/v1/charges", json=body, headers=headers)).status_code == 401
    assert await ok(await sim.get("/sim/claims")) == []
    assert await ok(await sim.get("/sim/doors/door-1/codes?all=1")) == []
    dev_default = {"authorization": f"Bearer {DEV_SMS_TOKEN}"}  # SMS_TOKEN is set: refused
    for headers in (*wrong, GATEWAY, PAYMENTS, dev_default):
        assert (await send(sim, message(), headers)).status_code == 401
    assert [a["status"] for a in await ok(await sim.get("/sim/agreements"))] == ["active"]
    assert await ok(await sim.get("/sim/payments/charges")) == []
    assert await inbox(sim, None) == []
