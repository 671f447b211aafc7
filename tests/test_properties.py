"""Properties, rooms and devices through GraphQL over HTTP, with the gateway simulator."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import Api, Caller, label_code

CREATE = """mutation($input: CreatePropertyInput!) { createProperty(input: $input) {
  property { id name address kind place { town community grid } location { lat lng }
             safety { extinguishers smokeDetectors escapeWindows } landlord { id } }
  userErrors { field message code } } }"""
UPDATE = """mutation($input: UpdatePropertyInput!) { updateProperty(input: $input) {
  property { id name address safety { extinguishers smokeDetectors escapeWindows } }
  userErrors { field message code } } }"""
ADD_ROOM = """mutation($input: AddRoomInput!) { addRoom(input: $input) {
  room { id number floor areaSqm monthlyRentFen status property { id } }
  userErrors { field message code } } }"""
REGISTER = """mutation($input: RegisterDeviceInput!) { registerDevice(input: $input) {
  door { id name deviceId online room { id } property { id } }
  camera { id name deviceId online }
  smokeDetector { id deviceId online room { id } }
  userErrors { field message code } } }"""
MY_PROPERTIES = """query($first: Int, $after: String, $rooms: Int) {
  myProperties(first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { id name
      doors { id deviceId room { id } } cameras { id deviceId }
      rooms(first: $rooms) { totalCount pageInfo { hasNextPage endCursor }
        edges { node { id number status doors { deviceId } smokeDetectors { deviceId } } } }
    } } } }"""


def property_input(**over: Any) -> dict[str, Any]:
    return {
        "name": "松门公寓",
        "address": "温岭市松门镇东海路 18 号",
        "place": {"town": "松门镇", "community": "松门村", "grid": "网格3"},
        "location": {"lat": 28.35, "lng": 121.61},
        "kind": "SECOND_HAND",
        "safety": {"extinguishers": 4, "smokeDetectors": 6, "escapeWindows": 2},
        **over,
    }


def create_property(landlord: Caller, **over: Any) -> dict[str, Any]:
    return landlord.mutate("createProperty", CREATE, {"input": property_input(**over)})["property"]


def add_room(landlord: Caller, property_id: str, number: str = "101", **over: Any) -> dict:
    room = {
        "propertyId": property_id,
        "number": number,
        "floor": 1,
        "areaSqm": 18.5,
        "monthlyRentFen": 120000,
        **over,
    }
    return landlord.mutate("addRoom", ADD_ROOM, {"input": room})["room"]


def register(
    landlord: Caller, kind: str, device_id: str, property_id: str, room_id: str | None = None
) -> dict[str, Any]:
    return landlord.mutate(
        "registerDevice",
        REGISTER,
        {
            "input": {
                "kind": kind,
                "deviceId": device_id,
                "name": f"{kind} {device_id}",
                "propertyId": property_id,
                "roomId": room_id,
                "claimCode": label_code(landlord.api, device_id),
            }
        },
    )


# --- properties ---------------------------------------------------------------------------


def test_landlord_creates_and_updates_a_property(api: Api) -> None:
    landlord = api.caller("LANDLORD")
    prop = create_property(landlord, name="  松门公寓  ")
    assert prop["name"] == "松门公寓"  # trimmed
    assert prop["landlord"]["id"] == landlord.account["id"]
    assert prop["place"] == {"town": "松门镇", "community": "松门村", "grid": "网格3"}
    updated = landlord.mutate(
        "updateProperty",
        UPDATE,
        {
            "input": {
                "propertyId": prop["id"],
                "address": "东海路 20 号",
                "safety": {"extinguishers": 5, "smokeDetectors": 6, "escapeWindows": 3},
            }
        },
    )["property"]
    assert updated["name"] == "松门公寓"
    assert updated["address"] == "东海路 20 号"
    assert updated["safety"]["extinguishers"] == 5


@pytest.mark.parametrize(
    ("over", "code", "field"),
    [
        ({"name": " "}, "REQUIRED", ["input", "name"]),
        ({"address": "路" * 201}, "TOO_LONG", ["input", "address"]),
        ({"location": {"lat": 91, "lng": 121}}, "OUT_OF_RANGE", ["input", "location", "lat"]),
        ({"location": {"lat": 28, "lng": -181}}, "OUT_OF_RANGE", ["input", "location", "lng"]),
        (
            {"safety": {"extinguishers": -1, "smokeDetectors": 0, "escapeWindows": 0}},
            "OUT_OF_RANGE",
            ["input", "safety", "extinguishers"],
        ),
        ({"place": {"town": "", "community": "x"}}, "REQUIRED", ["input", "place", "town"]),
        ({"name": "bad\u0000name"}, "INVALID_ARGUMENT", ["input", "name"]),
    ],
)
def test_create_property_validation(api: Api, over: dict, code: str, field: list[str]) -> None:
    landlord = api.caller("LANDLORD")
    payload = landlord.data(CREATE, {"input": property_input(**over)})["createProperty"]
    assert payload["property"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [(code, field)]
    assert landlord.data(MY_PROPERTIES)["myProperties"]["totalCount"] == 0


@pytest.mark.parametrize("role", ["TENANT", "POLICE", "RESPONDER", "ADMIN"])
def test_only_landlords_manage_properties(api: Api, role: str) -> None:
    owner = api.caller("LANDLORD")
    prop = create_property(owner)
    caller = api.caller(role)
    assert caller.errors(CREATE, {"input": property_input()}) == ["FORBIDDEN"]
    assert caller.errors(UPDATE, {"input": {"propertyId": prop["id"], "name": "x"}}) == [
        "FORBIDDEN"
    ]
    assert caller.errors(
        ADD_ROOM,
        {
            "input": {
                "propertyId": prop["id"],
                "number": "1",
                "floor": 1,
                "areaSqm": 10,
                "monthlyRentFen": 1,
            }
        },
    ) == ["FORBIDDEN"]
    assert caller.errors(MY_PROPERTIES) == ["FORBIDDEN"]


def test_anonymous_is_unauthenticated(api: Api) -> None:
    anon = api.anonymous()
    assert anon.errors(CREATE, {"input": property_input()}) == ["UNAUTHENTICATED"]
    assert anon.errors(MY_PROPERTIES) == ["UNAUTHENTICATED"]


def test_another_landlords_property_is_not_found(api: Api) -> None:
    owner, other = api.caller("LANDLORD"), api.caller("LANDLORD")
    prop = create_property(owner)
    room = add_room(owner, prop["id"])
    assert other.refused(
        "updateProperty", UPDATE, {"input": {"propertyId": prop["id"], "name": "mine"}}
    ) == ["NOT_FOUND"]
    assert other.refused(
        "addRoom",
        ADD_ROOM,
        {
            "input": {
                "propertyId": prop["id"],
                "number": "102",
                "floor": 1,
                "areaSqm": 10,
                "monthlyRentFen": 100,
            }
        },
    ) == ["NOT_FOUND"]
    assert other.refused(
        "registerDevice",
        REGISTER,
        {
            "input": {
                "kind": "DOOR",
                "deviceId": "door-x",
                "name": "x",
                "propertyId": prop["id"],
                "roomId": room["id"],
            }
        },
    ) == ["NOT_FOUND"]
    assert other.data(MY_PROPERTIES)["myProperties"]["totalCount"] == 0
    node = "query($id: ID!) { node(id: $id) { id } }"
    assert other.data(node, {"id": prop["id"]}) == {"node": None}
    assert other.data(node, {"id": room["id"]}) == {"node": None}
    assert owner.data(node, {"id": room["id"]}) == {"node": {"id": room["id"]}}


def test_malformed_ids_are_refused_before_any_query(api: Api) -> None:
    landlord = api.caller("LANDLORD")
    for bad in ["nope", '{"$gt": ""}', "Um9vbTo2NjY2"]:
        codes = landlord.refused("updateProperty", UPDATE, {"input": {"propertyId": bad}})
        assert codes == ["INVALID_ID"]


# --- rooms --------------------------------------------------------------------------------


def test_rooms_are_unique_within_a_property_and_start_vacant(api: Api) -> None:
    landlord = api.caller("LANDLORD")
    a, b = create_property(landlord), create_property(landlord, name="B")
    room = add_room(landlord, a["id"], "101")
    assert room["status"] == "VACANT"
    assert room["property"]["id"] == a["id"]
    assert landlord.refused(
        "addRoom",
        ADD_ROOM,
        {
            "input": {
                "propertyId": a["id"],
                "number": "101",
                "floor": 1,
                "areaSqm": 10,
                "monthlyRentFen": 100,
            }
        },
    ) == ["DUPLICATE"]
    add_room(landlord, b["id"], "101")  # the same number in another property is fine


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"monthlyRentFen": 0}, "monthlyRentFen"),
        ({"monthlyRentFen": -5}, "monthlyRentFen"),
        ({"monthlyRentFen": 100_000_001}, "monthlyRentFen"),
        ({"areaSqm": 0}, "areaSqm"),
        ({"areaSqm": 1e9}, "areaSqm"),
        ({"floor": 999}, "floor"),
    ],
)
def test_room_bounds(api: Api, over: dict, field: str) -> None:
    landlord = api.caller("LANDLORD")
    prop = create_property(landlord)
    payload = landlord.data(
        ADD_ROOM,
        {
            "input": {
                "propertyId": prop["id"],
                "number": "1",
                "floor": 1,
                "areaSqm": 10,
                "monthlyRentFen": 100,
                **over,
            }
        },
    )["addRoom"]
    assert payload["room"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("OUT_OF_RANGE", ["input", field])
    ]


# --- devices ------------------------------------------------------------------------------


def test_register_each_kind_of_device(api: Api) -> None:
    landlord = api.caller("LANDLORD")
    prop = create_property(landlord)
    room = add_room(landlord, prop["id"])
    entrance = register(landlord, "DOOR", "door-entrance-1", prop["id"])["door"]
    assert entrance["room"] is None
    assert entrance["online"] is True
    door = register(landlord, "DOOR", "door-101", prop["id"], room["id"])["door"]
    assert door["room"]["id"] == room["id"]
    cam = register(landlord, "CAMERA", "cam-1", prop["id"])["camera"]
    assert cam["deviceId"] == "cam-1"
    smoke = register(landlord, "SMOKE_DETECTOR", "smoke-101", prop["id"], room["id"])
    assert smoke["smokeDetector"]["room"]["id"] == room["id"]
    assert smoke["door"] is None


def test_device_input_is_checked_before_the_gateway(api: Api, http: Any, stack: Any) -> None:
    landlord = api.caller("LANDLORD")
    prop = create_property(landlord)
    room = add_room(landlord, prop["id"])

    def refused(
        kind: str, device_id: str, room_id: str | None = None, code: str | None = "ABCD2345"
    ) -> list[str]:
        return landlord.refused(
            "registerDevice",
            REGISTER,
            {
                "input": {
                    "kind": kind,
                    "deviceId": device_id,
                    "name": "x",
                    "propertyId": prop["id"],
                    "roomId": room_id,
                    "claimCode": code,
                }
            },
        )

    assert refused("SMOKE_DETECTOR", "smoke-1") == ["ROOM_REQUIRED"]
    assert refused("CAMERA", "cam-2", room["id"]) == ["INVALID_ARGUMENT"]
    assert refused("DOOR", "../../v1/x") == ["INVALID_ARGUMENT"]
    # the claim code is required by the server (nullable for version 1 clients only)
    assert refused("DOOR", "door-nocode", code=None) == ["REQUIRED"]
    assert refused("DOOR", "door-nocode", code="{$gt: ''}") == ["INVALID_ARGUMENT"]
    # an offline device is still registered, and shown offline
    http.post(f"{stack.sim_url}/sim/devices/door-off/offline").raise_for_status()
    off = register(landlord, "DOOR", "door-off", prop["id"], room["id"])["door"]
    assert off["online"] is False


def test_a_device_is_bound_once(api: Api) -> None:
    a, b = api.caller("LANDLORD"), api.caller("LANDLORD")
    pa, pb = create_property(a), create_property(b)
    register(a, "DOOR", "door-shared", pa["id"])

    def again(landlord: Caller, prop: dict[str, Any]) -> list[str]:
        return landlord.refused(
            "registerDevice",
            REGISTER,
            {
                "input": {
                    "kind": "DOOR",
                    "deviceId": "door-shared",
                    "name": "x",
                    "propertyId": prop["id"],
                    "claimCode": label_code(api, "door-shared"),
                }
            },
        )

    # its owner, holding the label, is told it is there already
    assert again(a, pa) == ["DUPLICATE"]
    # another landlord, even with the label, cannot take it (the gateway holds a's claim)
    assert again(b, pb) == ["DEVICE_CLAIM_FAILED"]


def test_gateway_down_is_a_clear_error(api: Api, http: Any, stack: Any) -> None:
    landlord = api.caller("LANDLORD")
    prop = create_property(landlord)
    http.post(f"{stack.sim_url}/sim/gateway/offline").raise_for_status()
    given = {
        "kind": "DOOR",
        "deviceId": "door-1",
        "name": "x",
        "propertyId": prop["id"],
        "claimCode": label_code(api, "door-1"),
    }
    codes = landlord.errors(REGISTER, {"input": given})
    assert codes == ["SERVICE_UNAVAILABLE"]
    http.post(f"{stack.sim_url}/sim/gateway/online").raise_for_status()
    register(landlord, "DOOR", "door-1", prop["id"])


# --- myProperties -------------------------------------------------------------------------


def _dashboard(landlord: Caller, rooms: int) -> dict[str, Any]:
    body = landlord.post(MY_PROPERTIES, {"first": 20, "rooms": 100})
    assert "errors" not in body, body
    return body


def test_my_properties_pages_and_shows_rooms_and_devices(api: Api) -> None:
    landlord, other = api.caller("LANDLORD"), api.caller("LANDLORD")
    create_property(other)
    props = [create_property(landlord, name=f"P{i}") for i in range(3)]
    room = add_room(landlord, props[0]["id"], "201", floor=2)
    add_room(landlord, props[0]["id"], "101", floor=1)
    register(landlord, "DOOR", "door-201", props[0]["id"], room["id"])
    register(landlord, "SMOKE_DETECTOR", "smoke-201", props[0]["id"], room["id"])
    register(landlord, "CAMERA", "cam-p0", props[0]["id"])
    first = landlord.data(MY_PROPERTIES, {"first": 2, "rooms": 1})["myProperties"]
    assert first["totalCount"] == 3
    assert first["pageInfo"]["hasNextPage"] is True
    p0 = first["edges"][0]["node"]
    assert p0["rooms"]["totalCount"] == 2
    assert [e["node"]["number"] for e in p0["rooms"]["edges"]] == ["101"]  # floor order
    assert p0["rooms"]["pageInfo"]["hasNextPage"] is True
    assert p0["cameras"] == [{"id": p0["cameras"][0]["id"], "deviceId": "cam-p0"}]
    rest = landlord.data(
        MY_PROPERTIES, {"first": 2, "after": first["pageInfo"]["endCursor"], "rooms": 5}
    )["myProperties"]
    names = [e["node"]["name"] for e in first["edges"] + rest["edges"]]
    assert names == [p["name"] for p in props]
    assert rest["pageInfo"]["hasNextPage"] is False
    full = landlord.data(MY_PROPERTIES, {"first": 1, "rooms": 5})["myProperties"]
    r201 = full["edges"][0]["node"]["rooms"]["edges"][1]["node"]
    assert r201["doors"] == [{"deviceId": "door-201"}]
    assert r201["smokeDetectors"] == [{"deviceId": "smoke-201"}]


def test_first_is_capped_and_cursors_are_checked(api: Api) -> None:
    landlord = api.caller("LANDLORD")
    assert landlord.errors(MY_PROPERTIES, {"first": 101}) == ["INVALID_ARGUMENT"]
    assert landlord.errors(MY_PROPERTIES, {"first": -1}) == ["INVALID_ARGUMENT"]
    assert landlord.errors(MY_PROPERTIES, {"after": "garbage!"}) == ["INVALID_CURSOR"]


def test_dashboard_round_trips_do_not_grow_with_rooms(api: Api) -> None:
    # given two landlords, one with 2 rooms and one with 30, each room with devices
    small, large = api.caller("LANDLORD"), api.caller("LANDLORD")
    for landlord, count in ((small, 2), (large, 30)):
        for p in range(2):
            prop = create_property(landlord, name=f"P{p}")
            register(landlord, "DOOR", f"door-{landlord.phone}-{p}", prop["id"])
            for r in range(count // 2):
                room = add_room(landlord, prop["id"], f"{r + 1:03d}")
                register(
                    landlord,
                    "SMOKE_DETECTOR",
                    f"smoke-{landlord.phone}-{p}-{r}",
                    prop["id"],
                    room["id"],
                )
    # when each loads the dashboard
    trips = [_dashboard(landlord, 100)["extensions"]["dbRoundTrips"] for landlord in (small, large)]
    # then both cost the same, small number of database round trips
    assert trips[0] == trips[1]
    assert trips[0] <= 6
