"""Leases through GraphQL and the simulator: starting (cards on the doors, invoices, the room
and its listing), extending, ending, who may do what, and the cards at the gateway after each
step, including while the gateway is down."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest
from pymongo import MongoClient

from app.store import Doc
from tests.conftest import Stack
from tests.lease_support import (
    END_LEASE,
    EXTEND_LEASE,
    LEASE_NODE,
    MY_LEASES,
    PUBLISH,
    ROOM_LEASE,
    START_LEASE,
    add_door,
    card_numbers,
    door_cards,
    lease_input,
    make_home,
    person,
    start_lease,
    today,
)
from tests.support import ACCEPT_LEASE, Api, Caller, eventually, sim_post

AUDIT = "{ auditLog(first: 100) { edges { node { action target } } } }"
OTHER_ROLES = ["TENANT", "POLICE", "RESPONDER", "ADMIN"]


def midnight(day: dt.date) -> str:
    return f"{day.isoformat()}T00:00:00"


def fen(rent: int, days: int, month_days: int) -> int:
    """The proration rule by hand: rent x days / days in the month, to the fen, half up."""
    exact = Decimal(rent) * days / month_days
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def invoices(lease: dict[str, Any]) -> list[dict[str, Any]]:
    """The lease's rent invoices (the deposit's aside)."""
    return [e["node"] for e in lease["invoices"]["edges"] if e["node"]["kind"] == "RENT"]


# --- starting -----------------------------------------------------------------------------------


def test_start_lease_registers_everyone_and_puts_their_cards_on_the_doors(
    api: Api, stack: Stack, http: httpx.Client
) -> None:
    # given a landlord's room with a published listing, its door, an entrance, another room's
    # door, and a tenant
    landlord, tenant = api.caller("LANDLORD"), api.caller("TENANT", name="张伟")
    home = make_home(landlord)
    listing = landlord.mutate(
        "publishListing",
        PUBLISH,
        {
            "input": {
                "roomId": home.room,
                "title": "朝南单间",
                "description": "拎包入住",
                "availableFrom": today().isoformat(),
            }
        },
    )["listing"]
    # when the landlord starts a lease for the tenant and one more occupant
    start, end = today(), today() + dt.timedelta(days=200)
    lease = start_lease(
        landlord,
        home.room,
        tenant,
        occupants=[person("张伟", tenant.phone or ""), person("李娜", "13987654321")],
    )
    # then the lease is active with what was given
    assert lease["status"] == "ACTIVE"
    assert (lease["startDate"], lease["endDate"]) == (start.isoformat(), end.isoformat())
    assert (lease["monthlyRentFen"], lease["depositFen"], lease["rentDueDay"]) == (
        150000,
        300000,
        5,
    )
    assert lease["tenant"]["phone"] == tenant.phone
    assert lease["room"] == {"id": home.room, "status": "OCCUPIED"}
    assert lease["cardsPending"] == 0
    # and each occupant has their own card, valid from the first day to the end of the last
    people = lease["occupants"]
    assert [o["name"] for o in people] == ["张伟", "李娜"]
    numbers = card_numbers(lease)
    assert len(numbers) == 2
    for occupant in people:
        card = occupant["card"]
        assert len(card["cardNumber"]) == 16 and card["cardNumber"].isdigit()
        assert card["validFrom"].startswith(midnight(start))
        assert card["validUntil"].startswith(midnight(end + dt.timedelta(days=1)))
        assert card["revokedAt"] is None and card["syncedAtGateway"] is True
        assert occupant["leftAt"] is None and occupant["room"]["id"] == home.room
    # and the room's door and the entrance hold both cards at the gateway, the other room's not
    for device in (home.room_door, home.entrance):
        held = door_cards(http, stack.sim_url, device)
        assert set(held) == numbers
        for card in held.values():
            assert card["validFrom"].startswith(midnight(start))
            assert card["validUntil"].startswith(midnight(end + dt.timedelta(days=1)))
    assert door_cards(http, stack.sim_url, home.other_door, every=True) == {}
    # and the listing is down, the room occupied, and the lease is the room's active lease
    room = landlord.data(ROOM_LEASE, {"id": home.room})["node"]
    assert room["status"] == "OCCUPIED" and room["listing"] is None
    assert room["activeLease"] == {"id": lease["id"], "status": "ACTIVE"}
    assert listing["live"] is True
    # and the start is in the audit log
    audit = [e["node"] for e in api.admin().data(AUDIT)["auditLog"]["edges"]]
    assert any(e["action"] == "lease.start" for e in audit)


def test_invoices_one_per_month_first_and_last_prorated(api: Api) -> None:
    # given a lease from 20 January to 10 March of next year at 1,000.00 yuan, due on the 25th
    landlord, tenant = api.caller("LANDLORD"), api.caller("TENANT")
    home = make_home(landlord, doors=False)
    year = today().year + 1
    lease = start_lease(
        landlord,
        home.room,
        tenant,
        startDate=f"{year}-01-20",
        endDate=f"{year}-03-10",
        monthlyRentFen=100000,
        rentDueDay=25,
    )
    # then there is one invoice per calendar month, the first and last prorated by days
    # (12/31 of the rent is 38,709.68 fen -> 38,710; 10/31 is 32,258.06 -> 32,258)
    assert [
        (i["periodStart"], i["periodEnd"], i["dueDate"], i["amountFen"], i["paidFen"], i["status"])
        for i in invoices(lease)
    ] == [
        (f"{year}-01-20", f"{year}-01-31", f"{year}-01-25", 38710, 0, "OPEN"),
        (f"{year}-02-01", f"{year}-02-{28 + (year % 4 == 0)}", f"{year}-02-25", 100000, 0, "OPEN"),
        (f"{year}-03-01", f"{year}-03-10", f"{year}-03-10", 32258, 0, "OPEN"),
    ]
    assert [fen(100000, 12, 31), fen(100000, 10, 31)] == [38710, 32258]
    assert lease["invoices"]["totalCount"] == 3 + 1  # and the deposit's, due on the start date
    (deposit,) = [e["node"] for e in lease["invoices"]["edges"] if e["node"]["kind"] == "DEPOSIT"]
    assert (deposit["dueDate"], deposit["amountFen"]) == (f"{year}-01-20", 300000)


def test_a_lease_starting_after_the_due_day_is_due_on_its_first_day(api: Api) -> None:
    # given a lease from the 17th of next January to the 16th of April, 1,234.56 yuan, due the 5th
    landlord, tenant = api.caller("LANDLORD"), api.caller("TENANT")
    home = make_home(landlord, doors=False)
    year = today().year + 1
    lease = start_lease(
        landlord,
        home.room,
        tenant,
        startDate=f"{year}-01-17",
        endDate=f"{year}-04-16",
        monthlyRentFen=123456,
        rentDueDay=5,
    )
    # then January (15 of 31 days) is due on the 17th, the full months on the 5th, and April
    # (16 of 30 days) on the 5th
    rows = [(i["dueDate"], i["amountFen"]) for i in invoices(lease)]
    assert rows == [
        (f"{year}-01-17", fen(123456, 15, 31)),
        (f"{year}-02-05", 123456),
        (f"{year}-03-05", 123456),
        (f"{year}-04-05", fen(123456, 16, 30)),
    ]
    assert fen(123456, 15, 31) == 59737  # 59,736.77
    assert fen(123456, 16, 30) == 65843  # 65,843.20


def test_a_second_lease_on_an_occupied_room_is_refused(api: Api) -> None:
    # given a room under lease
    landlord = api.caller("LANDLORD")
    home = make_home(landlord, doors=False)
    start_lease(landlord, home.room, api.caller("TENANT"))
    # when another lease is started on it
    codes = landlord.refused(
        "startLease", START_LEASE, {"input": lease_input(home.room, api.caller("TENANT"))}
    )
    # then it is refused
    assert codes == ["ROOM_OCCUPIED"]


def test_two_concurrent_leases_on_one_room_make_one_lease(
    api: Api, mongo: MongoClient[Doc], stack: Stack
) -> None:
    # given a vacant room and four tenants with different occupants
    landlord = api.caller("LANDLORD")
    home = make_home(landlord, doors=False)
    tenants = [api.caller("TENANT") for _ in range(4)]
    inputs = [lease_input(home.room, t) for t in tenants]
    results: dict[int, dict[str, Any]] = {}
    barrier = threading.Barrier(len(inputs))

    def attempt(i: int) -> None:
        barrier.wait()
        results[i] = landlord.data(START_LEASE, {"input": inputs[i]})["startLease"]

    # when their leases are started at the same moment
    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then exactly one lease exists, the others are ROOM_OCCUPIED
    won = [i for i, r in results.items() if r["lease"]]
    assert len(won) == 1
    lost = [i for i in results if i not in won]
    assert (
        sorted(e["code"] for i in lost for e in results[i]["userErrors"]) == ["ROOM_OCCUPIED"] * 3
    )
    db = mongo[stack.db_name]
    assert db.leases.count_documents({}) == 1
    assert db.occupants.count_documents({}) == 1
    assert db.occupants.count_documents({"current": True}) == 1
    room = landlord.data(ROOM_LEASE, {"id": home.room})["node"]
    assert room["status"] == "OCCUPIED"
    assert room["activeLease"]["id"] == results[won[0]]["lease"]["id"]
    # and the losers' occupants are free to be registered elsewhere
    start_lease(landlord, home.other_room, tenants[lost[0]], occupants=inputs[lost[0]]["occupants"])


def test_concurrent_ends_and_extensions_leave_one_consistent_lease(
    api: Api, stack: Stack, http: httpx.Client
) -> None:
    # given a lease of two occupants with their cards on the doors
    landlord, tenant = api.caller("LANDLORD"), api.caller("TENANT")
    home = make_home(landlord)
    lease = start_lease(landlord, home.room, tenant, occupants=[person(), person("李娜")])
    later = (dt.date.fromisoformat(lease["endDate"]) + dt.timedelta(days=90)).isoformat()
    calls = [
        (END_LEASE, "endLease", {"leaseId": lease["id"], "moveOutDate": today().isoformat()}),
        (EXTEND_LEASE, "extendLease", {"leaseId": lease["id"], "newEndDate": later}),
    ] * 3
    results: list[tuple[str, dict[str, Any]]] = []
    barrier = threading.Barrier(len(calls))

    def call(query: str, name: str, given: dict[str, Any]) -> None:
        barrier.wait()
        results.append((name, landlord.data(query, {"input": given})[name]))

    # when it is ended three times and extended three times, all at once
    threads = [threading.Thread(target=call, args=c) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then it ended once; the other calls were refused or came before the end
    ends = [r for n, r in results if n == "endLease"]
    assert sum(r["lease"] is not None for r in ends) == 1
    refused = {e["code"] for _, r in results for e in r["userErrors"]}
    assert refused <= {"LEASE_NOT_ACTIVE", "BUSY", "INVALID_DATE_RANGE"}
    final = landlord.data(LEASE_NODE, {"id": lease["id"]})["node"]
    assert final["status"] == "ENDED" and final["cardsPending"] == 0
    assert all(o["leftAt"] and o["card"]["revokedAt"] for o in final["occupants"])
    assert all(
        i["status"] == "VOID" for i in invoices(final) if i["periodStart"] > today().isoformat()
    )
    # and the room, the counters and the doors agree
    assert landlord.data(ROOM_LEASE, {"id": home.room})["node"]["status"] == "VACANT"
    stats = api.caller("POLICE").data("{ populationStats { occupiedRooms residents } }")
    assert stats["populationStats"] == {"occupiedRooms": 0, "residents": 0}
    for device in (home.room_door, home.entrance):
        assert door_cards(http, stack.sim_url, device, every=True) == {}


def test_a_refused_lease_gives_the_room_back(api: Api) -> None:
    # given a person living in room A
    landlord = api.caller("LANDLORD")
    home = make_home(landlord, doors=False)
    someone = person("王强", "13911112222")
    start_lease(landlord, home.room, api.caller("TENANT"), occupants=[someone])
    # when a lease of room B lists them again (with a new person first)
    tenant = api.caller("TENANT")
    given = lease_input(home.other_room, tenant, occupants=[person("赵敏"), someone])
    payload = landlord.data(START_LEASE, {"input": given})["startLease"]
    # then it is refused at that occupant, and room B is still vacant
    assert payload["lease"] is None
    assert payload["userErrors"][0]["code"] == "ALREADY_REGISTERED"
    assert payload["userErrors"][0]["field"] == ["input", "occupants", "1", "idNumber"]
    room = landlord.data(ROOM_LEASE, {"id": home.other_room})["node"]
    assert room["status"] == "VACANT" and room["activeLease"] is None
    # and without them the lease starts (the new person was not left registered)
    start_lease(landlord, home.other_room, tenant, occupants=[given["occupants"][0]])


@pytest.mark.parametrize(
    ("over", "code", "field"),
    [
        ({"tenantPhone": "12345"}, "INVALID_PHONE", ["input", "tenantPhone"]),
        ({"endDate": today().isoformat()}, "INVALID_DATE_RANGE", ["input", "endDate"]),
        (
            {"startDate": (today() - dt.timedelta(days=400)).isoformat()},
            "INVALID_DATE_RANGE",
            ["input", "startDate"],
        ),
        (
            {"endDate": (today() + dt.timedelta(days=11 * 366)).isoformat()},
            "INVALID_DATE_RANGE",
            ["input", "endDate"],
        ),
        ({"rentDueDay": 0}, "OUT_OF_RANGE", ["input", "rentDueDay"]),
        ({"rentDueDay": 29}, "OUT_OF_RANGE", ["input", "rentDueDay"]),
        ({"monthlyRentFen": 0}, "OUT_OF_RANGE", ["input", "monthlyRentFen"]),
        ({"depositFen": -1}, "OUT_OF_RANGE", ["input", "depositFen"]),
        ({"occupants": []}, "OUT_OF_RANGE", ["input", "occupants"]),
        ({"occupants": [person() for _ in range(11)]}, "OUT_OF_RANGE", ["input", "occupants"]),
        (
            {"occupants": [person(name=" ")]},
            "REQUIRED",
            ["input", "occupants", "0", "name"],
        ),
        (
            {"occupants": [person(phone="555")]},
            "INVALID_PHONE",
            ["input", "occupants", "0", "phone"],
        ),
        (
            {"occupants": [person(number="331081199001011234")]},
            "INVALID_ID_NUMBER",
            ["input", "occupants", "0", "idNumber"],
        ),
    ],
)
def test_start_lease_input_is_checked(
    api: Api, over: dict[str, Any], code: str, field: list[str]
) -> None:
    # given a landlord's vacant room and a tenant
    landlord, tenant = api.caller("LANDLORD"), api.caller("TENANT")
    home = make_home(landlord, doors=False)
    # when a lease is started with one thing wrong
    payload = landlord.data(START_LEASE, {"input": lease_input(home.room, tenant, **over)})
    # then that is refused at its field, and the room stays vacant
    errors = payload["startLease"]["userErrors"]
    assert [(e["code"], e["field"]) for e in errors] == [(code, field)]
    assert landlord.data(ROOM_LEASE, {"id": home.room})["node"]["status"] == "VACANT"


def test_the_same_person_twice_in_one_lease_is_refused(api: Api) -> None:
    landlord, tenant = api.caller("LANDLORD"), api.caller("TENANT")
    home = make_home(landlord, doors=False)
    twice = person()
    codes = landlord.refused(
        "startLease",
        START_LEASE,
        {"input": lease_input(home.room, tenant, occupants=[twice, {**twice, "name": "又一个"}])},
    )
    assert codes == ["DUPLICATE"]


def test_a_landlord_is_not_a_tenant(api: Api) -> None:
    # given a landlord's phone given as the tenant's
    landlord = api.caller("LANDLORD")
    home = make_home(landlord, doors=False)
    given = lease_input(home.room, api.caller("TENANT"), tenantPhone=landlord.phone)
    # then the lease goes out as an invitation, which no landlord account can accept
    lease = landlord.mutate("startLease", START_LEASE, {"input": given})["lease"]
    assert landlord.errors(ACCEPT_LEASE, {"input": {"leaseId": lease["id"]}}) == ["FORBIDDEN"]


def test_another_landlords_room_is_not_found(api: Api) -> None:
    home = make_home(api.caller("LANDLORD"), doors=False)
    stranger = api.caller("LANDLORD")
    given = lease_input(home.room, api.caller("TENANT"))
    assert stranger.refused("startLease", START_LEASE, {"input": given}) == ["NOT_FOUND"]
    bad = {**given, "roomId": "not-an-id"}
    assert stranger.refused("startLease", START_LEASE, {"input": bad}) == ["INVALID_ID"]


@pytest.mark.parametrize("role", OTHER_ROLES)
def test_only_landlords_start_extend_and_end_leases(api: Api, role: str) -> None:
    # given a landlord's lease and a caller of another role
    landlord, tenant = api.caller("LANDLORD"), api.caller("TENANT")
    home = make_home(landlord, doors=False)
    lease = start_lease(landlord, home.room, tenant)
    caller = tenant if role == "TENANT" else api.caller(role)
    later = (today() + dt.timedelta(days=400)).isoformat()
    # then each mutation is forbidden, and nothing changes
    for query, given in (
        (START_LEASE, lease_input(home.other_room, tenant)),
        (EXTEND_LEASE, {"leaseId": lease["id"], "newEndDate": later}),
        (END_LEASE, {"leaseId": lease["id"], "moveOutDate": today().isoformat()}),
    ):
        assert caller.errors(query, {"input": given}) == ["FORBIDDEN"]
    assert landlord.data(LEASE_NODE, {"id": lease["id"]})["node"]["status"] == "ACTIVE"


def test_anonymous_callers_must_sign_in(api: Api) -> None:
    landlord, tenant = api.caller("LANDLORD"), api.caller("TENANT")
    home = make_home(landlord, doors=False)
    lease = start_lease(landlord, home.room, tenant)
    anonymous = api.anonymous()
    assert anonymous.errors(START_LEASE, {"input": lease_input(home.other_room, tenant)}) == [
        "UNAUTHENTICATED"
    ]
    assert anonymous.errors(
        END_LEASE, {"input": {"leaseId": lease["id"], "moveOutDate": today().isoformat()}}
    ) == ["UNAUTHENTICATED"]
    assert anonymous.errors(
        EXTEND_LEASE, {"input": {"leaseId": lease["id"], "newEndDate": "2099-01-01"}}
    ) == ["UNAUTHENTICATED"]
    assert anonymous.errors(MY_LEASES) == ["UNAUTHENTICATED"]
    assert anonymous.data(LEASE_NODE, {"id": lease["id"]})["node"] is None


# --- who sees a lease -------------------------------------------------------------------------


def test_the_tenant_sees_their_leases_newest_first_and_nobody_elses(api: Api) -> None:
    # given a tenant with two leases (in two rooms) and another tenant with one
    landlord, tenant, other = api.caller("LANDLORD"), api.caller("TENANT"), api.caller("TENANT")
    home = make_home(landlord, doors=False)
    first = start_lease(landlord, home.room, tenant)
    second = start_lease(landlord, home.other_room, tenant, occupants=[person()])
    # then myLeases lists theirs, newest first
    assert [x["id"] for x in tenant.data(MY_LEASES)["myLeases"]] == [second["id"], first["id"]]
    assert other.data(MY_LEASES)["myLeases"] == []
    # and the tenant reads the lease and the room's active lease, the other tenant does not
    node = tenant.data(LEASE_NODE, {"id": first["id"]})["node"]
    assert node["id"] == first["id"] and node["occupants"][0]["idNumberMasked"]
    assert tenant.data(ROOM_LEASE, {"id": home.room})["node"] is None  # rooms: landlord only
    room_of_lease = """query($id: ID!) { node(id: $id) { ... on Lease {
      room { id activeLease { id } } } } }"""
    seen = tenant.data(room_of_lease, {"id": first["id"]})["node"]["room"]
    assert seen == {"id": home.room, "activeLease": {"id": first["id"]}}
    assert other.data(LEASE_NODE, {"id": first["id"]})["node"] is None
    # and neither another landlord nor the police (for now) see it
    assert api.caller("LANDLORD").data(LEASE_NODE, {"id": first["id"]})["node"] is None
    assert api.caller("POLICE").data(LEASE_NODE, {"id": first["id"]})["node"] is None
    # and the invoices are the landlord's and the tenant's only
    invoice = invoices(node)[0]["id"]
    invoice_node = "query($id: ID!) { node(id: $id) { ... on Invoice { id lease { id } } } }"
    assert tenant.data(invoice_node, {"id": invoice})["node"]["lease"]["id"] == first["id"]
    assert landlord.data(invoice_node, {"id": invoice})["node"]["id"] == invoice
    assert other.data(invoice_node, {"id": invoice})["node"] is None


@pytest.mark.parametrize("role", ["LANDLORD", "POLICE", "RESPONDER", "ADMIN"])
def test_my_leases_is_for_tenants(api: Api, role: str) -> None:
    assert api.caller(role).errors(MY_LEASES) == ["FORBIDDEN"]


def test_invoices_filter_by_status_and_page(api: Api) -> None:
    # given a lease of 7 months from today
    landlord, tenant = api.caller("LANDLORD"), api.caller("TENANT")
    home = make_home(landlord, doors=False)
    lease = start_lease(landlord, home.room, tenant)
    total = lease["invoices"]["totalCount"]
    assert total - 1 == len({i["periodStart"][:7] for i in invoices(lease)}) >= 7  # and a deposit
    # when they are read two at a time
    page = """query($id: ID!, $after: String) { node(id: $id) { ... on Lease {
      invoices(first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor }
        edges { node { periodStart } } } } } }"""
    seen: list[str] = []
    after = None
    while True:
        conn = landlord.data(page, {"id": lease["id"], "after": after})["node"]["invoices"]
        seen += [e["node"]["periodStart"] for e in conn["edges"]]
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    # then every invoice comes once, in order
    assert seen == sorted(seen) and len(seen) == total
    # and by status: none is paid or void, all are open or overdue
    by_status = """query($id: ID!, $s: InvoiceStatus) { node(id: $id) { ... on Lease {
      invoices(status: $s) { totalCount } } } }"""

    def count(status: str) -> int:
        node = landlord.data(by_status, {"id": lease["id"], "s": status})["node"]
        return int(node["invoices"]["totalCount"])

    assert count("PAID") == count("VOID") == count("PARTIALLY_PAID") == 0
    assert count("OPEN") + count("OVERDUE") == total


# --- extending --------------------------------------------------------------------------------


def test_extend_moves_every_live_card_and_bills_the_new_months(
    api: Api, stack: Stack, http: httpx.Client
) -> None:
    # given a lease of two occupants with their cards on the doors
    landlord, tenant = api.caller("LANDLORD"), api.caller("TENANT")
    home = make_home(landlord)
    lease = start_lease(
        landlord, home.room, tenant, occupants=[person(), person("李娜", "13987654321")]
    )
    before = invoices(lease)
    old_end = dt.date.fromisoformat(lease["endDate"])
    # when it is extended by about four months at a new rent
    new_end = old_end + dt.timedelta(days=120)
    extended = landlord.mutate(
        "extendLease",
        EXTEND_LEASE,
        {
            "input": {
                "leaseId": lease["id"],
                "newEndDate": new_end.isoformat(),
                "monthlyRentFen": 160000,
            }
        },
    )["lease"]
    # then the lease ends later at the new rent, and the extension is recorded
    assert extended["endDate"] == new_end.isoformat()
    assert extended["monthlyRentFen"] == 160000
    [ext] = extended["extensions"]
    assert (ext["previousEndDate"], ext["newEndDate"], ext["monthlyRentFen"]) == (
        old_end.isoformat(),
        new_end.isoformat(),
        160000,
    )
    # and each card is valid to the new end, at every door
    until = midnight(new_end + dt.timedelta(days=1))
    assert all(o["card"]["validUntil"].startswith(until) for o in extended["occupants"])
    for device in (home.room_door, home.entrance):
        held = door_cards(http, stack.sim_url, device)
        assert set(held) == card_numbers(lease)
        assert all(c["validUntil"].startswith(until) for c in held.values())
    assert extended["cardsPending"] == 0
    # and the old invoices are unchanged, the new days billed at the new rent by month
    after = invoices(extended)
    assert after[: len(before)] == before
    new = after[len(before) :]
    assert new[0]["periodStart"] == (old_end + dt.timedelta(days=1)).isoformat()
    assert new[-1]["periodEnd"] == new_end.isoformat()
    for inv in new:
        first, last = (
            dt.date.fromisoformat(inv["periodStart"]),
            dt.date.fromisoformat(inv["periodEnd"]),
        )
        month_days = (
            (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
        ).day
        assert inv["amountFen"] == fen(160000, (last - first).days + 1, month_days)
    days = sum(
        (dt.date.fromisoformat(i["periodEnd"]) - dt.date.fromisoformat(i["periodStart"])).days + 1
        for i in new
    )
    assert days == 120


def test_extend_is_checked(api: Api) -> None:
    landlord, tenant = api.caller("LANDLORD"), api.caller("TENANT")
    home = make_home(landlord, doors=False)
    lease = start_lease(landlord, home.room, tenant)

    def extend(**given: Any) -> list[str]:
        return landlord.refused(
            "extendLease", EXTEND_LEASE, {"input": {"leaseId": lease["id"], **given}}
        )

    # an earlier or equal end date, a term over ten years, a bad rent
    assert extend(newEndDate=lease["endDate"]) == ["INVALID_DATE_RANGE"]
    assert extend(newEndDate=(today() + dt.timedelta(days=11 * 366)).isoformat()) == [
        "INVALID_DATE_RANGE"
    ]
    later = (today() + dt.timedelta(days=400)).isoformat()
    assert extend(newEndDate=later, monthlyRentFen=-5) == ["OUT_OF_RANGE"]
    # another landlord's lease is not found
    assert api.caller("LANDLORD").refused(
        "extendLease", EXTEND_LEASE, {"input": {"leaseId": lease["id"], "newEndDate": later}}
    ) == ["NOT_FOUND"]
    # an ended lease cannot be extended
    landlord.mutate(
        "endLease",
        END_LEASE,
        {"input": {"leaseId": lease["id"], "moveOutDate": today().isoformat()}},
    )
    assert extend(newEndDate=later) == ["LEASE_NOT_ACTIVE"]


# --- ending -----------------------------------------------------------------------------------


def test_end_lease_revokes_every_card_and_frees_the_room(
    api: Api, stack: Stack, http: httpx.Client
) -> None:
    # given a lease with two occupants whose cards are on the doors
    landlord, tenant = api.caller("LANDLORD"), api.caller("TENANT")
    home = make_home(landlord)
    people = [person(), person("李娜", "13987654321")]
    lease = start_lease(landlord, home.room, tenant, occupants=people)
    assert set(door_cards(http, stack.sim_url, home.room_door)) == card_numbers(lease)
    # when the landlord ends it today
    ended = landlord.mutate(
        "endLease",
        END_LEASE,
        {"input": {"leaseId": lease["id"], "moveOutDate": today().isoformat()}},
    )["lease"]
    # then it is ended, everyone has left and every card is revoked, at the gateway too
    assert ended["status"] == "ENDED" and ended["moveOutDate"] == today().isoformat()
    assert all(o["leftAt"] and o["card"]["revokedAt"] for o in ended["occupants"])
    for device in (home.room_door, home.entrance):
        assert door_cards(http, stack.sim_url, device, every=True) == {}
    assert ended["cardsPending"] == 0
    # and the room is vacant with no active lease
    room = landlord.data(ROOM_LEASE, {"id": home.room})["node"]
    assert room["status"] == "VACANT" and room["activeLease"] is None
    assert ended["room"]["status"] == "VACANT"
    # and the current occupants list is empty (the departed are still on record)
    current = """query($id: ID!) { node(id: $id) { ... on Lease { occupants { id } } } }"""
    assert landlord.data(current, {"id": lease["id"]})["node"]["occupants"] == []
    # and it cannot be ended twice
    assert landlord.refused(
        "endLease",
        END_LEASE,
        {"input": {"leaseId": lease["id"], "moveOutDate": today().isoformat()}},
    ) == ["LEASE_NOT_ACTIVE"]
    # and the room can be let again, to the same people
    again = start_lease(landlord, home.room, tenant, occupants=people)
    assert again["status"] == "ACTIVE"
    assert card_numbers(again).isdisjoint(card_numbers(lease))
    audit = [e["node"]["action"] for e in api.admin().data(AUDIT)["auditLog"]["edges"]]
    assert "lease.end" in audit


def test_end_lease_voids_later_invoices_and_reprorates_the_move_out_month(api: Api) -> None:
    # given a lease from the 10th of last month running for a year, at 3,100.00 yuan
    landlord, tenant = api.caller("LANDLORD"), api.caller("TENANT")
    home = make_home(landlord, doors=False)
    start = (today().replace(day=1) - dt.timedelta(days=1)).replace(day=10)
    lease = start_lease(
        landlord,
        home.room,
        tenant,
        startDate=start.isoformat(),
        endDate=(start + dt.timedelta(days=365)).isoformat(),
        monthlyRentFen=310000,
    )
    # when it ends today
    move_out = today()
    ended = landlord.mutate(
        "endLease",
        END_LEASE,
        {"input": {"leaseId": lease["id"], "moveOutDate": move_out.isoformat()}},
    )["lease"]
    rows = invoices(ended)
    # then last month's invoice is as it was, this month's is cut to today and re-prorated,
    # and every later one is void
    assert rows[0] == invoices(lease)[0]
    this_month = rows[1]
    month_days = (
        (move_out.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    ).day
    assert this_month["periodStart"] == move_out.replace(day=1).isoformat()
    assert this_month["periodEnd"] == move_out.isoformat()
    assert this_month["amountFen"] == fen(310000, move_out.day, month_days)
    assert this_month["status"] != "VOID"
    assert len(rows) > 3 and all(r["status"] == "VOID" for r in rows[2:])
    voided = """query($id: ID!) { node(id: $id) { ... on Lease {
      invoices(status: VOID) { totalCount } } } }"""
    assert (
        landlord.data(voided, {"id": lease["id"]})["node"]["invoices"]["totalCount"]
        == len(rows) - 2
    )


def test_end_lease_is_checked(api: Api) -> None:
    landlord, tenant = api.caller("LANDLORD"), api.caller("TENANT")
    home = make_home(landlord, doors=False)
    lease = start_lease(landlord, home.room, tenant)

    def end(day: dt.date, caller: Caller = landlord) -> list[str]:
        return caller.refused(
            "endLease",
            END_LEASE,
            {"input": {"leaseId": lease["id"], "moveOutDate": day.isoformat()}},
        )

    # before the start, after today (the lease has started), another landlord's
    assert end(today() - dt.timedelta(days=1)) == ["INVALID_DATE_RANGE"]
    assert end(today() + dt.timedelta(days=1)) == ["INVALID_DATE_RANGE"]
    assert end(today(), api.caller("LANDLORD")) == ["NOT_FOUND"]
    assert landlord.data(LEASE_NODE, {"id": lease["id"]})["node"]["status"] == "ACTIVE"


def test_a_lease_not_started_yet_can_be_cancelled_from_its_start(
    api: Api, stack: Stack, http: httpx.Client
) -> None:
    # given a lease starting in ten days (its cards are at the gateway, not valid yet)
    landlord, tenant = api.caller("LANDLORD"), api.caller("TENANT")
    home = make_home(landlord)
    start = today() + dt.timedelta(days=10)
    lease = start_lease(
        landlord,
        home.room,
        tenant,
        startDate=start.isoformat(),
        endDate=(start + dt.timedelta(days=90)).isoformat(),
    )
    assert door_cards(http, stack.sim_url, home.room_door) == {}
    assert set(door_cards(http, stack.sim_url, home.room_door, every=True)) == card_numbers(lease)
    # when it is ended on its first day
    ended = landlord.mutate(
        "endLease", END_LEASE, {"input": {"leaseId": lease["id"], "moveOutDate": start.isoformat()}}
    )["lease"]
    # then the cards are gone and one day is billed
    assert door_cards(http, stack.sim_url, home.room_door, every=True) == {}
    live = [i for i in invoices(ended) if i["status"] != "VOID"]
    assert [(i["periodStart"], i["periodEnd"]) for i in live] == [
        (start.isoformat(), start.isoformat())
    ]


# --- the gateway down or slow -----------------------------------------------------------------


def test_a_lease_ended_while_the_gateway_is_down_is_revoked_there_when_it_is_back(
    api: Api, stack: Stack, http: httpx.Client
) -> None:
    # given a lease whose cards are on the doors
    landlord, tenant = api.caller("LANDLORD"), api.caller("TENANT")
    home = make_home(landlord)
    lease = start_lease(landlord, home.room, tenant)
    numbers = card_numbers(lease)
    assert set(door_cards(http, stack.sim_url, home.entrance)) == numbers
    # when the gateway goes down and the lease is ended
    sim_post(http, stack.sim_url, "/sim/gateway/offline")
    ended = landlord.mutate(
        "endLease",
        END_LEASE,
        {"input": {"leaseId": lease["id"], "moveOutDate": today().isoformat()}},
    )["lease"]
    # then the lease has ended, and it says its cards are still being updated
    assert ended["status"] == "ENDED"
    assert ended["cardsPending"] == 2
    assert [o["card"]["syncedAtGateway"] for o in ended["occupants"]] == [False]
    assert set(door_cards(http, stack.sim_url, home.entrance)) == numbers
    # when the gateway is back, with nobody doing anything
    sim_post(http, stack.sim_url, "/sim/gateway/online")

    # then the cards are revoked at every door
    def revoked() -> bool:
        return all(
            door_cards(http, stack.sim_url, d, every=True) == {}
            for d in (home.room_door, home.entrance)
        )

    assert eventually(revoked)
    pending = """query($id: ID!) { node(id: $id) { ... on Lease { cardsPending } } }"""
    assert eventually(
        lambda: landlord.data(pending, {"id": lease["id"]})["node"]["cardsPending"] == 0
    )


def test_card_jobs_survive_a_restart_of_anju(api: Api, stack: Stack, http: httpx.Client) -> None:
    from devstack.anju import start_anju
    from devstack.procs import stop

    # given a lease ended while the gateway was down (its revocations still pending)
    landlord, tenant = api.caller("LANDLORD"), api.caller("TENANT")
    home = make_home(landlord)
    lease = start_lease(landlord, home.room, tenant)
    sim_post(http, stack.sim_url, "/sim/gateway/offline")
    ended = landlord.mutate(
        "endLease",
        END_LEASE,
        {"input": {"leaseId": lease["id"], "moveOutDate": today().isoformat()}},
    )["lease"]
    assert ended["cardsPending"] == 2
    # when Anju stops, the gateway comes back while it is down, and Anju starts again
    stop(stack.procs["anju"])
    sim_post(http, stack.sim_url, "/sim/gateway/online")
    assert set(door_cards(http, stack.sim_url, home.room_door)) == card_numbers(lease)
    port = int(stack.anju_url.rsplit(":", 1)[1])
    stack.procs["anju"] = start_anju(port, stack.env, log_path=stack.workdir / "anju-restarted.log")
    # then the revocations are applied with nobody asking
    assert eventually(
        lambda: all(
            door_cards(http, stack.sim_url, d, every=True) == {}
            for d in (home.room_door, home.entrance)
        )
    )


def test_cards_issued_while_a_door_is_offline_arrive_when_it_is_back(
    api: Api, stack: Stack, http: httpx.Client
) -> None:
    # given a room door that is offline
    landlord, tenant = api.caller("LANDLORD"), api.caller("TENANT")
    home = make_home(landlord)
    sim_post(http, stack.sim_url, f"/sim/devices/{home.room_door}/offline")
    # when a lease starts
    lease = start_lease(landlord, home.room, tenant)
    # then the entrance has the card, the room door's is pending
    assert set(door_cards(http, stack.sim_url, home.entrance)) == card_numbers(lease)
    assert lease["cardsPending"] == 1
    # and once the door is back online it gets it without anyone acting
    sim_post(http, stack.sim_url, f"/sim/devices/{home.room_door}/online")
    assert eventually(
        lambda: set(door_cards(http, stack.sim_url, home.room_door)) == card_numbers(lease)
    )


def test_a_revocation_is_never_overtaken_by_an_older_card_put(
    api: Api, stack: Stack, http: httpx.Client
) -> None:
    # given a slow room door, and a lease started while the gateway was down (its card put is
    # left to the background worker)
    landlord, tenant = api.caller("LANDLORD"), api.caller("TENANT")
    home = make_home(landlord)
    sim_post(http, stack.sim_url, f"/sim/devices/{home.room_door}/latency", {"seconds": 1.2})
    sim_post(http, stack.sim_url, "/sim/gateway/offline")
    lease = start_lease(landlord, home.room, tenant)
    assert lease["cardsPending"] == 2
    # when the gateway comes back (the worker starts putting the card) and the lease ends at
    # once, its revocation racing the put
    sim_post(http, stack.sim_url, "/sim/gateway/online")
    ended = landlord.mutate(
        "endLease",
        END_LEASE,
        {"input": {"leaseId": lease["id"], "moveOutDate": today().isoformat()}},
    )["lease"]
    assert ended["status"] == "ENDED"
    # then once everything has settled, no door holds the card
    pending = """query($id: ID!) { node(id: $id) { ... on Lease { cardsPending } } }"""
    assert eventually(
        lambda: landlord.data(pending, {"id": lease["id"]})["node"]["cardsPending"] == 0
    )
    assert door_cards(http, stack.sim_url, home.room_door, every=True) == {}
    assert door_cards(http, stack.sim_url, home.entrance, every=True) == {}


def test_a_door_registered_later_gets_the_live_cards(
    api: Api, stack: Stack, http: httpx.Client
) -> None:
    # given a lease on a property without doors yet
    landlord, tenant = api.caller("LANDLORD"), api.caller("TENANT")
    home = make_home(landlord, doors=False)
    lease = start_lease(landlord, home.room, tenant, occupants=[person(), person("李娜")])
    other = start_lease(landlord, home.other_room, api.caller("TENANT"))
    # when a door is registered on the room, and an entrance on the property
    room_door = add_door(landlord, home.property_id, home.room)
    entrance = add_door(landlord, home.property_id, None)
    # then the room door gets the room's cards, the entrance every card of the property
    assert eventually(
        lambda: set(door_cards(http, stack.sim_url, room_door)) == card_numbers(lease)
    )
    assert eventually(
        lambda: (
            set(door_cards(http, stack.sim_url, entrance))
            == card_numbers(lease) | card_numbers(other)
        )
    )


# --- demo data --------------------------------------------------------------------------------


def test_demo_leases_load_through_the_api_idempotently(
    api: Api, stack: Stack, http: httpx.Client
) -> None:
    from app.settings import load_settings
    from devstack import demo

    # given the demo accounts, properties and doors
    client = demo.DemoClient(stack.anju_url, stack.sim_url)
    try:
        tokens = demo._ensure_accounts(client, load_settings(stack.env))
        demo.ensure_demo_properties(client, tokens)
        demo._ensure_devices(client, tokens)
        # when the demo leases are loaded twice
        first = demo.ensure_demo_leases(client, tokens)
        second = demo.ensure_demo_leases(client, tokens)
    finally:
        client.http.close()
    # then two leases were started once, and each demo tenant sees theirs with its occupants
    assert (first, second) == (2, 0)
    for phone, people in (("13900000011", 2), ("13900000012", 1)):
        tenant = api.log_in(phone, demo.DEMO_PASSWORD)
        leases = tenant.data(MY_LEASES)["myLeases"]
        assert len(leases) == 1 and leases[0]["status"] == "ACTIVE"
        node = tenant.data(LEASE_NODE, {"id": leases[0]["id"]})["node"]
        assert len(node["occupants"]) == people
        assert node["cardsPending"] == 0


# --- round trips -------------------------------------------------------------------------------

DASHBOARD = """{ myProperties(first: 20) { totalCount edges { node { id name
  rooms(first: 100) { totalCount edges { node { id number status
    activeLease { id endDate cardsPending occupants { name }
      invoices(status: OPEN, first: 3) { totalCount edges { node { id amountFen } } } }
  } } } } } } }"""
MY_LEASES_WITH_INVOICES = """{ myLeases { id status
  invoices(first: 12) { totalCount edges { node { id amountFen paidFen status } } } } }"""


def test_the_dashboard_and_my_leases_cost_the_same_round_trips_for_one_lease_or_many(
    api: Api,
) -> None:
    # given a landlord with one leased room and one with four, each room's tenant
    landlords = []
    tenants: list[Caller] = []
    for leased in (1, 4):
        landlord = api.caller("LANDLORD")
        for _ in range((leased + 1) // 2):
            home = make_home(landlord, doors=False)
            for room in (home.room, home.other_room)[: leased if leased < 2 else 2]:
                tenant = api.caller("TENANT")
                start_lease(landlord, room, tenant)
                tenants.append(tenant)
        landlords.append(landlord)

    def trips(caller: Caller, query: str) -> int:
        body = caller.post(query)
        assert "errors" not in body, body
        return int(body["extensions"]["dbRoundTrips"])

    # then each landlord's dashboard, invoices and occupants of every lease included, costs
    # the same number of round trips
    one, four = (trips(landlord, DASHBOARD) for landlord in landlords)
    assert one == four, (one, four)
    leases = [len(landlord.data(DASHBOARD)["myProperties"]["edges"]) for landlord in landlords]
    assert leases == [1, 2]
    # and so does a tenant's myLeases with the invoices of each lease
    assert len({trips(tenant, MY_LEASES_WITH_INVOICES) for tenant in tenants}) == 1
