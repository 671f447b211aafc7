"""Every query the services send is served by one index, by MongoDB's Equality, Sort, Range
rule (app/store/esr.py), on an engine that uses its indexes (issue 25).

The story runs the benchmarked operations and the everyday screens of every role through the
API, on a small world made by the benchmark's own workload (scripts/workload.py); Anju (under
ANJU_ENV=test) keeps one example of each query shape it sends, from requests and background
work alike (GET /test/query-shapes); each is then checked against the declared indexes."""

from __future__ import annotations

import random
from typing import Any

import httpx
from bson import json_util

from app.store.esr import check
from devstack.sim_labels import claim_code
from scripts.workload import DASHBOARD, MY_LEASES, NOTIFICATIONS, SEARCH, _id_number
from scripts.workload import build_workload as build
from tests.conftest import Stack
from tests.rent_support import ROLL, key, month_start, pay, record, tenancy, today
from tests.support import Api, Caller, eventually, sim_post

# Query shapes that break the rule by design, with the reason. Each is a multi-dimensional
# filter no single index can serve in every combination; its own index serves its lead
# condition and the rest is filtered on the few entries read.
ACCEPTED = {
    # the listing search: one index per sort, or per place; further rent, area, date and
    # location ranges, and the text match, are filtered on the live listings that index reads
    "listings",
    # the police register: the look-up key's index (ID number hash, phone, name prefix,
    # property, place); the officer's scope and `current` are filtered on its entries
    "occupants:register",
}
REGISTER_KEYS = {"id_number_hash", "phone", "name", "property_id", "place.town"}

RESIDENTS = """query($f: ResidentFilter!) { residents(filter: $f, reason: "案 2026-001",
  first: 20) { totalCount edges { node { name idNumber room { number } } } } }"""
STATS = """query($s: StatsScope) { populationStats(scope: $s) { properties rooms occupiedRooms
  residents byKind { kind properties rooms } } }"""
ALARMS = """query($s: AlarmStatus) { alarms(status: $s, first: 20) {
  edges { node { id status raisedAt } } } }"""
UNREAD = "{ notifications(unreadOnly: true, first: 20) { edges { node { id } } } }"
FIGURES = "{ alarmResponseFigures(days: 30) { town community alarms } }"
ACCESS = """query($f: AccessEventFilter!) { accessEvents(filter: $f, reason: "案 2026-001",
  first: 20) { edges { node { id at method } } } }"""
WINDOW = {"from": "2026-06-01T00:00:00Z", "to": "2027-05-31T00:00:00Z"}
AUDIT = "{ auditLog(first: 20) { edges { node { action } } } }"
ACCOUNTS = """query($role: Role) { accounts(role: $role, first: 20) { totalCount
  edges { node { id } } } }"""
OPEN_DOOR = """mutation($i: OpenDoorInput!) { openDoor(input: $i) {
  command { status } userErrors { code } } }"""

SEARCHES: list[dict[str, Any]] = [
    {"f": {"community": "松门村", "minRentFen": 50000, "maxRentFen": 300000}, "s": "RENT_ASC"},
    {"f": {"town": "松门镇"}, "s": "NEWEST"},
    {"f": {}, "s": "NEWEST"},
    {"f": {"near": {"lat": 28.35, "lng": 121.6, "radiusKm": 10}}, "s": "DISTANCE"},
    {"f": {"text": "单间"}, "s": "NEWEST"},
]


def shapes(http: httpx.Client, base: str) -> list[dict[str, Any]]:
    response = http.get(f"{base}/test/query-shapes")
    response.raise_for_status()
    found: list[dict[str, Any]] = json_util.loads(response.text)
    return found


def accepted(shape: dict[str, Any]) -> bool:
    if shape["collection"] in ACCEPTED:
        return True
    fields = set(shape.get("filter") or {})
    return (
        shape["collection"] == "occupants"
        and bool(fields & REGISTER_KEYS)
        and ("current" in fields or "place.town" in fields)
    )


