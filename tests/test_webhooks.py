"""POST /webhooks/gateway: signatures, timestamps, strict bodies, once-only processing, and
what each event changes. Events come from the simulator, as the gateway sends them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from pymongo import MongoClient

from app.settings import DEV_GATEWAY_WEBHOOK_SECRET
from tests.door_support import (
    Building,
    building,
    dumps,
    event,
    open_door,
    raw_id,
    send_webhook,
    signed_post,
    start_lease,
)
from tests.support import Api, sim_post
from tests.test_doors import DOOR, events, window

DETECTOR = "query($id: ID!) { node(id: $id) { ... on SmokeDetector { id lastAlarmAt online } } }"


@pytest.fixture
def home(api: Api) -> Building:
    return building(api.caller("LANDLORD"))


def stored(mongo: MongoClient[Any], stack: Any, name: str, query: Any = None) -> list[Any]:
    return list(mongo[stack.db_name][name].find(query or {}))


# A door answering late in an earlier test may still send its events: look only at ours.
NOT_FROM_EARLIER_TESTS = {"device_id": {"$not": {"$regex": "^(door|cam|smoke)-[0-9a-f]{10}$"}}}


# --- refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signature", "offset"),
    [("bad", 0), ("missing", 0), ("valid", -301), ("valid", 301), ("valid", -3600)],
)
def test_unsigned_or_stale_requests_are_refused(
    api: Api,
    home: Building,
    http: httpx.Client,
    stack: Any,
    mongo: MongoClient[Any],
    signature: str,
    offset: int,
) -> None:
    # given a well-formed event, signed badly or at the wrong time
    body = event("device.offline", home.door_device, {})
    # when
    answer = send_webhook(http, stack.sim_url, body, signature=signature, offset=offset)
    # then
    assert answer["anjuStatus"] == 401
    assert stored(mongo, stack, "gateway_events", {"_id": body["eventId"]}) == []
    assert home.landlord.data(DOOR, {"id": home.door_id})["node"]["online"] is True


def test_a_timestamp_within_five_minutes_is_accepted(
    home: Building, http: httpx.Client, stack: Any
) -> None:
    body = event("device.offline", home.door_device, {})
    assert send_webhook(http, stack.sim_url, body, offset=-290)["anjuStatus"] == 200


def _malformed(device: str) -> list[Any]:
    good = event("door.card", device, {"cardNumber": "C1", "granted": True})
    return [
        "{not json",
        "[]",
        '"a string"',
        {**good, "type": "door.exploded"},
        {k: v for k, v in good.items() if k != "eventId"},
        {k: v for k, v in good.items() if k != "data"},
        {**good, "eventId": 42},
        {**good, "eventId": ""},
        {**good, "deviceId": "../../etc"},
        {**good, "at": "yesterday"},
        {**good, "at": "2026-01-01T00:00:00"},  # no zone
        {**good, "at": "2999-01-01T00:00:00Z"},
        {**good, "data": {"cardNumber": "C1", "granted": "yes"}},
        {**good, "data": {"cardNumber": 12345, "granted": True}},
        {**good, "data": {"granted": True}},
        {**good, "data": []},
        {**good, "extra": 1},
        event("smoke.alarm", device, {"level": "fire"}),
        event("door.opened", device, {}),
        event("door.opened", device, {"commandId": 7}),
        '{"eventId": "x", "type": "device.online", "deviceId": "door-1", "at": NaN, "data": {}}',
    ]


@pytest.mark.parametrize("body", _malformed("door-1"))
def test_malformed_bodies_are_refused(
    api: Api, http: httpx.Client, stack: Any, mongo: MongoClient[Any], body: Any
) -> None:
    answer = send_webhook(http, stack.sim_url, body)
    assert answer["anjuStatus"] == 400, body
    assert stored(mongo, stack, "gateway_events", NOT_FROM_EARLIER_TESTS) == []


def test_an_oversized_body_is_refused(
    home: Building, http: httpx.Client, stack: Any, mongo: MongoClient[Any]
) -> None:
    # given a signed event padded past the 16 KiB an event may take
    body = event("door.card", home.door_device, {"cardNumber": "C1", "granted": True})
    raw = dumps(body)[:-1] + b"," + b'"pad":"' + b"x" * 20_000 + b'"}'
    # when / then
    answer = signed_post(http, stack.anju_url, DEV_GATEWAY_WEBHOOK_SECRET, raw)
    assert answer.status_code == 400
    assert stored(mongo, stack, "gateway_events", {"_id": body["eventId"]}) == []


def test_the_signature_covers_the_body(http: httpx.Client, stack: Any, home: Building) -> None:
    # given a body signed, then changed
    body = event("device.offline", home.door_device, {})
    import hashlib
    import hmac
    import time

    ts = str(int(time.time()))
    raw = dumps(body)
    mac = hmac.new(DEV_GATEWAY_WEBHOOK_SECRET.encode(), ts.encode() + b"." + raw, hashlib.sha256)
    tampered = raw.replace(b"device.offline", b"device.online ")
    answer = http.post(
        f"{stack.anju_url}/webhooks/gateway",
        content=tampered,
        headers={"x-anju-timestamp": ts, "x-anju-signature": f"sha256={mac.hexdigest()}"},
    )
    assert answer.status_code == 401


# --- once only ------------------------------------------------------------------------------


def test_a_replayed_event_is_processed_once(
    home: Building, http: httpx.Client, stack: Any, mongo: MongoClient[Any]
) -> None:
    # given a swipe delivered to Anju
    swipe = sim_post(
        http, stack.sim_url, f"/sim/doors/{home.door_device}/swipe", {"cardNumber": "C-404"}
    )
    assert swipe["anjuStatus"] == 200

    # when the gateway sends it again (freshly signed)
    replay = sim_post(http, stack.sim_url, "/sim/events/replay", {"eventId": swipe["eventId"]})

    # then: accepted, not processed twice
    assert replay["anjuStatus"] == 200
    assert len(events(home.landlord, doorId=home.door_id)) == 1
    [stored_event] = stored(mongo, stack, "gateway_events", {"device_id": home.door_device})
    assert stored_event["_id"] == swipe["eventId"]
    assert stored_event["processed_at"] is not None
    assert stored_event["attempts"] == 1


# --- effects --------------------------------------------------------------------------------


def test_a_swipe_becomes_an_access_event_linked_to_the_occupant(
    api: Api, home: Building, http: httpx.Client, stack: Any
) -> None:
    # given an occupant with a card
    tenant = api.caller("TENANT")
    lease = start_lease(home.landlord, home.room_id, tenant)
    [occupant] = lease["occupants"]
    card = occupant["card"]["cardNumber"]

    # when they swipe it, and a stranger swipes an unknown card
    sim_post(http, stack.sim_url, f"/sim/doors/{home.door_device}/swipe", {"cardNumber": card})
    sim_post(
        http, stack.sim_url, f"/sim/doors/{home.door_device}/swipe", {"cardNumber": "NOBODY-1"}
    )

    # then the police (with a reason) read both, the known one linked to its occupant
    police = api.caller("POLICE")
    flt = {**window(), "doorId": home.door_id}
    found = police.data(POLICE_LOG, {"f": flt, "reason": "协查"})["accessEvents"]["edges"]
    unknown, known = (e["node"] for e in found)
    assert known["method"] == "CARD"
    assert known["cardNumber"] == card
    assert known["occupant"] == {"id": occupant["id"]}
    assert known["openedBy"] is None
    assert unknown["cardNumber"] == "NOBODY-1"
    assert unknown["granted"] is False
    assert unknown["occupant"] is None
    # the tenant reads their own swipe; the landlord only the refusal, and not whose card
    assert [e["cardNumber"] for e in events(tenant)] == [card]
    [refusal] = events(home.landlord, doorId=home.door_id)
    assert refusal["granted"] is False
    assert refusal["cardNumber"] is None and refusal["occupant"] is None
    door = home.landlord.data(DOOR, {"id": home.door_id})["node"]
    assert door["lastEventAt"] is not None


POLICE_LOG = """query($f: AccessEventFilter!, $reason: String) {
  accessEvents(filter: $f, reason: $reason, first: 50) { edges { node {
    method granted cardNumber occupant { id } openedBy { id } } } } }"""


def test_another_landlord_never_sees_whose_card_it_was(
    api: Api, home: Building, http: httpx.Client, stack: Any
) -> None:
    # given an occupant of this building swiping at another landlord's door
    tenant = api.caller("TENANT")
    card = start_lease(home.landlord, home.room_id, tenant)["occupants"][0]["card"]["cardNumber"]
    elsewhere = building(api.caller("LANDLORD"))
    sim_post(http, stack.sim_url, f"/sim/doors/{elsewhere.door_device}/swipe", {"cardNumber": card})
    # then the other landlord sees a refusal, neither the card nor the person
    [access] = events(elsewhere.landlord, doorId=elsewhere.door_id)
    assert access["granted"] is False
    assert access["cardNumber"] is None
    assert access["occupant"] is None


def test_devices_go_offline_and_online_in_event_order(
    home: Building, http: httpx.Client, stack: Any
) -> None:
    # when the gateway reports the door offline
    sim_post(http, stack.sim_url, f"/sim/devices/{home.door_device}/offline", {"notify": True})
    # then
    assert home.landlord.data(DOOR, {"id": home.door_id})["node"]["online"] is False

    # when an older "online" arrives late
    old = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    late = send_webhook(http, stack.sim_url, event("device.online", home.door_device, {}, at=old))
    # then it is accepted but changes nothing
    assert late["anjuStatus"] == 200
    assert home.landlord.data(DOOR, {"id": home.door_id})["node"]["online"] is False

    # when the door comes back
    sim_post(http, stack.sim_url, f"/sim/devices/{home.door_device}/online", {"notify": True})
    assert home.landlord.data(DOOR, {"id": home.door_id})["node"]["online"] is True


def test_events_of_unknown_devices_are_stored_and_change_nothing(
    api: Api, http: httpx.Client, stack: Any, mongo: MongoClient[Any]
) -> None:
    body = event("door.card", "door-unregistered", {"cardNumber": "C1", "granted": True})
    assert send_webhook(http, stack.sim_url, body)["anjuStatus"] == 200
    [kept] = stored(mongo, stack, "gateway_events", {"_id": body["eventId"]})
    assert kept["_id"] == body["eventId"] and kept.get("device") is None
    assert stored(mongo, stack, "access_events") == []


def test_smoke_events_are_stored_with_the_room(
    home: Building, http: httpx.Client, stack: Any, mongo: MongoClient[Any]
) -> None:
    # when
    alarm = sim_post(
        http, stack.sim_url, f"/sim/smoke/{home.detector_device}/alarm", {"level": "heat"}
    )
    clear = sim_post(http, stack.sim_url, f"/sim/smoke/{home.detector_device}/clear")

    # then
    assert alarm["anjuStatus"] == 200 and clear["anjuStatus"] == 200
    kept = {
        e["type"]: e
        for e in stored(mongo, stack, "gateway_events", {"device_id": home.detector_device})
    }
    assert set(kept) == {"smoke.alarm", "smoke.cleared"}
    assert str(kept["smoke.alarm"]["room_id"]) == raw_id(home.room_id)
    assert str(kept["smoke.alarm"]["property_id"]) == raw_id(home.property_id)
    assert kept["smoke.alarm"]["data"] == {"level": "heat"}
    detector = home.landlord.data(DETECTOR, {"id": home.detector_id})["node"]
    assert detector["lastAlarmAt"] is not None


def test_a_late_door_opened_confirms_a_timed_out_command_once(
    home: Building, http: httpx.Client, stack: Any, mongo: MongoClient[Any]
) -> None:
    # given a command that timed out
    sim_post(http, stack.sim_url, f"/sim/devices/{home.door_device}/latency", {"seconds": 3})
    command = open_door(home.landlord, home.door_id)["command"]
    assert command["status"] == "TIMED_OUT"
    command_id = raw_id(command["id"])

    # when the door reports it opened for that command (twice, as two events)
    for _ in range(2):
        body = event("door.opened", home.door_device, {"commandId": command_id})
        assert send_webhook(http, stack.sim_url, body)["anjuStatus"] == 200

    # then the record tells the truth, and the opening is logged once
    [record] = stored(mongo, stack, "door_commands")
    assert record["status"] == "OPENED"
    assert record["completed_at"] is not None
    [access] = events(home.landlord, doorId=home.door_id)
    assert access["method"] == "REMOTE"
    assert access["openedBy"]["id"] == home.landlord.account["id"]


def test_a_key_opening_only_touches_the_door(
    api: Api, home: Building, http: httpx.Client, stack: Any
) -> None:
    body = event("door.opened", home.door_device, {"commandId": None})
    assert send_webhook(http, stack.sim_url, body)["anjuStatus"] == 200
    # the police see the door's activity; its landlord is not told when someone came home
    police = api.caller("POLICE")
    assert police.data(DOOR, {"id": home.door_id})["node"]["lastEventAt"] is not None
    assert home.landlord.data(DOOR, {"id": home.door_id})["node"]["lastEventAt"] is None
    assert events(home.landlord, doorId=home.door_id) == []
