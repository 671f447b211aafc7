"""Police reads that stay in their lane: a name filter must name someone, a reason reads a
bounded number of residents, the audit entry names every resident shown, and a Resident is the
register (the person, the room, who lives with them, the landlord), not the lease's money."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from scripts.workload import _id_number
from tests.support import Api, Caller
from tests.test_listings import object_id
from tests.test_police_register import AUDIT, SONGMEN, _lease

RESIDENTS = """query($f: ResidentFilter!, $reason: String!, $first: Int, $after: String) {
  residents(filter: $f, reason: $reason, first: $first, after: $after) {
    totalCount totalCountCapped pageInfo { hasNextPage endCursor }
    edges { node { name idNumber occupant { id } } } } }"""
AUDIT_DETAILS = "{ auditLog(first: 5) { edges { node { action reason target details } } } }"
PEOPLE = [("王小明", _id_number(31)), ("王小红", _id_number(32))]


def _household(api: Api, people: list[tuple[str, str]] = PEOPLE) -> dict[str, Any]:
    landlord = api.caller("LANDLORD")
    prop, lease = _lease(api, landlord, SONGMEN, people)
    return {"landlord": landlord, "property": prop, "lease": lease}


def _look_up(officer: Caller, reason: str, first: int | None = None, **f: Any) -> Any:
    variables: dict[str, Any] = {"f": f, "reason": reason}
    if first is not None:
        variables["first"] = first
    return officer.post(RESIDENTS, variables)


def test_look_ups_at_once_never_read_past_the_budget(strict_api: Api) -> None:
    # given four residents (the strict stack: 3 results per reason)
    _household(strict_api, [*PEOPLE, ("王大明", _id_number(33))])
    officer = strict_api.provisioned("POLICE")
    body = {"query": RESIDENTS, "variables": {"f": {"town": "松门镇"}, "reason": "同时 12月"}}
    headers = {"authorization": f"Bearer {officer.token}"}

    async def together() -> list[Any]:
        async with httpx.AsyncClient(base_url=strict_api.base_url, timeout=60) as client:
            answers = await asyncio.gather(
                *(client.post("/graphql", json=body, headers=headers) for _ in range(6))
            )
        return [a.json() for a in answers]

    # when one reason looks them all up six times at once
    answers = asyncio.run(together())
    # then the six answers together show at most three residents, and the reason is spent
    shown = sum(len((a.get("data") or {}).get("residents", {}).get("edges", [])) for a in answers)
    assert shown == 3, answers
    codes = [e["extensions"]["code"] for a in answers for e in a.get("errors", [])]
    assert set(codes) <= {"NEW_REASON_REQUIRED"}, answers
    again = _look_up(officer, "同时 12月", town="松门镇")
    assert [e["extensions"]["code"] for e in again["errors"]] == ["NEW_REASON_REQUIRED"]


@pytest.mark.parametrize("name", [" ", "   ", "*", "%", "王", " 王 ", "・", "\u3000", "王 *"])
def test_a_name_filter_must_name_someone(api: Api, name: str) -> None:
    # given households in the officer's scope
    _household(api)
    officer = api.provisioned("POLICE")
    # when the name filter is blank, a symbol, or a single letter (alone or beside a place)
    alone = _look_up(officer, "案件 1", name=name)
    with_place = _look_up(officer, "案件 1", name=name, town="松门镇")
    # then the look-up is refused, and nobody is read
    for body in (alone, with_place):
        assert [e["extensions"]["code"] for e in body["errors"]] == ["TOO_SHORT"]
        assert body["data"] is None
    # and the refusal is audited
    entry = api.admin().data(AUDIT)["auditLog"]["edges"][0]["node"]
    assert entry["action"] == "police.residents"


def test_two_letters_of_a_name_are_enough(api: Api) -> None:
    _household(api)
    officer = api.provisioned("POLICE")
    found = _look_up(officer, "案件 2", name=" 王小 ")["data"]["residents"]
    assert sorted(e["node"]["name"] for e in found["edges"]) == ["王小明", "王小红"]
    # full-width letters count as their usual forms
    wide = _look_up(officer, "案件 2", name="\uff37\uff21")  # full-width WA
    assert wide["data"]["residents"]["totalCount"] == 0


def test_the_audit_entry_names_every_resident_shown(api: Api) -> None:
    # given a household of two, and an officer
    _household(api)
    officer = api.provisioned("POLICE")
    # when the officer looks up one of them by ID number
    body = officer.post(
        """query($f: ResidentFilter!) { residents(filter: $f, reason: "协查 7") {
          edges { node { occupant { id } coResidents { name idNumber } } } } }""",
        {"f": {"idNumber": PEOPLE[0][1]}},
    )
    (edge,) = body["data"]["residents"]["edges"]
    # then the answer names the co-resident, with the full number
    assert edge["node"]["coResidents"] == [{"name": PEOPLE[1][0], "idNumber": PEOPLE[1][1]}]
    # and the audit entry records the resident shown and the co-resident shown
    entry = api.admin().data(AUDIT_DETAILS)["auditLog"]["edges"][0]["node"]
    details = json.loads(entry["details"])
    assert details["residents"] == [object_id(edge["node"]["occupant"]["id"])]
    assert len(details["coResidents"]) == 1
    assert details["coResidents"] != details["residents"]
    assert entry["target"] == PEOPLE[0][1][:6] + "********" + PEOPLE[0][1][-4:]


def test_a_resident_is_the_register_not_the_leases_money(api: Api) -> None:
    # given a household whose lease has rent, a deposit and invoices
    _household(api)
    officer = api.provisioned("POLICE")
    # when the officer follows a resident to its registration and its lease
    body = officer.post(
        """query($f: ResidentFilter!) { residents(filter: $f, reason: "走访") { edges { node {
          name room { number activeLease { id } } landlord { name }
          occupant { id lease { id monthlyRentFen depositFen
            invoices { edges { node { amountFen } } } tenant { phone } } } } } } }""",
        {"f": {"idNumber": PEOPLE[0][1]}},
    )
    node = body["data"]["residents"]["edges"][0]["node"]
    # then the register is there, and the lease (its money, its tenant) is not
    assert node["room"]["number"] == "101" and node["landlord"]["name"]
    assert node["occupant"]["lease"] is None
    assert node["room"]["activeLease"] is None


def test_a_reason_reads_a_bounded_number_of_residents(strict_api: Api) -> None:
    # given four residents of one property (the strict stack: 3 results per reason)
    household = _household(strict_api, [*PEOPLE, ("王大明", _id_number(33))])
    _lease(
        strict_api,
        household["landlord"],
        SONGMEN,
        [("王二明", _id_number(34))],
        number="102",
    )
    officer = strict_api.provisioned("POLICE")
    # when one reason pages through them, two at a time
    first = _look_up(officer, "走访 11月", 2, town="松门镇")["data"]["residents"]
    second = officer.post(
        RESIDENTS,
        {
            "f": {"town": "松门镇"},
            "reason": "走访 11月",
            "first": 2,
            "after": first["pageInfo"]["endCursor"],
        },
    )["data"]["residents"]
    third = _look_up(officer, "走访 11月", 2, town="松门镇")
    # then it reads three (its budget) and is then told to give a new reason
    assert len(first["edges"]) == 2 and len(second["edges"]) == 1
    assert [e["extensions"]["code"] for e in third["errors"]] == ["NEW_REASON_REQUIRED"]
    # and the count stops at the bound, saying so
    assert (first["totalCount"], first["totalCountCapped"]) == (3, True)
    # and a new reason reads again, while another officer's budget is their own
    assert (
        len(_look_up(officer, "案件 2026-9", 2, town="松门镇")["data"]["residents"]["edges"]) == 2
    )
    other = strict_api.provisioned("POLICE")
    assert len(_look_up(other, "走访 11月", 2, town="松门镇")["data"]["residents"]["edges"]) == 2
