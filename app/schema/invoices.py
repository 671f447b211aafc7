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


@strawberry.enum
class InvoiceStatus(enum.Enum):
    OPEN = "OPEN"
    PARTIALLY_PAID = "PARTIALLY_PAID"
    PAID = "PAID"
    OVERDUE = "OVERDUE"
    VOID = "VOID"


@strawberry.enum
class InvoiceLineKind(enum.Enum):
    RENT = "RENT"
    WATER = "WATER"
    ELECTRICITY = "ELECTRICITY"
    LATE_FEE = "LATE_FEE"
    DEPOSIT = strawberry.enum_value(
        "DEPOSIT",
        description="startLease creates one invoice with this line, due on the start date: "
        "paying it (online or recorded) is what depositPaidFen counts.",
    )
    OTHER = "OTHER"


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
    kind: InvoiceLineKind
    description: str = strawberry.field(
        description="What it is for; for a LATE_FEE, how it was computed (rate, each unpaid "
        "amount and its days, the cap) and, once waived, by how much and why."
    )
    amount_fen: int
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


@strawberry.type
class Invoice(Node):
    doc: strawberry.Private[Doc]
    kind: InvoiceKind
    period_start: dt.date
    period_end: dt.date
    due_date: dt.date
    amount_fen: int
    paid_fen: int
    status: InvoiceStatus

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

    @strawberry.field
    async def lease(self, info: Info) -> Annotated[Lease, strawberry.lazy("app.schema.leases")]:
        from app.schema.leases import lease_by_id

        return await lease_by_id(info, self.doc["lease_id"])

    @strawberry.field
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
    kind: InvoiceLineKind
    amount_fen: int


@strawberry.type(description="A landlord's rent for one month across all of their leases.")
class RentRoll:
    doc: strawberry.Private[Doc]
    month: str = strawberry.field(description="YYYY-MM")
    expected_fen: int = strawberry.field(
        description="The amounts of the invoices whose period starts in the month, VOID ones "
        "excluded."
    )
    collected_fen: int = strawberry.field(description="What has been paid on those invoices.")
    outstanding_fen: int = strawberry.field(description="expectedFen - collectedFen.")
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
        description="collectedFen split by line kind: what is paid on an invoice covers its "
        "lines in the order DEPOSIT, RENT, WATER, ELECTRICITY, OTHER, LATE_FEE. Kinds with "
        "nothing are left out; the amounts add up to collectedFen."
    )
    def collected_by_kind(self) -> list[AmountByKind]:
        return _by_kind(self.doc["collected_by_kind"])

    @strawberry.field(
        description="outstandingFen split by line kind, in the same way; adds up to outstandingFen."
    )
    def outstanding_by_kind(self) -> list[AmountByKind]:
        return _by_kind(self.doc["outstanding_by_kind"])


def _by_kind(amounts: dict[str, int]) -> list[AmountByKind]:
    return [
        AmountByKind(kind=InvoiceLineKind(kind), amount_fen=amounts[kind])
        for kind in invoice_lines.KINDS
        if amounts.get(kind)
    ]


@strawberry.input
class RemindTenantInput:
    invoice_id: strawberry.ID


@strawberry.type
class RemindTenantPayload:
    notification: Annotated[Notification, strawberry.lazy("app.schema.notifications")] | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)
