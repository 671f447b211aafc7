"""openDoor and accessEvents through GraphQL over HTTP, against the gateway simulator."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from pymongo import MongoClient

from tests.door_support import OPEN_DOOR, Building, building, open_door, raw_id, start_lease
from tests.support import Api, sim_post

ACCESS_EVENTS = """query($filter: AccessEventFilter!, $first: Int, $after: String) {
  accessEvents(filter: $filter, first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id at method granted cardNumber door { id } occupant { id }
                          openedBy { id } } } } }"""
AUDIT = "{ auditLog(first: 100) { edges { node { action target account { id } } } } }"
DOOR = "query($id: ID!) { node(id: $id) { ... on Door { id online lastEventAt } } }"


def window(days: float = 1) -> dict[str, str]:
    now = dt.datetime.now(dt.UTC)
    return {
        "from": (now - dt.timedelta(days=days)).isoformat(),
        "to": (now + dt.timedelta(days=days)).isoformat(),
    }


def events(caller: Any, **flt: Any) -> list[dict[str, Any]]:
    data = caller.data(ACCESS_EVENTS, {"filter": {**window(), **flt}, "first": 100})
    return [e["node"] for e in data["accessEvents"]["edges"]]


@pytest.fixture
def home(api: Api) -> Building:
    return building(api.caller("LANDLORD"))


# --- outcomes -------------------------------------------------------------------------------


def test_landlord_opens_their_door(
    api: Api, home: Building, http: httpx.Client, stack: Any, mongo: MongoClient[Any]
) -> None:
    # when
    payload = open_door(home.landlord, home.door_id)

    # then: opened, at the gateway once, logged as a remote access and in the audit log
    assert payload["userErrors"] == []
    command = payload["command"]
    assert command["status"] == "OPENED"
    assert command["completedAt"] is not None
    assert command["door"]["id"] == home.door_id
    opens = http.get(f"{stack.sim_url}/sim/doors/{home.door_device}/opens").json()
    assert opens == [raw_id(command["id"])]
    [access] = events(home.landlord, doorId=home.door_id)
    assert access["method"] == "REMOTE"
    assert access["granted"] is True
    assert access["openedBy"]["id"] == home.landlord.account["id"]
    assert access["cardNumber"] is None
    audit = [e["node"] for e in api.admin().data(AUDIT)["auditLog"]["edges"]]
    assert [a for a in audit if a["action"] == "door.open"] == [
        {
            "action": "door.open",
            "target": home.door_id,
            "account": {"id": home.landlord.account["id"]},
        }
    ]
    stored = mongo[stack.db_name].door_commands.find_one()
    assert stored is not None
    assert set(stored) >= {"door_id", "device_id", "account_id", "status", "requested_at"}
    assert stored["status"] == "OPENED"


def test_an_offline_door_is_reported_offline(
    home: Building, http: httpx.Client, stack: Any
) -> None:
    # given
    sim_post(http, stack.sim_url, f"/sim/devices/{home.door_device}/offline")

    # when
    command = open_door(home.landlord, home.door_id)["command"]

    # then
    assert command["status"] == "DEVICE_OFFLINE"
    assert http.get(f"{stack.sim_url}/sim/doors/{home.door_device}/opens").json() == []
    assert events(home.landlord, doorId=home.door_id) == []


def test_a_door_slower_than_the_timeout_is_timed_out_never_opened(
    api: Api, home: Building, http: httpx.Client, stack: Any, mongo: MongoClient[Any]
) -> None:
    # given: the door answers after 3 s, the timeout is 1.5 s
    sim_post(http, stack.sim_url, f"/sim/devices/{home.door_device}/latency", {"seconds": 3})

    # when
    command = open_door(home.landlord, home.door_id)["command"]

    # then: not reported as opened, and no opening logged
    assert command["status"] == "TIMED_OUT"
    assert command["completedAt"] is None
    stored = mongo[stack.db_name].door_commands.find_one({})
    assert stored is not None and stored["status"] in {"TIMED_OUT", "OPENED"}
    # (OPENED only if the door's own confirmation arrived meanwhile: then it did open)
    if stored["status"] == "TIMED_OUT":
        assert events(home.landlord, doorId=home.door_id) == []


def test_a_failing_door_or_gateway_is_reported_failed(
    home: Building, http: httpx.Client, stack: Any
) -> None:
    # given a failing device
    sim_post(http, stack.sim_url, f"/sim/devices/{home.door_device}/fail")
    # then
    assert open_door(home.landlord, home.door_id)["command"]["status"] == "FAILED"

    # given the whole gateway down
    sim_post(http, stack.sim_url, f"/sim/devices/{home.door_device}/ok")
    sim_post(http, stack.sim_url, "/sim/gateway/offline")
    # then
    assert open_door(home.landlord, home.door_id)["command"]["status"] == "FAILED"
    assert http.get(f"{stack.sim_url}/sim/doors/{home.door_device}/opens").json() == []
    assert events(home.landlord, doorId=home.door_id) == []

    # and once it is back, the door opens
    sim_post(http, stack.sim_url, "/sim/gateway/online")
    assert open_door(home.landlord, home.door_id)["command"]["status"] == "OPENED"


# --- who may open ---------------------------------------------------------------------------


def test_another_landlords_door_is_not_found(api: Api, home: Building) -> None:
    # given
    stranger = api.caller("LANDLORD")
    # when
    payload = stranger.data(OPEN_DOOR, {"input": {"doorId": home.door_id}})["openDoor"]
    # then
    assert payload["command"] is None
    assert [e["code"] for e in payload["userErrors"]] == ["NOT_FOUND"]


def test_a_tenant_without_a_lease_there_cannot_open(api: Api, home: Building) -> None:
    tenant = api.caller("TENANT")
    for door in (home.door_id, home.entrance_id):
        codes = tenant.refused("openDoor", OPEN_DOOR, {"input": {"doorId": door}})
        assert codes == ["NOT_FOUND"]


def test_the_tenant_of_an_active_lease_opens_the_room_and_the_entrance(
    api: Api, home: Building, http: httpx.Client, stack: Any
) -> None:
    # given
    tenant = api.caller("TENANT")
    start_lease(home.landlord, home.room_id, tenant)

    # when / then: their room's door and the building's entrance open
    for door_id in (home.door_id, home.entrance_id):
        assert open_door(tenant, door_id)["command"]["status"] == "OPENED"
    # but not the door of another room
    assert tenant.refused("openDoor", OPEN_DOOR, {"input": {"doorId": home.other_door_id}}) == [
        "NOT_FOUND"
    ]
    [access] = events(home.landlord, doorId=home.entrance_id)
    assert access["openedBy"]["id"] == tenant.account["id"]
    assert len(http.get(f"{stack.sim_url}/sim/doors/{home.entrance_device}/opens").json()) == 1


def test_a_tenant_whose_lease_ended_cannot_open(api: Api, home: Building) -> None:
    # given
    from tests.door_support import END_LEASE

    tenant = api.caller("TENANT")
    lease = start_lease(home.landlord, home.room_id, tenant)
    today = dt.datetime.now(dt.UTC).date().isoformat()
    home.landlord.mutate(
        "endLease", END_LEASE, {"input": {"leaseId": lease["id"], "moveOutDate": today}}
    )
    # then
    assert tenant.refused("openDoor", OPEN_DOOR, {"input": {"doorId": home.door_id}}) == [
        "NOT_FOUND"
    ]


@pytest.mark.parametrize("role", ["RESPONDER", "ADMIN", "POLICE"])
def test_other_roles_are_forbidden(api: Api, home: Building, role: str) -> None:
    caller = api.caller(role)
    assert caller.errors(OPEN_DOOR, {"input": {"doorId": home.door_id}}) == ["FORBIDDEN"]


def test_anonymous_callers_must_sign_in(api: Api, home: Building) -> None:
    assert api.anonymous().errors(OPEN_DOOR, {"input": {"doorId": home.door_id}}) == [
        "UNAUTHENTICATED"
    ]


def test_a_bad_door_id_is_refused(home: Building) -> None:
    for bad in ("nonsense", home.camera_id, home.property_id):
        codes = home.landlord.refused("openDoor", OPEN_DOOR, {"input": {"doorId": bad}})
        assert codes in (["INVALID_ID"], ["NOT_FOUND"])
    assert home.landlord.refused("openDoor", OPEN_DOOR, {"input": {"doorId": "nonsense"}}) == [
        "INVALID_ID"
    ]


# --- rate limit -----------------------------------------------------------------------------


def test_an_account_is_rate_limited_and_others_are_not(
    api: Api, home: Building, stack: Any, mongo: MongoClient[Any]
) -> None:
    # given: the limit (10 per minute by default) used up
    for _ in range(10):
        assert open_door(home.landlord, home.door_id)["command"]["status"] == "OPENED"

    # when
    payload = open_door(home.landlord, home.door_id)

    # then: refused before anything reaches the gateway
    assert payload["command"] is None
    assert [e["code"] for e in payload["userErrors"]] == ["RATE_LIMITED"]
    assert mongo[stack.db_name].door_commands.count_documents({}) == 10
    # a tenant of the same building has their own allowance
    tenant = api.caller("TENANT")
    start_lease(home.landlord, home.room_id, tenant)
    assert open_door(tenant, home.entrance_id)["command"]["status"] == "OPENED"


# --- the access log -------------------------------------------------------------------------


def test_access_events_newest_first_in_pages(home: Building) -> None:
    # given three openings of two doors
    first = open_door(home.landlord, home.door_id)["command"]
    open_door(home.landlord, home.entrance_id)
    last = open_door(home.landlord, home.door_id)["command"]

    # when: the door's events, one per page
    page1 = home.landlord.data(
        ACCESS_EVENTS, {"filter": {**window(), "doorId": home.door_id}, "first": 1}
    )["accessEvents"]
    page2 = home.landlord.data(
        ACCESS_EVENTS,
        {
            "filter": {**window(), "doorId": home.door_id},
            "first": 1,
            "after": page1["pageInfo"]["endCursor"],
        },
    )["accessEvents"]

    # then
    assert page1["pageInfo"]["hasNextPage"] is True
    assert page2["pageInfo"]["hasNextPage"] is False
    newest, oldest = page1["edges"][0]["node"], page2["edges"][0]["node"]
    assert newest["at"] >= oldest["at"]
    assert newest["at"] >= last["requestedAt"] >= first["requestedAt"]
    # by property: all three; a window before them: none
    assert len(events(home.landlord, propertyId=home.property_id)) == 3
    assert len(events(home.landlord)) == 3
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
    none = home.landlord.data(
        ACCESS_EVENTS,
        {
            "filter": {
                "from": past.isoformat(),
                "to": (past + dt.timedelta(days=1)).isoformat(),
                "propertyId": home.property_id,
            }
        },
    )["accessEvents"]["edges"]
    assert none == []


def test_access_events_of_other_landlords_are_not_found(api: Api, home: Building) -> None:
    stranger = api.caller("LANDLORD")
    for flt in ({"doorId": home.door_id}, {"propertyId": home.property_id}):
        assert stranger.errors(ACCESS_EVENTS, {"filter": {**window(), **flt}}) == ["NOT_FOUND"]
    # and without a filter a landlord sees only their own doors
    open_door(home.landlord, home.door_id)
    assert events(stranger) == []


def test_access_events_need_a_sane_range(home: Building) -> None:
    now = dt.datetime.now(dt.UTC)
    backwards = {"from": now.isoformat(), "to": (now - dt.timedelta(hours=1)).isoformat()}
    too_long = {"from": (now - dt.timedelta(days=400)).isoformat(), "to": now.isoformat()}
    assert home.landlord.errors(ACCESS_EVENTS, {"filter": backwards}) == ["INVALID_DATE_RANGE"]
    assert home.landlord.errors(ACCESS_EVENTS, {"filter": too_long}) == ["OUT_OF_RANGE"]
    assert home.landlord.errors(ACCESS_EVENTS, {"filter": {**window(), "doorId": "nonsense"}}) == [
        "INVALID_ID"
    ]


@pytest.mark.parametrize("role", ["RESPONDER", "ADMIN"])
def test_access_events_are_forbidden_to_other_roles(api: Api, home: Building, role: str) -> None:
    caller = api.caller(role)
    assert caller.errors(ACCESS_EVENTS, {"filter": window()}) == ["FORBIDDEN"]


def test_access_events_need_sign_in(api: Api) -> None:
    assert api.anonymous().errors(ACCESS_EVENTS, {"filter": window()}) == ["UNAUTHENTICATED"]


def test_a_remote_opening_updates_the_doors_last_event(home: Building) -> None:
    # given
    before = home.landlord.data(DOOR, {"id": home.door_id})["node"]["lastEventAt"]
    # when
    open_door(home.landlord, home.door_id)
    # then
    after = home.landlord.data(DOOR, {"id": home.door_id})["node"]["lastEventAt"]
    assert before is None and after is not None
