"""Rent through GraphQL and the payment simulator: invoice states, online and offline
payments, their refusals, provider failures, webhook replay and reordering, concurrency, the
rent roll (the property-based run of random payments, webhooks, autopay, late fees, meters
and deposits is tests/test_rent_machine.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.conftest import Stack
from tests.rent_support import (
    PAY,
    RECORD,
    ROLL,
    charges,
    charges_of,
    codes,
    events,
    key,
    notifications,
    pay,
    record,
    tenancy,
    today,
)
from tests.support import Api, Caller, sim_post

END_LEASE = """mutation($input: EndLeaseInput!) { endLease(input: $input) {
  lease { id status } userErrors { field message code } } }"""


def paid_sum(invoice: dict[str, Any]) -> int:
    return sum(p["amountFen"] for p in invoice["payments"] if p["status"] == "SUCCEEDED")


def received(landlord: Caller) -> list[dict[str, Any]]:
    return [n for n in notifications(landlord) if n["kind"] == "PAYMENT_RECEIVED"]


# --- states ----------------------------------------------------------------------------------


def test_an_invoice_goes_open_partially_paid_paid(api: Api) -> None:
    # given an OPEN invoice of a coming month
    t = tenancy(api)
    invoice = t.upcoming()
    assert (invoice["status"], invoice["paidFen"], invoice["amountFen"]) == ("OPEN", 0, t.rent)

    # when the tenant pays part of it online
    first = pay(t.tenant, invoice["id"], 30_000, method="ALIPAY")

    # then the payment succeeded and the invoice is partially paid
    assert first["userErrors"] == []
    assert first["payment"]["status"] == "SUCCEEDED"
    assert first["payment"]["method"] == "ALIPAY"
    assert first["payment"]["paidAt"] is not None
    assert first["invoice"] == {
        "id": invoice["id"],
        "amountFen": t.rent,
        "paidFen": 30_000,
        "status": "PARTIALLY_PAID",
    }

    # when the landlord records the rest, received in cash
    rest = record(t.landlord, invoice["id"], t.rent - 30_000, note="  现金 收讫 ")

    # then the invoice is paid, and both see both payments
    assert rest["userErrors"] == []
    assert rest["payment"]["status"] == "SUCCEEDED"
    assert rest["payment"]["note"] == "现金 收讫"
    assert rest["invoice"]["status"] == "PAID"
    for who in (t.tenant, t.landlord):
        seen = t.invoice(invoice["id"], who)
        assert seen["paidFen"] == t.rent == paid_sum(seen)
        assert [p["method"] for p in seen["payments"]] == ["ALIPAY", "CASH"]
        assert {p["invoice"]["id"] for p in seen["payments"]} == {invoice["id"]}

    # and nothing more can be paid on it
    assert codes(pay(t.tenant, invoice["id"], 1)) == ["INVOICE_NOT_PAYABLE"]
    assert codes(record(t.landlord, invoice["id"], 1)) == ["INVOICE_NOT_PAYABLE"]


def test_an_overdue_invoice_stays_overdue_until_paid_in_full(api: Api) -> None:
    # given an invoice of a past month, unpaid
    t = tenancy(api)
    invoice = t.overdue()
    assert invoice["dueDate"] < today().isoformat()

    # when part of it is paid, it is still overdue
    assert pay(t.tenant, invoice["id"], 1)["invoice"]["status"] == "OVERDUE"
    assert record(t.landlord, invoice["id"], 2, method="BANK_TRANSFER")["invoice"] == {
        "id": invoice["id"],
        "amountFen": t.rent,
        "paidFen": 3,
        "status": "OVERDUE",
    }

    # when the rest is paid, it is paid
    assert pay(t.tenant, invoice["id"], t.rent - 3)["invoice"]["status"] == "PAID"


def test_invoices_voided_by_ending_the_lease_take_no_payment(api: Api) -> None:
    # given a lease ended today: its later months' invoices are voided
    t = tenancy(api)
    ended = t.landlord.mutate(
        "endLease",
        END_LEASE,
        {"input": {"leaseId": t.lease["id"], "moveOutDate": today().isoformat()}},
    )
    assert ended["lease"]["status"] == "ENDED"
    later = t.invoices[-1]
    voided = t.invoice(later["id"])
    assert voided["status"] == "VOID"

    # when anyone pays on it / then INVOICE_NOT_PAYABLE, nothing recorded
    assert codes(pay(t.tenant, later["id"], 100)) == ["INVOICE_NOT_PAYABLE"]
    assert codes(record(t.landlord, later["id"], 100)) == ["INVOICE_NOT_PAYABLE"]
    assert t.invoice(later["id"])["payments"] == []

    # and the rent roll of its month leaves it out
    roll = t.landlord.data(ROLL, {"month": later["periodStart"][:7]})["rentRoll"]
    assert (roll["expectedFen"], roll["collectedFen"], roll["outstandingFen"]) == (0, 0, 0)


def test_lease_invoices_filter_by_the_same_states(
    api: Api, http: httpx.Client, stack: Stack
) -> None:
    # given invoices in every state: paid, overdue (one partly paid), partly paid, open, and
    # one with an online payment awaiting the provider
    t = tenancy(api, months_back=2, months_ahead=3)
    first, second, _, fourth, fifth, sixth = t.invoices
    record(t.landlord, first["id"], t.rent)
    pay(t.tenant, second["id"], 10)
    pay(t.tenant, fourth["id"], 20)
    sim_post(http, stack.sim_url, "/sim/payments/mode", {"mode": "hold"})
    assert pay(t.tenant, fifth["id"], t.rent)["payment"]["status"] == "PENDING"
    states = {i["id"]: t.invoice(i["id"])["status"] for i in t.invoices}
    assert states[first["id"]] == "PAID" and states[second["id"]] == "OVERDUE"
    assert states[fourth["id"]] == "PARTIALLY_PAID"
    assert states[fifth["id"]] == states[sixth["id"]] == "OPEN"  # pending is not paid

    # when the lease's invoices are asked for by state
    query = """query($id: ID!, $status: InvoiceStatus) { node(id: $id) { ... on Lease {
      invoices(status: $status) { totalCount edges { node { id status } } } } } }"""
    for status in ("OPEN", "PARTIALLY_PAID", "PAID", "OVERDUE", "VOID"):
        found = t.tenant.data(query, {"id": t.lease["id"], "status": status})["node"]["invoices"]
        # then exactly those in that state
        wanted = sorted(i for i, s in states.items() if s == status)
        assert sorted(e["node"]["id"] for e in found["edges"]) == wanted, status
        assert found["totalCount"] == len(wanted)


# --- refusals --------------------------------------------------------------------------------


def test_pay_invoice_refusals_record_nothing(api: Api) -> None:
    # given a tenancy and another tenant with their own
    t = tenancy(api)
    other = tenancy(api)
    invoice = t.upcoming()

    # then amounts of zero, negative or over what is owed are refused
    assert codes(pay(t.tenant, invoice["id"], 0)) == ["INVALID_AMOUNT"]
    assert codes(pay(t.tenant, invoice["id"], -500)) == ["INVALID_AMOUNT"]
    assert codes(pay(t.tenant, invoice["id"], t.rent + 1)) == ["AMOUNT_EXCEEDS_BALANCE"]
    # and offline methods, bad keys and bad ids
    assert codes(pay(t.tenant, invoice["id"], 100, method="CASH")) == ["INVALID_METHOD"]
    assert codes(pay(t.tenant, invoice["id"], 100, method="BANK_TRANSFER")) == ["INVALID_METHOD"]
    assert codes(pay(t.tenant, invoice["id"], 100, idempotency_key=" ")) == ["REQUIRED"]
    assert codes(pay(t.tenant, invoice["id"], 100, idempotency_key="k" * 101)) == ["TOO_LONG"]
    assert codes(pay(t.tenant, invoice["id"], 100, idempotency_key="a b")) == ["INVALID_ARGUMENT"]
    assert codes(pay(t.tenant, "not-an-id", 100)) == ["INVALID_ID"]
    assert codes(pay(t.tenant, t.lease["id"], 100)) == ["INVALID_ID"]  # a Lease's id
    # and another tenant's invoice does not exist for them
    assert codes(pay(other.tenant, invoice["id"], 100)) == ["NOT_FOUND"]
    assert other.tenant.data("query($id: ID!) { node(id: $id) { id } }", {"id": invoice["id"]}) == {
        "node": None
    }

    # and nothing was recorded
    seen = t.invoice(invoice["id"])
    assert (seen["paidFen"], seen["payments"], seen["status"]) == (0, [], "OPEN")


def test_record_payment_refusals(api: Api) -> None:
    # given a tenancy and another landlord with their own
    t = tenancy(api)
    other = tenancy(api)
    invoice = t.upcoming()

    # then
    assert codes(record(t.landlord, invoice["id"], 0)) == ["INVALID_AMOUNT"]
    assert codes(record(t.landlord, invoice["id"], t.rent + 1)) == ["AMOUNT_EXCEEDS_BALANCE"]
    assert codes(record(t.landlord, invoice["id"], 100, method="WECHAT_PAY")) == ["INVALID_METHOD"]
    assert codes(record(t.landlord, invoice["id"], 100, method="ALIPAY")) == ["INVALID_METHOD"]
    assert codes(record(t.landlord, invoice["id"], 100, note="长" * 201)) == ["TOO_LONG"]
    assert codes(record(other.landlord, invoice["id"], 100)) == ["NOT_FOUND"]
    assert t.invoice(invoice["id"])["payments"] == []


@pytest.mark.parametrize(
    ("role", "pay_code", "record_code"),
    [
        ("LANDLORD", "FORBIDDEN", None),
        ("TENANT", None, "FORBIDDEN"),
        ("POLICE", "FORBIDDEN", "FORBIDDEN"),
        ("RESPONDER", "FORBIDDEN", "FORBIDDEN"),
        ("ADMIN", "FORBIDDEN", "FORBIDDEN"),
        ("ANONYMOUS", "UNAUTHENTICATED", "UNAUTHENTICATED"),
    ],
)
def test_who_may_pay_and_record(
    api: Api, role: str, pay_code: str | None, record_code: str | None
) -> None:
    # given an invoice and a caller of `role`
    t = tenancy(api)
    invoice = t.upcoming()
    callers = {"LANDLORD": t.landlord, "TENANT": t.tenant, "ANONYMOUS": api.anonymous()}
    caller = callers.get(role) or api.caller(role)
    base = {"invoiceId": invoice["id"], "amountFen": 100, "idempotencyKey": key()}

    # when it pays online / records cash: then refused by role (a landlord may not pay
    # online, a tenant may not record cash)
    if pay_code:
        assert caller.errors(PAY, {"input": {**base, "method": "WECHAT_PAY"}}) == [pay_code]
    if record_code:
        assert caller.errors(RECORD, {"input": {**base, "method": "CASH"}}) == [record_code]
    assert t.invoice(invoice["id"])["payments"] == []


# --- idempotency -----------------------------------------------------------------------------


def test_one_key_is_one_payment_and_one_charge(api: Api, http: httpx.Client, stack: Stack) -> None:
    # given a payment made with a key
    t = tenancy(api)
    invoice = t.upcoming()
    k = key()
    first = pay(t.tenant, invoice["id"], 10_000, k)

    # when the app sends it again (a retry after a lost answer)
    again = pay(t.tenant, invoice["id"], 10_000, k)

    # then it is the same payment, charged once, credited once
    assert again["payment"] == first["payment"]
    assert again["invoice"]["paidFen"] == 10_000
    assert [c["status"] for c in charges_of(http, stack.sim_url, first["payment"]["id"])] == [
        "succeeded"
    ]
    assert len(charges(http, stack.sim_url)) == 1

    # and the key cannot be reused for another amount, method or invoice
    assert codes(pay(t.tenant, invoice["id"], 10_001, k)) == ["IDEMPOTENCY_CONFLICT"]
    assert codes(pay(t.tenant, invoice["id"], 10_000, k, "ALIPAY")) == ["IDEMPOTENCY_CONFLICT"]
    assert codes(pay(t.tenant, t.overdue()["id"], 10_000, k)) == ["IDEMPOTENCY_CONFLICT"]
    # but keys are the caller's own: another tenant's same key is theirs
    other = tenancy(api)
    assert pay(other.tenant, other.upcoming()["id"], 10_000, k)["payment"]["status"] == "SUCCEEDED"
    assert t.invoice(invoice["id"])["paidFen"] == 10_000


def test_recording_cash_twice_with_one_key_records_it_once(api: Api) -> None:
    t = tenancy(api)
    invoice = t.upcoming()
    k = key()
    # when the landlord's app sends the same record twice
    first = record(t.landlord, invoice["id"], 5_000, k)
    again = record(t.landlord, invoice["id"], 5_000, k)
    # then one payment
    assert again["payment"] == first["payment"]
    assert t.invoice(invoice["id"])["paidFen"] == 5_000
    assert codes(record(t.landlord, invoice["id"], 5_000, k, "BANK_TRANSFER")) == [
        "IDEMPOTENCY_CONFLICT"
    ]


# --- the provider failing ----------------------------------------------------------------------


def test_a_declined_charge_records_nothing_paid(api: Api, http: httpx.Client, stack: Stack) -> None:
    # given a provider that declines charges
    t = tenancy(api)
    invoice = t.upcoming()
    sim_post(http, stack.sim_url, "/sim/payments/mode", {"mode": "fail"})
    k = key()

    # when the tenant pays
    declined = pay(t.tenant, invoice["id"], t.rent, k)

    # then a clear error, nothing paid, the failed payment on record
    assert codes(declined) == ["PAYMENT_DECLINED"]
    assert declined["payment"] is None
    seen = t.invoice(invoice["id"])
    assert (seen["paidFen"], seen["status"]) == (0, "OPEN")
    assert [(p["status"], p["failureCode"]) for p in seen["payments"]] == [
        ("FAILED", "PAYMENT_DECLINED")
    ]
    # and the same key answers the same, without a second charge
    assert codes(pay(t.tenant, invoice["id"], t.rent, k)) == ["PAYMENT_DECLINED"]
    assert len(charges(http, stack.sim_url)) == 1

    # when the provider takes charges again, a new key pays the whole amount
    sim_post(http, stack.sim_url, "/sim/payments/mode", {"mode": "succeed"})
    assert pay(t.tenant, invoice["id"], t.rent)["invoice"]["status"] == "PAID"
    assert received(t.landlord)[0]["body"].count("¥1000.00") == 1
    assert len(received(t.landlord)) == 1


def test_a_provider_that_is_down_charges_nothing(
    api: Api, http: httpx.Client, stack: Stack
) -> None:
    # given a payment provider that is down
    t = tenancy(api)
    invoice = t.upcoming()
    sim_post(http, stack.sim_url, "/sim/payments/down")
    k = key()

    # when the tenant pays
    down = pay(t.tenant, invoice["id"], 40_000, k)

    # then a clear error; no charge, nothing paid, nothing held back
    assert codes(down) == ["PAYMENT_PROVIDER_ERROR"]
    assert charges(http, stack.sim_url) == []
    seen = t.invoice(invoice["id"])
    assert seen["paidFen"] == 0
    assert [(p["status"], p["failureCode"]) for p in seen["payments"]] == [
        ("FAILED", "PAYMENT_PROVIDER_ERROR")
    ]
    roll = t.landlord.data(ROLL, {"month": invoice["periodStart"][:7]})["rentRoll"]
    assert (roll["collectedFen"], roll["pendingFen"]) == (0, 0)

    # when it is back: retrying the same key stays safe (the same answer, no charge)
    sim_post(http, stack.sim_url, "/sim/payments/up")
    assert codes(pay(t.tenant, invoice["id"], 40_000, k)) == ["PAYMENT_PROVIDER_ERROR"]
    assert charges(http, stack.sim_url) == []
    # and a new key pays, the whole amount being available again
    assert pay(t.tenant, invoice["id"], t.rent)["invoice"]["status"] == "PAID"


# --- webhooks: settling, replay, reordering ---------------------------------------------------


def test_a_held_charge_is_settled_by_the_webhook_once(
    api: Api, http: httpx.Client, stack: Stack
) -> None:
    # given a charge the provider holds
    t = tenancy(api)
    invoice = t.upcoming()
    sim_post(http, stack.sim_url, "/sim/payments/mode", {"mode": "hold"})
    k = key()
    held = pay(t.tenant, invoice["id"], 60_000, k)
    payment = held["payment"]

    # then the payment is pending, nothing is paid, and the amount is reserved
    assert payment["status"] == "PENDING"
    assert (held["invoice"]["paidFen"], held["invoice"]["status"]) == (0, "OPEN")
    month = invoice["periodStart"][:7]
    roll = t.landlord.data(ROLL, {"month": month})["rentRoll"]
    assert (roll["collectedFen"], roll["pendingFen"]) == (0, 60_000)
    assert codes(pay(t.tenant, invoice["id"], 40_001)) == ["AMOUNT_EXCEEDS_BALANCE"]
    assert codes(record(t.landlord, invoice["id"], 40_001)) == ["AMOUNT_EXCEEDS_BALANCE"]

    # when the provider confirms it
    [charge] = charges_of(http, stack.sim_url, payment["id"])
    settled = sim_post(
        http, stack.sim_url, f"/sim/payments/{charge['chargeId']}/settle", {"status": "succeeded"}
    )
    assert settled["anjuStatus"] == 200

    # then it is credited, and the landlord told once
    seen = t.invoice(invoice["id"])
    assert (seen["paidFen"], seen["status"]) == (60_000, "PARTIALLY_PAID")
    assert [p["status"] for p in seen["payments"]] == ["SUCCEEDED"]
    assert len(received(t.landlord)) == 1
    assert pay(t.tenant, invoice["id"], 60_000, k)["payment"]["status"] == "SUCCEEDED"

    # when the event is replayed, and a contradicting "failed" follows
    replayed = sim_post(http, stack.sim_url, "/sim/events/replay", {"eventId": settled["eventId"]})
    assert replayed["anjuStatus"] == 200
    late = sim_post(
        http, stack.sim_url, f"/sim/payments/{charge['chargeId']}/settle", {"status": "failed"}
    )
    assert late["anjuStatus"] == 200
    again = sim_post(
        http, stack.sim_url, f"/sim/payments/{charge['chargeId']}/settle", {"status": "succeeded"}
    )
    assert again["anjuStatus"] == 200

    # then nothing changed: credited once, told once
    seen = t.invoice(invoice["id"])
    assert (seen["paidFen"], [p["status"] for p in seen["payments"]]) == (60_000, ["SUCCEEDED"])
    assert len(received(t.landlord)) == 1
    roll = t.landlord.data(ROLL, {"month": month})["rentRoll"]
    assert (roll["collectedFen"], roll["pendingFen"], roll["outstandingFen"]) == (
        60_000,
        0,
        t.rent - 60_000,
    )


def test_a_success_after_a_failure_credits_nothing(
    api: Api, http: httpx.Client, stack: Stack
) -> None:
    # given a held charge that the provider then reports failed
    t = tenancy(api)
    invoice = t.upcoming()
    sim_post(http, stack.sim_url, "/sim/payments/mode", {"mode": "hold"})
    payment = pay(t.tenant, invoice["id"], t.rent)["payment"]
    [charge] = charges_of(http, stack.sim_url, payment["id"])
    url = f"/sim/payments/{charge['chargeId']}/settle"
    sim_post(http, stack.sim_url, url, {"status": "failed"})

    # when a "succeeded" for it arrives out of order
    assert sim_post(http, stack.sim_url, url, {"status": "succeeded"})["anjuStatus"] == 200

    # then the first outcome stands: nothing paid, the reservation released
    seen = t.invoice(invoice["id"])
    assert (seen["paidFen"], [p["status"] for p in seen["payments"]]) == (0, ["FAILED"])
    assert received(t.landlord) == []
    assert record(t.landlord, invoice["id"], t.rent)["invoice"]["status"] == "PAID"


def test_the_payments_webhook_checks_signature_body_and_event(
    api: Api, http: httpx.Client, stack: Stack
) -> None:
    # given a held charge
    t = tenancy(api)
    invoice = t.upcoming()
    sim_post(http, stack.sim_url, "/sim/payments/mode", {"mode": "hold"})
    payment = pay(t.tenant, invoice["id"], 20_000)["payment"]
    [charge] = charges_of(http, stack.sim_url, payment["id"])
    body = {"eventId": key(), "chargeId": charge["chargeId"], "status": "succeeded", "at": "x"}

    def send(payload: Any, signature: str = "valid", offset: int = 0) -> int:
        answer = sim_post(
            http,
            stack.sim_url,
            "/sim/webhooks/send",
            {
                "target": "payments",
                "body": payload,
                "signature": signature,
                "timestampOffset": offset,
            },
        )
        status: int = answer["anjuStatus"]
        return status

    # then forged, stale, malformed and unknown events are refused and change nothing
    assert send(body, "bad") == 401
    assert send(body, "missing") == 401
    assert send(body, offset=-301) == 401
    assert send(body, offset=301) == 401
    assert send("not json") == 400
    assert send([body]) == 400
    assert send({**body, "status": "refunded"}) == 400
    assert send({k: v for k, v in body.items() if k != "chargeId"}) == 400
    assert send({**body, "chargeId": "ch_unknown"}) == 404
    assert t.invoice(invoice["id"])["paidFen"] == 0

    # when a valid event arrives, then again with the same id
    assert send(body) == 200
    assert send(body) == 200
    assert send({**body, "eventId": key()}) == 200  # a new id, the same news

    # then it was credited once
    seen = t.invoice(invoice["id"])
    assert (seen["paidFen"], [p["status"] for p in seen["payments"]]) == (20_000, ["SUCCEEDED"])
    assert len(received(t.landlord)) == 1
    # and the raw replay of the simulator's own event log is accepted too
    assert all(e["anjuStatus"] in (200, 401, 400, 404) for e in events(http, stack.sim_url))


# --- concurrency -----------------------------------------------------------------------------


async def _pay_together(
    stack: Stack, token: str, inputs: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=stack.anju_url, timeout=60) as client:

        async def one(variables: dict[str, Any]) -> dict[str, Any]:
            response = await client.post(
                "/graphql",
                json={"query": PAY, "variables": {"input": variables}},
                headers={"authorization": f"Bearer {token}"},
            )
            body = response.json()
            assert "errors" not in body, body
            payload: dict[str, Any] = body["data"]["payInvoice"]
            return payload

        return await asyncio.gather(*(one(v) for v in inputs))


def test_twenty_concurrent_calls_with_one_key_make_one_payment_and_one_charge(
    api: Api, http: httpx.Client, stack: Stack
) -> None:
    # given a tenant whose app sends the same payment 20 times at once
    t = tenancy(api)
    invoice = t.upcoming()
    request = {
        "invoiceId": invoice["id"],
        "amountFen": 25_000,
        "method": "WECHAT_PAY",
        "idempotencyKey": key(),
    }
    assert t.tenant.token
    answers = asyncio.run(_pay_together(stack, t.tenant.token, [request] * 20))

    # then every answer is the one payment; one charge at the provider; credited once
    assert all(a["userErrors"] == [] for a in answers), answers
    assert len({a["payment"]["id"] for a in answers}) == 1
    payment_id = answers[0]["payment"]["id"]
    assert len(charges_of(http, stack.sim_url, payment_id)) == 1
    assert len(charges(http, stack.sim_url)) == 1
    seen = t.invoice(invoice["id"])
    assert [p["id"] for p in seen["payments"]] == [payment_id]
    assert seen["paidFen"] == 25_000 == paid_sum(seen)
    assert len(received(t.landlord)) == 1


def test_concurrent_payments_with_different_keys_never_overpay(
    api: Api, http: httpx.Client, stack: Stack
) -> None:
    # given eight payments of the whole amount, each with its own key, at once
    t = tenancy(api)
    invoice = t.upcoming()
    requests = [
        {
            "invoiceId": invoice["id"],
            "amountFen": t.rent,
            "method": "ALIPAY",
            "idempotencyKey": key(),
        }
        for _ in range(8)
    ]
    assert t.tenant.token
    answers = asyncio.run(_pay_together(stack, t.tenant.token, requests))

    # then exactly one is taken; the others are refused (more than is owed, or nothing is)
    # before any charge
    succeeded = [a for a in answers if a["userErrors"] == []]
    assert len(succeeded) == 1
    refused = {codes(a)[0] for a in answers if a["userErrors"]}
    assert refused <= {"AMOUNT_EXCEEDS_BALANCE", "INVOICE_NOT_PAYABLE"}
    seen = t.invoice(invoice["id"])
    assert seen["paidFen"] == t.rent == paid_sum(seen)
    assert [c["status"] for c in charges(http, stack.sim_url)] == ["succeeded"]


# --- the rent roll ---------------------------------------------------------------------------


def test_the_rent_roll_adds_up_to_the_fen(api: Api) -> None:
    # given two leases of one landlord... (a second tenancy of another landlord is ignored)
    t = tenancy(api, rent=123_457)
    stranger = tenancy(api, rent=99_999)
    overdue = t.overdue()
    month = overdue["periodStart"][:7]
    pay(t.tenant, overdue["id"], 457)
    record(t.landlord, overdue["id"], 100_000)
    record(stranger.landlord, stranger.overdue()["id"], 500)

    # when the landlord asks for that month's roll
    roll = t.landlord.data(ROLL, {"month": month})["rentRoll"]

    # then it adds up, and lists the overdue invoice
    assert roll["month"] == month
    assert (roll["expectedFen"], roll["collectedFen"], roll["outstandingFen"]) == (
        123_457,
        100_457,
        23_000,
    )
    assert [(i["id"], i["status"], i["paidFen"]) for i in roll["overdue"]] == [
        (overdue["id"], "OVERDUE", 100_457)
    ]
    # a month with nothing in it is all zero
    empty = t.landlord.data(ROLL, {"month": "2001-01"})["rentRoll"]
    assert (empty["expectedFen"], empty["collectedFen"], empty["overdue"]) == (0, 0, [])

    # and a month that is not YYYY-MM is refused
    for bad in ("2026-13", "2026-1", "26-01", "abcd", "", "2026-01-01", "1999-12"):
        assert t.landlord.errors(ROLL, {"month": bad}) == ["INVALID_ARGUMENT"], bad


@pytest.mark.parametrize(
    ("role", "code"),
    [
        ("TENANT", "FORBIDDEN"),
        ("POLICE", "FORBIDDEN"),
        ("RESPONDER", "FORBIDDEN"),
        ("ADMIN", "FORBIDDEN"),
        ("ANONYMOUS", "UNAUTHENTICATED"),
    ],
)
def test_only_landlords_read_a_rent_roll(api: Api, role: str, code: str) -> None:
    caller = api.anonymous() if role == "ANONYMOUS" else api.caller(role)
    assert caller.errors(ROLL, {"month": "2026-01"}) == [code]
