"""Set-up shared by the lease and occupant tests: a landlord's property with two rooms, a door
on each and an entrance door at the simulator; leases, occupants and ID numbers through the
public API; and what the simulator's doors hold."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from tests.support import Caller, accept_lease, label_code

_serial = itertools.count(1)
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def with_check_digit(first17: str) -> str:
    """The 18-character number, its check digit computed by hand (GB 11643-1999)."""
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return first17 + "10X98765432"[total % 11]


def id_number(region: str = "331081", born: str = "19900101") -> str:
    """A valid resident ID number, different on each call."""
    return with_check_digit(f"{region}{born}{next(_serial) % 1000:03d}")


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def person(
    name: str = "张伟", phone: str = "13912345678", number: str | None = None
) -> dict[str, str]:
    return {"name": name, "idNumber": number or id_number(), "phone": phone}


CARD = "card { cardNumber validFrom validUntil revokedAt syncedAtGateway }"
OCCUPANT = f"id name idNumberMasked phone arrivedAt leftAt room {{ id }} {CARD}"
INVOICES = """invoices(first: 100) { totalCount edges { node {
  id kind periodStart periodEnd dueDate amountFen paidFen status } } }"""
LEASE = f"""id status startDate endDate monthlyRentFen depositFen rentDueDay moveOutDate
  cardsPending room {{ id status }} tenant {{ id phone }}
  occupants(includeDeparted: true) {{ {OCCUPANT} }}
  extensions {{ previousEndDate newEndDate monthlyRentFen extendedAt }}
  {INVOICES}"""
START_LEASE = f"""mutation($input: StartLeaseInput!) {{ startLease(input: $input) {{
  lease {{ {LEASE} }} userErrors {{ field message code }} }} }}"""
EXTEND_LEASE = f"""mutation($input: ExtendLeaseInput!) {{ extendLease(input: $input) {{
  lease {{ {LEASE} }} userErrors {{ field message code }} }} }}"""
END_LEASE = f"""mutation($input: EndLeaseInput!) {{ endLease(input: $input) {{
  lease {{ {LEASE} }} userErrors {{ field message code }} }} }}"""
REGISTER_OCCUPANT = f"""mutation($input: RegisterOccupantInput!) {{
  registerOccupant(input: $input) {{ occupant {{ {OCCUPANT} }}
  userErrors {{ field message code }} }} }}"""
DEREGISTER_OCCUPANT = f"""mutation($input: DeregisterOccupantInput!) {{
  deregisterOccupant(input: $input) {{ occupant {{ {OCCUPANT} }}
  userErrors {{ field message code }} }} }}"""
LEASE_NODE = f"""query($id: ID!) {{ node(id: $id) {{ ... on Lease {{ {LEASE} }} }} }}"""
MY_LEASES = "{ myLeases { id status startDate room { id } } }"
ROOM_LEASE = """query($id: ID!) { node(id: $id) { ... on Room { id status
  activeLease { id status } listing { id } } } }"""

CREATE_PROPERTY = """mutation($input: CreatePropertyInput!) { createProperty(input: $input) {
  property { id } userErrors { field message code } } }"""
ADD_ROOM = """mutation($input: AddRoomInput!) { addRoom(input: $input) {
  room { id } userErrors { field message code } } }"""
REGISTER_DEVICE = """mutation($input: RegisterDeviceInput!) { registerDevice(input: $input) {
  door { id } userErrors { field message code } } }"""
PUBLISH = """mutation($input: PublishListingInput!) { publishListing(input: $input) {
  listing { id live } userErrors { field message code } } }"""


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@dataclass
class Home:
    """A landlord's property with rooms A and B, a door on each and an entrance door."""

    landlord: Caller
    property_id: str
    room: str
    other_room: str
    room_door: str  # gateway device ids
    other_door: str
    entrance: str


def add_door(landlord: Caller, property_id: str, room_id: str | None) -> str:
    device = uid("door")
    landlord.mutate(
        "registerDevice",
        REGISTER_DEVICE,
        {
            "input": {
                "kind": "DOOR",
                "deviceId": device,
                "name": f"door {device}",
                "propertyId": property_id,
                "roomId": room_id,
                "claimCode": label_code(landlord.api, device),
            }
        },
    )
    return device


def add_room(landlord: Caller, property_id: str, number: str) -> str:
    room: str = landlord.mutate(
        "addRoom",
        ADD_ROOM,
        {
            "input": {
                "propertyId": property_id,
                "number": number,
                "floor": 1,
                "areaSqm": 18.5,
                "monthlyRentFen": 120000,
            }
        },
    )["room"]["id"]
    return room


def make_home(landlord: Caller, *, doors: bool = True) -> Home:
    prop: str = landlord.mutate(
        "createProperty",
        CREATE_PROPERTY,
        {
            "input": {
                "name": "东海路18号出租房",
                "address": "温岭市松门镇东海路18号",
                "place": {"town": "松门镇", "community": "松门村", "grid": "网格1"},
                "location": {"lat": 28.35, "lng": 121.61},
                "kind": "SECOND_HAND",
                "safety": {"extinguishers": 2, "smokeDetectors": 2, "escapeWindows": 1},
            }
        },
    )["property"]["id"]
    room, other = add_room(landlord, prop, "101"), add_room(landlord, prop, "102")
    return Home(
        landlord=landlord,
        property_id=prop,
        room=room,
        other_room=other,
        room_door=add_door(landlord, prop, room) if doors else "",
        other_door=add_door(landlord, prop, other) if doors else "",
        entrance=add_door(landlord, prop, None) if doors else "",
    )


def lease_input(
    room: str, tenant: Caller, *, occupants: list[dict[str, str]] | None = None, **over: Any
) -> dict[str, Any]:
    start = today()
    return {
        "roomId": room,
        "tenantPhone": tenant.phone,
        "startDate": start.isoformat(),
        "endDate": (start + dt.timedelta(days=200)).isoformat(),
        "monthlyRentFen": 150000,
        "depositFen": 300000,
        "rentDueDay": 5,
        "occupants": [person(phone=tenant.phone or "13912345678")]
        if occupants is None
        else occupants,
        **over,
    }


def start_lease(landlord: Caller, room: str, tenant: Caller, **over: Any) -> dict[str, Any]:
    """The landlord's lease (as startLease answered it), which the tenant then accepts."""
    lease: dict[str, Any] = landlord.mutate(
        "startLease", START_LEASE, {"input": lease_input(room, tenant, **over)}
    )["lease"]
    accept_lease(tenant, lease["id"])
    return lease


# --- the simulator ------------------------------------------------------------------------------


def door_cards(
    http: httpx.Client, sim_url: str, device: str, every: bool = False
) -> dict[str, Any]:
    """The cards a door holds at the simulator: valid now, or `every` one."""
    response = http.get(f"{sim_url}/sim/doors/{device}/cards", params={"all": "1"} if every else {})
    response.raise_for_status()
    return {c["cardNumber"]: c for c in response.json()}


def card_numbers(lease: dict[str, Any], current: bool = True) -> set[str]:
    return {
        o["card"]["cardNumber"] for o in lease["occupants"] if not current or o["leftAt"] is None
    }
