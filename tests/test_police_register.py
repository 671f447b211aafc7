"""The real-name register for police: look-ups by ID number, name, phone, property and
place, current and past residents, scopes, and the audit entry of every look-up."""

from __future__ import annotations

from typing import Any

import pytest

from scripts.workload import _id_number
from tests.support import Api, Caller, eventually, next_phone
from tests.test_properties import add_room, create_property

START = """mutation($i: StartLeaseInput!) { startLease(input: $i) {
  lease { id occupants { id name idNumberMasked } } userErrors { field code } } }"""
END = """mutation($i: EndLeaseInput!) { endLease(input: $i) {
  lease { id status } userErrors { field code } } }"""
RESIDENTS = """query($f: ResidentFilter!, $reason: String!, $first: Int, $after: String) {
  residents(filter: $f, reason: $reason, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { name idNumber phone arrivedAt leftAt occupant { id idNumberMasked }
      room { number } property { id name } landlord { id name } } } } }"""
AUDIT = "{ auditLog(first: 50) { edges { node { action reason target account { id } } } } }"

SONGMEN = {"town": "松门镇", "community": "松门村", "grid": "网格1"}
ZEGUO = {"town": "泽国镇", "community": "泽国村", "grid": "网格2"}


def _lease(
    api: Api,
    landlord: Caller,
    place: dict[str, str],
    people: list[tuple[str, str]],
    number: str = "101",
) -> tuple[dict[str, Any], dict[str, Any]]:
    prop = create_property(landlord, place=place, name=f"{place['community']}公寓")
    room = add_room(landlord, prop["id"], number)
    tenant = api.sign_up("TENANT")
    occupants = [
        {"name": name, "idNumber": idn, "phone": tenant.phone if i == 0 else next_phone()}
        for i, (name, idn) in enumerate(people)
    ]
    lease = landlord.mutate(
        "startLease",
        START,
        {
            "i": {
                "roomId": room["id"],
                "tenantPhone": tenant.phone,
                "startDate": "2026-11-01",
                "endDate": "2027-10-31",
                "monthlyRentFen": 120000,
                "depositFen": 120000,
                "rentDueDay": 5,
                "occupants": occupants,
            }
        },
    )["lease"]
    return prop, lease


def _search(officer: Caller, reason: str = "案件 2026-118", **f: Any) -> dict[str, Any]:
    data: dict[str, Any] = officer.data(RESIDENTS, {"f": f, "reason": reason})["residents"]
    return data


def test_police_find_a_person_by_id_number_with_the_full_number(api: Api) -> None:
    # given two households in two towns
    landlord = api.caller("LANDLORD")
    wang, li, zhao = _id_number(1), _id_number(2), _id_number(3)
    prop, _ = _lease(api, landlord, SONGMEN, [("王小明", wang), ("李华", li)])
    _lease(api, landlord, ZEGUO, [("赵强", zhao)], "201")
    officer = api.provisioned("POLICE")
    # when police look up one ID number
    found = _search(officer, idNumber=wang)
    # then exactly that person, with the full number, the room and the landlord
    assert found["totalCount"] == 1
    person = found["edges"][0]["node"]
    assert person["name"] == "王小明"
    assert person["idNumber"] == wang
    assert person["occupant"]["idNumberMasked"] == wang[:6] + "********" + wang[-4:]
    assert person["room"]["number"] == "101"
    assert person["property"]["id"] == prop["id"]
    assert person["landlord"]["id"] == landlord.account["id"]
    # and by lower-case x, by name prefix, phone, property and place
    assert _search(officer, name="李华")["totalCount"] == 1
    assert _search(officer, phone=person["phone"])["totalCount"] == 1
    assert _search(officer, propertyId=prop["id"])["totalCount"] == 2
    assert _search(officer, town="松门镇")["totalCount"] == 2
    assert _search(officer, town="泽国镇", community="泽国村")["totalCount"] == 1
    assert _search(officer, idNumber=_id_number(99))["totalCount"] == 0


def test_past_residents_on_request(api: Api) -> None:
    landlord = api.caller("LANDLORD")
    idn = _id_number(5)
    _, lease = _lease(api, landlord, SONGMEN, [("孙丽", idn)])
    landlord.mutate("endLease", END, {"i": {"leaseId": lease["id"], "moveOutDate": "2026-11-20"}})
    officer = api.provisioned("POLICE")
    assert _search(officer, idNumber=idn)["totalCount"] == 0
    past = _search(officer, idNumber=idn, currentOnly=False)
    assert past["totalCount"] == 1
    assert past["edges"][0]["node"]["leftAt"] is not None


