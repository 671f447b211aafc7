"""Device claims (issue 19): binding a device needs the claim code on its label, every
refusal reads the same, and a landlord removes or replaces a device, its cards and visitors'
codes following it (against the simulator's claims, doors and keypads)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from sim.garbage import GARBAGE_KINDS
from tests.door_support import OPEN_DOOR, REGISTER, open_door, uid
from tests.lease_support import card_numbers, door_cards, make_home, person, start_lease
from tests.pass_support import (
    REMOVE_DEVICE,
    REPLACE_DEVICE,
    claims,
    door_codes,
    doors_of,
    issue_pass,
    keypad,
)
from tests.support import Api, Caller, eventually, label_code, next_phone, sim_post
from tests.test_properties import add_room, create_property

EVENTS = """query($f: AccessEventFilter!) { accessEvents(filter: $f, first: 50) {
  edges { node { method granted door { id removedAt } } } } }"""


def register_input(
    prop: str, device: str, kind: str = "DOOR", room: str | None = None, code: str | None = None
) -> dict[str, Any]:
    return {
        "kind": kind,
        "deviceId": device,
        "name": "front door",
        "propertyId": prop,
        "roomId": room,
        "claimCode": code,
    }


def window() -> dict[str, str]:
    now = dt.datetime.now(dt.UTC)
    return {
        "from": (now - dt.timedelta(days=1)).isoformat(),
        "to": (now + dt.timedelta(days=1)).isoformat(),
    }


# --- binding ---------------------------------------------------------------------------------


def test_without_the_label_a_device_cannot_be_bound_nor_told_apart(
    api: Api, http: httpx.Client, stack: Any
) -> None:
    # given a landlord's property, and a door another landlord has bound
    landlord = api.caller("LANDLORD")
    prop = create_property(landlord)["id"]
    other = api.caller("LANDLORD")
    taken = uid("door")
    other.mutate(
        "registerDevice",
        REGISTER,
        {"input": register_input(create_property(other)["id"], taken, code=label_code(api, taken))},
    )
    camera = uid("cam")

    # when they try an unknown device, a wrong code, a camera as a door (its own code), and
    # the other landlord's door with its label's code
    attempts = {
        "unknown": register_input(prop, "lock-0042", code="ABCD2345"),
        "wrong code": register_input(prop, uid("door"), code="ABCD2345"),
        "wrong kind": register_input(prop, camera, code=label_code(api, camera)),
        "taken": register_input(prop, taken, code=label_code(api, taken)),
    }
    answers = {
        why: landlord.data(REGISTER, {"input": given})["registerDevice"]
        for why, given in attempts.items()
    }

    # then every one gets the same answer, word for word, and binds nothing
    assert {why: a["userErrors"] for why, a in answers.items()} == {
        why: [
            {
                "field": ["input", "claimCode"],
                "code": "DEVICE_CLAIM_FAILED",
                "message": answers["unknown"]["userErrors"][0]["message"],
            }
        ]
        for why in attempts
    }
    assert all(a["door"] is None for a in answers.values())
    assert doors_of(landlord, prop) == {}
    # the camera claimed on the way (its code was right) is given back at the platform, and
    # the other landlord's claim stands
    held = claims(http, stack.sim_url)
    assert camera not in held
    assert held[taken].startswith("anju-property-")


def test_the_label_binds_the_device_and_the_claim_is_held_at_the_platform(
    api: Api, http: httpx.Client, stack: Any
) -> None:
    # given
    landlord = api.caller("LANDLORD")
    prop = create_property(landlord)["id"]
    device = uid("door")
    # when the code is typed as people copy a label: lower case, with a space
    code = label_code(api, device)
    typed = f"{code[:4].lower()} {code[4:].lower()}"
    landlord.mutate("registerDevice", REGISTER, {"input": register_input(prop, device, code=typed)})
    # then
    assert device in doors_of(landlord, prop)
    assert device in claims(http, stack.sim_url)


# --- removing ---------------------------------------------------------------------------------


def test_removing_a_door_releases_it_revokes_its_cards_and_codes_and_keeps_its_history(
    api: Api, http: httpx.Client, stack: Any
) -> None:
    # given a room with a tenant, a visitor pass, and a remote opening in the door's log
    landlord = api.caller("LANDLORD")
    home = make_home(landlord)
    tenant = api.caller("TENANT")
    lease = start_lease(landlord, home.room, tenant, occupants=[person(phone=tenant.phone)])
    visitor = issue_pass(landlord, home.room)
    door = doors_of(landlord, home.property_id)[home.room_door]
    assert open_door(landlord, door)["command"]["status"] == "OPENED"
    assert set(door_cards(http, stack.sim_url, home.room_door)) == card_numbers(lease)
    assert visitor["id"] and door_codes(http, stack.sim_url, home.room_door)

    # when the landlord removes it
    payload = landlord.mutate("removeDevice", REMOVE_DEVICE, {"input": {"deviceId": door}})

    # then it is released at the platform, holds no card and no code, and is gone from the
    # property, while its history stays readable
    assert payload["ok"] is True
    assert home.room_door not in claims(http, stack.sim_url)
    assert eventually(lambda: door_cards(http, stack.sim_url, home.room_door) == {})
    assert eventually(lambda: door_codes(http, stack.sim_url, home.room_door) == {})
    assert home.room_door not in doors_of(landlord, home.property_id)
    [opening] = landlord.data(EVENTS, {"f": {**window(), "doorId": door}})["accessEvents"]["edges"]
    assert opening["node"]["method"] == "REMOTE"
    assert opening["node"]["door"]["removedAt"] is not None
    # the entrance still holds the tenant's card
    assert set(door_cards(http, stack.sim_url, home.entrance)) == card_numbers(lease)
    # nobody opens it any more, and removing it again finds nothing
    assert landlord.refused("openDoor", OPEN_DOOR, {"input": {"doorId": door}}) == ["NOT_FOUND"]
    assert tenant.refused("openDoor", OPEN_DOOR, {"input": {"doorId": door}}) == ["NOT_FOUND"]
    assert landlord.refused("removeDevice", REMOVE_DEVICE, {"input": {"deviceId": door}}) == [
        "NOT_FOUND"
    ]

    # and the device, released, can be bound again (here, with its label): it gets the
    # tenant's card again
    landlord.mutate(
        "registerDevice",
        REGISTER,
        {
            "input": register_input(
                home.property_id,
                home.room_door,
                room=home.room,
                code=label_code(api, home.room_door),
            )
        },
    )
    assert eventually(
        lambda: set(door_cards(http, stack.sim_url, home.room_door)) == card_numbers(lease)
    )


def test_a_device_is_not_removed_while_the_gateway_is_down(
    api: Api, http: httpx.Client, stack: Any
) -> None:
    # given
    landlord = api.caller("LANDLORD")
    home = make_home(landlord)
    door = doors_of(landlord, home.property_id)[home.entrance]
    sim_post(http, stack.sim_url, "/sim/gateway/offline")
    # when
    codes = landlord.errors(REMOVE_DEVICE, {"input": {"deviceId": door}})
    # then nothing changed
    assert codes == ["SERVICE_UNAVAILABLE"]
    sim_post(http, stack.sim_url, "/sim/gateway/online")
    assert home.entrance in doors_of(landlord, home.property_id)
    assert home.entrance in claims(http, stack.sim_url)


# --- replacing --------------------------------------------------------------------------------


def test_replacing_a_door_moves_its_three_cards_and_a_visitors_code_to_the_new_one(
    api: Api, http: httpx.Client, stack: Any
) -> None:
    # given a room door holding three live cards and a live visitor code, and an opening in
    # its log
    landlord = api.caller("LANDLORD")
    home = make_home(landlord)
    tenant = api.caller("TENANT")
    people = [
        person(phone=tenant.phone),
        person("王芳", next_phone()),
        person("张小明", next_phone()),
    ]
    lease = start_lease(landlord, home.room, tenant, occupants=people)
    visitor = issue_pass(tenant, home.room)
    old = doors_of(landlord, home.property_id)[home.room_door]
    open_door(landlord, old)
    assert len(card_numbers(lease)) == 3
    assert set(door_cards(http, stack.sim_url, home.room_door)) == card_numbers(lease)
    assert set(door_codes(http, stack.sim_url, home.room_door)) == {raw(visitor["id"])}

    # when the landlord replaces it with a new lock
    new_device = uid("door")
    door = landlord.mutate(
        "replaceDevice",
        REPLACE_DEVICE,
        {
            "input": {
                "deviceId": old,
                "newDeviceId": new_device,
                "newClaimCode": label_code(api, new_device),
            }
        },
    )["door"]

    # then the new door is in its place, holding every card and the code, and the old one
    # holds none of them and is released
    assert door["id"] != old
    assert door["deviceId"] == new_device
    assert door["name"] == f"door {home.room_door}"
    assert door["room"]["id"] == home.room
    assert door["removedAt"] is None
    assert set(door_cards(http, stack.sim_url, new_device)) == card_numbers(lease)
    assert set(door_codes(http, stack.sim_url, new_device)) == {raw(visitor["id"])}
    assert door_cards(http, stack.sim_url, home.room_door) == {}
    assert door_codes(http, stack.sim_url, home.room_door) == {}
    held = claims(http, stack.sim_url)
    assert new_device in held and home.room_door not in held
    mine = doors_of(landlord, home.property_id)
    assert new_device in mine and home.room_door not in mine
    # the visitor's code opens the new door, and the tenant's card does
    code = tenant.data(PASS_CODE, {"id": visitor["id"]})["node"]["code"]
    assert keypad(http, stack.sim_url, new_device, code) is True
    card = next(iter(card_numbers(lease)))
    assert sim_post(http, stack.sim_url, f"/sim/doors/{new_device}/swipe", {"cardNumber": card})[
        "granted"
    ]
    # and the old door's history is kept under the old door
    log = landlord.data(EVENTS, {"f": {**window(), "doorId": old}})["accessEvents"]["edges"]
    assert [e["node"]["door"]["id"] for e in log] == [old]
    # the tenant opens the new door, not the old
    assert open_door(tenant, door["id"])["command"]["status"] == "OPENED"
    assert tenant.refused("openDoor", OPEN_DOOR, {"input": {"doorId": old}}) == ["NOT_FOUND"]


PASS_CODE = "query($id: ID!) { node(id: $id) { ... on VisitorPass { code } } }"


def raw(gid: str) -> str:
    from tests.door_support import raw_id

    return raw_id(gid)


def test_a_camera_and_a_detector_are_replaced_in_their_place(
    api: Api, http: httpx.Client, stack: Any
) -> None:
    # given
    landlord = api.caller("LANDLORD")
    prop = create_property(landlord)["id"]
    room = add_room(landlord, prop)["id"]
    camera, detector = uid("cam"), uid("smoke")
    for kind, device, where in (("CAMERA", camera, None), ("SMOKE_DETECTOR", detector, room)):
        landlord.mutate(
            "registerDevice",
            REGISTER,
            {"input": register_input(prop, device, kind, where, label_code(api, device))},
        )
    ids = doors_of(landlord, prop)

    # when both are replaced
    new_camera, new_detector = uid("cam"), uid("smoke")
    replaced = {}
    for old, new in ((camera, new_camera), (detector, new_detector)):
        replaced[new] = landlord.mutate(
            "replaceDevice",
            REPLACE_DEVICE,
            {
                "input": {
                    "deviceId": ids[old],
                    "newDeviceId": new,
                    "newClaimCode": label_code(api, new),
                }
            },
        )

    # then each new one is where the old one was, and the old ones are gone
    assert replaced[new_camera]["camera"]["name"] == "front door"
    assert replaced[new_detector]["smokeDetector"]["room"]["id"] == room
    now = doors_of(landlord, prop)
    assert set(now) == {new_camera, new_detector}
    # the new detector's alarm is the room's
    sim_post(http, stack.sim_url, f"/sim/smoke/{new_detector}/alarm")
    alarms = landlord.data("{ alarms(first: 5) { edges { node { room { id } } } } }")
    assert [e["node"]["room"]["id"] for e in alarms["alarms"]["edges"]] == [room]
    # and the old detector's events no longer reach anyone
    sim_post(http, stack.sim_url, f"/sim/smoke/{detector}/alarm")
    alarms = landlord.data("{ alarms(first: 5) { edges { node { room { id } } } } }")
    assert len(alarms["alarms"]["edges"]) == 1


def test_a_replacement_needs_its_own_label_and_another_landlords_device_is_not_found(
    api: Api, http: httpx.Client, stack: Any
) -> None:
    # given
    landlord = api.caller("LANDLORD")
    home = make_home(landlord)
    door = doors_of(landlord, home.property_id)[home.entrance]

    def replace(caller: Caller, code: str) -> list[str]:
        given = {"deviceId": door, "newDeviceId": uid("door"), "newClaimCode": code}
        return caller.refused("replaceDevice", REPLACE_DEVICE, {"input": given})

    # then a wrong code is the same one answer, and the door stays where it was
    assert replace(landlord, "ABCD2345") == ["DEVICE_CLAIM_FAILED"]
    assert home.entrance in doors_of(landlord, home.property_id)
    # another landlord's device is not found, whatever they send
    stranger = api.caller("LANDLORD")
    assert replace(stranger, "ABCD2345") == ["NOT_FOUND"]
    assert stranger.refused("removeDevice", REMOVE_DEVICE, {"input": {"deviceId": door}}) == [
        "NOT_FOUND"
    ]
    # and not a device id at all is INVALID_ID
    bad = {"deviceId": home.property_id}
    assert landlord.refused("removeDevice", REMOVE_DEVICE, {"input": bad}) == ["INVALID_ID"]


@pytest.mark.parametrize("role", ["TENANT", "POLICE", "RESPONDER", "ADMIN"])
def test_only_landlords_remove_and_replace_devices(api: Api, role: str) -> None:
    landlord = api.caller("LANDLORD")
    home = make_home(landlord, doors=False)
    caller = api.caller(role)
    given = {"deviceId": home.property_id}
    assert "FORBIDDEN" in caller.errors(REMOVE_DEVICE, {"input": given})
    replace = {**given, "newDeviceId": "door-x", "newClaimCode": "ABCD2345"}
    assert "FORBIDDEN" in caller.errors(REPLACE_DEVICE, {"input": replace})


def test_garbage_from_the_gateway_removes_and_replaces_nothing(
    api: Api, http: httpx.Client, stack: Any
) -> None:
    # given a door and a new lock for it
    landlord = api.caller("LANDLORD")
    home = make_home(landlord)
    door = doors_of(landlord, home.property_id)[home.entrance]
    new_device = uid("door")
    replace = {
        "deviceId": door,
        "newDeviceId": new_device,
        "newClaimCode": label_code(api, new_device),
    }
    for kind in GARBAGE_KINDS:
        # when the gateway answers garbage
        sim_post(http, stack.sim_url, "/sim/gateway/garbage", {"kind": kind})
        removed = landlord.errors(REMOVE_DEVICE, {"input": {"deviceId": door}})
        replaced = landlord.errors(REPLACE_DEVICE, {"input": replace})
        # then a clean SERVICE_UNAVAILABLE, and the door is where it was
        assert removed == replaced == ["SERVICE_UNAVAILABLE"], kind
        sim_post(http, stack.sim_url, "/sim/gateway/sane")
        assert home.entrance in doors_of(landlord, home.property_id), kind
    # and once sane, the replacement goes through
    landlord.mutate("replaceDevice", REPLACE_DEVICE, {"input": replace})
    assert new_device in doors_of(landlord, home.property_id)
