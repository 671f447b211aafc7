"""Concurrent requests on one object: every read-decide-write of a document is exclusive.

FerretDB v1 runs an update as a read and a write with nothing around them, so these tests
fail there unless the service serialises the change (app/services/locks.py); on MongoDB the
same tests hold with single-document atomic updates. Each sends its requests at once from
one event loop, as many app instances would."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.conftest import Stack
from tests.door_support import building, open_door
from tests.support import LOG_IN, Api
from tests.test_alarms import ACK, RESOLVE, _alarms, _home, _smoke
from tests.test_doors import AUDIT, events
from tests.test_police_stats import STATS
from tests.test_properties import add_room, create_property

REFRESH = """mutation($input: RefreshSessionInput!) { refreshSession(input: $input) {
  accessToken refreshToken userErrors { code } } }"""
ADD_ROOM = """mutation($input: AddRoomInput!) { addRoom(input: $input) {
  room { id } userErrors { code } } }"""
PLACE = {"town": "箬横镇", "community": "箬横村", "grid": "网格9"}


def together(
    stack: Stack, calls: list[tuple[str, dict[str, Any], str | None]]
) -> list[dict[str, Any]]:
    """Sends every (query, variables, token) at once; the `data` of each answer, in order."""

    async def main() -> list[dict[str, Any]]:
        async with httpx.AsyncClient(base_url=stack.anju_url, timeout=60) as client:

            async def one(query: str, variables: dict[str, Any], token: str | None) -> Any:
                headers = {"authorization": f"Bearer {token}"} if token else {}
                answer = await client.post(
                    "/graphql", json={"query": query, "variables": variables}, headers=headers
                )
                assert answer.status_code == 200, answer.text
                body = answer.json()
                assert "errors" not in body, body
                return body["data"]

            return await asyncio.gather(*(one(q, v, t) for q, v, t in calls))

    return asyncio.run(main())


def test_a_refresh_token_used_twenty_times_at_once_works_once(api: Api, stack: Stack) -> None:
    # given a signed-in user whose refresh token is sent 20 times at once
    user = api.sign_up("TENANT")
    variables = {"input": {"refreshToken": user.refresh_token}}
    answers = together(stack, [(REFRESH, variables, None)] * 20)
    # then exactly one answer has a new pair; the others are refused as reuse
    won = [a["refreshSession"] for a in answers if a["refreshSession"]["accessToken"]]
    assert len(won) == 1, won
    refused = [a["refreshSession"]["userErrors"] for a in answers if a not in won]
    assert all(e == [{"code": "INVALID_REFRESH_TOKEN"}] for e in refused if e)
    # and reuse revoked the session: the winner's new refresh token no longer works either
    again = api.anonymous().refused(
        "refreshSession", REFRESH, {"input": {"refreshToken": won[0]["refreshToken"]}}
    )
    assert again == ["INVALID_REFRESH_TOKEN"]


def test_failed_log_ins_sent_at_once_are_all_counted(api: Api, stack: Stack) -> None:
    # given exactly the limit of wrong passwords for one phone, all at once
    user = api.sign_up("TENANT")
    wrong = {"input": {"phone": user.phone, "password": "not the password"}}
    answers = together(stack, [(LOG_IN, wrong, None)] * 5)
    assert all(a["logIn"]["accessToken"] is None for a in answers)
    # when the right password follows
    right = {"input": {"phone": user.phone, "password": user.password}}
    codes = api.anonymous().refused("logIn", LOG_IN, right)
    # then the phone is locked: not one failure was lost
    assert codes == ["TOO_MANY_ATTEMPTS"]


def test_rooms_added_at_once_are_all_counted(api: Api, stack: Stack) -> None:
    # given twenty properties of one kind in one grid, each getting a room at the same moment
    landlord = api.caller("LANDLORD")
    props = [create_property(landlord, place=PLACE, name=f"楼 {i}") for i in range(20)]
    calls = [
        (
            ADD_ROOM,
            {
                "input": {
                    "propertyId": p["id"],
                    "number": "101",
                    "floor": 1,
                    "areaSqm": 20.0,
                    "monthlyRentFen": 100000,
                }
            },
            landlord.token,
        )
        for p in props
    ]
    answers = together(stack, calls)
    assert all(a["addRoom"]["userErrors"] == [] for a in answers)
    # then the population figures count every room and every property
    officer = api.provisioned("POLICE", scope={"town": PLACE["town"]})
    stats = officer.data(STATS, {"scope": PLACE})["populationStats"]
    assert (stats["properties"], stats["rooms"]) == (20, 20)


def test_an_alarm_acknowledged_by_many_at_once_is_acknowledged_once(
    api: Api, http: httpx.Client, stack: Stack
) -> None:
    # given an active alarm seen by its landlord and a responder of the area
    landlord = api.caller("LANDLORD")
    _home(api, landlord, "smoke-race-1")
    responder = api.provisioned("RESPONDER", scope={"town": "松门镇"})
    _smoke(http, stack, "smoke-race-1")
    (alarm,) = _alarms(landlord)
    # when ten people acknowledge it at once
    variables = {"i": {"alarmId": alarm["id"]}}
    callers = [landlord.token, responder.token] * 5
    answers = together(stack, [(ACK, variables, token) for token in callers])
    # then one of them did; the rest are told it already is
    done = [a for a in answers if a["acknowledgeAlarm"]["userErrors"] == []]
    assert len(done) == 1, answers
    assert all(
        a["acknowledgeAlarm"]["userErrors"][0]["code"] == "INVALID_TRANSITION"
        for a in answers
        if a not in done
    )
    who = done[0]["acknowledgeAlarm"]["alarm"]
    (seen,) = _alarms(landlord)
    assert (seen["acknowledgedAt"], seen["acknowledgedBy"]) == (
        who["acknowledgedAt"],
        who["acknowledgedBy"],
    )


def test_acknowledging_and_resolving_at_once_ends_resolved(
    api: Api, http: httpx.Client, stack: Stack
) -> None:
    # given an active alarm
    landlord = api.caller("LANDLORD")
    _home(api, landlord, "smoke-race-2")
    _smoke(http, stack, "smoke-race-2")
    (alarm,) = _alarms(landlord)
    # when acknowledgements and a resolution arrive together
    ack = (ACK, {"i": {"alarmId": alarm["id"]}}, landlord.token)
    resolve = (RESOLVE, {"i": {"alarmId": alarm["id"], "note": "false alarm"}}, landlord.token)
    answers = together(stack, [ack, ack, resolve, ack, ack])
    assert answers[2]["resolveAlarm"]["userErrors"] == []
    # then it is resolved, never set back to acknowledged, and was acknowledged no later
    (seen,) = _alarms(landlord)
    assert seen["status"] == "RESOLVED"
    assert seen["acknowledgedAt"] is not None
    assert seen["acknowledgedAt"] <= seen["resolvedAt"]


def test_each_remote_opening_is_logged_exactly_once(api: Api) -> None:
    # given a door whose gateway answers and also reports the opening by webhook
    home = building(api.caller("LANDLORD"))
    # when the landlord opens it five times
    for _ in range(5):
        assert open_door(home.landlord, home.door_id)["command"]["status"] == "OPENED"
    # then there are five access events and five audit entries, not more
    assert len(events(home.landlord, doorId=home.door_id)) == 5
    audit = api.admin().data(AUDIT)["auditLog"]["edges"]
    opened = [e for e in audit if e["node"]["action"] == "door.open"]
    assert len(opened) == 5


def test_adding_many_rooms_at_once_to_one_property_counts_them_all(api: Api, stack: Stack) -> None:
    # given one property getting ten different rooms at the same moment
    landlord = api.caller("LANDLORD")
    prop = create_property(landlord, place={**PLACE, "grid": "网格8"})
    calls = [
        (
            ADD_ROOM,
            {
                "input": {
                    "propertyId": prop["id"],
                    "number": f"{i + 1:02d}1",
                    "floor": i + 1,
                    "areaSqm": 20.0,
                    "monthlyRentFen": 100000,
                }
            },
            landlord.token,
        )
        for i in range(10)
    ]
    assert all(a["addRoom"]["userErrors"] == [] for a in together(stack, calls))
    add_room(landlord, prop["id"], "999")
    officer = api.provisioned("POLICE", scope={"town": PLACE["town"]})
    stats = officer.data(STATS, {"scope": {**PLACE, "grid": "网格8"}})["populationStats"]
    assert stats["rooms"] == 11


def test_ending_leases_while_their_rent_is_recorded_loses_no_payment(
    api: Api, stack: Stack
) -> None:
    # given six tenancies running from last month to a year ahead
    from tests.lease_support import END_LEASE
    from tests.rent_support import (
        RECORD,
        key,
        tenancy,
        today,
    )

    tenancies = [tenancy(api, months_back=1, months_ahead=11) for _ in range(6)]
    day = today().isoformat()
    # when each landlord ends theirs today while recording rent on its later months at once
    calls: list[tuple[str, dict[str, Any], str | None]] = []
    for t in tenancies:
        move_out = {"leaseId": t.lease["id"], "moveOutDate": day}
        calls.append((END_LEASE, {"input": move_out}, t.landlord.token))
        for invoice in t.invoices:
            if invoice["periodEnd"] < day:
                continue
            amount = invoice["amountFen"] if invoice["periodStart"] > day else 1000
            given = {"invoiceId": invoice["id"], "amountFen": amount, "method": "CASH"}
            calls.append((RECORD, {"input": {**given, "idempotencyKey": key()}}, t.landlord.token))
    together(stack, calls)
    # then every invoice has been credited exactly its succeeded payments, none of them lost
    # to the lease's end, and a voided one has none
    for t in tenancies:
        for invoice in t.invoices:
            node = t.invoice(invoice["id"], t.landlord)
            succeeded = sum(p["amountFen"] for p in node["payments"] if p["status"] == "SUCCEEDED")
            assert node["paidFen"] == succeeded, node
            assert node["amountFen"] >= node["paidFen"], node
            if node["status"] == "VOID":
                assert succeeded == 0, node
