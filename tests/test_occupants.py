"""Occupants through GraphQL and the simulator: registering someone who moves in later,
deregistering someone who leaves (their card revoked at the doors), one room at a time per
person, the ID-number rules, masking, and ID numbers never stored in clear."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from bson import json_util
from pymongo import MongoClient

from app.services import idnumbers
from app.settings import load_settings
from app.store import Doc
from tests.conftest import Stack
from tests.lease_support import (
    DEREGISTER_OCCUPANT,
    END_LEASE,
    LEASE_NODE,
    REGISTER_OCCUPANT,
    START_LEASE,
    card_numbers,
    door_cards,
    id_number,
    lease_input,
    make_home,
    person,
    start_lease,
    today,
    with_check_digit,
)
from tests.support import Api

OCCUPANT_NODE = """query($id: ID!) { node(id: $id) { ... on Occupant {
  id name idNumberMasked leftAt card { cardNumber revokedAt } lease { id } } } }"""
STATS = "{ populationStats { residents occupiedRooms } }"


def register(caller: Any, lease_id: str, occupant: dict[str, str]) -> dict[str, Any]:
    payload: dict[str, Any] = caller.data(
        REGISTER_OCCUPANT, {"input": {"leaseId": lease_id, "occupant": occupant}}
    )["registerOccupant"]
    return payload


# --- moving in and out ------------------------------------------------------------------------


def test_someone_moving_in_later_gets_a_card_on_the_doors(
    api: Api, stack: Stack, http: httpx.Client
) -> None:
    # given a lease with one occupant
    landlord, tenant = api.caller("LANDLORD"), api.caller("TENANT")
    home = make_home(landlord)
    lease = start_lease(landlord, home.room, tenant)
    # when the landlord registers a second person
    payload = register(landlord, lease["id"], person("李娜", "13987654321", "33108119950505102X"))
    # then they are registered, masked, with a card valid from now to the lease's end
    assert payload["userErrors"] == []
    occupant = payload["occupant"]
    assert occupant["name"] == "李娜" and occupant["idNumberMasked"] == "331081********102X"
    assert occupant["leftAt"] is None and occupant["room"]["id"] == home.room
    card = occupant["card"]
    assert card["validFrom"][:10] == today().isoformat()
    assert card["validUntil"].startswith(
        (dt.date.fromisoformat(lease["endDate"]) + dt.timedelta(days=1)).isoformat()
    )
    assert card["syncedAtGateway"] is True
    # and the room's door and the entrance hold both cards
    both = card_numbers(lease) | {card["cardNumber"]}
    for device in (home.room_door, home.entrance):
        assert set(door_cards(http, stack.sim_url, device)) == both
    # and the lease lists both, the police counters count both
    node = landlord.data(LEASE_NODE, {"id": lease["id"]})["node"]
    assert len(node["occupants"]) == 2
    assert api.caller("POLICE").data(STATS)["populationStats"] == {
        "residents": 2,
        "occupiedRooms": 1,
    }


def test_someone_leaving_is_deregistered_and_their_card_revoked_at_once(
    api: Api, stack: Stack, http: httpx.Client
) -> None:
    # given a lease with two occupants
    landlord, tenant = api.caller("LANDLORD"), api.caller("TENANT")
    home = make_home(landlord)
    leaving = person("李娜", "13987654321")
    lease = start_lease(landlord, home.room, tenant, occupants=[person(), leaving])
    stays, goes = lease["occupants"]
    # when one of them is deregistered
    payload = landlord.mutate(
        "deregisterOccupant", DEREGISTER_OCCUPANT, {"input": {"occupantId": goes["id"]}}
    )
    # then they have left, their card is revoked, at every door, the other card stays
    gone = payload["occupant"]
    assert gone["leftAt"] is not None and gone["card"]["revokedAt"] is not None
    assert gone["card"]["syncedAtGateway"] is True
    for device in (home.room_door, home.entrance):
        assert set(door_cards(http, stack.sim_url, device, every=True)) == {
            stays["card"]["cardNumber"]
        }
    # and the lease lists them only when asked for the departed
    current = """query($id: ID!) { node(id: $id) { ... on Lease {
      now: occupants { id } all: occupants(includeDeparted: true) { id leftAt } } } }"""
    node = landlord.data(current, {"id": lease["id"]})["node"]
    assert [o["id"] for o in node["now"]] == [stays["id"]]
    assert {o["id"] for o in node["all"]} == {stays["id"], goes["id"]}
    # and deregistering again changes nothing
    again = landlord.mutate(
        "deregisterOccupant", DEREGISTER_OCCUPANT, {"input": {"occupantId": goes["id"]}}
    )["occupant"]
    assert again["leftAt"] == gone["leftAt"]
    # and the person may now be registered in another room
    other = start_lease(landlord, home.other_room, api.caller("TENANT"), occupants=[leaving])
    assert other["status"] == "ACTIVE"
    assert api.caller("POLICE").data(STATS)["populationStats"]["residents"] == 2


def test_one_person_is_a_current_occupant_of_one_room_at_a_time(api: Api) -> None:
    # given someone living in a room
    landlord, tenant = api.caller("LANDLORD"), api.caller("TENANT")
    home = make_home(landlord, doors=False)
    someone = person("王强", "13911112222")
    start_lease(landlord, home.room, tenant, occupants=[someone])
    # when another landlord's lease registers them (typed with spaces and a small x too)
    other = api.caller("LANDLORD")
    other_home = make_home(other, doors=False)
    lease = start_lease(other, other_home.room, api.caller("TENANT"))
    spaced = " ".join(
        [someone["idNumber"][:6], someone["idNumber"][6:14], someone["idNumber"][14:]]
    )
    payload = register(other, lease["id"], {**someone, "idNumber": spaced.lower()})
    # then it is refused
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("ALREADY_REGISTERED", ["input", "occupant", "idNumber"])
    ]
    # and so is a second registration under the same lease
    again = register(landlord, start_lease_id(landlord, home), someone)
    assert [e["code"] for e in again["userErrors"]] == ["ALREADY_REGISTERED"]


def start_lease_id(landlord: Any, home: Any) -> str:
    node = landlord.data(
        """query($id: ID!) { node(id: $id) { ... on Room { activeLease { id } } } }""",
        {"id": home.room},
    )["node"]
    return str(node["activeLease"]["id"])


def test_registration_needs_an_active_lease_of_the_callers(api: Api) -> None:
    # given a lease, ended
    landlord, tenant = api.caller("LANDLORD"), api.caller("TENANT")
    home = make_home(landlord, doors=False)
    lease = start_lease(landlord, home.room, tenant)
    # another landlord cannot register anyone on it, nor deregister its occupants
    stranger = api.caller("LANDLORD")
    assert [e["code"] for e in register(stranger, lease["id"], person())["userErrors"]] == [
        "NOT_FOUND"
    ]
    occupant = lease["occupants"][0]["id"]
    assert stranger.refused(
        "deregisterOccupant", DEREGISTER_OCCUPANT, {"input": {"occupantId": occupant}}
    ) == ["NOT_FOUND"]
    # and once it has ended, nobody can be registered on it
    landlord.mutate(
        "endLease",
        END_LEASE,
        {"input": {"leaseId": lease["id"], "moveOutDate": today().isoformat()}},
    )
    assert [e["code"] for e in register(landlord, lease["id"], person())["userErrors"]] == [
        "LEASE_NOT_ACTIVE"
    ]


def test_a_lease_has_at_most_ten_current_occupants(api: Api) -> None:
    landlord, tenant = api.caller("LANDLORD"), api.caller("TENANT")
    home = make_home(landlord, doors=False)
    lease = start_lease(landlord, home.room, tenant, occupants=[person() for _ in range(10)])
    assert [e["code"] for e in register(landlord, lease["id"], person())["userErrors"]] == [
        "OUT_OF_RANGE"
    ]


@pytest.mark.parametrize("role", ["TENANT", "POLICE", "RESPONDER", "ADMIN"])
def test_only_landlords_register_and_deregister(api: Api, role: str) -> None:
    landlord, tenant = api.caller("LANDLORD"), api.caller("TENANT")
    home = make_home(landlord, doors=False)
    lease = start_lease(landlord, home.room, tenant)
    caller = tenant if role == "TENANT" else api.caller(role)
    given = {"leaseId": lease["id"], "occupant": person()}
    assert caller.errors(REGISTER_OCCUPANT, {"input": given}) == ["FORBIDDEN"]
    occupant = {"occupantId": lease["occupants"][0]["id"]}
    assert caller.errors(DEREGISTER_OCCUPANT, {"input": occupant}) == ["FORBIDDEN"]
    anonymous = api.anonymous()
    assert anonymous.errors(REGISTER_OCCUPANT, {"input": given}) == ["UNAUTHENTICATED"]
    assert anonymous.errors(DEREGISTER_OCCUPANT, {"input": occupant}) == ["UNAUTHENTICATED"]


def test_occupants_are_seen_by_the_landlord_and_the_tenant_only(api: Api) -> None:
    landlord, tenant = api.caller("LANDLORD"), api.caller("TENANT")
    home = make_home(landlord, doors=False)
    lease = start_lease(landlord, home.room, tenant)
    occupant = lease["occupants"][0]["id"]
    for caller in (landlord, tenant):
        node = caller.data(OCCUPANT_NODE, {"id": occupant})["node"]
        assert node["id"] == occupant and node["lease"]["id"] == lease["id"]
        assert "*" * 8 in node["idNumberMasked"]
    for caller in (api.caller("TENANT"), api.caller("LANDLORD"), api.anonymous()):
        assert caller.data(OCCUPANT_NODE, {"id": occupant})["node"] is None


# --- ID numbers -------------------------------------------------------------------------------


def _day(delta: int) -> str:
    return (today() + dt.timedelta(days=delta)).strftime("%Y%m%d")


@pytest.mark.parametrize(
    "number",
    [
        with_check_digit("11010519491231002"),  # Beijing, check digit X
        with_check_digit("44030620000229123"),  # a leap day
        with_check_digit("82000019000101001"),  # Macao, 1 January 1900
        with_check_digit("71000020200101999"),  # Taiwan
        with_check_digit(f"330782{_day(0)}001"),  # born today
    ],
)
def test_valid_id_numbers_are_accepted(api: Api, number: str) -> None:
    landlord, tenant = api.caller("LANDLORD"), api.caller("TENANT")
    home = make_home(landlord, doors=False)
    lease = start_lease(landlord, home.room, tenant, occupants=[person(number=number)])
    assert lease["occupants"][0]["idNumberMasked"] == number[:6] + "********" + number[-4:]


def test_check_digit_x_is_computed_as_the_standard_says() -> None:
    # 11010519491231002X is the standard's own example
    assert with_check_digit("11010519491231002") == "11010519491231002X"


def _wrong_check(number: str) -> str:
    return number[:17] + ("0" if number[17] != "0" else "1")


@pytest.mark.parametrize(
    ("number", "why"),
    [
        (_wrong_check(with_check_digit("33078219900101001")), "check digit"),
        (_wrong_check(with_check_digit("11010519491231002")), "check digit"),
        (with_check_digit("99078219900101001"), "region"),
        (with_check_digit("00078219900101001"), "region"),
        (with_check_digit("16078219900101001"), "region"),
        (with_check_digit("33078219900230001"), "birth date"),  # 30 February
        (with_check_digit("33078219901301001"), "birth date"),  # month 13
        (with_check_digit("33078218991231001"), "birth date"),  # before 1900
        (with_check_digit(f"330782{_day(1)}001"), "birth date"),  # tomorrow
        ("3307821990010100", "length"),
        ("3307821990010100123", "length"),
        ("33078219900101001A", "characters"),
        ("3307821990O101001X", "characters"),
        ("", "empty"),
    ],
)
def test_invalid_id_numbers_are_refused(api: Api, number: str, why: str) -> None:
    # given a lease
    landlord, tenant = api.caller("LANDLORD"), api.caller("TENANT")
    home = make_home(landlord, doors=False)
    lease = start_lease(landlord, home.room, tenant)
    # when someone is registered with a bad ID number, or a lease started with one
    payload = register(landlord, lease["id"], person(number=number) | {"idNumber": number})
    started = landlord.data(
        START_LEASE,
        {
            "input": lease_input(
                home.other_room, tenant, occupants=[{**person(), "idNumber": number}]
            )
        },
    )["startLease"]
    # then both are refused at the ID number
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("INVALID_ID_NUMBER", ["input", "occupant", "idNumber"])
    ], why
    assert [e["code"] for e in started["userErrors"]] == ["INVALID_ID_NUMBER"], why


def test_id_numbers_are_stored_encrypted_and_shown_masked(
    api: Api, stack: Stack, mongo: MongoClient[Doc]
) -> None:
    # given occupants registered through the API, one of them later deregistered
    landlord, tenant = api.caller("LANDLORD"), api.caller("TENANT")
    home = make_home(landlord)
    numbers = [id_number(), id_number(born="19851231"), "11010519491231002X"]
    lease = start_lease(
        landlord, home.room, tenant, occupants=[person(number=n) for n in numbers[:2]]
    )
    moved_in = register(landlord, lease["id"], person(number=numbers[2].lower()))["occupant"]
    landlord.mutate(
        "deregisterOccupant", DEREGISTER_OCCUPANT, {"input": {"occupantId": moved_in["id"]}}
    )
    # then no raw ID number appears anywhere in the database, in any collection
    db = mongo[stack.db_name]
    for name in db.list_collection_names():
        for doc in db[name].find():
            text = json_util.dumps(doc)
            for number in numbers:
                assert number not in text and number.lower() not in text, (name, doc["_id"])
                assert number[6:14] + number[14:] not in text, (name, doc["_id"])
    # and the stored fields decrypt (with the key) to the number, hash for look-up, and mask
    settings = load_settings(stack.env)
    stored = {d["id_number_masked"]: d for d in db.occupants.find()}
    for number in numbers:
        doc = stored[number[:6] + "********" + number[-4:]]
        assert idnumbers.reveal_id_number(doc, settings) == number
        assert doc["id_number_hash"] == idnumbers.lookup_hash(number, settings)
        assert doc["id_number_enc"][13:] != number.encode()
    # and two encryptions of one number differ (a random nonce each)
    cipher = idnumbers.cipher(settings)
    assert cipher.encrypt(numbers[0]) != cipher.encrypt(numbers[0])
    # and everyone who sees an occupant sees the masked number only
    node = tenant.data(LEASE_NODE, {"id": lease["id"]})["node"]
    shown = {o["idNumberMasked"] for o in node["occupants"]}
    assert shown == {n[:6] + "********" + n[-4:] for n in numbers}
