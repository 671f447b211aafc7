"""Guessing is costly: ALREADY_REGISTERED tells a landlord that an ID number is registered
somewhere in the city; where that is another landlord's registration, each such answer is
audited and counted per landlord a day (the strict stack allows one), and past the limit the
answer is RATE_LIMITED."""

from __future__ import annotations

from tests.lease_support import (
    REGISTER_OCCUPANT,
    START_LEASE,
    lease_input,
    make_home,
    person,
    start_lease,
)
from tests.support import Api, Caller

AUDIT = "{ auditLog(first: 20) { edges { node { action target account { id } details } } } }"


def test_probing_the_register_is_limited_and_audited(strict_api: Api) -> None:
    # given people registered by one landlord
    api = strict_api
    first_landlord = api.caller("LANDLORD")
    home = make_home(first_landlord, doors=False)
    lived_in = [person("赵一", "13911110001"), person("赵二", "13911110002")]
    start_lease(first_landlord, home.room, api.caller("TENANT"), occupants=lived_in)
    # and another landlord with a lease of their own
    prober = api.caller("LANDLORD")
    other = make_home(prober, doors=False)
    lease = start_lease(prober, other.room, api.caller("TENANT"))

    def register(who: dict[str, str]) -> list[str]:
        payload = prober.data(
            REGISTER_OCCUPANT, {"input": {"leaseId": lease["id"], "occupant": who}}
        )["registerOccupant"]
        return [e["code"] for e in payload["userErrors"]]

    # when the second landlord tries the first one's residents' ID numbers
    answers = [register(lived_in[0]), register(lived_in[1]), register(person("新人"))]
    # then the first answer tells (ALREADY_REGISTERED), the next is refused as a probe, and
    # someone not registered anywhere is still registered
    assert answers == [["ALREADY_REGISTERED"], ["RATE_LIMITED"], []]
    # and a lease listing a registered person is refused the same way, and undone
    refused = prober.data(
        START_LEASE,
        {"input": lease_input(other.other_room, api.caller("TENANT"), occupants=[lived_in[0]])},
    )["startLease"]
    assert [e["code"] for e in refused["userErrors"]] == ["RATE_LIMITED"]
    # and each revealing answer is audited against the landlord who asked, masked
    entries = [e["node"] for e in api.admin().data(AUDIT)["auditLog"]["edges"]]
    probes = [e for e in entries if e["action"] == "occupant.registered_elsewhere"]
    assert len(probes) == 3
    assert {e["account"]["id"] for e in probes} == {prober.account["id"]}
    assert all(
        "*" in e["target"] and e["target"] not in (p["idNumber"] for p in lived_in) for e in probes
    )
    # and a landlord re-registering their own resident is told, without counting as a probe
    again = first_landlord.data(
        REGISTER_OCCUPANT,
        {"input": {"leaseId": start_lease_id(first_landlord, home.room), "occupant": lived_in[0]}},
    )["registerOccupant"]
    assert [e["code"] for e in again["userErrors"]] == ["ALREADY_REGISTERED"]


def start_lease_id(landlord: Caller, room: str) -> str:
    node = landlord.data(
        "query($id: ID!) { node(id: $id) { ... on Room { activeLease { id } } } }", {"id": room}
    )["node"]
    return str(node["activeLease"]["id"])
