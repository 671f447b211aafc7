"""Late fees through GraphQL: a policy set at startLease, a LATE_FEE line counted once a day on
the unpaid amount only, up to its cap and no further, shown with how it was computed; waived
by the landlord (audited); a new policy at extension for the new months only, everything
already billed kept; and the refusals."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.billing_support import DAY_S, POLICY, WAIVE, bill, billing
from tests.lease_support import EXTEND_LEASE
from tests.rent_support import codes, month_start, notifications, pay, record, tenancy, today
from tests.support import Api, Caller, eventually

POLICY_1PCT = {"graceDays": 2, "dailyRateBasisPoints": 100, "capBasisPoints": 500}


def fee(invoice: dict[str, Any]) -> dict[str, Any] | None:
    return next((x for x in invoice["lines"] if x["kind"] == "LATE_FEE"), None)


def fee_reaches(t: Any, invoice_id: str, fen: int) -> dict[str, Any] | None:
    """The invoice once its late fee is `fen` (None until then)."""
    seen = bill(t, invoice_id)
    line = fee(seen)
    return seen if (line["amountFen"] if line else 0) == fen else None


def waive(landlord: Caller, invoice_id: str, reason: str = "首次逾期 免除") -> dict[str, Any]:
    payload: dict[str, Any] = landlord.data(
        WAIVE, {"input": {"invoiceId": invoice_id, "reason": reason}}
    )["waiveLateFee"]
    return payload


def test_a_late_fee_counts_the_unpaid_amount_once_a_day_up_to_its_cap(api: Api) -> None:
    # given this month's rent (1000 yuan) written today, due on the 1st, under a policy of
    # 2 days' grace, 1% a day, at most 5% of the rent
    t = tenancy(api, months_back=0, months_ahead=1, due_day=1, lateFeePolicy=POLICY_1PCT)
    invoice = t.invoices[0]
    assert [x["kind"] for x in bill(t, invoice["id"])["lines"]] == ["RENT"]
    policy = billing(t)["lateFeePolicy"]
    assert policy == POLICY_1PCT

    # when three days pass: the grace is over, one day counts
    api.move_clock(3 * DAY_S)
    seen = eventually(lambda: fee_reaches(t, invoice["id"], 1_000))

    # then a LATE_FEE line of 10 yuan, which says how it was computed, adds to the amount
    assert seen is not None
    line = fee(seen)
    assert line is not None
    assert "1.00% a day" in line["description"] and "on the unpaid ¥1000.00" in line["description"]
    assert "at most 5.00% of the rent (¥50.00)" in line["description"]
    assert (seen["amountFen"], seen["status"]) == (101_000, "OVERDUE")
    assert sum(x["amountFen"] for x in seen["lines"]) == seen["amountFen"]

    # when the tenant pays half the rent, and two more days pass
    assert pay(t.tenant, invoice["id"], 50_000)["userErrors"] == []
    api.move_clock(5 * DAY_S)

    # then those days count 1% of what is still unpaid of the rent: 5 yuan a day
    seen = eventually(lambda: fee_reaches(t, invoice["id"], 2_000))
    assert seen is not None
    line = fee(seen)
    assert line is not None and "on the unpaid ¥500.00 = ¥10.00" in line["description"]

    # when many more days pass: the fee stops at its cap, however long it waits
    api.move_clock(20 * DAY_S)
    seen = eventually(lambda: fee_reaches(t, invoice["id"], 5_000))
    assert seen is not None
    line = fee(seen)
    assert line is not None and line["description"].endswith("(¥50.00), reached.")
    api.move_clock(26 * DAY_S)
    assert fee(bill(t, invoice["id"])) == line

    # when the tenant pays the rest and the fee
    done = pay(t.tenant, invoice["id"], 55_000)
    assert done["invoice"]["status"] == "PAID"
    # then the rent roll splits what was collected by kind
    month = invoice["periodStart"][:7]
    roll = t.landlord.data(
        """query($month: String!) { rentRoll(month: $month) { collectedFen outstandingFen
          collectedByKind { kind amountFen } outstandingByKind { kind amountFen } } }""",
        {"month": month},
    )["rentRoll"]
    assert roll["collectedFen"] == 105_000
    assert roll["collectedByKind"] == [
        {"kind": "RENT", "amountFen": 100_000},
        {"kind": "LATE_FEE", "amountFen": 5_000},
    ]
    assert roll["outstandingByKind"] == [] and roll["outstandingFen"] == 0


def test_no_late_fee_without_a_policy_or_on_time(api: Api) -> None:
    # given a lease with no policy, and one whose rent is paid on time
    plain = tenancy(api, months_back=0, months_ahead=1, due_day=1)
    punctual = tenancy(api, months_back=0, months_ahead=1, due_day=1, lateFeePolicy=POLICY_1PCT)
    record(punctual.landlord, punctual.invoices[0]["id"], punctual.rent)
    # and a third, late, as a witness that days were counted
    late = tenancy(api, months_back=0, months_ahead=1, due_day=1, lateFeePolicy=POLICY_1PCT)

    # when a week passes
    api.move_clock(7 * DAY_S)
    assert eventually(lambda: fee_reaches(late, late.invoices[0]["id"], 5_000))

    # then the others carry no late fee
    assert fee(bill(plain, plain.invoices[0]["id"])) is None
    assert fee(bill(punctual, punctual.invoices[0]["id"])) is None
    assert billing(plain)["lateFeePolicy"] is None


def test_the_landlord_waives_a_late_fee(api: Api) -> None:
    # given a late fee of 20 yuan (and another lease as a witness of the days counted)
    t = tenancy(api, months_back=0, months_ahead=1, due_day=1, lateFeePolicy=POLICY_1PCT)
    witness = tenancy(api, months_back=0, months_ahead=1, due_day=1, lateFeePolicy=POLICY_1PCT)
    invoice = t.invoices[0]
    api.move_clock(4 * DAY_S)
    assert eventually(lambda: fee_reaches(t, invoice["id"], 2_000))

    # when the landlord waives it
    waived = waive(t.landlord, invoice["id"])

    # then it is off the invoice, marked waived with the reason, and it stops growing
    assert waived["userErrors"] == [] and waived["payment"] is None
    line = fee(waived["invoice"])
    assert line is not None and line["amountFen"] == 0 and line["waivedAt"] is not None
    assert "Waived ¥20.00" in line["description"] and "首次逾期 免除" in line["description"]
    assert waived["invoice"]["amountFen"] == t.rent
    api.move_clock(9 * DAY_S)
    assert eventually(lambda: fee_reaches(witness, witness.invoices[0]["id"], 5_000))
    assert fee(bill(t, invoice["id"])) == line
    # and the tenant was told, and the audit log has it with the reason
    told = [n for n in notifications(t.tenant) if n["title"].endswith("Late fee waived")]
    assert len(told) == 1 and "首次逾期 免除" in told[0]["body"]
    audit = api.admin().data(
        "{ auditLog(first: 100) { edges { node { action reason target } } } }"
    )["auditLog"]["edges"]
    assert [
        e["node"]["reason"] for e in audit if e["node"]["action"] == "invoice.waive_late_fee"
    ] == ["首次逾期 免除"]

    # and there is nothing more to waive
    assert codes(waive(t.landlord, invoice["id"])) == ["NOTHING_TO_WAIVE"]


def test_waive_late_fee_refusals(api: Api) -> None:
    t = tenancy(api, months_back=0, months_ahead=1, due_day=1, lateFeePolicy=POLICY_1PCT)
    other = tenancy(api)
    invoice = t.invoices[0]
    # no fee yet, another landlord's invoice, a missing reason, a bad id
    assert codes(waive(t.landlord, invoice["id"])) == ["NOTHING_TO_WAIVE"]
    assert codes(waive(other.landlord, invoice["id"])) == ["NOT_FOUND"]
    assert codes(waive(t.landlord, invoice["id"], reason=" ")) == ["REQUIRED"]
    assert codes(waive(t.landlord, invoice["id"], reason="长" * 201)) == ["TOO_LONG"]
    assert codes(waive(t.landlord, t.lease["id"])) == ["INVALID_ID"]
    # and only landlords may
    variables = {"input": {"invoiceId": invoice["id"], "reason": "x"}}
    assert t.tenant.errors(WAIVE, variables) == ["FORBIDDEN"]
    assert api.anonymous().errors(WAIVE, variables) == ["UNAUTHENTICATED"]


@pytest.mark.parametrize(
    ("policy", "field"),
    [
        ({"graceDays": -1, "dailyRateBasisPoints": 5, "capBasisPoints": 100}, "graceDays"),
        ({"graceDays": 32, "dailyRateBasisPoints": 5, "capBasisPoints": 100}, "graceDays"),
        (
            {"graceDays": 3, "dailyRateBasisPoints": 501, "capBasisPoints": 100},
            "dailyRateBasisPoints",
        ),
        ({"graceDays": 3, "dailyRateBasisPoints": 5, "capBasisPoints": 10_001}, "capBasisPoints"),
        (
            {"graceDays": 3, "dailyRateBasisPoints": -5, "capBasisPoints": 100},
            "dailyRateBasisPoints",
        ),
    ],
)
def test_a_policy_out_of_range_is_refused(api: Api, policy: dict[str, int], field: str) -> None:
    from tests.lease_support import START_LEASE, lease_input, make_home

    landlord, tenant = api.caller("LANDLORD"), api.caller("TENANT")
    home = make_home(landlord, doors=False)
    given = lease_input(home.room, tenant, lateFeePolicy=policy)
    payload = landlord.data(START_LEASE, {"input": given})["startLease"]
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
        (["input", "lateFeePolicy", field], "OUT_OF_RANGE")
    ]


def test_an_extension_with_a_new_policy_keeps_everything_billed(api: Api) -> None:
    # given a lease with a late fee accruing on this month's rent
    t = tenancy(api, months_back=0, months_ahead=0, due_day=1, lateFeePolicy=POLICY_1PCT)
    invoice = t.invoices[0]
    api.move_clock(3 * DAY_S)
    assert eventually(lambda: fee_reaches(t, invoice["id"], 1_000))
    pay(t.tenant, invoice["id"], 30_000)
    before = billing(t, t.landlord)

    # when the landlord extends it by two months under a stricter policy
    stricter = {"graceDays": 0, "dailyRateBasisPoints": 200, "capBasisPoints": 1_000}
    last = before["invoices"]["edges"][-1]["node"]["periodEnd"]
    new_end = (month_start(today(), 3) - dt.timedelta(days=1)).isoformat()
    extended = t.landlord.data(
        EXTEND_LEASE,
        {"input": {"leaseId": t.lease["id"], "newEndDate": new_end, "lateFeePolicy": stricter}},
    )["extendLease"]
    assert extended["userErrors"] == []

    # then the lease has the new policy, noted on the extension; this month's invoice keeps
    # its lines, its payment and its own policy (the next day still counts 1%)
    after = billing(t, t.landlord)
    assert after["lateFeePolicy"] == stricter
    old = next(e["node"] for e in after["invoices"]["edges"] if e["node"]["id"] == invoice["id"])
    was = next(e["node"] for e in before["invoices"]["edges"] if e["node"]["id"] == invoice["id"])
    assert old == was
    api.move_clock(4 * DAY_S)
    seen = eventually(lambda: fee_reaches(t, invoice["id"], 1_700))  # 10 + 7 yuan
    assert seen is not None and seen["paidFen"] == 30_000
    node = t.landlord.data(
        f"""query($id: ID!) {{ node(id: $id) {{ ... on Lease {{
          extensions {{ newEndDate {POLICY} }} }} }} }}""",
        {"id": t.lease["id"]},
    )["node"]
    assert node["extensions"] == [{"newEndDate": new_end, "lateFeePolicy": stricter}]
    # and the new months are billed as before, at the same rent
    added = [e["node"] for e in after["invoices"]["edges"] if e["node"]["periodStart"] > last]
    assert [i["amountFen"] for i in added] == [t.rent, t.rent]
    assert all([x["kind"] for x in i["lines"]] == ["RENT"] for i in added)
