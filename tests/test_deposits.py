"""Deposits through GraphQL: the DEPOSIT invoice and what is held, kept through an extension;
settled after the lease ends (unpaid invoices first, then the landlord's deductions, the rest
refunded), the tenant told; disputed within the window; and the refusals."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.billing_support import DAY_S, DISPUTE, SETTLE, billing
from tests.lease_support import END_LEASE, EXTEND_LEASE
from tests.rent_support import (
    Tenancy,
    codes,
    month_start,
    notifications,
    pay,
    record,
    tenancy,
    today,
)
from tests.support import Api, Caller

DEPOSIT = 300_000


def deposit_invoice(t: Tenancy) -> dict[str, Any]:
    return next(
        e["node"]
        for e in billing(t, t.landlord)["invoices"]["edges"]
        if e["node"]["kind"] == "DEPOSIT"
    )


def settle(
    landlord: Caller,
    lease_id: str,
    deductions: list[tuple[str, int]],
    method: str = "BANK_TRANSFER",
) -> dict[str, Any]:
    given = {
        "leaseId": lease_id,
        "deductions": [{"reason": r, "amountFen": a} for r, a in deductions],
        "refundMethod": method,
    }
    payload: dict[str, Any] = landlord.data(SETTLE, {"input": given})["settleDeposit"]
    return payload


def dispute(tenant: Caller, lease_id: str, note: str = "窗户入住前就坏了") -> dict[str, Any]:
    payload: dict[str, Any] = tenant.data(DISPUTE, {"input": {"leaseId": lease_id, "note": note}})[
        "disputeDeposit"
    ]
    return payload


def end(t: Tenancy) -> None:
    ended = t.landlord.data(
        END_LEASE, {"input": {"leaseId": t.lease["id"], "moveOutDate": today().isoformat()}}
    )["endLease"]
    assert ended["userErrors"] == []


def test_a_deposit_is_held_settled_with_deductions_and_a_refund_then_disputed(api: Api) -> None:
    # given a lease from last month with a deposit of 3000 yuan, paid online on its own
    # invoice, last month's rent recorded and this month's unpaid
    t = tenancy(api, months_back=1, months_ahead=1, deposit=DEPOSIT)
    held = deposit_invoice(t)
    assert (held["amountFen"], held["dueDate"], [x["kind"] for x in held["lines"]]) == (
        DEPOSIT,
        t.lease["startDate"],
        ["DEPOSIT"],
    )
    assert pay(t.tenant, held["id"], DEPOSIT)["invoice"]["status"] == "PAID"
    months = [e["node"] for e in billing(t)["invoices"]["edges"] if e["node"]["kind"] == "RENT"]
    record(t.landlord, months[0]["id"], months[0]["amountFen"])
    assert billing(t)["depositPaidFen"] == DEPOSIT

    # when the lease ends today and the landlord settles: a broken window, the cleaning
    end(t)
    unpaid = next(
        e["node"]
        for e in billing(t)["invoices"]["edges"]
        if e["node"]["kind"] == "RENT" and e["node"]["status"] not in ("PAID", "VOID")
    )
    owed = unpaid["amountFen"] - unpaid["paidFen"]
    settled = settle(t.landlord, t.lease["id"], [("Broken window", 20_000), ("Cleaning", 10_000)])

    # then the unpaid rent comes first, then the deductions; the rest is refunded
    assert settled["userErrors"] == []
    settlement = settled["lease"]["depositSettlement"]
    assert settlement["heldFen"] == DEPOSIT
    assert [(d["reason"], d["amountFen"]) for d in settlement["deductions"]] == [
        (f"Unpaid rent {unpaid['periodStart']} to {unpaid['periodEnd']}", owed),
        ("Broken window", 20_000),
        ("Cleaning", 10_000),
    ]
    assert settlement["refundedFen"] == DEPOSIT - owed - 30_000
    assert settlement["refundMethod"] == "BANK_TRANSFER" and settlement["disputedAt"] is None
    # and the unpaid invoice is paid from the deposit; what was held stays as it was
    after = billing(t)
    paid = next(e["node"] for e in after["invoices"]["edges"] if e["node"]["id"] == unpaid["id"])
    assert paid["status"] == "PAID"
    assert [(p["method"], p["amountFen"]) for p in paid["payments"]][-1] == ("DEPOSIT", owed)
    assert after["depositPaidFen"] == DEPOSIT
    assert after["depositSettlement"] == settlement
    # and the tenant is told
    told = [n for n in notifications(t.tenant) if n["kind"] == "DEPOSIT_SETTLED"]
    assert len(told) == 1 and f"¥{settlement['refundedFen'] / 100:.2f}" in told[0]["body"]

    # when the tenant disputes it
    disputed = dispute(t.tenant, t.lease["id"])

    # then the dispute is recorded, shown to both, and the landlord told
    assert disputed["userErrors"] == []
    mine = disputed["lease"]["depositSettlement"]
    assert mine["disputedAt"] is not None and mine["disputeNote"] == "窗户入住前就坏了"
    assert billing(t, t.landlord)["depositSettlement"] == mine
    notes = [n for n in notifications(t.landlord) if n["kind"] == "DEPOSIT_SETTLED"]
    assert len(notes) == 1 and "窗户入住前就坏了" in notes[0]["body"]
    # and once is enough
    assert codes(dispute(t.tenant, t.lease["id"])) == ["ALREADY_DISPUTED"]
    assert codes(settle(t.landlord, t.lease["id"], [])) == ["ALREADY_SETTLED"]

    # and the rent roll of the first month splits the deposit from the rent
    roll = t.landlord.data(
        """query($month: String!) { rentRoll(month: $month) {
          collectedByKind { kind amountFen } } }""",
        {"month": t.lease["startDate"][:7]},
    )["rentRoll"]
    assert roll["collectedByKind"] == [
        {"kind": "RENT", "amountFen": months[0]["amountFen"]},
        {"kind": "DEPOSIT", "amountFen": DEPOSIT},
    ]


def test_settlement_refusals(api: Api) -> None:
    # given a lease with 3000 yuan held, 1000 yuan of rent unpaid this month
    t = tenancy(api, months_back=0, months_ahead=1, deposit=DEPOSIT)
    record(t.landlord, deposit_invoice(t)["id"], DEPOSIT)
    other = tenancy(api)

    # then a running lease is not settled; nor another landlord's
    assert codes(settle(t.landlord, t.lease["id"], [])) == ["LEASE_ACTIVE"]
    end(t)
    assert codes(settle(other.landlord, t.lease["id"], [])) == ["NOT_FOUND"]
    # nor deductions beyond what the unpaid rent leaves, or bad ones
    left = DEPOSIT - sum(
        e["node"]["amountFen"] - e["node"]["paidFen"]
        for e in billing(t)["invoices"]["edges"]
        if e["node"]["kind"] == "RENT" and e["node"]["status"] != "VOID"
    )
    too_much = settle(t.landlord, t.lease["id"], [("Damage", left + 1)])
    assert codes(too_much) == ["DEDUCTIONS_EXCEED_DEPOSIT"]
    bad = settle(t.landlord, t.lease["id"], [(" ", 100), ("Paint", 0)], method="DEPOSIT")
    assert sorted((tuple(e["field"]), e["code"]) for e in bad["userErrors"]) == [
        (("input", "deductions", "0", "reason"), "REQUIRED"),
        (("input", "deductions", "1", "amountFen"), "INVALID_AMOUNT"),
        (("input", "refundMethod"), "INVALID_METHOD"),
    ]
    # and a dispute before any settlement, or of another's lease, is refused
    assert codes(dispute(t.tenant, t.lease["id"])) == ["NOT_SETTLED"]
    assert codes(dispute(other.tenant, t.lease["id"])) == ["NOT_FOUND"]
    # and only landlords settle, only tenants dispute
    variables = {"input": {"leaseId": t.lease["id"], "deductions": [], "refundMethod": "CASH"}}
    assert t.tenant.errors(SETTLE, variables) == ["FORBIDDEN"]
    assert t.landlord.errors(DISPUTE, {"input": {"leaseId": t.lease["id"], "note": "x"}}) == [
        "FORBIDDEN"
    ]

    # when settled with the deductions that fit exactly: nothing is refunded
    exact = settle(t.landlord, t.lease["id"], [("Damage", left)], method="CASH")
    assert exact["lease"]["depositSettlement"]["refundedFen"] == 0

    # then after the window the tenant may no longer dispute it
    api.move_clock(15 * DAY_S)
    assert codes(dispute(t.tenant, t.lease["id"])) == ["DISPUTE_WINDOW_CLOSED"]


def test_an_extension_keeps_the_deposit_and_the_ledger(api: Api) -> None:
    # given a lease whose deposit and first month are paid, and whose second month is half paid
    t = tenancy(api, months_back=1, months_ahead=0, deposit=DEPOSIT)
    record(t.landlord, deposit_invoice(t)["id"], DEPOSIT, method="BANK_TRANSFER")
    rent = [e["node"] for e in billing(t)["invoices"]["edges"] if e["node"]["kind"] == "RENT"]
    record(t.landlord, rent[0]["id"], rent[0]["amountFen"])
    pay(t.tenant, rent[1]["id"], 50_000)
    before = billing(t, t.landlord)

    # when it is renewed for three more months at a higher rent
    new_end = (month_start(today(), 4) - dt.timedelta(days=1)).isoformat()
    extended = t.landlord.data(
        EXTEND_LEASE,
        {"input": {"leaseId": t.lease["id"], "newEndDate": new_end, "monthlyRentFen": 120_000}},
    )["extendLease"]
    assert extended["userErrors"] == []

    # then every invoice billed before is as it was, the deposit still held
    after = billing(t, t.landlord)
    assert after["depositPaidFen"] == DEPOSIT
    ids = {e["node"]["id"] for e in before["invoices"]["edges"]}
    kept = [e for e in after["invoices"]["edges"] if e["node"]["id"] in ids]
    assert kept == before["invoices"]["edges"]
    added = [e["node"] for e in after["invoices"]["edges"] if e["node"]["id"] not in ids]
    assert [(i["kind"], i["amountFen"]) for i in added] == [("RENT", 120_000)] * 3
