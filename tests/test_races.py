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


# --- money: autopay against manual and online payments and the provider's webhooks -------------

Call = tuple[str, dict[str, Any], dict[str, str]]  # url, JSON body, headers


def at_once(calls: list[Call]) -> list[httpx.Response]:
    """POSTs every call at once (GraphQL, the simulator's controls); the answers, in order."""

    async def main() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=60) as client:
            return await asyncio.gather(
                *(client.post(url, json=body, headers=headers) for url, body, headers in calls)
            )

    return asyncio.run(main())


def _graphql(stack: Stack, query: str, variables: dict[str, Any], token: str | None) -> Call:
    return (
        f"{stack.anju_url}/graphql",
        {"query": query, "variables": variables},
        {"authorization": f"Bearer {token}"},
    )


def _settled(invoice: dict[str, Any]) -> bool:
    succeeded = sum(p["amountFen"] for p in invoice["payments"] if p["status"] == "SUCCEEDED")
    pending = [p for p in invoice["payments"] if p["status"] == "PENDING"]
    return not pending and invoice["paidFen"] == succeeded


def _looked(autopay: dict[str, Any]) -> bool:
    """Autopay's pass has run since it was activated (its next look is ahead, or none)."""
    import datetime as dt

    nxt = autopay["nextChargeAt"]
    return nxt is None or dt.datetime.fromisoformat(nxt) > dt.datetime.now(dt.UTC)


def test_autopay_a_recorded_and_an_online_payment_at_once_never_pay_twice(
    api: Api, http: httpx.Client, stack: Stack
) -> None:
    from tests.billing_support import billing, from_today, invoice_of, set_autopay
    from tests.rent_support import PAY, RECORD, charges, events, key
    from tests.support import eventually

    # given three leases whose first invoice falls due today, autopay asked for on each
    leases = [from_today(api) for _ in range(3)]
    calls: list[Call] = []
    for t in leases:
        due = t.invoices[0]
        sign_url = set_autopay(t.tenant, t.lease["id"], "WECHAT_PAY")["lease"]["autopay"]["signUrl"]
        # when, at once, each tenant signs (autopay charges what is due), the landlord records
        # the whole rent in cash and the tenant pays it all online
        paid = {"invoiceId": due["id"], "amountFen": due["amountFen"]}
        cash = {"input": {**paid, "method": "CASH", "idempotencyKey": key()}}
        online = {"input": {**paid, "method": "ALIPAY", "idempotencyKey": key()}}
        calls += [
            (f"{sign_url}/sign", {}, {}),
            _graphql(stack, RECORD, cash, t.landlord.token),
            _graphql(stack, PAY, online, t.tenant.token),
        ]
    assert all(r.status_code == 200 for r in at_once(calls))
    for t in leases:
        assert eventually(lambda t=t: _looked(billing(t)["autopay"]))
        assert eventually(lambda t=t: _settled(invoice_of(billing(t), t.invoices[0]["id"])))
    # and every webhook the provider sent is replayed, at once, twice
    sent = [e for e in events(http, stack.sim_url) if e["eventId"]]
    replays = [(f"{stack.sim_url}/sim/events/replay", {"eventId": e["eventId"]}, {}) for e in sent]
    at_once(replays * 2)

    # then each invoice is paid exactly once: by one of the three, never more than it owes
    credited_online = 0
    for t in leases:
        invoice = invoice_of(billing(t, t.landlord), t.invoices[0]["id"])
        assert _settled(invoice), invoice
        succeeded = [p for p in invoice["payments"] if p["status"] == "SUCCEEDED"]
        assert [p["amountFen"] for p in succeeded] == [invoice["amountFen"]], invoice
        assert invoice["status"] == "PAID"
        credited_online += sum(
            p["amountFen"] for p in succeeded if p["method"] in ("WECHAT_PAY", "ALIPAY")
        )
    # and the provider took exactly what Anju credited
    taken = sum(c["amountFen"] for c in charges(http, stack.sim_url) if c["status"] == "succeeded")
    assert taken == credited_online


def test_stopping_autopay_while_its_charge_settles_credits_it_once(
    api: Api, http: httpx.Client, stack: Stack
) -> None:
    from tests.billing_support import (
        SET_AUTOPAY,
        autopay_on,
        billing,
        from_today,
        invoice_of,
    )
    from tests.rent_support import RECORD, charges, events, key
    from tests.support import eventually, sim_post

    # given autopay's charge of today's invoice held by the provider
    t = from_today(api)
    due = t.invoices[0]
    sim_post(http, stack.sim_url, "/sim/payments/mode", {"mode": "hold"})
    autopay_on(t, http, stack.sim_url)
    (held,) = eventually(lambda: [c for c in charges(http, stack.sim_url) if c["agreementId"]])

    # when, at once, the tenant stops autopay, the provider settles the charge, and the
    # landlord records the rent in cash
    stop = {"input": {"leaseId": t.lease["id"], "method": None}}
    cash = {"invoiceId": due["id"], "amountFen": due["amountFen"], "method": "CASH"}
    answers = at_once(
        [
            _graphql(stack, SET_AUTOPAY, stop, t.tenant.token),
            (
                f"{stack.sim_url}/sim/payments/{held['chargeId']}/settle",
                {"status": "succeeded"},
                {},
            ),
            _graphql(stack, RECORD, {"input": {**cash, "idempotencyKey": key()}}, t.landlord.token),
        ]
    )
    assert all(r.status_code == 200 for r in answers)
    sent = [e for e in events(http, stack.sim_url) if e["eventId"]]
    at_once([(f"{stack.sim_url}/sim/events/replay", {"eventId": e["eventId"]}, {}) for e in sent])

    # then autopay is stopped, the charge credited once, the cash refused (nothing was open)
    assert billing(t)["autopay"]["status"] == "STOPPED"

    def settled() -> dict[str, Any] | None:
        invoice = invoice_of(billing(t), due["id"])
        return invoice if _settled(invoice) else None

    invoice = eventually(settled)
    assert invoice is not None
    assert [(p["method"], p["status"]) for p in invoice["payments"]] == [
        ("WECHAT_PAY", "SUCCEEDED")
    ]
    assert invoice["paidFen"] == due["amountFen"]
    assert len(charges(http, stack.sim_url)) == 1
