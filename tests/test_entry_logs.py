"""Entry logs that respect tenants (issue 19): what each role reads of one building's door
log (the README's table, as a test matrix), the landlord's per-day counts, the tenant told
when the landlord opens their door, and nothing more for a tenant whose lease ended."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.door_support import OPEN_DOOR, open_door
from tests.lease_support import END_LEASE, card_numbers, make_home, person, start_lease
from tests.pass_support import doors_of, issue_pass, keypad
from tests.support import Api, Caller, next_phone, sim_post

LOG = """query($f: AccessEventFilter!, $reason: String) {
  accessEvents(filter: $f, reason: $reason, first: 100) { edges { node {
    at method granted cardNumber door { deviceId } occupant { name } openedBy { id }
    visitorPass { id } } } } }"""
COUNTS = """query($p: ID!, $from: Date!, $to: Date!) { doorEntryCounts(propertyId: $p, from: $from,
  to: $to) { door { deviceId } date cardEntries refused } }"""
DOOR = "query($id: ID!) { node(id: $id) { ... on Door { lastEventAt } } }"
LEASE_DOORS = """query($id: ID!) { node(id: $id) { ... on Lease { room { id
  doors { id lastEventAt } smokeDetectors { id } activeLease { id } } } } }"""
NOTES = "{ notifications(first: 20) { edges { node { kind title body lease { id } } } } }"


def window() -> dict[str, str]:
    now = dt.datetime.now(dt.UTC)
    return {
        "from": (now - dt.timedelta(days=1)).isoformat(),
        "to": (now + dt.timedelta(days=1)).isoformat(),
    }


def seen(caller: Caller, reason: str | None = None, **flt: Any) -> Counter[tuple[Any, ...]]:
    """What the caller reads of the log: (method, door, granted, card, opener, pass)."""
    data = caller.data(LOG, {"f": {**window(), **flt}, "reason": reason})
    return Counter(
        (
            n["method"],
            n["door"]["deviceId"],
            n["granted"],
            n["cardNumber"],
            (n["openedBy"] or {}).get("id"),
            (n["visitorPass"] or {}).get("id"),
        )
        for n in (e["node"] for e in data["accessEvents"]["edges"])
    )


@dataclass
class Day:
    """One building's day at its doors, and who did what."""

    landlord: Caller
    tenant: Caller
    neighbour: Caller
    home: Any
    lease: dict[str, Any]
    card: str  # the tenant's own
    roommate_card: str
    neighbour_card: str
    guest_pass: str  # the tenant's visitor's
    repair_pass: str  # the landlord's, for the neighbour's room
    events: dict[str, tuple[Any, ...]]


def swipe(http: httpx.Client, sim: str, device: str, card: str) -> None:
    sim_post(http, sim, f"/sim/doors/{device}/swipe", {"cardNumber": card})


@pytest.fixture
def day(api: Api, http: httpx.Client, stack: Any) -> Day:
    landlord = api.caller("LANDLORD")
    home = make_home(landlord)
    tenant, neighbour = api.caller("TENANT"), api.caller("TENANT")
    roommate = person("王芳", next_phone())
    lease = start_lease(
        landlord, home.room, tenant, occupants=[person(phone=tenant.phone), roommate]
    )
    other = start_lease(
        landlord, home.other_room, neighbour, occupants=[person(phone=neighbour.phone)]
    )
    by_phone = {o["phone"]: o["card"]["cardNumber"] for o in lease["occupants"]}
    card, roommate_card = by_phone[tenant.phone], by_phone[roommate["phone"]]
    (neighbour_card,) = card_numbers(other)
    doors = doors_of(landlord, home.property_id)
    sim = stack.sim_url
    guest = issue_pass(tenant, home.room)
    repair = issue_pass(landlord, home.other_room, hours=48)
    # the day: comings and goings, remote openings, visitors, and someone trying their luck
    swipe(http, sim, home.room_door, card)
    swipe(http, sim, home.entrance, card)
    swipe(http, sim, home.entrance, neighbour_card)
    swipe(http, sim, home.entrance, "9999000011112222")
    open_door(landlord, doors[home.room_door])
    open_door(tenant, doors[home.entrance])
    open_door(neighbour, doors[home.entrance])
    assert keypad(http, sim, home.entrance, guest["code"]) is True
    assert keypad(http, sim, home.entrance, repair["code"]) is True
    wrong = next(c for c in ("000000", "000001") if c not in {guest["code"], repair["code"]})
    assert keypad(http, sim, home.entrance, wrong) is False
    swipe(http, sim, home.room_door, roommate_card)  # last: the room door's last event
    ll, tid, nid = landlord.account["id"], tenant.account["id"], neighbour.account["id"]
    return Day(
        landlord,
        tenant,
        neighbour,
        home,
        lease,
        card,
        roommate_card,
        neighbour_card,
        guest["id"],
        repair["id"],
        {
            "own swipe, room": ("CARD", home.room_door, True, card, None, None),
            "own swipe, entrance": ("CARD", home.entrance, True, card, None, None),
            "neighbour's swipe": ("CARD", home.entrance, True, neighbour_card, None, None),
            "stranger's card": ("CARD", home.entrance, False, "9999000011112222", None, None),
            "landlord opens room": ("REMOTE", home.room_door, True, None, ll, None),
            "tenant opens entrance": ("REMOTE", home.entrance, True, None, tid, None),
            "neighbour opens entrance": ("REMOTE", home.entrance, True, None, nid, None),
            "tenant's guest": ("CODE", home.entrance, True, None, None, guest["id"]),
            "repair worker": ("CODE", home.entrance, True, None, None, repair["id"]),
            "wrong code": ("CODE", home.entrance, False, None, None, None),
            "roommate's swipe": ("CARD", home.room_door, True, roommate_card, None, None),
        },
    )


