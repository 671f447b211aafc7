"""Set-up shared by the door, webhook and snapshot tests: a property with a room, its doors,
camera and detector at the simulator, and leases through the public API."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import itertools
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from tests.support import Caller, accept_lease, label_code, sim_post

_serial = itertools.count(1)

CREATE_PROPERTY = """mutation($input: CreatePropertyInput!) { createProperty(input: $input) {
  property { id } userErrors { field message code } } }"""
ADD_ROOM = """mutation($input: AddRoomInput!) { addRoom(input: $input) {
  room { id } userErrors { field message code } } }"""
REGISTER = """mutation($input: RegisterDeviceInput!) { registerDevice(input: $input) {
  door { id } camera { id } smokeDetector { id } userErrors { field message code } } }"""
START_LEASE = """mutation($input: StartLeaseInput!) { startLease(input: $input) {
  lease { id occupants { id name card { cardNumber } } } userErrors { field message code } } }"""
END_LEASE = """mutation($input: EndLeaseInput!) { endLease(input: $input) {
  lease { id status } userErrors { field message code } } }"""
OPEN_DOOR = """mutation($input: OpenDoorInput!) { openDoor(input: $input) {
  command { id status requestedAt completedAt door { id deviceId } }
  userErrors { field message code } } }"""


def uid(prefix: str) -> str:
    """A device id the simulator knows by its prefix, unique to this test."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def raw_id(gid: str) -> str:
    """The ObjectId inside a global ID ("Type:<hex>")."""
    return base64.urlsafe_b64decode(gid + "=" * (-len(gid) % 4)).decode().split(":", 1)[1]


def id_number(serial: int | None = None) -> str:
    """A valid resident ID number (GB 11643-1999 check digit), different on each call."""
    n = next(_serial) if serial is None else serial
    body = f"33078219900101{n % 1000:03d}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(d) * w for d, w in zip(body, weights, strict=True))
    return body + "10X98765432"[total % 11]


@dataclass
class Building:
    """A landlord's property with one room, a door on it, an entrance door, a camera and a
    smoke detector: global IDs and gateway device ids."""

    landlord: Caller
    property_id: str
    room_id: str
    door_id: str
    door_device: str
    entrance_id: str
    entrance_device: str
    camera_id: str
    camera_device: str
    detector_id: str
    detector_device: str
    other_room_id: str
    other_door_id: str
    other_door_device: str


def register(landlord: Caller, kind: str, device_id: str, prop: str, room: str | None) -> str:
    payload = landlord.mutate(
        "registerDevice",
        REGISTER,
        {
            "input": {
                "kind": kind,
                "deviceId": device_id,
                "name": f"{kind.lower()} {device_id}",
                "propertyId": prop,
                "roomId": room,
                "claimCode": label_code(landlord.api, device_id),
            }
        },
    )
    node = payload["door"] or payload["camera"] or payload["smokeDetector"]
    gid: str = node["id"]
    return gid


def building(landlord: Caller) -> Building:
    prop = landlord.mutate(
        "createProperty",
        CREATE_PROPERTY,
        {
            "input": {
                "name": "东海公寓",
                "address": "温岭市松门镇东海路 18 号",
                "place": {"town": "松门镇", "community": "松门村", "grid": "网格3"},
                "location": {"lat": 28.35, "lng": 121.61},
                "kind": "APARTMENT_BUILDING",
                "safety": {"extinguishers": 4, "smokeDetectors": 6, "escapeWindows": 2},
            }
        },
    )["property"]["id"]
    rooms = []
    for number in ("101", "102"):
        rooms.append(
            landlord.mutate(
                "addRoom",
                ADD_ROOM,
                {
                    "input": {
                        "propertyId": prop,
                        "number": number,
                        "floor": 1,
                        "areaSqm": 18.5,
                        "monthlyRentFen": 120000,
                    }
                },
            )["room"]["id"]
        )
    door_dev, entrance_dev, other_dev = uid("door"), uid("door"), uid("door")
    camera_dev, detector_dev = uid("cam"), uid("smoke")
    return Building(
        landlord=landlord,
        property_id=prop,
        room_id=rooms[0],
        door_id=register(landlord, "DOOR", door_dev, prop, rooms[0]),
        door_device=door_dev,
        entrance_id=register(landlord, "DOOR", entrance_dev, prop, None),
        entrance_device=entrance_dev,
        camera_id=register(landlord, "CAMERA", camera_dev, prop, None),
        camera_device=camera_dev,
        detector_id=register(landlord, "SMOKE_DETECTOR", detector_dev, prop, rooms[0]),
        detector_device=detector_dev,
        other_room_id=rooms[1],
        other_door_id=register(landlord, "DOOR", other_dev, prop, rooms[1]),
        other_door_device=other_dev,
    )


def start_lease(landlord: Caller, room_id: str, tenant: Caller, **over: Any) -> dict[str, Any]:
    """An active lease from today for a year, the tenant its only occupant, accepted."""
    today = dt.datetime.now(dt.UTC).date()
    lease: dict[str, Any] = landlord.mutate(
        "startLease",
        START_LEASE,
        {
            "input": {
                "roomId": room_id,
                "tenantPhone": tenant.phone,
                "startDate": today.isoformat(),
                "endDate": (today + dt.timedelta(days=365)).isoformat(),
                "monthlyRentFen": 120000,
                "depositFen": 240000,
                "rentDueDay": 5,
                "occupants": [
                    {"name": "张伟", "idNumber": id_number(), "phone": tenant.phone},
                ],
                **over,
            }
        },
    )["lease"]
    accept_lease(tenant, lease["id"])
    return lease


def open_door(caller: Caller, door_id: str) -> dict[str, Any]:
    payload: dict[str, Any] = caller.data(OPEN_DOOR, {"input": {"doorId": door_id}})["openDoor"]
    return payload


def send_webhook(
    http: httpx.Client,
    sim_url: str,
    body: Any,
    *,
    signature: str = "valid",
    offset: int = 0,
) -> dict[str, Any]:
    """Sends a hand-made body to Anju's /webhooks/gateway through the simulator."""
    answer: dict[str, Any] = sim_post(
        http,
        sim_url,
        "/sim/webhooks/send",
        {"target": "gateway", "body": body, "signature": signature, "timestampOffset": offset},
    )
    return answer


def event(kind: str, device_id: str, data: dict[str, Any], at: dt.datetime | None = None) -> dict:
    when = (at or dt.datetime.now(dt.UTC)).isoformat().replace("+00:00", "Z")
    return {
        "eventId": uuid.uuid4().hex,
        "type": kind,
        "deviceId": device_id,
        "at": when,
        "data": data,
    }


def signed_post(
    http: httpx.Client, anju_url: str, secret: str, raw: bytes, timestamp: int | None = None
) -> httpx.Response:
    """Posts straight to Anju's webhook (for bodies the simulator cannot shape)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    mac = hmac.new(secret.encode(), ts.encode() + b"." + raw, hashlib.sha256).hexdigest()
    return http.post(
        f"{anju_url}/webhooks/gateway",
        content=raw,
        headers={
            "content-type": "application/json",
            "x-anju-timestamp": ts,
            "x-anju-signature": f"sha256={mac}",
        },
    )


def dumps(body: Any) -> bytes:
    return json.dumps(body).encode()
