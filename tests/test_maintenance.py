"""Repair requests (报修) through the API: a tenant reports with photos, the landlord
schedules, works and finishes, the tenant confirms and rates, each step notifying the other
side; who may do what (and who is refused), the responders' view of fire-risk requests, and
the photos' retention once a request is closed."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pymongo import MongoClient

from app.store import Doc
from tests.conftest import Stack
from tests.lease_support import END_LEASE, Home, make_home, start_lease
from tests.photo_support import opened, photo, uploaded
from tests.support import Api, Caller, eventually

REQUEST_FIELDS = """id category description availability status scheduledFor createdAt rating
  ratingComment room { id number } reportedBy { id name phone }
  photos { id url thumbnailUrl width height }
  updates { status note by { id role } }"""
REPORT = f"""mutation($input: ReportMaintenanceInput!) {{ reportMaintenance(input: $input) {{
  request {{ {REQUEST_FIELDS} }} userErrors {{ field message code }} }} }}"""
UPDATE = f"""mutation($input: UpdateMaintenanceInput!) {{ updateMaintenance(input: $input) {{
  request {{ {REQUEST_FIELDS} }} userErrors {{ field message code }} }} }}"""
RATE = f"""mutation($input: RateMaintenanceInput!) {{ rateMaintenance(input: $input) {{
  request {{ {REQUEST_FIELDS} }} userErrors {{ field message code }} }} }}"""
QUEUE = f"""query($status: MaintenanceStatus) {{ maintenanceRequests(status: $status) {{
  totalCount edges {{ node {{ {REQUEST_FIELDS} }} }} }} }}"""
NODE = f"query($id: ID!) {{ node(id: $id) {{ ... on MaintenanceRequest {{ {REQUEST_FIELDS} }} }} }}"
NOTES = """{ notifications(first: 20) { edges { node { kind title body
  maintenanceRequest { id status } } } } }"""


def later(hours: int = 26) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours)).isoformat()


def codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


def report(tenant: Caller, room: str, **over: Any) -> dict[str, Any]:
    given = {"roomId": room, "category": "PLUMBING", "description": "卫生间水管漏水", **over}
    payload: dict[str, Any] = tenant.data(REPORT, {"input": given})["reportMaintenance"]
    return payload


def move(caller: Caller, request: str, status: str, **over: Any) -> dict[str, Any]:
    given = {"requestId": request, "status": status, **over}
    payload: dict[str, Any] = caller.data(UPDATE, {"input": given})["updateMaintenance"]
    return payload


def repair_notes(caller: Caller) -> list[dict[str, Any]]:
    edges = caller.data(NOTES)["notifications"]["edges"]
    return [e["node"] for e in edges if e["node"]["kind"] == "MAINTENANCE_UPDATED"]


@pytest.fixture
def home(api: Api) -> Home:
    return make_home(api.caller("LANDLORD"), doors=False)


@pytest.fixture
def tenant(api: Api, home: Home) -> Caller:
    tenant = api.caller("TENANT", name="张伟")
    start_lease(home.landlord, home.room, tenant)
    return tenant


# --- the story ---------------------------------------------------------------------------------


def test_a_repair_from_report_to_rating(api: Api, home: Home, tenant: Caller) -> None:
    landlord = home.landlord
    # given the tenant's two photos of the leak
    shots = [
        uploaded(tenant, photo(gps=True), purpose="MAINTENANCE_PHOTO"),
        uploaded(tenant, photo(fmt="PNG"), "image/png", purpose="MAINTENANCE_PHOTO"),
    ]
    # when the tenant reports it
    payload = report(
        tenant, home.room, photoUploadIds=shots, availability="工作日晚上七点后 after 7 pm"
    )
    assert payload["userErrors"] == []
    request = payload["request"]
    # then it is open, with its photos (without their GPS) and the tenant as reporter
    assert request["status"] == "OPEN" and request["room"]["id"] == home.room
    assert request["reportedBy"]["id"] == tenant.account["id"]
    assert len(request["photos"]) == 2
    assert opened(api.client.get(request["photos"][0]["url"]).content).getexif() == {}
    # and the landlord is told, and sees it in their queue
    [note] = repair_notes(landlord)
    assert note["maintenanceRequest"]["id"] == request["id"]
    assert "卫生间" not in note["body"]  # the tenant's words stay in the request
    queue = landlord.data(QUEUE, {"status": "OPEN"})["maintenanceRequests"]
    assert [e["node"]["id"] for e in queue["edges"]] == [request["id"]]
    assert queue["edges"][0]["node"]["availability"] == "工作日晚上七点后 after 7 pm"

    # when the landlord schedules it, then the tenant is told when
    when = later()
    scheduled = move(landlord, request["id"], "SCHEDULED", scheduledFor=when, note="师傅明晚来")
    assert scheduled["userErrors"] == []
    assert scheduled["request"]["status"] == "SCHEDULED"
    assert scheduled["request"]["scheduledFor"].startswith(when[:16])
    [told] = repair_notes(tenant)
    assert told["maintenanceRequest"]["status"] == "SCHEDULED" and "师傅明晚来" in told["body"]
    # when the work starts and ends, the tenant hears of each step
    assert move(landlord, request["id"], "IN_PROGRESS")["userErrors"] == []
    assert move(landlord, request["id"], "DONE", note="换了新水管")["userErrors"] == []
    assert len(repair_notes(tenant)) == 3
    # when the tenant rates it, then it is confirmed and the landlord hears of it
    rated = tenant.data(
        RATE, {"input": {"requestId": request["id"], "rating": 5, "comment": "很快 谢谢"}}
    )["rateMaintenance"]
    assert rated["userErrors"] == []
    done = rated["request"]
    assert (done["status"], done["rating"], done["ratingComment"]) == ("CONFIRMED", 5, "很快 谢谢")
    assert [u["status"] for u in done["updates"]] == [
        "OPEN",
        "SCHEDULED",
        "IN_PROGRESS",
        "DONE",
        "CONFIRMED",
    ]
    assert [u["by"]["role"] for u in done["updates"]] == [
        "TENANT",
        "LANDLORD",
        "LANDLORD",
        "LANDLORD",
        "TENANT",
    ]
    assert "5/5" in repair_notes(landlord)[0]["body"]
    # and it is rated once
    again = tenant.data(RATE, {"input": {"requestId": request["id"], "rating": 1}})
    assert codes(again["rateMaintenance"]) == ["ALREADY_RATED"]
    # and the tenant's own list has it
    mine = tenant.data(QUEUE)["maintenanceRequests"]
    assert mine["totalCount"] == 1 and mine["edges"][0]["node"]["status"] == "CONFIRMED"


def test_the_tenant_confirms_cancels_or_reopens(api: Api, home: Home, tenant: Caller) -> None:
    landlord = home.landlord
    request = report(tenant, home.room)["request"]["id"]
    # the tenant cannot confirm what is not done, nor schedule it
    assert codes(move(tenant, request, "CONFIRMED")) == ["INVALID_TRANSITION"]
    assert codes(move(tenant, request, "SCHEDULED", scheduledFor=later())) == ["INVALID_TRANSITION"]
    # the landlord says it is done; the tenant says it is not fixed: back in the queue
    move(landlord, request, "DONE")
    reopened = move(tenant, request, "OPEN", note="还在漏")
    assert reopened["request"]["status"] == "OPEN"
    assert "reopened" in repair_notes(landlord)[0]["body"]
    # the tenant cancels before the work starts
    assert move(tenant, request, "CANCELLED")["request"]["status"] == "CANCELLED"
    # and nobody moves a cancelled request
    assert codes(move(landlord, request, "SCHEDULED", scheduledFor=later())) == [
        "INVALID_TRANSITION"
    ]
    # the tenant cannot cancel work under way
    second = report(tenant, home.room, category="APPLIANCE")["request"]["id"]
    move(landlord, second, "IN_PROGRESS")
    assert codes(move(tenant, second, "CANCELLED")) == ["INVALID_TRANSITION"]
    # rating needs the work done
    rating = tenant.data(RATE, {"input": {"requestId": second, "rating": 4}})["rateMaintenance"]
    assert codes(rating) == ["INVALID_TRANSITION"]


@pytest.mark.parametrize(
    ("status", "over", "code", "field"),
    [
        ("SCHEDULED", {}, "REQUIRED", "scheduledFor"),
        ("SCHEDULED", {"scheduledFor": "2020-01-01T00:00:00Z"}, "OUT_OF_RANGE", "scheduledFor"),
        ("DONE", {"scheduledFor": "2030-01-01T00:00:00Z"}, "INVALID_ARGUMENT", "scheduledFor"),
        ("CANCELLED", {}, "REQUIRED", "note"),
        ("CONFIRMED", {}, "INVALID_TRANSITION", "status"),
        ("DONE", {"note": "长" * 501}, "TOO_LONG", "note"),
    ],
)
def test_landlord_update_validation(
    api: Api, home: Home, tenant: Caller, status: str, over: dict[str, Any], code: str, field: str
) -> None:
    request = report(tenant, home.room)["request"]["id"]
    payload = move(home.landlord, request, status, **over)
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [(code, ["input", field])]


@pytest.mark.parametrize(
    ("over", "code", "field"),
    [
        ({"description": "  "}, "REQUIRED", ["input", "description"]),
        ({"description": "长" * 1001}, "TOO_LONG", ["input", "description"]),
        ({"availability": "长" * 201}, "TOO_LONG", ["input", "availability"]),
        ({"roomId": "nope"}, "INVALID_ID", ["input", "roomId"]),
    ],
)
def test_report_validation(
    api: Api, home: Home, tenant: Caller, over: dict[str, Any], code: str, field: list[str]
) -> None:
    payload = report(tenant, home.room, **over)
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [(code, field)]


def test_report_photos_are_checked_each(api: Api, home: Home, tenant: Caller) -> None:
    good = uploaded(tenant, photo(), purpose="MAINTENANCE_PHOTO")
    bad = uploaded(tenant, b"not a photo at all" * 20, purpose="MAINTENANCE_PHOTO")
    payload = report(tenant, home.room, photoUploadIds=[good, bad])
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("NOT_AN_IMAGE", ["input", "photoUploadIds", "1"])
    ]
    assert tenant.data(QUEUE)["maintenanceRequests"]["totalCount"] == 0
    # the good one was stored and then discarded with the refused report: it is used up
    ten = [uploaded(tenant, photo(), purpose="MAINTENANCE_PHOTO") for _ in range(10)]
    assert codes(report(tenant, home.room, photoUploadIds=ten)) == ["TOO_MANY_PHOTOS"]


# --- who may -------------------------------------------------------------------------------------


def test_only_the_rooms_tenant_reports_and_only_the_parties_see_it(
    api: Api, home: Home, tenant: Caller
) -> None:
    request = report(tenant, home.room)["request"]["id"]
    # another tenant, another landlord: not found, as if missing
    stranger, other_landlord = api.caller("TENANT"), api.caller("LANDLORD")
    assert codes(report(stranger, home.room)) == ["NOT_FOUND"]
    assert codes(report(tenant, home.other_room)) == ["NOT_FOUND"]
    assert codes(move(stranger, request, "CANCELLED")) == ["NOT_FOUND"]
    assert codes(move(other_landlord, request, "DONE")) == ["NOT_FOUND"]
    rating = stranger.data(RATE, {"input": {"requestId": request, "rating": 5}})
    assert codes(rating["rateMaintenance"]) == ["NOT_FOUND"]
    for caller in (stranger, other_landlord, api.caller("POLICE"), api.anonymous()):
        assert caller.post(NODE, {"id": request})["data"]["node"] is None
        if caller.token and caller.account["role"] != "POLICE":
            assert caller.data(QUEUE)["maintenanceRequests"]["totalCount"] == 0
    # roles that may not act are refused outright
    for role in ("LANDLORD", "POLICE", "RESPONDER", "ADMIN"):
        assert "FORBIDDEN" in api.caller(role).errors(
            REPORT, {"input": {"roomId": home.room, "category": "OTHER", "description": "x"}}
        )
    for role in ("POLICE", "RESPONDER", "ADMIN"):
        assert "FORBIDDEN" in api.caller(role).errors(
            UPDATE, {"input": {"requestId": request, "status": "DONE"}}
        )
    assert "FORBIDDEN" in home.landlord.errors(RATE, {"input": {"requestId": request, "rating": 5}})
    for role in ("POLICE", "ADMIN"):
        assert "FORBIDDEN" in api.caller(role).errors(QUEUE)
    assert "UNAUTHENTICATED" in api.anonymous().errors(QUEUE)


def test_a_former_tenant_reports_no_more(api: Api, home: Home, tenant: Caller) -> None:
    lease = home.landlord.data(
        "query($id: ID!) { node(id: $id) { ... on Room { activeLease { id } } } }",
        {"id": home.room},
    )["node"]["activeLease"]["id"]
    home.landlord.mutate(
        "endLease",
        END_LEASE,
        {"input": {"leaseId": lease, "moveOutDate": dt.date.today().isoformat()}},
    )
    assert codes(report(tenant, home.room)) == ["NOT_FOUND"]


def test_responders_see_fire_risk_requests_of_their_area(
    api: Api, home: Home, tenant: Caller
) -> None:
    # given a wiring problem and a leak in 松门村
    wiring = report(
        tenant, home.room, category="ELECTRICAL", description="插座冒烟", availability="晚上"
    )["request"]["id"]
    report(tenant, home.room)
    near = api.provisioned("RESPONDER", scope={"town": "松门镇", "community": "松门村"})
    far = api.provisioned("RESPONDER", scope={"town": "泽国镇"})
    # then the responder of the area sees the wiring one only, without who or when
    seen = near.data(QUEUE)["maintenanceRequests"]
    assert [e["node"]["id"] for e in seen["edges"]] == [wiring]
    node = seen["edges"][0]["node"]
    assert node["availability"] is None
    assert node["reportedBy"]["phone"] == "*" * 11 and node["reportedBy"]["name"] == "张*"
    assert near.data(NODE, {"id": wiring})["node"]["id"] == wiring
    # and another town's sees nothing
    assert far.data(QUEUE)["maintenanceRequests"]["totalCount"] == 0
    assert far.data(NODE, {"id": wiring})["node"] is None
    # and the responder cannot move it
    assert "FORBIDDEN" in near.errors(UPDATE, {"input": {"requestId": wiring, "status": "DONE"}})


# --- photos kept for a while ------------------------------------------------------------------


def test_a_closed_requests_photos_go_after_the_retention(
    api: Api, home: Home, tenant: Caller, stack: Stack, mongo: MongoClient[Doc]
) -> None:
    # given a request with a photo, done and confirmed
    shot = uploaded(tenant, photo(), purpose="MAINTENANCE_PHOTO")
    request = report(tenant, home.room, photoUploadIds=[shot])["request"]
    move(home.landlord, request["id"], "DONE")
    move(tenant, request["id"], "CONFIRMED")
    url = request["photos"][0]["url"]
    assert api.client.get(url).status_code == 200
    # when a year and a day have passed (ANJU_MAINTENANCE_PHOTO_RETENTION_DAYS=365)
    api.move_clock(366 * 24 * 3600)
    assert tenant.phone and tenant.password
    tenant = api.log_in(tenant.phone, tenant.password)  # its session ended long ago

    # then the janitor removes the photo from the request and the storage; the text stays
    def photos_now() -> list[Any]:
        node = tenant.data(NODE, {"id": request["id"]})["node"]
        assert node["description"] == "卫生间水管漏水"
        return list(node["photos"])

    assert eventually(lambda: photos_now() == [], within=30)
    assert mongo[stack.db_name].photos.count_documents({}) == 0
    assert api.client.get(url).status_code == 404


# --- demo data ---------------------------------------------------------------------------------


def test_demo_photos_and_repairs_load_through_the_api_idempotently(api: Api, stack: Stack) -> None:
    from app.settings import load_settings
    from devstack import demo, demo_photos

    # given the demo accounts, properties, doors and leases
    client = demo.DemoClient(stack.anju_url, stack.sim_url)
    try:
        tokens = demo._ensure_accounts(client, load_settings(stack.env))
        places = demo.ensure_demo_properties(client, tokens)
        demo._ensure_devices(client, tokens)
        demo.ensure_demo_leases(client, tokens)
        # when the photos and repairs are loaded twice
        photos = [demo_photos.ensure_demo_photos(client, places) for _ in range(2)]
        repairs = [demo_photos.ensure_demo_repairs(client, tokens, places) for _ in range(2)]
    finally:
        client.http.close()
    # then every room got two pictures once, and three requests were reported once
    rooms = sum(len(p.rooms) for p in places.values())
    assert photos == [2 * rooms, 0] and repairs == [3, 0]
    # and the listings show them to anyone
    listings = api.anonymous().data(
        "{ listings(first: 20) { edges { node { amenities photos { thumbnailUrl } } } } }"
    )["listings"]["edges"]
    assert listings and all(len(e["node"]["photos"]) == 2 for e in listings)
    assert all(e["node"]["amenities"] for e in listings)
    assert api.client.get(listings[0]["node"]["photos"][0]["thumbnailUrl"]).status_code == 200
    # and the demo responder sees the two fire-risk requests of 松门村
    responder = api.log_in("13900000031", demo.DEMO_PASSWORD)
    seen = responder.data(QUEUE)["maintenanceRequests"]
    assert sorted(e["node"]["category"] for e in seen["edges"]) == ["ELECTRICAL", "FIRE_SAFETY"]
