"""Set-up shared by the rent and notification tests: a tenancy (landlord, tenant, a lease of
whole calendar months, some of them in the past) through the public API, the rent operations
as the apps call them, and the simulator's payment controls."""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.lease_support import make_home, start_lease
from tests.support import Api, Caller

INVOICE = """id periodStart periodEnd dueDate amountFen paidFen status
  payments { id amountFen method status failureCode note createdAt paidAt invoice { id } }"""
INVOICE_NODE = f"query($id: ID!) {{ node(id: $id) {{ ... on Invoice {{ {INVOICE} }} }} }}"
PAYMENT_FIELDS = "payment { id amountFen method status paidAt failureCode note invoice { id } }"
PAY = f"""mutation($input: PayInvoiceInput!) {{ payInvoice(input: $input) {{
  {PAYMENT_FIELDS} invoice {{ id amountFen paidFen status }}
  userErrors {{ field message code }} }} }}"""
RECORD = f"""mutation($input: RecordPaymentInput!) {{ recordPayment(input: $input) {{
  {PAYMENT_FIELDS} invoice {{ id amountFen paidFen status }}
  userErrors {{ field message code }} }} }}"""
REMIND = """mutation($input: RemindTenantInput!) { remindTenant(input: $input) {
  notification { id kind title body createdAt readAt invoice { id } lease { id } }
  userErrors { field message code } } }"""
ROLL = """query($month: String!) { rentRoll(month: $month) {
  month expectedFen collectedFen outstandingFen pendingFen
  overdue { id dueDate status amountFen paidFen } } }"""
NOTIFICATIONS = """query($unreadOnly: Boolean, $first: Int, $after: String) {
  notifications(unreadOnly: $unreadOnly, first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id kind title body createdAt readAt
      alarm { id } invoice { id } lease { id } } } } }"""
MARK_READ = """mutation($input: MarkNotificationsReadInput!) {
  markNotificationsRead(input: $input) { count userErrors { field message code } } }"""

_keys = itertools.count(1)


def key() -> str:
    return f"k-{uuid.uuid4().hex[:12]}-{next(_keys)}"


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def month_start(day: dt.date, shift: int) -> dt.date:
    """The first day of the month `shift` months from `day`'s."""
    index = day.year * 12 + day.month - 1 + shift
    return dt.date(index // 12, index % 12 + 1, 1)


def oid_of(gid: str) -> str:
    """The object id inside a global ID (to find a payment's charge at the simulator)."""
    raw = base64.urlsafe_b64decode(gid + "=" * (-len(gid) % 4)).decode()
    return raw.split(":", 1)[1]


@dataclass
class Tenancy:
    """A lease of whole calendar months from `months_back` months ago: its past months'
    invoices are OVERDUE, the later ones OPEN."""

    api: Api
    landlord: Caller
    tenant: Caller
    lease: dict[str, Any]
    rent: int
    invoices: list[dict[str, Any]] = field(default_factory=list)

    def invoice(self, invoice_id: str, who: Caller | None = None) -> dict[str, Any]:
        node: dict[str, Any] = (who or self.tenant).data(INVOICE_NODE, {"id": invoice_id})["node"]
        return node

    def overdue(self) -> dict[str, Any]:
        return next(i for i in self.invoices if i["status"] == "OVERDUE")

    def upcoming(self) -> dict[str, Any]:
        """An OPEN invoice of a later month (due after today)."""
        return next(i for i in self.invoices if i["dueDate"] > today().isoformat())


def tenancy(
    api: Api,
    *,
    months_back: int = 2,
    months_ahead: int = 2,
    rent: int = 100_000,
    due_day: int = 5,
    deposit: int = 0,
    **terms: Any,
) -> Tenancy:
    """A tenancy of whole months (no deposit invoice unless `deposit`; `terms` go to
    startLease as they are, e.g. lateFeePolicy)."""
    landlord, tenant = api.sign_up("LANDLORD", "王房东"), api.sign_up("TENANT", "张租客")
    home = make_home(landlord, doors=False)
    start = month_start(today(), -months_back)
    end = month_start(today(), months_ahead + 1) - dt.timedelta(days=1)
    lease = start_lease(
        landlord,
        home.room,
        tenant,
        startDate=start.isoformat(),
        endDate=end.isoformat(),
        monthlyRentFen=rent,
        rentDueDay=due_day,
        depositFen=deposit,
        **terms,
    )
    invoices = sorted(
        (e["node"] for e in lease["invoices"]["edges"]), key=lambda i: i["periodStart"]
    )
    return Tenancy(api, landlord, tenant, lease, rent, invoices)


def pay(
    tenant: Caller,
    invoice_id: str,
    amount: int,
    idempotency_key: str | None = None,
    method: str = "WECHAT_PAY",
) -> dict[str, Any]:
    """payInvoice's payload, userErrors included."""
    variables = {
        "input": {
            "invoiceId": invoice_id,
            "amountFen": amount,
            "method": method,
            "idempotencyKey": idempotency_key or key(),
        }
    }
    payload: dict[str, Any] = tenant.data(PAY, variables)["payInvoice"]
    return payload


def record(
    landlord: Caller,
    invoice_id: str,
    amount: int,
    idempotency_key: str | None = None,
    method: str = "CASH",
    note: str | None = None,
) -> dict[str, Any]:
    variables = {
        "input": {
            "invoiceId": invoice_id,
            "amountFen": amount,
            "method": method,
            "idempotencyKey": idempotency_key or key(),
            "note": note,
        }
    }
    payload: dict[str, Any] = landlord.data(RECORD, variables)["recordPayment"]
    return payload


def codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


def charges(http: httpx.Client, sim_url: str) -> list[dict[str, Any]]:
    response = http.get(f"{sim_url}/sim/payments/charges")
    response.raise_for_status()
    result: list[dict[str, Any]] = response.json()
    return result


def charges_of(http: httpx.Client, sim_url: str, payment_id: str) -> list[dict[str, Any]]:
    wanted = f"anju-payment-{oid_of(payment_id)}"
    return [c for c in charges(http, sim_url) if c["idempotencyKey"] == wanted]


def events(http: httpx.Client, sim_url: str) -> list[dict[str, Any]]:
    response = http.get(f"{sim_url}/sim/events")
    response.raise_for_status()
    result: list[dict[str, Any]] = response.json()
    return result


def notifications(caller: Caller, **variables: Any) -> list[dict[str, Any]]:
    data = caller.data(NOTIFICATIONS, {"first": 100, **variables})["notifications"]
    return [e["node"] for e in data["edges"]]
