"""Paging as the Relay connection spec has it: every connection's pageInfo (hasNextPage,
hasPreviousPage, startCursor, endCursor), and the histories (notifications, access events,
the audit log) paged backward with last/before, through the apps' own documents."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.door_support import building, open_door
from tests.rent_support import REMIND, tenancy
from tests.support import Api, Caller, persisted_text

NOTIFICATIONS = persisted_text("Notifications")
AUDIT_LOG = persisted_text("AuditLog")
DOOR_HISTORY = persisted_text("DoorHistory")
PROPERTIES = """query($first: Int, $after: String) { myProperties(first: $first, after: $after) {
  pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  edges { cursor node { id rooms(first: 1) { pageInfo { hasPreviousPage startCursor } } } } } }"""
ROOMS = """query($id: ID!, $after: String) { node(id: $id) { ... on Property {
  rooms(first: 1, after: $after) { pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id } } } } } }"""
CREATE_PROPERTY = """mutation($input: CreatePropertyInput!) {
  createProperty(input: $input) { property { id } userErrors { code } } }"""
ADD_ROOM = """mutation($input: AddRoomInput!) {
  addRoom(input: $input) { room { id } userErrors { code } } }"""


def page(caller: Caller, document: str, field: str, **variables: Any) -> dict[str, Any]:
    found: dict[str, Any] = caller.data(document, variables)[field]
    return found


def ids(found: dict[str, Any]) -> list[str]:
    return [e["node"]["id"] for e in found["edges"]]


def whole_backward(
    caller: Caller, document: str, field: str, size: int, **given: Any
) -> list[dict[str, Any]]:
    """Every page from the oldest back to the newest, `size` at a time, by last/before."""
    pages: list[dict[str, Any]] = []
    before = None
    while True:
        found = page(caller, document, field, last=size, before=before, **given)
        pages.insert(0, found)
        if not found["pageInfo"]["hasPreviousPage"]:
            return pages
        before = found["pageInfo"]["startCursor"]


def test_notifications_page_backward_from_the_oldest_to_the_newest(api: Api) -> None:
    # given a tenant with several notifications (the lease's, and three reminders)
    t = tenancy(api, months_back=2, months_ahead=2)
    for invoice in t.invoices[:3]:
        t.landlord.data(REMIND, {"input": {"invoiceId": invoice["id"]}})
    everything = ids(page(t.tenant, NOTIFICATIONS, "notifications", first=100))
    assert len(everything) >= 4

    # when the tenant takes the last two (the oldest), then pages back towards the newest
    oldest = page(t.tenant, NOTIFICATIONS, "notifications", last=2)
    pages = whole_backward(t.tenant, NOTIFICATIONS, "notifications", 2)

    # then `last` alone is the end of the list, in the list's order (newest first)
    assert ids(oldest) == everything[-2:]
    assert oldest["pageInfo"]["hasPreviousPage"] is True
    assert oldest["pageInfo"]["hasNextPage"] is False
    assert oldest["pageInfo"]["endCursor"] is not None
    # and the pages backward are the whole list, in order, once
    assert [i for p in pages for i in ids(p)] == everything
    # and a page reached with `before` says more follow it (the one its cursor came from)
    assert all(p["pageInfo"]["hasNextPage"] for p in pages[:-1])
    assert pages[0]["pageInfo"]["hasPreviousPage"] is False


def test_a_page_forward_and_the_page_back_from_it_meet(api: Api) -> None:
    # given a tenant's notifications, newest first
    t = tenancy(api, months_back=2, months_ahead=2)
    for invoice in t.invoices[:2]:
        t.landlord.data(REMIND, {"input": {"invoiceId": invoice["id"]}})
    first = page(t.tenant, NOTIFICATIONS, "notifications", first=2)
    second = page(
        t.tenant, NOTIFICATIONS, "notifications", first=2, after=first["pageInfo"]["endCursor"]
    )
    # when the tenant pages back from the second page's start
    back = page(
        t.tenant, NOTIFICATIONS, "notifications", last=2, before=second["pageInfo"]["startCursor"]
    )
    # then it is the first page again, which has nothing before it
    assert ids(back) == ids(first)
    assert back["pageInfo"]["hasPreviousPage"] is False
    assert back["pageInfo"]["hasNextPage"] is True
    assert back["pageInfo"]["startCursor"] == first["pageInfo"]["startCursor"]
    # and paging forward says a page precedes only when a cursor was given
    assert first["pageInfo"]["hasPreviousPage"] is False
    assert second["pageInfo"]["hasPreviousPage"] is True


def test_a_page_goes_one_way_and_takes_only_its_own_cursors(api: Api) -> None:
    # given a tenant with notifications
    t = tenancy(api)
    q = NOTIFICATIONS
    # when asking both ways at once, then it is refused
    assert t.tenant.errors(q, {"first": 2, "last": 2}) == ["INVALID_ARGUMENT"]
    assert t.tenant.errors(q, {"after": "x", "before": "y"}) == ["INVALID_ARGUMENT"]
    # and so are a page size out of range and a cursor this list did not give
    assert t.tenant.errors(q, {"last": 101}) == ["INVALID_ARGUMENT"]
    assert t.tenant.errors(q, {"last": -1}) == ["INVALID_ARGUMENT"]
    assert t.tenant.errors(q, {"last": 2, "before": "garbage"}) == ["INVALID_CURSOR"]
    # and last: 0 is an empty page, without cursors
    empty = page(t.tenant, q, "notifications", last=0)
    assert empty["edges"] == [] and empty["pageInfo"]["startCursor"] is None


def test_the_audit_log_pages_backward(api: Api) -> None:
    # given an admin's audit log with a few entries (accounts provisioned)
    admin = api.admin()
    for _ in range(3):
        api.provisioned("RESPONDER")
    newest = page(admin, AUDIT_LOG, "auditLog", first=3)
    # when the admin pages back from the third entry (the first page's end)
    back = page(admin, AUDIT_LOG, "auditLog", last=1, before=newest["pageInfo"]["endCursor"])
    # then it is the entry just newer than it, and more lie before
    assert [e["node"] for e in back["edges"]] == [newest["edges"][1]["node"]]
    assert back["pageInfo"]["hasPreviousPage"] is True
    assert back["pageInfo"]["hasNextPage"] is True
    # and the oldest entry is `last: 1`
    oldest = page(admin, AUDIT_LOG, "auditLog", last=1)
    assert oldest["pageInfo"]["hasNextPage"] is False
    assert oldest["pageInfo"]["hasPreviousPage"] is True


def test_a_landlords_door_history_pages_backward(api: Api) -> None:
    # given a landlord who opened a door three times
    b = building(api.caller("LANDLORD"))
    for _ in range(3):
        assert open_door(b.landlord, b.door_id)["userErrors"] == []
    now = dt.datetime.now(dt.UTC)
    window = {
        "doorId": b.door_id,
        "from": (now - dt.timedelta(days=1)).isoformat(),
        "to": (now + dt.timedelta(days=1)).isoformat(),
    }
    everything = ids(page(b.landlord, DOOR_HISTORY, "accessEvents", filter=window, first=10))
    assert len(everything) == 3
    # when they page backward two at a time
    pages = whole_backward(b.landlord, DOOR_HISTORY, "accessEvents", 2, filter=window)
    # then the pages are the history, newest first, once
    assert [i for p in pages for i in ids(p)] == everything
    assert [len(p["edges"]) for p in pages] == [1, 2]


def test_forward_only_lists_tell_their_start_and_whether_a_page_precedes(api: Api) -> None:
    # given a landlord with two properties, one of them with two rooms
    landlord = api.caller("LANDLORD")
    props = [_property(landlord) for _ in range(2)]
    for number in ("101", "102"):
        landlord.mutate(
            "addRoom",
            ADD_ROOM,
            {
                "input": {
                    "propertyId": props[0],
                    "number": number,
                    "floor": 1,
                    "areaSqm": 20.0,
                    "monthlyRentFen": 100_000,
                }
            },
        )
    # when the list is read a page of one at a time
    first = page(landlord, PROPERTIES, "myProperties", first=1)
    second = page(
        landlord, PROPERTIES, "myProperties", first=1, after=first["pageInfo"]["endCursor"]
    )
    # then each page's start is its first edge's cursor, and only the second has one before it
    for found in (first, second):
        assert found["pageInfo"]["startCursor"] == found["edges"][0]["cursor"]
        assert found["pageInfo"]["endCursor"] == found["edges"][-1]["cursor"]
    assert (first["pageInfo"]["hasPreviousPage"], first["pageInfo"]["hasNextPage"]) == (False, True)
    assert (second["pageInfo"]["hasPreviousPage"], second["pageInfo"]["hasNextPage"]) == (
        True,
        False,
    )
    # and a list loaded whole (a property's rooms) says the same
    rooms = landlord.data(ROOMS, {"id": props[0]})["node"]["rooms"]
    more = landlord.data(ROOMS, {"id": props[0], "after": rooms["pageInfo"]["endCursor"]})
    later = more["node"]["rooms"]["pageInfo"]
    assert rooms["pageInfo"]["hasPreviousPage"] is False and later["hasPreviousPage"] is True
    assert later["hasNextPage"] is False
    # and an empty page has no cursors
    nothing = landlord.data(ROOMS, {"id": props[1]})["node"]["rooms"]["pageInfo"]
    assert nothing == {
        "hasNextPage": False,
        "hasPreviousPage": False,
        "startCursor": None,
        "endCursor": None,
    }


def test_last_counts_towards_a_requests_cost_as_first_does(api: Api) -> None:
    # given a tenant, and a history whose every item could hold a page of invoices
    t = tenancy(api)
    nested = (
        "query($n: Int) { notifications(last: $n) { edges { node { lease {"
        " invoices(first: 100) { edges { node { payments { id } } } } } } } } }"
    )
    # when it is asked with a large `last`, then it is refused before it runs
    assert t.tenant.errors(nested, {"n": 100}) == ["COST_LIMIT"]
    # and with a small one it runs
    assert "notifications" in t.tenant.data(nested, {"n": 2})


def _property(landlord: Caller) -> str:
    payload = landlord.mutate(
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
    )
    gid: str = payload["property"]["id"]
    return gid