def test_a_scoped_officer_sees_only_their_scope(api: Api) -> None:
    landlord = api.caller("LANDLORD")
    _lease(api, landlord, SONGMEN, [("周杰", _id_number(7))])
    _lease(api, landlord, ZEGUO, [("吴敏", _id_number(8))], "202")
    local = api.provisioned("POLICE", scope={"town": "泽国镇"})
    assert _search(local, idNumber=_id_number(7))["totalCount"] == 0
    assert _search(local, town="松门镇")["totalCount"] == 0
    assert _search(local, name="吴敏")["totalCount"] == 1


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({"f": {"idNumber": "123"}, "reason": "案件 1"}, "INVALID_ID_NUMBER"),
        ({"f": {"name": "王"}, "reason": "  "}, "REASON_REQUIRED"),
        ({"f": {}, "reason": "案件 1"}, "REQUIRED"),
        ({"f": {"phone": "12"}, "reason": "案件 1"}, "INVALID_PHONE"),
        ({"f": {"propertyId": "nope"}, "reason": "案件 1"}, "INVALID_ID"),
    ],
)
def test_bad_look_ups_are_refused_and_audited(api: Api, variables: dict, code: str) -> None:
    officer = api.provisioned("POLICE")
    assert officer.errors(RESIDENTS, variables) == [code]
    entries = [e["node"] for e in api.admin().data(AUDIT)["auditLog"]["edges"]]
    assert entries[0]["action"] == "police.residents"
    assert entries[0]["account"]["id"] == officer.account["id"]


def test_every_look_up_is_audited_with_its_reason(api: Api) -> None:
    landlord = api.caller("LANDLORD")
    idn = _id_number(11)
    _lease(api, landlord, SONGMEN, [("郑凯", idn)])
    officer = api.provisioned("POLICE")
    _search(officer, reason="协查通报 88号", idNumber=idn)
    entry = api.admin().data(AUDIT)["auditLog"]["edges"][0]["node"]
    assert entry["action"] == "police.residents"
    assert entry["reason"] == "协查通报 88号"
    assert entry["target"] == idn[:6] + "********" + idn[-4:]  # never the whole number
    assert entry["account"]["id"] == officer.account["id"]


@pytest.mark.parametrize("role", ["LANDLORD", "TENANT", "RESPONDER", "ADMIN"])
def test_only_police_read_the_register(api: Api, role: str) -> None:
    caller = api.caller(role)
    assert caller.errors(RESIDENTS, {"f": {"name": "王"}, "reason": "x"}) == ["FORBIDDEN"]


def test_the_register_needs_sign_in(api: Api) -> None:
    assert api.anonymous().errors(RESIDENTS, {"f": {"name": "王"}, "reason": "x"}) == [
        "UNAUTHENTICATED"
    ]


EVENTS = """query($f: AccessEventFilter!, $reason: String) {
  accessEvents(filter: $f, reason: $reason, first: 20) {
    edges { node { method granted cardNumber door { deviceId } occupant { name } } } } }"""
CARDS = """query($id: ID!) {
  node(id: $id) { ... on Lease { occupants { name card { cardNumber } } } } }"""


def test_police_follow_a_persons_cards_through_doors(api: Api, http: Any, stack: Any) -> None:
    from tests.test_properties import register as register_device

    # given a resident whose card is swiped at their building's entrance
    landlord = api.caller("LANDLORD")
    idn = _id_number(21)
    prop, lease = _lease(api, landlord, SONGMEN, [("冯伟", idn)])
    register_device(landlord, "DOOR", "door-police-1", prop["id"])
    card = landlord.data(CARDS, {"id": lease["id"]})["node"]["occupants"][0]["card"]["cardNumber"]

    # (the entrance got the card through the card job; wait for it at the simulator)
    def on_the_door() -> bool:
        cards = http.get(f"{stack.sim_url}/sim/doors/door-police-1/cards?all=1").json()
        return any(c["cardNumber"] == card for c in cards)

    assert eventually(on_the_door, within=10)
    swipe = http.post(f"{stack.sim_url}/sim/doors/door-police-1/swipe", json={"cardNumber": card})
    assert swipe.json()["anjuStatus"] == 200
    officer = api.provisioned("POLICE")
    window = {"from": "2026-06-01T00:00:00Z", "to": "2027-06-01T00:00:00Z"}
    # when police ask for that ID number's door history, with a reason
    data = officer.data(EVENTS, {"f": {**window, "idNumber": idn}, "reason": "案件 9"})
    events = [e["node"] for e in data["accessEvents"]["edges"]]
    # then they see the swipe, linked to the person
    assert [(e["method"], e["cardNumber"], e["occupant"]["name"]) for e in events] == [
        ("CARD", card, "冯伟")
    ]
    by_property = officer.data(EVENTS, {"f": {**window, "propertyId": prop["id"]}, "reason": "x"})
    assert len(by_property["accessEvents"]["edges"]) == 1
    # a reason is required, a whole-city dump is refused, and the scope holds
    assert officer.errors(EVENTS, {"f": {**window, "idNumber": idn}}) == ["REASON_REQUIRED"]
    assert officer.errors(EVENTS, {"f": window, "reason": "x"}) == ["REQUIRED"]
    elsewhere = api.provisioned("POLICE", scope={"town": "泽国镇"})
    none = elsewhere.data(EVENTS, {"f": {**window, "idNumber": idn}, "reason": "x"})
    assert none["accessEvents"]["edges"] == []
    # and each look-up is in the audit log
    actions = [e["node"]["action"] for e in api.admin().data(AUDIT)["auditLog"]["edges"]]
    assert actions.count("police.accessEvents") == 5