def expect(day: Day, *names: str, hide_cards: bool = False) -> Counter[tuple[Any, ...]]:
    rows = [day.events[n] for n in names]
    if hide_cards:  # the landlord reads a refused swipe without whose card it was
        rows = [(m, d, g, None, o, p) for m, d, g, _, o, p in rows]
    return Counter(rows)


def test_each_role_reads_its_part_of_the_log(api: Api, day: Day) -> None:
    everything = expect(day, *day.events)

    # police, with a reason: everything
    police = api.caller("POLICE")
    assert seen(police, "案件 2026-190", propertyId=day.home.property_id) == everything
    # without one: refused
    assert police.errors(LOG, {"f": {**window(), "propertyId": day.home.property_id}}) == [
        "REASON_REQUIRED"
    ]

    # the landlord: remote openings (who), refusals (not whose), their own repair worker
    landlord_view = expect(
        day,
        "landlord opens room",
        "tenant opens entrance",
        "neighbour opens entrance",
        "stranger's card",
        "wrong code",
        "repair worker",
        hide_cards=True,
    )
    assert seen(day.landlord, propertyId=day.home.property_id) == landlord_view
    assert seen(day.landlord) == landlord_view
    # never a tenant's comings and goings
    landlord_log = day.landlord.data(LOG, {"f": window()})["accessEvents"]["edges"]
    assert all(e["node"]["occupant"] is None for e in landlord_log)

    # the tenant: their own card, every remote opening of their room's door, their own of
    # the entrance, their visitor; not the roommate's card, not the neighbour's doings
    tenant_view = expect(
        day,
        "own swipe, room",
        "own swipe, entrance",
        "landlord opens room",
        "tenant opens entrance",
        "tenant's guest",
    )
    assert seen(day.tenant) == tenant_view
    assert seen(day.tenant, propertyId=day.home.property_id) == tenant_view
    # the neighbour: their own, and the landlord's worker in their room's name
    assert seen(day.neighbour) == expect(
        day, "neighbour's swipe", "neighbour opens entrance", "repair worker"
    )

    # another landlord and another tenant: not found, and nothing without a filter
    for stranger in (api.caller("LANDLORD"), api.caller("TENANT")):
        assert stranger.errors(LOG, {"f": {**window(), "propertyId": day.home.property_id}}) == [
            "NOT_FOUND"
        ]
        assert seen(stranger) == Counter()
    # looking people up by ID number is for the police
    codes = day.tenant.errors(LOG, {"f": {**window(), "idNumber": "33078219900101001X"}})
    assert codes == ["INVALID_ARGUMENT"]


def test_a_former_tenant_reads_nothing_more_of_the_room_or_its_doors(
    api: Api, day: Day, http: httpx.Client, stack: Any
) -> None:
    # given the tenant's lease ended and someone else moved in
    today = dt.datetime.now(dt.UTC).date().isoformat()
    day.landlord.mutate(
        "endLease", END_LEASE, {"input": {"leaseId": day.lease["id"], "moveOutDate": today}}
    )
    successor = api.caller("TENANT")
    start_lease(day.landlord, day.home.room, successor, occupants=[person(phone=successor.phone)])
    doors = doors_of(day.landlord, day.home.property_id)
    open_door(successor, doors[day.home.room_door])

    # then the former tenant's log is empty, its doors unknown to them
    assert seen(day.tenant) == Counter()
    room_door = doors[day.home.room_door]
    assert day.tenant.errors(LOG, {"f": {**window(), "doorId": room_door}}) == ["NOT_FOUND"]
    # their old lease still names the room, but not its doors, detectors or who is there now
    room = day.tenant.data(LEASE_DOORS, {"id": day.lease["id"]})["node"]["room"]
    assert room["doors"] == [] and room["smokeDetectors"] == [] and room["activeLease"] is None
    # while the successor reads their own door, from their tenancy's start only: not the
    # landlord's opening nor the visitor of the tenant before them, earlier the same day
    current = successor.data(LEASE_DOORS, {"id": _lease_of(successor)})["node"]["room"]
    assert [d["id"] for d in current["doors"]] == [room_door]
    assert seen(successor) == Counter(
        [("REMOTE", day.home.room_door, True, None, successor.account["id"], None)]
    )
    assert current["doors"][0]["lastEventAt"] is not None