def test_every_query_the_services_send_is_served_by_one_index_in_esr_order(
    api: Api, http: httpx.Client, stack: Stack
) -> None:
    # given a world made through the API (landlords, rooms, doors, listings, accepted leases)
    http.delete(f"{api.base_url}/test/query-shapes").raise_for_status()
    work = build(api.base_url, api.sim_url, landlords=2, rooms=4)
    landlord = Caller(api, work.landlords[0])
    tenant = Caller(api, work.tenants[0])
    # when the apps' and the back office's screens are used
    for variables in SEARCHES:
        page = api.anonymous().data(SEARCH, variables)["listings"]
        if page["pageInfo"]["hasNextPage"]:
            api.anonymous().data(SEARCH, {**variables, "after": page["pageInfo"]["endCursor"]})
    landlord.data(DASHBOARD)
    tenant.data(MY_LEASES)
    tenant.data(NOTIFICATIONS)
    landlord.data(NOTIFICATIONS)
    token, door = work.doors[1]
    assert Caller(api, token).data(OPEN_DOOR, {"i": {"doorId": door}})["openDoor"]["command"]
    landlord.data(ACCESS, {"f": {"doorId": door, **WINDOW}})
    t = tenancy(api)
    pay(t.tenant, t.upcoming()["id"], 1000, key())
    record(t.landlord, t.upcoming()["id"], 2000, key())
    t.landlord.data(ROLL, {"month": month_start(today(), 0).isoformat()[:7]})
    police = api.caller("POLICE")
    for f in (
        {"idNumber": _id_number(1)},
        {"name": "租客"},
        {"phone": "13600000001"},
        {"town": "松门镇"},
        {"town": "松门镇", "community": "松门村"},
    ):
        police.data(RESIDENTS, {"f": f})
    police.data(STATS, {"s": {"town": "松门镇"}})
    police.data(STATS, {})
    police.data(ACCESS, {"f": {"doorId": door, **WINDOW}})
    police.data(ACCESS, {"f": {"idNumber": _id_number(1), **WINDOW}})
    sim_post(http, api.sim_url, f"/sim/smoke/{_detector(landlord, http, api.sim_url)}/alarm")
    responder = api.caller("RESPONDER")
    town_responder = api.provisioned("RESPONDER", scope={"town": "松门镇"})
    town_police = api.provisioned("POLICE", scope={"town": "松门镇", "community": "松门村"})
    eventually(lambda: landlord.data(ALARMS)["alarms"]["edges"], within=30)
    town_police.data(RESIDENTS, {"f": {"name": "租客"}})
    town_police.data(STATS, {})
    for caller in (landlord, responder, police, town_responder, town_police):
        caller.data(ALARMS)
        caller.data(ALARMS, {"s": "ACTIVE"})
    tenant.data(UNREAD)
    responder.data(FIGURES)
    admin = api.admin()
    admin.data(AUDIT)
    admin.data(ACCOUNTS, {"role": "TENANT"})
    # then every query shape sent meets the rule (or is one of the accepted, with reason)
    sent = shapes(http, api.base_url)
    assert len(sent) > 80, len(sent)
    failures = []
    for shape in sent:
        verdict = check(shape["collection"], shape["filter"], shape["sort"])
        if not verdict.ok and not accepted(shape):
            failures.append(
                f"{shape['command']} {shape['collection']} {shape['filter']} "
                f"sort={shape['sort']}: {verdict.index}: {verdict.problems}"
            )
    assert failures == [], "\n".join(failures)


def _detector(landlord: Caller, http: httpx.Client, sim_url: str) -> str:
    """A smoke detector in a room of the landlord's first property, for the alarm."""
    mine = """{ myProperties(first: 1) { edges { node { id
      rooms(first: 1) { edges { node { id } } } } } } }"""
    prop = landlord.data(mine)["myProperties"]["edges"][0]["node"]
    property_id, room_id = prop["id"], prop["rooms"]["edges"][0]["node"]["id"]
    device = f"smoke-shapes-{random.randrange(10**6)}"
    landlord.mutate(
        "registerDevice",
        """mutation($i: RegisterDeviceInput!) { registerDevice(input: $i) {
          userErrors { code } } }""",
        {
            "i": {
                "kind": "SMOKE_DETECTOR",
                "deviceId": device,
                "claimCode": claim_code(http, sim_url, device),
                "name": "烟感",
                "propertyId": property_id,
                "roomId": room_id,
            }
        },
    )
    return device
