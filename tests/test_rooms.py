"""Rooms and listings that change: updateRoom (a rent change leaves a running lease alone and
reaches the listing), archiveRoom and archiveProperty (only what no lease holds; the history
stays), updateListing, and amenities with the search filter on them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.lease_support import END_LEASE, LEASE_NODE, make_home, start_lease
from tests.support import Api, Caller
from tests.test_listings import add_room, create_property, publish, search

ROOM_FIELDS = """id number floor areaSqm monthlyRentFen status description amenities archivedAt
  listing { id monthlyRentFen areaSqm floor amenities live }"""
UPDATE_ROOM = f"""mutation($input: UpdateRoomInput!) {{ updateRoom(input: $input) {{
  room {{ {ROOM_FIELDS} }} userErrors {{ field message code }} }} }}"""
ARCHIVE_ROOM = f"""mutation($input: ArchiveRoomInput!) {{ archiveRoom(input: $input) {{
  room {{ {ROOM_FIELDS} }} userErrors {{ field message code }} }} }}"""
ARCHIVE_PROPERTY = """mutation($input: ArchivePropertyInput!) { archiveProperty(input: $input) {
  property { id archivedAt
    rooms(includeArchived: true) { edges { node { id archivedAt status } } } }
  userErrors { field message code } } }"""
UPDATE_LISTING = """mutation($input: UpdateListingInput!) { updateListing(input: $input) {
  listing { id title description monthlyRentFen availableFrom contactPhone live }
  userErrors { field message code } } }"""
ROOM = f"query($id: ID!) {{ node(id: $id) {{ ... on Room {{ {ROOM_FIELDS} }} }} }}"
MY_PROPERTIES = """query($all: Boolean!) { myProperties(includeArchived: $all) { totalCount
  edges { node { id archivedAt rooms { totalCount } } } } }"""
STATS = "{ populationStats { properties rooms occupiedRooms } }"
AMENITY_SEARCH = """query($amenities: [Amenity!]) {
  listings(filter: {amenities: $amenities}) { totalCount edges { node { id amenities } } } }"""


def update(landlord: Caller, room: str, **given: Any) -> dict[str, Any]:
    payload: dict[str, Any] = landlord.data(UPDATE_ROOM, {"input": {"roomId": room, **given}})[
        "updateRoom"
    ]
    return payload


def codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


# --- updateRoom ---------------------------------------------------------------------------


def test_a_rent_change_leaves_the_running_lease_alone(api: Api) -> None:
    # given a room let at 1,500 yuan
    landlord = api.caller("LANDLORD")
    home = make_home(landlord, doors=False)
    tenant = api.caller("TENANT")
    lease = start_lease(landlord, home.room, tenant)
    assert lease["monthlyRentFen"] == 150000
    # when the landlord changes the room's rent
    payload = update(landlord, home.room, monthlyRentFen=180000)
    # then the room asks the new rent and the lease keeps its own
    assert payload["userErrors"] == []
    assert payload["room"]["monthlyRentFen"] == 180000
    assert payload["room"]["status"] == "OCCUPIED"
    kept = landlord.data(LEASE_NODE, {"id": lease["id"]})["node"]
    assert kept["monthlyRentFen"] == 150000
    # and once the lease ends, the room's listing shows the new rent
    landlord.mutate(
        "endLease",
        END_LEASE,
        {"input": {"leaseId": lease["id"], "moveOutDate": dt.date.today().isoformat()}},
    )
    listing = publish(landlord, home.room)
    assert listing["monthlyRentFen"] == 180000


def test_a_live_listing_follows_its_rooms_changes(api: Api) -> None:
    # given a vacant room on a live listing
    landlord = api.caller("LANDLORD")
    room = add_room(landlord, create_property(landlord))
    listing = publish(landlord, room)
    # when the landlord changes its rent, area, floor, amenities and description
    payload = update(
        landlord,
        room,
        monthlyRentFen=99000,
        areaSqm=21.5,
        floor=3,
        number="301",
        amenities=["WIFI", "AIR_CONDITIONER", "WIFI"],
        description="  朝南 带阳台。\n近公交站。 ",
    )
    # then the room has them (amenities once each, in the enum's order)
    room_now = payload["room"]
    assert (room_now["number"], room_now["floor"], room_now["areaSqm"]) == ("301", 3, 21.5)
    assert room_now["amenities"] == ["AIR_CONDITIONER", "WIFI"]
    assert room_now["description"] == "朝南 带阳台。\n近公交站。"
    # and so does the public listing
    assert room_now["listing"]["id"] == listing["id"]
    assert room_now["listing"]["monthlyRentFen"] == 99000
    assert (room_now["listing"]["areaSqm"], room_now["listing"]["floor"]) == (21.5, 3)
    assert room_now["listing"]["amenities"] == ["AIR_CONDITIONER", "WIFI"]
    # and an empty description removes it
    assert update(landlord, room, description="")["room"]["description"] is None


def test_unavailable_takes_the_listing_down_and_occupied_is_the_leases(api: Api) -> None:
    landlord = api.caller("LANDLORD")
    home = make_home(landlord, doors=False)
    publish(landlord, home.other_room)
    # when the landlord makes a listed room unavailable
    payload = update(landlord, home.other_room, status="UNAVAILABLE")
    # then its listing is down, and it can be made vacant again
    assert payload["room"]["status"] == "UNAVAILABLE" and payload["room"]["listing"] is None
    assert update(landlord, home.other_room, status="VACANT")["room"]["status"] == "VACANT"
    # and nobody sets OCCUPIED, nor changes a let room's status
    assert codes(update(landlord, home.room, status="OCCUPIED")) == ["INVALID_ARGUMENT"]
    start_lease(landlord, home.room, api.caller("TENANT"))
    assert codes(update(landlord, home.room, status="UNAVAILABLE")) == ["ROOM_OCCUPIED"]
    assert update(landlord, home.room, floor=2)["room"]["floor"] == 2


@pytest.mark.parametrize(
    ("given", "code", "field"),
    [
        ({"number": "   "}, "REQUIRED", "number"),
        ({"number": "1/2"}, "INVALID_ARGUMENT", "number"),
        ({"floor": 201}, "OUT_OF_RANGE", "floor"),
        ({"areaSqm": 0.5}, "OUT_OF_RANGE", "areaSqm"),
        ({"monthlyRentFen": 0}, "OUT_OF_RANGE", "monthlyRentFen"),
        ({"description": "长" * 2001}, "TOO_LONG", "description"),
        ({"description": "bad\u0007"}, "INVALID_ARGUMENT", "description"),
    ],
)
def test_update_room_validation(api: Api, given: dict[str, Any], code: str, field: str) -> None:
    landlord = api.caller("LANDLORD")
    room = add_room(landlord, create_property(landlord))
    payload = update(landlord, room, **given)
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [(code, ["input", field])]
    assert payload["room"] is None


def test_a_room_number_stays_unique_in_its_property(api: Api) -> None:
    landlord = api.caller("LANDLORD")
    prop = create_property(landlord)
    first, second = add_room(landlord, prop, "101"), add_room(landlord, prop, "102")
    assert codes(update(landlord, second, number="101")) == ["DUPLICATE"]
    assert update(landlord, first, number="101")["userErrors"] == []  # its own number
    # another property may have the same number
    other = add_room(landlord, create_property(landlord, name="另一处"), "201")
    assert update(landlord, other, number="102")["userErrors"] == []


def test_another_landlords_room_and_listing_are_not_found(api: Api) -> None:
    owner, other = api.caller("LANDLORD"), api.caller("LANDLORD")
    room = add_room(owner, create_property(owner))
    listing = publish(owner, room)
    assert codes(update(other, room, monthlyRentFen=1)) == ["NOT_FOUND"]
    archive = other.data(ARCHIVE_ROOM, {"input": {"roomId": room}})["archiveRoom"]
    assert codes(archive) == ["NOT_FOUND"]
    changed = other.data(UPDATE_LISTING, {"input": {"listingId": listing["id"], "title": "x"}})
    assert codes(changed["updateListing"]) == ["NOT_FOUND"]
    prop_id = owner.data(
        "query($id: ID!) { node(id: $id) { ... on Room { property { id } } } }", {"id": room}
    )["node"]["property"]["id"]
    archived = other.data(ARCHIVE_PROPERTY, {"input": {"propertyId": prop_id}})
    assert codes(archived["archiveProperty"]) == ["NOT_FOUND"]
    # and nothing changed
    assert owner.data(ROOM, {"id": room})["node"]["archivedAt"] is None


@pytest.mark.parametrize("role", ["TENANT", "POLICE", "RESPONDER", "ADMIN"])
def test_only_landlords_change_rooms_and_listings(api: Api, role: str) -> None:
    owner = api.caller("LANDLORD")
    room = add_room(owner, create_property(owner))
    listing = publish(owner, room)
    caller = api.caller(role)
    for query, given in (
        (UPDATE_ROOM, {"roomId": room, "floor": 2}),
        (ARCHIVE_ROOM, {"roomId": room}),
        (UPDATE_LISTING, {"listingId": listing["id"], "title": "x"}),
    ):
        assert "FORBIDDEN" in caller.errors(query, {"input": given})
    assert "UNAUTHENTICATED" in api.anonymous().errors(UPDATE_ROOM, {"input": {"roomId": room}})


# --- archiving ------------------------------------------------------------------------------


def test_a_vacant_room_is_archived_and_an_occupied_one_is_not(api: Api) -> None:
    # given a landlord with a let room and a listed vacant one
    landlord = api.caller("LANDLORD")
    home = make_home(landlord, doors=False)
    lease = start_lease(landlord, home.room, api.caller("TENANT"))
    publish(landlord, home.other_room)
    police = api.caller("POLICE")
    before = police.data(STATS)["populationStats"]
    # when the landlord archives the let one, it is refused
    refused = landlord.data(ARCHIVE_ROOM, {"input": {"roomId": home.room}})["archiveRoom"]
    assert codes(refused) == ["ROOM_OCCUPIED"]
    # when the vacant one is archived
    payload = landlord.data(ARCHIVE_ROOM, {"input": {"roomId": home.other_room}})["archiveRoom"]
    # then it is off the market for good: unavailable, unlisted, uncounted
    archived = payload["room"]
    assert archived["archivedAt"] is not None and archived["status"] == "UNAVAILABLE"
    assert archived["listing"] is None
    assert search(api.anonymous())["totalCount"] == 0
    assert police.data(STATS)["populationStats"]["rooms"] == before["rooms"] - 1
    # and it no longer changes, is published or let
    assert codes(update(landlord, home.other_room, status="VACANT")) == ["ROOM_ARCHIVED"]
    again = landlord.data(
        "mutation($i: PublishListingInput!) { publishListing(input: $i) { userErrors { code } } }",
        {
            "i": {
                "roomId": home.other_room,
                "title": "x",
                "description": "",
                "availableFrom": dt.date.today().isoformat(),
            }
        },
    )["publishListing"]
    assert codes(again) == ["ROOM_NOT_VACANT"]
    # and archiving it again changes nothing
    twice = landlord.data(ARCHIVE_ROOM, {"input": {"roomId": home.other_room}})["archiveRoom"]
    assert twice["room"]["archivedAt"] == archived["archivedAt"]
    # and the let room's history is untouched
    assert landlord.data(LEASE_NODE, {"id": lease["id"]})["node"]["status"] == "ACTIVE"


def test_a_property_is_archived_only_without_a_running_lease(api: Api) -> None:
    # given a property with a let room
    landlord = api.caller("LANDLORD")
    home = make_home(landlord, doors=False)
    tenant = api.caller("TENANT")
    lease = start_lease(landlord, home.room, tenant)
    publish(landlord, home.other_room)
    police = api.caller("POLICE")
    before = police.data(STATS)["populationStats"]
    # when it is archived, it is refused while the lease runs
    refused = landlord.data(ARCHIVE_PROPERTY, {"input": {"propertyId": home.property_id}})
    assert codes(refused["archiveProperty"]) == ["LEASE_RUNNING"]
    # when the lease has ended
    landlord.mutate(
        "endLease",
        END_LEASE,
        {"input": {"leaseId": lease["id"], "moveOutDate": dt.date.today().isoformat()}},
    )
    payload = landlord.mutate(
        "archiveProperty", ARCHIVE_PROPERTY, {"input": {"propertyId": home.property_id}}
    )
    # then the property and every room are archived, the listing is down
    prop = payload["property"]
    assert prop["archivedAt"] is not None
    rooms = [e["node"] for e in prop["rooms"]["edges"]]
    assert len(rooms) == 2 and all(r["archivedAt"] == prop["archivedAt"] for r in rooms)
    assert search(api.anonymous())["totalCount"] == 0
    # and it leaves the landlord's list and the counters, but not the history
    assert landlord.data(MY_PROPERTIES, {"all": False})["myProperties"]["totalCount"] == 0
    listed = landlord.data(MY_PROPERTIES, {"all": True})["myProperties"]
    assert listed["edges"][0]["node"]["rooms"]["totalCount"] == 2
    after = police.data(STATS)["populationStats"]
    assert (after["properties"], after["rooms"]) == (before["properties"] - 1, before["rooms"] - 2)
    assert landlord.data(LEASE_NODE, {"id": lease["id"]})["node"]["status"] == "ENDED"
    # and nothing is added to it or changed on it any more
    added = landlord.data(
        """mutation($i: AddRoomInput!) { addRoom(input: $i) { userErrors { code } } }""",
        {
            "i": {
                "propertyId": home.property_id,
                "number": "301",
                "floor": 3,
                "areaSqm": 20,
                "monthlyRentFen": 100000,
            }
        },
    )["addRoom"]
    assert codes(added) == ["PROPERTY_ARCHIVED"]
    renamed = landlord.data(
        """mutation($i: UpdatePropertyInput!) { updateProperty(input: $i) {
          userErrors { code } } }""",
        {"i": {"propertyId": home.property_id, "name": "新名字"}},
    )["updateProperty"]
    assert codes(renamed) == ["PROPERTY_ARCHIVED"]


# --- updateListing ----------------------------------------------------------------------------


def test_a_landlord_rewrites_their_live_listing(api: Api) -> None:
    # given a live listing
    landlord = api.caller("LANDLORD")
    room = add_room(landlord, create_property(landlord))
    listing = publish(landlord, room)
    soon = (dt.date.today() + dt.timedelta(days=14)).isoformat()
    # when its text, rent, date and phone change
    payload = landlord.mutate(
        "updateListing",
        UPDATE_LISTING,
        {
            "input": {
                "listingId": listing["id"],
                "title": "精装单间 近地铁",
                "description": "押一付一 可短租。",
                "monthlyRentFen": 88000,
                "availableFrom": soon,
                "contactPhone": "+86 139 0000 1234",
            }
        },
    )["listing"]
    # then everyone sees the new listing, and finds it by its new words
    assert payload["title"] == "精装单间 近地铁" and payload["monthlyRentFen"] == 88000
    assert (payload["availableFrom"], payload["contactPhone"]) == (soon, "13900001234")
    assert search(api.anonymous(), filter={"text": "短租"})["totalCount"] == 1
    assert search(api.anonymous(), filter={"text": "拎包入住"})["totalCount"] == 0
    # and bad values are refused, one error per field
    bad = landlord.data(
        UPDATE_LISTING,
        {"input": {"listingId": listing["id"], "title": " ", "contactPhone": "12"}},
    )["updateListing"]
    assert sorted(codes(bad)) == ["INVALID_PHONE", "REQUIRED"]
    # and a listing taken down is not changed any more
    landlord.data(
        """mutation($i: UnpublishListingInput!) { unpublishListing(input: $i) {
          userErrors { code } } }""",
        {"i": {"listingId": listing["id"]}},
    )
    down = landlord.data(UPDATE_LISTING, {"input": {"listingId": listing["id"], "title": "x"}})
    assert codes(down["updateListing"]) == ["LISTING_UNPUBLISHED"]


# --- amenities --------------------------------------------------------------------------------


def test_listings_are_found_by_amenities(api: Api) -> None:
    # given three listed rooms with different amenities
    landlord = api.caller("LANDLORD")
    prop = create_property(landlord)
    rooms = {}
    for number, amenities in (
        ("101", ["AIR_CONDITIONER", "WIFI", "EBIKE_CHARGING"]),
        ("102", ["WIFI"]),
        ("103", []),
    ):
        room = add_room(landlord, prop, number)
        update(landlord, room, amenities=amenities)
        rooms[number] = publish(landlord, room)["id"]
    anonymous = api.anonymous()

    def found(amenities: list[str] | None) -> set[str]:
        data = anonymous.data(AMENITY_SEARCH, {"amenities": amenities})["listings"]
        return {e["node"]["id"] for e in data["edges"]}

    # then a search for amenities finds the listings that have all of them
    assert found(["WIFI"]) == {rooms["101"], rooms["102"]}
    assert found(["WIFI", "EBIKE_CHARGING"]) == {rooms["101"]}
    assert found(["BALCONY"]) == set()
    assert found([]) == found(None) == set(rooms.values())
    # and an amenity added later is found too
    room_102 = landlord.data(
        "query($id: ID!) { node(id: $id) { ... on Listing { room { id } } } }",
        {"id": rooms["102"]},
    )["node"]["room"]["id"]
    update(landlord, room_102, amenities=["WIFI", "BALCONY"])
    assert found(["BALCONY"]) == {rooms["102"]}