def _lease_of(tenant: Caller) -> str:
    leases = tenant.data("{ myLeases { id status } }")["myLeases"]
    lease_id: str = next(lease["id"] for lease in leases if lease["status"] == "ACTIVE")
    return lease_id


def test_a_doors_last_event_is_what_the_viewer_may_see(api: Api, day: Day) -> None:
    door = doors_of(day.landlord, day.home.property_id)[day.home.room_door]
    police = api.caller("POLICE")
    as_police = police.data(DOOR, {"id": door})["node"]["lastEventAt"]
    as_landlord = day.landlord.data(DOOR, {"id": door})["node"]["lastEventAt"]
    room = day.tenant.data(LEASE_DOORS, {"id": day.lease["id"]})["node"]["room"]
    as_tenant = room["doors"][0]["lastEventAt"]
    landlord_log = day.landlord.data(LOG, {"f": {**window(), "doorId": door}})
    opening = landlord_log["accessEvents"]["edges"][0]["node"]["at"]
    # the police and the tenant living there see the roommate's swipe (the last event); the
    # landlord only their own opening, the last of what they may see
    assert as_police == as_tenant > opening
    assert as_landlord == opening


def test_the_landlord_counts_card_entries_per_door_and_day(api: Api, day: Day) -> None:
    today = dt.datetime.now(dt.UTC).date()
    span = {"p": day.home.property_id, "from": today.isoformat(), "to": today.isoformat()}
    rows = day.landlord.data(COUNTS, span)["doorEntryCounts"]
    assert sorted(
        (r["door"]["deviceId"], r["date"], r["cardEntries"], r["refused"]) for r in rows
    ) == sorted(
        [
            (day.home.room_door, today.isoformat(), 2, 0),
            (day.home.entrance, today.isoformat(), 2, 2),
        ]
    )
    # a day without entries has no row; the range is checked
    yesterday = (today - dt.timedelta(days=1)).isoformat()
    assert day.landlord.data(COUNTS, {**span, "from": yesterday, "to": yesterday}) == {
        "doorEntryCounts": []
    }
    backwards = {**span, "from": today.isoformat(), "to": yesterday}
    assert day.landlord.errors(COUNTS, backwards) == ["INVALID_DATE_RANGE"]
    too_long = {**span, "from": (today - dt.timedelta(days=400)).isoformat()}
    assert day.landlord.errors(COUNTS, too_long) == ["OUT_OF_RANGE"]
    # another landlord's property is not found; tenants and police may not ask
    assert api.caller("LANDLORD").errors(COUNTS, span) == ["NOT_FOUND"]
    for role in ("TENANT", "POLICE", "RESPONDER", "ADMIN"):
        assert api.caller(role).errors(COUNTS, span) == ["FORBIDDEN"]


def test_the_tenant_is_told_when_the_landlord_opens_their_door(
    api: Api, http: httpx.Client, stack: Any
) -> None:
    # given a let room, a vacant one, and the entrance
    landlord = api.caller("LANDLORD")
    home = make_home(landlord)
    tenant = api.caller("TENANT")
    lease = start_lease(landlord, home.room, tenant, occupants=[person(phone=tenant.phone)])
    doors = doors_of(landlord, home.property_id)

    # when the landlord opens the tenant's door, saying why
    opened = landlord.mutate(
        "openDoor",
        OPEN_DOOR,
        {"input": {"doorId": doors[home.room_door], "reason": "楼下漏水, 检查水管"}},
    )
    assert opened["command"]["status"] == "OPENED"

    # then the tenant is told at once, with the reason, and once
    notes = [e["node"] for e in tenant.data(NOTES)["notifications"]["edges"]]
    told = [n for n in notes if n["kind"] == "DOOR_OPENED_BY_LANDLORD"]
    assert len(told) == 1
    assert "楼下漏水" in told[0]["body"]
    assert told[0]["lease"]["id"] == lease["id"]
    # but not for the entrance, a vacant room, or the tenant's own opening
    open_door(landlord, doors[home.entrance])
    open_door(landlord, doors[home.other_door])
    open_door(tenant, doors[home.room_door])
    notes = [e["node"] for e in tenant.data(NOTES)["notifications"]["edges"]]
    assert [n["kind"] for n in notes].count("DOOR_OPENED_BY_LANDLORD") == 1
    # and a reason is at most 200 characters
    too_long = {"doorId": doors[home.room_door], "reason": "x" * 201}
    assert landlord.refused("openDoor", OPEN_DOOR, {"input": too_long}) == ["TOO_LONG"]
