"""Faults (issue 11): the gateway and the payment provider answering garbage or slowly, and Anju
killed (SIGKILL) during a lease start or a payment and started again. Everything goes through
the public API (GraphQL over HTTP, the webhooks, the simulator's /sim controls) against the real
database and simulator; the database is read only to check what is stored.

For every call Anju makes to the gateway (device look-up, door opening, card put and delete,
camera snapshot) and to the payment provider (charge creation, which is also how Anju asks a
charge's status again), a garbage answer must give a clean, stable-coded answer, store nothing
half-done, and be recovered from once the other side is sane again."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pymongo import MongoClient

from app.settings import load_settings
from app.store import Doc
from tests import door_support as doors
from tests.conftest import Stack
from tests.fault_support import (
    KINDS,
    InFlight,
    anju_running_after,
    calls,
    kill_anju,
    start_anju_again,
    wait_in_flight,
)
from tests.lease_support import (
    END_LEASE,
    LEASE_NODE,
    ROOM_LEASE,
    START_LEASE,
    card_numbers,
    door_cards,
    lease_input,
    make_home,
    person,
    today,
)
from tests.rent_support import (
    ROLL,
    Tenancy,
    charges,
    charges_of,
    codes,
    events,
    key,
    notifications,
    pay,
    tenancy,
)
from tests.support import Api, Caller, eventually, label_code, sim_post

SNAPSHOT = """query($id: ID!) { cameraSnapshot(cameraId: $id) { contentType url } }"""
CARDS_PENDING = """query($id: ID!) { node(id: $id) { ... on Lease { cardsPending } } }"""
PENDING_WITHIN = 90.0  # a killed holder's card lock expires after 30 s; then the worker goes on


def paid_sum(invoice: dict[str, Any]) -> int:
    return sum(p["amountFen"] for p in invoice["payments"] if p["status"] == "SUCCEEDED")


def received(landlord: Caller) -> list[dict[str, Any]]:
    return [n for n in notifications(landlord) if n["kind"] == "PAYMENT_RECEIVED"]


def cards_pending(landlord: Caller, lease_id: str) -> int:
    pending: int = landlord.data(CARDS_PENDING, {"id": lease_id})["node"]["cardsPending"]
    return pending


# --- the simulator's controls -----------------------------------------------------------------


def test_the_simulator_answers_garbage_until_sane_or_reset(
    api: Api, stack: Stack, http: httpx.Client
) -> None:
    gateway = {"authorization": f"Bearer {load_settings(stack.env).gateway_token}"}
    # given a gateway and a provider answering garbage
    sim_post(http, stack.sim_url, "/sim/gateway/garbage", {"kind": "html"})
    sim_post(http, stack.sim_url, "/sim/payments/garbage", {"kind": "wrong-shape"})
    # then protocol calls get it, and unknown kinds are refused
    answer = http.get(f"{stack.sim_url}/v1/devices/door-x1", headers=gateway)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    refused = http.post(f"{stack.sim_url}/sim/gateway/garbage", json={"kind": "nonsense"})
    assert refused.status_code == 400
    assert [c["path"] for c in calls(http, stack)] == ["/v1/devices/door-x1"]
    # when it is made sane again, or reset
    sim_post(http, stack.sim_url, "/sim/gateway/sane")
    assert http.get(f"{stack.sim_url}/v1/devices/door-x1").status_code == 401  # the protocol
    sim_post(http, stack.sim_url, "/sim/gateway/garbage", {"kind": "empty"})
    sim_post(http, stack.sim_url, "/sim/payments/latency", {"seconds": 3})
    sim_post(http, stack.sim_url, "/sim/reset")
    # then the protocol answers again, at once
    assert http.get(f"{stack.sim_url}/v1/devices/door-x1").status_code == 401
    seen = [(c["method"], c["path"], c["status"]) for c in calls(http, stack)]
    assert seen == [("GET", "/v1/devices/door-x1", 401)]


# --- garbage from the gateway -----------------------------------------------------------------


def test_open_door_with_garbage_from_the_gateway_fails_and_opens_once_it_is_sane(
    api: Api, stack: Stack, http: httpx.Client, mongo: MongoClient[Doc]
) -> None:
    # given a landlord's door
    home = doors.building(api.caller("LANDLORD"))
    for kind in KINDS:
        # when the gateway answers garbage and the landlord opens the door
        sim_post(http, stack.sim_url, "/sim/gateway/garbage", {"kind": kind})
        payload = doors.open_door(home.landlord, home.door_id)
        # then the command is FAILED (never OPENED), with no access event logged
        assert payload["userErrors"] == [], kind
        assert payload["command"]["status"] == "FAILED", kind
        assert payload["command"]["completedAt"] is not None, kind
    stored = list(mongo[stack.db_name].door_commands.find({}, {"status": 1}))
    assert [c["status"] for c in stored] == ["FAILED"] * len(KINDS)
    assert mongo[stack.db_name].access_events.count_documents({}) == 0
    assert http.get(f"{stack.sim_url}/sim/doors/{home.door_device}/opens").json() == []
    # when the gateway is sane again, the door opens, once
    sim_post(http, stack.sim_url, "/sim/gateway/sane")
    opened = doors.open_door(home.landlord, home.door_id)["command"]
    assert opened["status"] == "OPENED"
    opens = http.get(f"{stack.sim_url}/sim/doors/{home.door_device}/opens").json()
    assert opens == [doors.raw_id(opened["id"])]
    assert mongo[stack.db_name].access_events.count_documents({}) == 1


def test_register_device_with_garbage_from_the_gateway_is_unavailable_and_stores_nothing(
    api: Api, stack: Stack, http: httpx.Client, mongo: MongoClient[Doc]
) -> None:
    # given a landlord's property and room
    landlord = api.caller("LANDLORD")
    home = make_home(landlord, doors=False)
    device = doors.uid("door")
    given = {
        "kind": "DOOR",
        "deviceId": device,
        "name": "front door",
        "propertyId": home.property_id,
        "roomId": home.room,
        "claimCode": label_code(api, device),
    }
    for kind in KINDS:
        # when the gateway's device claim answers garbage
        sim_post(http, stack.sim_url, "/sim/gateway/garbage", {"kind": kind})
        body = landlord.post(doors.REGISTER, {"input": given})
        # then a clean SERVICE_UNAVAILABLE (not a kind mismatch, not an internal error)
        assert [e["extensions"]["code"] for e in body.get("errors", [])] == [
            "SERVICE_UNAVAILABLE"
        ], (kind, body)
        assert mongo[stack.db_name].devices.count_documents({"device_id": device}) == 0, kind
    # when the gateway is sane again, the door registers once
    sim_post(http, stack.sim_url, "/sim/gateway/sane")
    assert landlord.mutate("registerDevice", doors.REGISTER, {"input": given})["door"]["id"]
    assert landlord.refused("registerDevice", doors.REGISTER, {"input": given}) == ["DUPLICATE"]
    assert mongo[stack.db_name].devices.count_documents({"device_id": device}) == 1


def test_camera_snapshot_with_garbage_from_the_gateway_is_refused_cleanly(
    api: Api, stack: Stack, http: httpx.Client, mongo: MongoClient[Doc]
) -> None:
    # given a landlord's camera
    home = doors.building(api.caller("LANDLORD"))
    for kind in KINDS:
        # when the gateway answers garbage to the snapshot
        sim_post(http, stack.sim_url, "/sim/gateway/garbage", {"kind": kind})
        got = home.landlord.errors(SNAPSHOT, {"id": home.camera_id})
        # then not a usable picture (DEVICE_ERROR), or a body cut short (SERVICE_UNAVAILABLE)
        assert got == ["SERVICE_UNAVAILABLE" if kind == "truncated" else "DEVICE_ERROR"], kind
    assert mongo[stack.db_name].snapshots.count_documents({}) == 0
    # when it is sane again, the snapshot works
    sim_post(http, stack.sim_url, "/sim/gateway/sane")
    snap = home.landlord.data(SNAPSHOT, {"id": home.camera_id})["cameraSnapshot"]
    assert snap["contentType"] == "image/jpeg"
    assert http.get(snap["url"]).content.startswith(b"\xff\xd8\xff")


@pytest.mark.parametrize("kind", KINDS)
def test_card_jobs_with_garbage_from_the_gateway_stay_pending_and_converge_once_sane(
    api: Api, stack: Stack, http: httpx.Client, kind: str
) -> None:
    # given a landlord's room door, another room's door and an entrance
    landlord, tenant = api.caller("LANDLORD"), api.caller("TENANT")
    home = make_home(landlord)
    room_doors = (home.room_door, home.entrance)
    # when the gateway answers garbage and a lease of two starts
    sim_post(http, stack.sim_url, "/sim/gateway/garbage", {"kind": kind})
    lease = landlord.mutate(
        "startLease",
        START_LEASE,
        {"input": lease_input(home.room, tenant, occupants=[person(), person("李娜")])},
    )["lease"]
    numbers = card_numbers(lease)
    # then the lease started, and says truthfully that its 4 card puts are still pending
    assert lease["status"] == "ACTIVE"
    assert lease["cardsPending"] == 4
    assert [o["card"]["syncedAtGateway"] for o in lease["occupants"]] == [False, False]
    assert all(door_cards(http, stack.sim_url, d, every=True) == {} for d in room_doors)
    # when the gateway is sane again, then every card reaches its doors, with nobody acting
    sim_post(http, stack.sim_url, "/sim/gateway/sane")
    assert eventually(lambda: cards_pending(landlord, lease["id"]) == 0)
    for device in room_doors:
        assert set(door_cards(http, stack.sim_url, device, every=True)) == numbers
    assert door_cards(http, stack.sim_url, home.other_door, every=True) == {}

    # when the gateway answers garbage again and the lease ends
    sim_post(http, stack.sim_url, "/sim/gateway/garbage", {"kind": kind})
    ended = landlord.mutate(
        "endLease",
        END_LEASE,
        {"input": {"leaseId": lease["id"], "moveOutDate": today().isoformat()}},
    )["lease"]
    # then it has ended, its revocations are pending, and the doors still hold the cards
    assert ended["status"] == "ENDED" and ended["cardsPending"] == 4
    assert all(set(door_cards(http, stack.sim_url, d)) == numbers for d in room_doors)
    # when the gateway is sane again, then the cards are revoked everywhere
    sim_post(http, stack.sim_url, "/sim/gateway/sane")
    assert eventually(lambda: cards_pending(landlord, lease["id"]) == 0)
    assert all(door_cards(http, stack.sim_url, d, every=True) == {} for d in room_doors)


# --- garbage from the payment provider, and a slow one ----------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_pay_invoice_with_garbage_from_the_provider_stays_pending_and_pays_once_when_sane(
    api: Api, stack: Stack, http: httpx.Client, kind: str
) -> None:
    # given a provider that takes charges and answers garbage
    t = tenancy(api)
    invoice = t.upcoming()
    sim_post(http, stack.sim_url, "/sim/payments/garbage", {"kind": kind})
    k = key()
    # when the tenant pays
    first = pay(t.tenant, invoice["id"], 40_000, k)
    # then a clean PAYMENT_PROVIDER_ERROR; a charge may exist, so the payment stays PENDING
    # with the amount reserved, and nothing is paid
    assert codes(first) == ["PAYMENT_PROVIDER_ERROR"] and first["payment"] is None
    seen = t.invoice(invoice["id"])
    assert seen["paidFen"] == 0 and seen["status"] == "OPEN"
    assert [p["status"] for p in seen["payments"]] == ["PENDING"]
    [charge] = charges(http, stack.sim_url)  # taken once, though asked three times
    assert charge["status"] == "succeeded"
    # and the same key, still against garbage, answers the same, charging nothing more
    assert codes(pay(t.tenant, invoice["id"], 40_000, k)) == ["PAYMENT_PROVIDER_ERROR"]
    assert len(charges(http, stack.sim_url)) == 1
    assert t.invoice(invoice["id"])["paidFen"] == 0
    assert received(t.landlord) == []
    # and the rest of the invoice stays payable, the reserved part not
    assert codes(pay(t.tenant, invoice["id"], t.rent - 40_000 + 1)) == ["AMOUNT_EXCEEDS_BALANCE"]

    # when the provider is sane again and the tenant retries with the same key
    sim_post(http, stack.sim_url, "/sim/payments/sane")
    again = pay(t.tenant, invoice["id"], 40_000, k)
    # then the one charge is found and credited, once
    assert again["userErrors"] == [] and again["payment"]["status"] == "SUCCEEDED"
    assert again["invoice"]["paidFen"] == 40_000
    assert charges_of(http, stack.sim_url, again["payment"]["id"]) == [charge]
    # and repeats of the payment and of every webhook the provider sent change nothing
    assert pay(t.tenant, invoice["id"], 40_000, k)["payment"] == again["payment"]
    for sent in events(http, stack.sim_url):
        replayed = sim_post(http, stack.sim_url, "/sim/events/replay", {"eventId": sent["eventId"]})
        assert replayed["anjuStatus"] == 200
    seen = t.invoice(invoice["id"])
    assert seen["paidFen"] == 40_000 == paid_sum(seen)
    assert len(seen["payments"]) == 1 and len(charges(http, stack.sim_url)) == 1
    assert len(received(t.landlord)) == 1


def test_a_provider_slower_than_its_timeout_answers_cleanly_and_credits_once(
    api: Api, stack: Stack, http: httpx.Client
) -> None:
    # given a provider that takes a charge at once but answers only after 6 s (Anju waits 5)
    # and leaves the charge pending
    t = tenancy(api)
    invoice = t.upcoming()
    sim_post(http, stack.sim_url, "/sim/payments/mode", {"mode": "hold"})
    sim_post(http, stack.sim_url, "/sim/payments/latency", {"seconds": 6})
    k = key()
    # when the tenant pays
    slow = pay(t.tenant, invoice["id"], t.rent, k)
    # then a clean PAYMENT_PROVIDER_ERROR; the payment is PENDING, nothing is paid
    assert codes(slow) == ["PAYMENT_PROVIDER_ERROR"]
    seen = t.invoice(invoice["id"])
    assert (seen["paidFen"], [p["status"] for p in seen["payments"]]) == (0, ["PENDING"])
    roll = t.landlord.data(ROLL, {"month": invoice["periodStart"][:7]})["rentRoll"]
    assert (roll["collectedFen"], roll["pendingFen"]) == (0, t.rent)
    [charge] = charges(http, stack.sim_url)
    payment_id = seen["payments"][0]["id"]
    assert charges_of(http, stack.sim_url, payment_id) == [charge]

    # when the provider, fast again, settles the charge and sends its success webhook
    sim_post(http, stack.sim_url, "/sim/payments/latency", {"seconds": 0})
    url = f"/sim/payments/{charge['chargeId']}/settle"
    late = sim_post(http, stack.sim_url, url, {"status": "succeeded"})
    # then Anju takes it (200), or, not knowing the charge id it never got an answer with,
    # answers 404 so that the provider retries; nothing is credited twice either way
    assert late["anjuStatus"] in (200, 404)
    # when the tenant asks again with the same key, and the provider retries its webhook
    again = pay(t.tenant, invoice["id"], t.rent, k)
    retried = sim_post(http, stack.sim_url, "/sim/events/replay", {"eventId": late["eventId"]})
    # then the invoice is paid, exactly once
    assert again["userErrors"] == [] and again["payment"]["id"] == payment_id
    assert again["payment"]["status"] == "SUCCEEDED" and again["invoice"]["status"] == "PAID"
    assert retried["anjuStatus"] == 200
    seen = t.invoice(invoice["id"])
    assert seen["paidFen"] == t.rent == paid_sum(seen)
    assert len(seen["payments"]) == 1 and len(charges(http, stack.sim_url)) == 1
    assert len(received(t.landlord)) == 1
    roll = t.landlord.data(ROLL, {"month": invoice["periodStart"][:7]})["rentRoll"]
    assert (roll["collectedFen"], roll["pendingFen"]) == (t.rent, 0)


# --- Anju killed mid-request ------------------------------------------------------------------


def test_anju_killed_during_a_lease_start_makes_one_lease_and_its_cards_once(
    api: Api, stack: Stack, http: httpx.Client, mongo: MongoClient[Doc]
) -> None:
    # given a landlord's room whose doors answer slowly (10 s; Anju waits 1.5 s a call)
    landlord, tenant = api.caller("LANDLORD"), api.caller("TENANT")
    home = make_home(landlord)
    room_doors = (home.room_door, home.entrance)
    for device in room_doors:
        sim_post(http, stack.sim_url, f"/sim/devices/{device}/latency", {"seconds": 10})
    given = lease_input(home.room, tenant, occupants=[person(), person("李娜")])
    db = mongo[stack.db_name]
    with anju_running_after(stack, "lease-kill"):
        # when startLease is in flight, its card put at the gateway
        call = InFlight(lambda: landlord.post(START_LEASE, {"input": given}))
        wait_in_flight(http, stack, "PUT", f"/v1/doors/{home.room_door}/cards/")
        # and Anju is killed, and started again with the doors answering at once
        kill_anju(stack)
        call.join()
        for device in room_doors:
            sim_post(http, stack.sim_url, f"/sim/devices/{device}/latency", {"seconds": 0})
        start_anju_again(stack, "lease-kill")

    # then the room has one lease (or none, and a retry makes it)
    room = landlord.data(ROOM_LEASE, {"id": home.room})["node"]
    if room["activeLease"] is None:
        retried = landlord.data(START_LEASE, {"input": given})["startLease"]
        assert retried["userErrors"] == [], retried
        room = landlord.data(ROOM_LEASE, {"id": home.room})["node"]
    assert room["status"] == "OCCUPIED"
    lease_id = room["activeLease"]["id"]
    # and its cards reach the doors after the restart, with nobody acting
    assert eventually(lambda: cards_pending(landlord, lease_id) == 0, within=PENDING_WITHIN)
    lease = landlord.data(LEASE_NODE, {"id": lease_id})["node"]
    numbers = card_numbers(lease)
    assert len(lease["occupants"]) == 2 and len(numbers) == 2
    assert all(o["card"]["syncedAtGateway"] for o in lease["occupants"])
    # and a retry of the same startLease is refused: one lease, once
    again = landlord.data(START_LEASE, {"input": given})["startLease"]
    assert [e["code"] for e in again["userErrors"]] == ["ROOM_OCCUPIED"]
    assert db.leases.count_documents({}) == 1
    assert db.occupants.count_documents({}) == 2
    assert db.occupants.count_documents({"current": True}) == 2
    periods = [
        (i["kind"], i["periodStart"]) for i in (e["node"] for e in lease["invoices"]["edges"])
    ]
    assert len(periods) == len(set(periods)) == lease["invoices"]["totalCount"]
    # and each door holds exactly the lease's two cards, the other room's door none
    for device in room_doors:
        assert set(door_cards(http, stack.sim_url, device, every=True)) == numbers
    assert door_cards(http, stack.sim_url, home.other_door, every=True) == {}


def test_anju_killed_during_a_payment_credits_it_once_after_the_restart(
    api: Api, stack: Stack, http: httpx.Client
) -> None:
    # given a provider that holds its charges and answers after 30 s
    t: Tenancy = tenancy(api)
    invoice = t.upcoming()
    sim_post(http, stack.sim_url, "/sim/payments/mode", {"mode": "hold"})
    sim_post(http, stack.sim_url, "/sim/payments/latency", {"seconds": 30})
    k = key()
    with anju_running_after(stack, "payment-kill"):
        # when payInvoice is in flight, its charge taken by the provider
        call = InFlight(lambda: pay(t.tenant, invoice["id"], 70_000, k))
        wait_in_flight(http, stack, "POST", "/v1/charges")
        # and Anju is killed, and started again with the provider answering at once
        kill_anju(stack)
        call.join()
        sim_post(http, stack.sim_url, "/sim/payments/latency", {"seconds": 0})
        start_anju_again(stack, "payment-kill")
    assert call.error is not None  # the tenant's app saw the connection drop

    # then the payment is on record, PENDING, nothing paid
    seen = t.invoice(invoice["id"])
    assert (seen["paidFen"], [p["status"] for p in seen["payments"]]) == (0, ["PENDING"])
    payment_id = seen["payments"][0]["id"]
    [charge] = charges(http, stack.sim_url)
    assert charges_of(http, stack.sim_url, payment_id) == [charge]
    # when the provider settles the charge (its webhook) and the tenant's app retries the
    # same key until it has an outcome
    settled = sim_post(
        http, stack.sim_url, f"/sim/payments/{charge['chargeId']}/settle", {"status": "succeeded"}
    )
    assert settled["anjuStatus"] in (200, 404)  # 404: Anju never got the charge id; retried

    def outcome() -> dict[str, Any] | None:
        answer = pay(t.tenant, invoice["id"], 70_000, k)
        assert answer["userErrors"] == [], answer
        return answer if answer["payment"]["status"] != "PENDING" else None

    final = eventually(outcome, within=60, every=1.0)
    # and the provider retries its webhook
    assert (
        sim_post(http, stack.sim_url, "/sim/events/replay", {"eventId": settled["eventId"]})[
            "anjuStatus"
        ]
        == 200
    )
    # then the invoice is credited exactly once, by the one payment and the one charge
    assert final is not None and final["payment"]["id"] == payment_id
    assert final["payment"]["status"] == "SUCCEEDED"
    seen = t.invoice(invoice["id"])
    assert seen["paidFen"] == 70_000 == paid_sum(seen)
    assert [p["id"] for p in seen["payments"]] == [payment_id]
    assert charges_of(http, stack.sim_url, payment_id) == [{**charge, "status": "succeeded"}]
    assert len(charges(http, stack.sim_url)) == 1
    assert len(received(t.landlord)) == 1
    roll = t.landlord.data(ROLL, {"month": invoice["periodStart"][:7]})["rentRoll"]
    assert (roll["collectedFen"], roll["pendingFen"]) == (70_000, 0)
    # and the rest of the invoice is payable, as it should be
    sim_post(http, stack.sim_url, "/sim/payments/mode", {"mode": "succeed"})
    rest = pay(t.tenant, invoice["id"], t.rent - 70_000)
    assert rest["invoice"]["status"] == "PAID"
