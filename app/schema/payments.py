"""Payments: the type, and payInvoice's and recordPayment's inputs and payload."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import strawberry

from app.context import Info
from app.ids import encode_id
from app.schema.common import USER_ERRORS, Node, UserError
from app.schema.invoices import Invoice
from app.schema.node import register_node
from app.services import payments
from app.store import Doc


@strawberry.enum
class PaymentMethod(enum.Enum):
    CASH = "CASH"
    BANK_TRANSFER = "BANK_TRANSFER"
    WECHAT_PAY = "WECHAT_PAY"
    ALIPAY = "ALIPAY"
    DEPOSIT = strawberry.enum_value(
        "DEPOSIT",
        description="Taken from the tenant's deposit when the landlord settled it "
        "(settleDeposit); never accepted as an input method.",
    )


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
        "AMOUNT_EXCEEDS_BALANCE or INVOICE_NOT_PAYABLE; for an autopay charge also "
        "AGREEMENT_INACTIVE (the wallet no longer honours the agreement) or AUTOPAY_STOPPED "
        "(stopped before it was sent: nothing charged)."
    )
    autopay: bool = strawberry.field(
        description="Charged by autopay through the tenant's payment agreement."
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
            failure_code=doc.get("failure_code") if doc["status"] == payments.FAILED else None,
            autopay=bool(doc.get("autopay")),
        )

    @strawberry.field
    async def invoice(self, info: Info) -> Invoice:
        doc = await info.context.loaders.invoice_by_id.load(self.doc["invoice_id"])
        assert doc is not None
        return Invoice.from_doc(doc)


@register_node("Payment")
async def _payment_node(info: Info, oid: Any) -> Payment | None:
    doc = await info.context.loaders.by_id("payments").load(oid)
    if doc is None or not payments.can_see_payment(info.context.viewer, doc):
        return None
    return Payment.from_doc(doc)


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
    invoice: Invoice | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)
