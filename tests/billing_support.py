"""Set-up shared by the autopay, late fee, meter and deposit tests: a lease starting today
(its first invoice due today), the operations as the apps call them, and the simulator's
payment agreements."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import httpx

from tests.lease_support import make_home, start_lease
from tests.rent_support import INVOICE, Tenancy, month_start, today
from tests.support import Api, Caller, sim_post

LINES = "lines { kind description amountFen waivedAt }"
BILL = f"query($id: ID!) {{ node(id: $id) {{ ... on Invoice {{ {INVOICE} kind {LINES} }} }} }}"
AUTOPAY = "autopay { method status since signUrl stopReason nextChargeAt }"
POLICY = "lateFeePolicy { graceDays dailyRateBasisPoints capBasisPoints }"
SETTLEMENT = """depositSettlement { heldFen refundedFen refundMethod settledAt disputeUntil
  disputedAt disputeNote deductions { reason amountFen } }"""
LEASE_BILLING = f"""query($id: ID!) {{ node(id: $id) {{ ... on Lease {{ id status
  depositFen depositPaidFen {AUTOPAY} {POLICY} {SETTLEMENT}
  invoices(first: 100) {{ edges {{ node {{ id kind periodStart periodEnd dueDate amountFen
    paidFen status {LINES} payments {{ id amountFen method status autopay failureCode }} }} }}
  }} }} }} }}"""
SET_AUTOPAY = f"""mutation($input: SetAutopayInput!) {{ setAutopay(input: $input) {{
  lease {{ id {AUTOPAY} }} userErrors {{ field message code }} }} }}"""
WAIVE = f"""mutation($input: WaiveLateFeeInput!) {{ waiveLateFee(input: $input) {{
  payment {{ id }} invoice {{ id amountFen paidFen status {LINES} }}
  userErrors {{ field message code }} }} }}"""
SETTLE = f"""mutation($input: SettleDepositInput!) {{ settleDeposit(input: $input) {{
  lease {{ id depositPaidFen {SETTLEMENT} }} userErrors {{ field message code }} }} }}"""
DISPUTE = f"""mutation($input: DisputeDepositInput!) {{ disputeDeposit(input: $input) {{
  lease {{ id {SETTLEMENT} }} userErrors {{ field message code }} }} }}"""
SET_RATES = """mutation($input: SetMeterRatesInput!) { setMeterRates(input: $input) {
  room { id meterRates { waterFenPerCubicMetre electricityFenPerKwh } }
  userErrors { field message code } } }"""
READING = "id kind value readAt replacement usage billedFen invoice { id }"
RECORD_READING = f"""mutation($input: RecordMeterReadingInput!) {{
  recordMeterReading(input: $input) {{ reading {{ {READING} }}
  userErrors {{ field message code }} }} }}"""
READINGS = f"""query($roomId: ID!, $kind: MeterKind, $first: Int, $after: String) {{
  meterReadings(roomId: $roomId, kind: $kind, first: $first, after: $after) {{
    pageInfo {{ hasNextPage endCursor }} edges {{ node {{ {READING} }} }} }} }}"""

DAY_S = 24 * 3600


@dataclass
class Lease(Tenancy):
    """A tenancy and the id of its room."""

    room: str = ""


def days_until(day: str) -> int:
    return (dt.date.fromisoformat(day) - today()).days


def from_today(
    api: Api,
    *,
    months_ahead: int = 1,
    rent: int = 100_000,
    deposit: int = 0,
    landlord: Caller | None = None,
    tenant: Caller | None = None,
    **terms: Any,
) -> Lease:
    """A lease from today to the end of the month `months_ahead` months on, due on the 1st:
    its first invoice falls due today, the next ones on the 1st of each month."""
    landlord = landlord or api.sign_up("LANDLORD", "王房东")
    tenant = tenant or api.sign_up("TENANT", "张租客")
    home = make_home(landlord, doors=False)
    end = month_start(today(), months_ahead + 1) - dt.timedelta(days=1)
    lease = start_lease(
        landlord,
        home.room,
        tenant,
        startDate=today().isoformat(),
        endDate=end.isoformat(),
        monthlyRentFen=rent,
        depositFen=deposit,
        rentDueDay=1,
        **terms,
    )
    invoices = sorted(
        (e["node"] for e in lease["invoices"]["edges"]), key=lambda i: i["periodStart"]
    )
    return Lease(api, landlord, tenant, lease, rent, invoices, room=home.room)


def billing(t: Tenancy, who: Caller | None = None) -> dict[str, Any]:
    """The lease with its autopay, policy, deposit and every invoice with lines and payments."""
    node: dict[str, Any] = (who or t.tenant).data(LEASE_BILLING, {"id": t.lease["id"]})["node"]
    return node


def bill(t: Tenancy, invoice_id: str, who: Caller | None = None) -> dict[str, Any]:
    node: dict[str, Any] = (who or t.tenant).data(BILL, {"id": invoice_id})["node"]
    return node


def set_autopay(tenant: Caller, lease_id: str, method: str | None) -> dict[str, Any]:
    payload: dict[str, Any] = tenant.data(
        SET_AUTOPAY, {"input": {"leaseId": lease_id, "method": method}}
    )["setAutopay"]
    return payload


def agreements(http: httpx.Client, sim_url: str) -> list[dict[str, Any]]:
    response = http.get(f"{sim_url}/sim/agreements")
    response.raise_for_status()
    found: list[dict[str, Any]] = response.json()
    return found


def sign(http: httpx.Client, sim_url: str, sign_url: str) -> dict[str, Any]:
    """The tenant signs the agreement in their wallet app (the simulator's control)."""
    agreement_id = sign_url.rstrip("/").rsplit("/", 1)[1]
    answer: dict[str, Any] = sim_post(http, sim_url, f"/sim/agreements/{agreement_id}/sign")
    return answer


def autopay_on(t: Tenancy, http: httpx.Client, sim_url: str, method: str = "WECHAT_PAY") -> str:
    """Autopay turned on and signed; the agreement's id."""
    pending = set_autopay(t.tenant, t.lease["id"], method)
    assert pending["userErrors"] == [], pending
    autopay = pending["lease"]["autopay"]
    assert autopay["status"] == "PENDING" and autopay["signUrl"], autopay
    signed = sign(http, sim_url, autopay["signUrl"])
    assert signed["anjuStatus"] == 200, signed
    assert billing(t)["autopay"]["status"] == "ACTIVE"
    return str(signed["agreementId"])


def autopay_payments(invoice: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in invoice["payments"] if p["autopay"]]


def invoice_of(lease: dict[str, Any], invoice_id: str) -> dict[str, Any]:
    return next(e["node"] for e in lease["invoices"]["edges"] if e["node"]["id"] == invoice_id)
