"""Rent: payments, the rent roll, and the inputs and payloads of payInvoice, recordPayment and
remindTenant. The Invoice type is the leases domain's (app/schema/leases.py); its `payments`
and `status` come from here."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from app.context import Info
from app.db import Doc
from app.ids import encode_id
from app.schema.common import Node, UserError
from app.schema.node import register_node
from app.services import rent_payments as svc

if TYPE_CHECKING:
    from app.schema.leases import Invoice
    from app.schema.notifications import Notification

LazyInvoice = Annotated["Invoice", strawberry.lazy("app.schema.leases")]
LazyNotification = Annotated["Notification", strawberry.lazy("app.schema.notifications")]


def invoice_from_doc(doc: Doc) -> Any:
    from app.schema.leases import Invoice

    return Invoice.from_doc(doc)


@strawberry.enum
class PaymentMethod(enum.Enum):
    CASH = "CASH"
    BANK_TRANSFER = "BANK_TRANSFER"
    WECHAT_PAY = "WECHAT_PAY"
    ALIPAY = "ALIPAY"


@strawberry.enum
class PaymentStatus(enum.Enum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


@strawberry.type
class Payment(Node):
    doc: strawberry.Private[Doc]
    amount_fen: int
    method: PaymentMethod
    status: PaymentStatus
    created_at: dt.datetime
    paid_at: dt.datetime | None
    note: str | None = strawberry.field(description="The landlord's note on an offline payment.")
    failure_code: str | None = strawberry.field(
        description="Why a FAILED payment failed: PAYMENT_DECLINED, PAYMENT_PROVIDER_ERROR, "
        "AMOUNT_EXCEEDS_BALANCE or INVOICE_NOT_PAYABLE."
    )

    @classmethod
    def from_doc(cls, doc: Doc) -> Payment:
        return cls(
            id=strawberry.ID(encode_id("Payment", doc["_id"])),
            doc=doc,
            amount_fen=doc["amount_fen"],
            method=PaymentMethod(doc["method"]),
            status=PaymentStatus(doc["status"]),
            created_at=doc["created_at"],
            paid_at=doc.get("paid_at"),
            note=doc.get("note"),
            failure_code=doc.get("failure_code") if doc["status"] == svc.FAILED else None,
        )

    @strawberry.field
    async def invoice(self, info: Info) -> LazyInvoice:
        doc = await info.context.loaders.by_id("invoices").load(self.doc["invoice_id"])
        assert doc is not None
        return invoice_from_doc(doc)


async def payments_of_invoice(info: Info, invoice_id: Any) -> list[Payment]:
    """Every payment of an invoice (PENDING and FAILED too), oldest first: Invoice.payments."""
    docs = await info.context.loaders.many_by(
        "payments", "invoice_id", sort=[("created_at", 1), ("_id", 1)]
    ).load(invoice_id)
    return [Payment.from_doc(d) for d in docs]


@register_node("Payment")
async def _payment_node(info: Info, oid: Any) -> Payment | None:
    doc = await info.context.loaders.by_id("payments").load(oid)
    if doc is None or not svc.can_see_payment(info.context.viewer, doc):
        return None
    return Payment.from_doc(doc)


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
    def overdue(self) -> list[LazyInvoice]:
        return [invoice_from_doc(d) for d in self.doc["overdue"]]


@strawberry.input
class PayInvoiceInput:
    invoice_id: strawberry.ID
    amount_fen: int
    method: PaymentMethod = strawberry.field(description="WECHAT_PAY or ALIPAY.")
    idempotency_key: str = strawberry.field(
        description="The same key always yields the same single payment."
    )


@strawberry.input
class RecordPaymentInput:
    invoice_id: strawberry.ID
    amount_fen: int
    method: PaymentMethod = strawberry.field(description="CASH or BANK_TRANSFER.")
    idempotency_key: str
    note: str | None = None


@strawberry.type
class PaymentPayload:
    payment: Payment | None = None
    invoice: LazyInvoice | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class RemindTenantInput:
    invoice_id: strawberry.ID


@strawberry.type
class RemindTenantPayload:
    notification: LazyNotification | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)
