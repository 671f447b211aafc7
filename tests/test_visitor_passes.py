"""Real-name visitor passes (issue 19): a PIN code on a room's doors and the entrance for a
window, sent to the visitor, revocable (also while the gateway is down), ended with the
tenant's lease; one card per person and the police register kept intact."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from app.ids import encode_id
from devstack.sim_sms import messages
from tests.conftest import Stack
from tests.door_support import raw_id
from tests.lease_support import END_LEASE, make_home, person, start_lease
from tests.pass_support import (
    ISSUE_PASS,
    PASS,
    PASSES,
    REVOKE_PASS,
    door_codes,
    issue_pass,
    keypad,
    pass_input,
    revoke_pass,
)
from tests.support import Api, Caller, eventually, sim_post
from tests.test_races import together

NODE = f"query($id: ID!) {{ node(id: $id) {{ ... on VisitorPass {{ {PASS} }} }} }}"
NOTES = """{ notifications(first: 20) { edges { node { kind body
  visitorPass { id visitorName code } } } } }"""
LOG = """query($f: AccessEventFilter!, $reason: String) {
  accessEvents(filter: $f, reason: $reason, first: 50) { edges { node {
    method granted door { deviceId } visitorPass { id visitorName } } } } }"""
AUDIT = "{ auditLog(first: 100) { edges { node { action reason target } } } }"


@pytest.fixture
def home(api: Api) -> Any:
    return make_home(api.caller("LANDLORD"))


@pytest.fixture
def tenant(api: Api, home: Any) -> Caller:
    tenant = api.caller("TENANT")
    start_lease(home.landlord, home.room, tenant, occupants=[person(phone=tenant.phone)])
    return tenant


def window(days: float = 1) -> dict[str, str]:
    now = dt.datetime.now(dt.UTC)
    return {
        "from": (now - dt.timedelta(days=days)).isoformat(),
        "to": (now + dt.timedelta(days=days)).isoformat(),
    }


def test_a_pass_opens_its_rooms_doors_in_its_window_and_reaches_the_visitor_by_sms(
    api: Api, home: Any, tenant: Caller, http: httpx.Client, stack: Any
) -> None:
    # when the tenant lets a friend in for two hours
    issued = issue_pass(tenant, home.room, purpose="来吃饭")

    # then the code is on the room's door and the entrance, not on the other room's door
    code_id = raw_id(issued["id"])
    for device in (home.room_door, home.entrance):
        assert door_codes(http, stack.sim_url, device)[code_id]["code"] == issued["code"]
    assert door_codes(http, stack.sim_url, home.other_door) == {}
    assert issued["syncedAtGateway"] is True
    assert len(issued["code"]) == 6 and issued["code"].isdigit()
    assert issued["visitorIdNumberMasked"].count("*") == 8
    # the visitor has it by SMS, with the address and the window, and nothing more
    phone = issued["given"]["visitorPhone"]
    sms = eventually(lambda: messages(http, stack.sim_url, phone))
    [message] = sms
    assert message["template"] == "visitor_pass"
    assert set(message["params"]) == {"code", "from", "until", "address"}
    assert message["params"]["code"] == issued["code"]
    assert "东海路18号 101" in message["params"]["address"]
    assert issued["given"]["visitorIdNumber"] not in str(message)

    # when the visitor types it at the entrance and the room's door, it opens both
    assert keypad(http, stack.sim_url, home.entrance, issued["code"]) is True
    assert keypad(http, stack.sim_url, home.room_door, issued["code"]) is True
    assert keypad(http, stack.sim_url, home.other_door, issued["code"]) is False
    # and the tenant sees their visitor's entries, linked to the pass
    entries = [e["node"] for e in tenant.data(LOG, {"f": window()})["accessEvents"]["edges"]]
    assert sorted(e["door"]["deviceId"] for e in entries if e["method"] == "CODE") == sorted(
        [home.entrance, home.room_door]
    )
    assert {e["visitorPass"]["id"] for e in entries if e["method"] == "CODE"} == {issued["id"]}


def test_a_pass_does_not_open_before_or_after_its_window(
    api: Api, home: Any, http: httpx.Client, stack: Any
) -> None:
    # given a repair visit tomorrow
    now = dt.datetime.now(dt.UTC)
    later = issue_pass(
        home.landlord,
        home.room,
        validFrom=(now + dt.timedelta(hours=20)).isoformat(),
        validUntil=(now + dt.timedelta(hours=22)).isoformat(),
    )
    # then today its code does not open
    assert keypad(http, stack.sim_url, home.entrance, later["code"]) is False

    # given a visit that ended two hours ago (issued while Anju's clock read three hours
    # earlier, so that its window is in the past by the door's clock)
    api.move_clock(-3 * 3600)
    then = now - dt.timedelta(hours=3)
    past = issue_pass(
        home.landlord,
        home.room,
        validFrom=then.isoformat(),
        validUntil=(then + dt.timedelta(hours=1)).isoformat(),
    )
    api.move_clock(0)
    # then its code is on the door but no longer opens it
    assert past["syncedAtGateway"] is True
    assert keypad(http, stack.sim_url, home.entrance, past["code"]) is False


def test_a_revoked_pass_stops_opening_even_when_the_gateway_was_down_at_the_time(
    api: Api, home: Any, tenant: Caller, http: httpx.Client, stack: Any
) -> None:
    # given a pass whose code opens the door
    issued = issue_pass(tenant, home.room)
    assert keypad(http, stack.sim_url, home.room_door, issued["code"]) is True

    # when the tenant revokes it while the gateway is down
    sim_post(http, stack.sim_url, "/sim/gateway/offline")
    revoked = revoke_pass(tenant, issued["id"])

    # then it is revoked at once in Anju, not yet at the doors (which Anju cannot reach)
    assert revoked["revokedAt"] is not None
    assert revoked["syncedAtGateway"] is False
    assert keypad(http, stack.sim_url, home.room_door, issued["code"]) is True
    # and once the gateway is back, the doors lose the code without anyone asking again
    sim_post(http, stack.sim_url, "/sim/gateway/online")
    assert eventually(lambda: door_codes(http, stack.sim_url, home.room_door) == {})
    assert eventually(lambda: door_codes(http, stack.sim_url, home.entrance) == {})
    assert keypad(http, stack.sim_url, home.room_door, issued["code"]) is False
    assert keypad(http, stack.sim_url, home.entrance, issued["code"]) is False
    node = eventually(lambda: tenant.data(NODE, {"id": issued["id"]})["node"]["syncedAtGateway"])
    assert node is True
    # revoking again changes nothing
    assert revoke_pass(tenant, issued["id"])["revokedAt"] == revoked["revokedAt"]


def test_a_tenants_passes_end_with_the_lease_the_landlords_do_not(
    api: Api, home: Any, http: httpx.Client, stack: Any
) -> None:
    # given a tenant's pass and the landlord's repair pass to the same room
    tenant = api.caller("TENANT")
    lease = start_lease(home.landlord, home.room, tenant, occupants=[person(phone=tenant.phone)])
    guest = issue_pass(tenant, home.room)
    repair = issue_pass(home.landlord, home.room, hours=48)

    # when the lease ends
    today = dt.datetime.now(dt.UTC).date().isoformat()
    home.landlord.mutate(
        "endLease", END_LEASE, {"input": {"leaseId": lease["id"], "moveOutDate": today}}
    )

    # then the tenant's visitor is out, the landlord's worker still in
    assert keypad(http, stack.sim_url, home.room_door, guest["code"]) is False
    assert keypad(http, stack.sim_url, home.entrance, guest["code"]) is False
    assert keypad(http, stack.sim_url, home.room_door, repair["code"]) is True
    passes = home.landlord.data(PASSES, {"active": False})["visitorPasses"]["edges"]
    assert [p["node"]["id"] for p in passes] == [repair["id"]]
    # and the former tenant sees no pass of the room any more, nor revokes one
    assert tenant.data(PASSES, {"active": False})["visitorPasses"]["edges"] == []
    assert tenant.data(NODE, {"id": guest["id"]})["node"] is not None  # they issued it
    assert tenant.data(NODE, {"id": repair["id"]})["node"] is None
    assert tenant.refused(
        "revokeVisitorPass", REVOKE_PASS, {"input": {"passId": repair["id"]}}
    ) == ["NOT_FOUND"]


def refused(caller: Caller, given: dict[str, Any]) -> list[tuple[str, str]]:
    payload = caller.data(ISSUE_PASS, {"input": given})["issueVisitorPass"]
    assert payload["pass"] is None
    return [(e["field"][-1], e["code"]) for e in payload["userErrors"]]


def test_a_pass_is_checked_like_a_registration_and_bounded_like_its_issuer(
    api: Api, home: Any, tenant: Caller
) -> None:
    now = dt.datetime.now(dt.UTC)

    def at(hours: float) -> str:
        return (now + dt.timedelta(hours=hours)).isoformat()

    # one error per field
    bad = pass_input(home.room, visitorName=" ", visitorPhone="12345", visitorIdNumber="1234")
    assert refused(tenant, bad) == [
        ("visitorName", "REQUIRED"),
        ("visitorPhone", "INVALID_PHONE"),
        ("visitorIdNumber", "INVALID_ID_NUMBER"),
    ]
    # windows: backwards, too long for a tenant (24 h) or a landlord (7 days), too far ahead
    assert refused(tenant, pass_input(home.room, validUntil=at(-1))) == [
        ("validUntil", "INVALID_DATE_RANGE")
    ]
    assert refused(tenant, pass_input(home.room, validUntil=at(25))) == [
        ("validUntil", "OUT_OF_RANGE")
    ]
    assert issue_pass(home.landlord, home.room, hours=24 * 7)["id"]
    assert refused(home.landlord, pass_input(home.room, validUntil=at(24 * 7 + 1))) == [
        ("validUntil", "OUT_OF_RANGE")
    ]
    ahead = pass_input(home.room, validFrom=at(24 * 31), validUntil=at(24 * 31 + 1))
    assert refused(home.landlord, ahead) == [("validFrom", "OUT_OF_RANGE")]
    # one live pass per person and room
    first = issue_pass(tenant, home.room)
    again = pass_input(home.room, visitorIdNumber=first["given"]["visitorIdNumber"])
    assert refused(tenant, again) == [("visitorIdNumber", "DUPLICATE")]
    # a repair request that does not exist
    request = encode_id("MaintenanceRequest", "6" * 24)
    unknown = pass_input(home.room, maintenanceRequestId=request)
    assert refused(home.landlord, unknown) == [("maintenanceRequestId", "NOT_FOUND")]


def test_no_pass_for_someone_living_in_the_room_or_beyond_the_tenants_lease(
    api: Api, home: Any
) -> None:
    # given a lease ending tomorrow, with a registered occupant
    tenant = api.caller("TENANT")
    last_day = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
    resident = person(phone=tenant.phone)
    start_lease(
        home.landlord,
        home.room,
        tenant,
        occupants=[resident],
        endDate=last_day.isoformat(),
    )
    # then the occupant gets no pass to the room (they hold a card)
    given = pass_input(home.room, visitorIdNumber=resident["idNumber"])
    assert refused(tenant, given) == [("visitorIdNumber", "ALREADY_REGISTERED")]
    assert refused(home.landlord, given) == [("visitorIdNumber", "ALREADY_REGISTERED")]
    # and the tenant's pass ends with their lease at the latest (the midnight, UTC, after
    # its last day)
    midnight = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(), dt.UTC)
    late = pass_input(
        home.room,
        validFrom=(midnight - dt.timedelta(minutes=30)).isoformat(),
        validUntil=(midnight + dt.timedelta(minutes=1)).isoformat(),
    )
    assert refused(tenant, late) == [("validUntil", "OUT_OF_RANGE")]
    # (the landlord's own access has no such end)
    assert home.landlord.mutate("issueVisitorPass", ISSUE_PASS, {"input": late})["pass"]


def test_who_sees_which_pass(
    api: Api, home: Any, tenant: Caller, http: httpx.Client, stack: Any
) -> None:
    # given the tenant's guest and the landlord's repair worker for the tenant's room
    guest = issue_pass(tenant, home.room)
    repair = issue_pass(home.landlord, home.room, purpose="换门锁")

    # then the landlord sees their own pass only: a tenant's visitors are the tenant's
    landlord_passes = home.landlord.data(PASSES, {})["visitorPasses"]["edges"]
    assert [p["node"]["id"] for p in landlord_passes] == [repair["id"]]
    assert home.landlord.data(NODE, {"id": guest["id"]})["node"] is None
    # the tenant sees both; the code only of their own
    seen = {p["node"]["id"]: p["node"] for p in tenant.data(PASSES, {})["visitorPasses"]["edges"]}
    assert set(seen) == {guest["id"], repair["id"]}
    assert seen[guest["id"]]["code"] == guest["code"]
    assert seen[repair["id"]]["code"] is None
    # and was told of the landlord's pass at once
    notes = [e["node"] for e in tenant.data(NOTES)["notifications"]["edges"]]
    [told] = [n for n in notes if n["kind"] == "VISITOR_PASS"]
    assert told["visitorPass"] == {"id": repair["id"], "visitorName": "李师傅", "code": None}
    assert "换门锁" in told["body"]
    # another tenant and another landlord see nothing, and revoke nothing
    for stranger in (api.caller("TENANT"), api.caller("LANDLORD")):
        assert stranger.data(NODE, {"id": guest["id"]})["node"] is None
        assert stranger.data(PASSES, {})["visitorPasses"]["edges"] == []
        assert stranger.refused(
            "revokeVisitorPass", REVOKE_PASS, {"input": {"passId": guest["id"]}}
        ) == ["NOT_FOUND"]
        assert stranger.errors(PASSES, {"roomId": home.room}) == ["NOT_FOUND"]
        assert stranger.refused(
            "issueVisitorPass", ISSUE_PASS, {"input": pass_input(home.room)}
        ) == ["NOT_FOUND"]
    # the landlord may not revoke the tenant's guest
    assert home.landlord.refused(
        "revokeVisitorPass", REVOKE_PASS, {"input": {"passId": guest["id"]}}
    ) == ["NOT_FOUND"]

    # when the tenant revokes the landlord's pass to their room, the landlord is told
    assert revoke_pass(tenant, repair["id"])["revokedAt"] is not None
    notes = [e["node"] for e in home.landlord.data(NOTES)["notifications"]["edges"]]
    assert [n["visitorPass"]["id"] for n in notes if n["kind"] == "VISITOR_PASS"] == [repair["id"]]
    assert keypad(http, stack.sim_url, home.entrance, repair["code"]) is False


def test_police_find_a_visitor_and_their_entries_by_id_number(
    api: Api, home: Any, tenant: Caller, http: httpx.Client, stack: Any
) -> None:
    # given a visitor who came in with a tenant's pass
    issued = issue_pass(tenant, home.room)
    number = issued["given"]["visitorIdNumber"]
    assert keypad(http, stack.sim_url, home.entrance, issued["code"]) is True
    police = api.caller("POLICE")

    # when the police look them up, with a reason
    found = police.data(PASSES, {"idNumber": number, "reason": "协查 12号"})["visitorPasses"]
    entries = police.data(LOG, {"f": {**window(), "idNumber": number}, "reason": "协查 12号"})

    # then they see the pass with the full ID number, and the entry
    [node] = [e["node"] for e in found["edges"]]
    assert node["visitorIdNumberMasked"] == number
    assert node["code"] is None
    [entry] = [e["node"] for e in entries["accessEvents"]["edges"]]
    assert entry["method"] == "CODE" and entry["door"]["deviceId"] == home.entrance
    assert entry["visitorPass"]["id"] == issued["id"]
    # every live pass in their scope is in the register; ended ones need a filter
    live = police.data(PASSES, {"reason": "走访"})["visitorPasses"]["edges"]
    assert [e["node"]["id"] for e in live] == [issued["id"]]
    assert police.errors(PASSES, {"reason": "走访", "active": False}) == ["REQUIRED"]
    # without a reason: refused; and each look-up is audited, refused ones too
    assert police.errors(PASSES, {"idNumber": number}) == ["REASON_REQUIRED"]
    audit = [e["node"] for e in api.admin().data(AUDIT)["auditLog"]["edges"]]
    looked = [a for a in audit if a["action"] == "police.visitorPasses"]
    assert len(looked) == 4
    assert {a["reason"] for a in looked} >= {"协查 12号", "走访"}
    assert all(number not in str(a) for a in audit)
    # an officer of another town sees nothing of it
    elsewhere = api.caller("POLICE", scope={"town": "石塘镇"})
    assert elsewhere.data(PASSES, {"idNumber": number, "reason": "协查"})["visitorPasses"] == {
        "edges": []
    }
    # and tenants may not look visitors up by ID number
    assert tenant.errors(PASSES, {"idNumber": number}) == ["INVALID_ARGUMENT"]


@pytest.mark.parametrize("role", ["POLICE", "RESPONDER", "ADMIN"])
def test_only_tenants_and_landlords_issue_and_revoke(api: Api, home: Any, role: str) -> None:
    caller = api.caller(role)
    assert "FORBIDDEN" in caller.errors(ISSUE_PASS, {"input": pass_input(home.room)})
    assert "FORBIDDEN" in caller.errors(REVOKE_PASS, {"input": {"passId": home.room}})


def test_passes_need_sign_in(api: Api, home: Any) -> None:
    anonymous = api.anonymous()
    assert anonymous.errors(ISSUE_PASS, {"input": pass_input(home.room)}) == ["UNAUTHENTICATED"]
    assert anonymous.errors(PASSES, {}) == ["UNAUTHENTICATED"]


def test_a_code_put_while_the_gateway_answers_garbage_reaches_the_doors_once_it_is_sane(
    api: Api, home: Any, tenant: Caller, http: httpx.Client, stack: Any
) -> None:
    # given a gateway answering garbage
    sim_post(http, stack.sim_url, "/sim/gateway/garbage", {"kind": "truncated"})
    # when the tenant lets a visitor in
    issued = issue_pass(tenant, home.room)
    # then the pass is issued, its code not yet at the doors
    assert issued["syncedAtGateway"] is False
    assert door_codes(http, stack.sim_url, home.entrance) == {}
    # and once the gateway is sane, it gets there without anyone asking again
    sim_post(http, stack.sim_url, "/sim/gateway/sane")
    assert eventually(lambda: door_codes(http, stack.sim_url, home.entrance))
    assert keypad(http, stack.sim_url, home.entrance, issued["code"]) is True
    assert eventually(lambda: tenant.data(NODE, {"id": issued["id"]})["node"]["syncedAtGateway"])


def test_passes_issued_at_once_get_distinct_codes_and_one_per_person(
    api: Api, home: Any, stack: Stack
) -> None:
    # when the landlord issues six passes to the building at once, and one person's twice
    token = home.landlord.token
    others = [pass_input(home.room) for _ in range(6)]
    twice = pass_input(home.other_room)
    calls = [(ISSUE_PASS, {"input": given}, token) for given in [*others, twice, twice]]
    answers = [a["issueVisitorPass"] for a in together(stack, calls)]
    # then the six have six different codes (the entrance holds them all), and the person
    # asked for twice has one pass
    codes = [a["pass"]["code"] for a in answers[:6]]
    assert len(set(codes)) == 6
    outcomes = sorted(str([e["code"] for e in a["userErrors"]]) for a in answers[6:])
    assert outcomes == ["['DUPLICATE']", "[]"]
