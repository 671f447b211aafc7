"""Invoices, their lines and the rent roll: types, and remindTenant's input and payload."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from app.context import Info
from app.ids import encode_id
from app.schema.common import USER_ERRORS, Node, UserError
from app.schema.node import register_node
from app.services import invoice_lines
from app.services.invoices import invoice_status
from app.services.leases import can_see_lease
from app.store import Doc

if TYPE_CHECKING:
    from app.schema.leases import Lease
    from app.schema.notifications import Notification
    from app.schema.payments import Payment


@strawberry.enum(
    description="Where an invoice stands today (computed at each read: an unpaid one turns OVERDUE"
    " the day after its due date).",
)
class InvoiceStatus(enum.Enum):
    _value_: str

    OPEN = strawberry.enum_value("OPEN", description="Nothing paid yet; not yet due.")
    PARTIALLY_PAID = strawberry.enum_value(
        "PARTIALLY_PAID", description="Some paid (paidFen > 0), the rest not yet due."
    )
    PAID = strawberry.enum_value("PAID", description="Paid in full (paidFen >= amountFen).")
    OVERDUE = strawberry.enum_value(
        "OVERDUE", description="Past its due date and not paid in full."
    )
    VOID = strawberry.enum_value(
        "VOID", description="Cancelled (its lease ended before its period): nothing to pay."
    )


@strawberry.enum(description="What a line of an invoice is for.")
class InvoiceLineKind(enum.Enum):
    _value_: str

    RENT = strawberry.enum_value(
        "RENT", description="The month's rent (prorated for a part month)."
    )
    WATER = strawberry.enum_value(
        "WATER", description="Water used, from the room's meter readings (cubic metres x the rate)."
    )
    ELECTRICITY = strawberry.enum_value(
        "ELECTRICITY",
        description="Electricity used, from the room's meter readings (kWh x the rate).",
    )
    LATE_FEE = strawberry.enum_value(
        "LATE_FEE",
        description="The late fee of the lease's policy; waivable by the landlord (waiveLateFee).",
    )
    DEPOSIT = strawberry.enum_value(
        "DEPOSIT",
        description="The deposit: startLease creates one invoice with this line, due on the "
        "start date: paying it (online or recorded) is what depositPaidFen counts.",
    )
    OTHER = strawberry.enum_value("OTHER", description="Anything else the landlord charged.")


@strawberry.enum(description="What an invoice is for.")
class InvoiceKind(enum.Enum):
    RENT = strawberry.enum_value(
        "RENT", description="A month of the lease (with its utilities and late fee lines)."
    )
    DEPOSIT = strawberry.enum_value("DEPOSIT", description="The lease's deposit.")
    UTILITIES = strawberry.enum_value(
        "UTILITIES", description="Meter usage with no rent invoice left to carry it."
    )


@strawberry.type(description="One line of an invoice.")
class InvoiceLine:
    kind: InvoiceLineKind = strawberry.field(description="What it is for.")
    description: str = strawberry.field(
        description="What it is for; for a LATE_FEE, how it was computed (rate, each unpaid "
        "amount and its days, the cap) and, once waived, by how much and why."
    )
    amount_fen: int = strawberry.field(
        description="Its amount in fen (0 once a LATE_FEE is waived)."
    )
    waived_at: dt.datetime | None = strawberry.field(
        description="Set on a LATE_FEE line waived by the landlord."
    )

    @classmethod
    def from_doc(cls, doc: Doc) -> InvoiceLine:
        return cls(
            kind=InvoiceLineKind(doc["kind"]),
            description=doc["description"],
            amount_fen=doc["amount_fen"],
            waived_at=doc.get("waived_at"),
        )


@strawberry.type(
    description="A bill of a lease: a month's rent, its deposit or utilities. Seen by the lease's "
    "LANDLORD (only the owner) and its TENANT once they accepted the lease.",
)
class Invoice(Node):
    doc: strawberry.Private[Doc]
    kind: InvoiceKind = strawberry.field(description="What it is for.")
    period_start: dt.date = strawberry.field(description="First day it covers.")
    period_end: dt.date = strawberry.field(description="Last day it covers.")
    due_date: dt.date = strawberry.field(
        description="The day it falls due (the lease's rentDueDay); unpaid after it: OVERDUE."
    )
    amount_fen: int = strawberry.field(description="What it asks, in fen: the sum of its lines.")
    paid_fen: int = strawberry.field(
        description="What has been paid on it so far, in fen (SUCCEEDED payments)."
    )
    status: InvoiceStatus = strawberry.field(description="Where it stands today.")

    @classmethod
    def from_doc(cls, doc: Doc) -> Invoice:
        return cls(
            id=strawberry.ID(encode_id("Invoice", doc["_id"])),
            doc=doc,
            kind=InvoiceKind(doc.get("kind", "RENT")),
            period_start=dt.date.fromisoformat(doc["period_start"]),
            period_end=dt.date.fromisoformat(doc["period_end"]),
            due_date=dt.date.fromisoformat(doc["due_date"]),
            amount_fen=doc["amount_fen"],
            paid_fen=int(doc.get("paid_fen", 0)),
            status=InvoiceStatus(invoice_status(doc)),
        )

    @strawberry.field(description="Their amounts add up to amountFen.")
    def lines(self) -> list[InvoiceLine]:
        return [InvoiceLine.from_doc(x) for x in invoice_lines.lines_of(self.doc)]

    @strawberry.field(description="The lease it bills.")
    async def lease(self, info: Info) -> Annotated[Lease, strawberry.lazy("app.schema.leases")]:
        from app.schema.leases import lease_by_id

        return await lease_by_id(info, self.doc["lease_id"])

    @strawberry.field(
        description="Payments made on it, oldest first, failed and pending ones included.",
    )
    async def payments(
        self, info: Info
    ) -> list[Annotated[Payment, strawberry.lazy("app.schema.payments")]]:
        """Every payment of the invoice (PENDING and FAILED too), oldest first."""
        from app.schema.payments import Payment

        docs = await info.context.loaders.payments_by_invoice.load(self.doc["_id"])
        return [Payment.from_doc(d) for d in docs]


async def invoice_of(info: Info, invoice_id: Any) -> Invoice | None:
    """The invoice a notification or a meter reading names (None when it names none): a
    field of an object its viewer may already see."""
    if invoice_id is None:
        return None
    doc = await info.context.loaders.invoice_by_id.load(invoice_id)
    return Invoice.from_doc(doc) if doc else None


@register_node("Invoice")
async def _invoice_node(info: Info, oid: Any) -> Invoice | None:
    doc = await info.context.loaders.invoice_by_id.load(oid)
    # an invoice carries its lease's landlord and tenant: the same rule as for the lease
    return Invoice.from_doc(doc) if doc and can_see_lease(info.context.viewer, doc) else None


@strawberry.type(description="An amount of one kind of invoice line.")
class AmountByKind:
    kind: InvoiceLineKind = strawberry.field(description="The kind of line.")
    amount_fen: int = strawberry.field(description="The amount of that kind, in fen.")


@strawberry.type(description="A landlord's rent for one month across all of their leases.")
class RentRoll:
    doc: strawberry.Private[Doc]
    month: str = strawberry.field(description="YYYY-MM")
    expected_fen: int = strawberry.field(
        description="The amounts of the invoices whose period starts in the month, VOID ones "
        "excluded."
    )
    collected_fen: int = strawberry.field(description="What has been paid on those invoices.")
    outstanding_fen: int = strawberry.field(description="ExpectedFen minus collectedFen, in fen.")
    pending_fen: int = strawberry.field(
        description="Part of outstandingFen paid online and awaiting the provider's confirmation."
    )

    @classmethod
    def from_doc(cls, doc: Doc) -> RentRoll:
        return cls(
            doc=doc,
            month=doc["month"],
            expected_fen=doc["expected_fen"],
            collected_fen=doc["collected_fen"],
            outstanding_fen=doc["outstanding_fen"],
            pending_fen=doc["pending_fen"],
        )

    @strawberry.field(description="Those invoices that are OVERDUE today, by due date.")
    def overdue(self) -> list[Invoice]:
        return [Invoice.from_doc(d) for d in self.doc["overdue"]]

    @strawberry.field(
        description="CollectedFen split by line kind: what is paid on an invoice covers its "
        "lines in the order DEPOSIT, RENT, WATER, ELECTRICITY, OTHER, LATE_FEE. Kinds with "
        "nothing are left out; the amounts add up to collectedFen."
    )
    def collected_by_kind(self) -> list[AmountByKind]:
        return _by_kind(self.doc["collected_by_kind"])

    @strawberry.field(
        description="OutstandingFen split by line kind, in the same way; adds up to outstandingFen."
    )
    def outstanding_by_kind(self) -> list[AmountByKind]:
        return _by_kind(self.doc["outstanding_by_kind"])


def _by_kind(amounts: dict[str, int]) -> list[AmountByKind]:
    return [
        AmountByKind(kind=InvoiceLineKind(kind), amount_fen=amounts[kind])
        for kind in invoice_lines.KINDS
        if amounts.get(kind)
    ]


@strawberry.input(description="The invoice to remind its tenant of.")
class RemindTenantInput:
    invoice_id: strawberry.ID = strawberry.field(
        description="An unpaid invoice of the caller's accepted lease (INVALID_ID, NOT_FOUND, "
        "INVOICE_NOT_PAYABLE, LEASE_NOT_ACCEPTED)."
    )


@strawberry.type(description="The answer of remindTenant.")
class RemindTenantPayload:
    notification: Annotated[Notification, strawberry.lazy("app.schema.notifications")] | None = (
        strawberry.field(
            default=None,
            description="The RENT_REMINDER notification the tenant got; null when refused.",
        )
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)
