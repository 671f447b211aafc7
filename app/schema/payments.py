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


@strawberry.enum(description="How a payment was made.")
class PaymentMethod(enum.Enum):
    _value_: str

    CASH = strawberry.enum_value(
        "CASH", description="Cash, recorded by the landlord (recordPayment)."
    )
    BANK_TRANSFER = strawberry.enum_value(
        "BANK_TRANSFER", description="A bank transfer, recorded by the landlord (recordPayment)."
    )
    WECHAT_PAY = strawberry.enum_value(
        "WECHAT_PAY",
        description="Paid online by the tenant through WeChat Pay (payInvoice, autopay).",
    )
    ALIPAY = strawberry.enum_value(
        "ALIPAY", description="Paid online by the tenant through Alipay (payInvoice, autopay)."
    )
    DEPOSIT = strawberry.enum_value(
        "DEPOSIT",
        description="Taken from the tenant's deposit when the landlord settled it "
        "(settleDeposit); never accepted as an input method.",
    )


@strawberry.enum(description="Where a payment stands.")
class PaymentStatus(enum.Enum):
    _value_: str

    PENDING = strawberry.enum_value(
        "PENDING",
        description="Sent to the provider, awaiting its confirmation (online payments only).",
    )
    SUCCEEDED = strawberry.enum_value(
        "SUCCEEDED", description="Paid: counted in the invoice's paidFen."
    )
    FAILED = strawberry.enum_value(
        "FAILED", description="Not paid; failureCode says why. Nothing was taken."
    )


@strawberry.type(
    description="A payment on an invoice, online or recorded by the landlord. Seen by the lease's "
    "LANDLORD (only the owner) and its TENANT.",
)
class Payment(Node):
    doc: strawberry.Private[Doc]
    amount_fen: int = strawberry.field(description="The amount, in fen.")
    method: PaymentMethod = strawberry.field(description="How it was paid.")
    status: PaymentStatus = strawberry.field(description="Where it stands.")
    created_at: dt.datetime = strawberry.field(
        description="When it was asked for or recorded (UTC)."
    )
    paid_at: dt.datetime | None = strawberry.field(
        description="When it succeeded (UTC); null unless SUCCEEDED."
    )
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

    @strawberry.field(description="The invoice it pays.")
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


@strawberry.input(description="An online payment of the caller's invoice.")
class PayInvoiceInput:
    invoice_id: strawberry.ID = strawberry.field(
        description="An invoice of the caller's accepted lease (INVALID_ID, NOT_FOUND, "
        "INVOICE_NOT_PAYABLE)."
    )
    amount_fen: int = strawberry.field(
        description="The amount in fen: at least 1, at most what is owed (INVALID_AMOUNT, "
        "AMOUNT_EXCEEDS_BALANCE)."
    )
    method: PaymentMethod = strawberry.field(description="WECHAT_PAY or ALIPAY.")
    idempotency_key: str = strawberry.field(
        description="The same key always yields the same single payment."
    )


@strawberry.input(description="A payment the landlord received offline.")
class RecordPaymentInput:
    invoice_id: strawberry.ID = strawberry.field(
        description="An invoice of the caller's lease (INVALID_ID, NOT_FOUND, INVOICE_NOT_PAYABLE)."
    )
    amount_fen: int = strawberry.field(
        description="The amount in fen: at least 1, at most what is owed (INVALID_AMOUNT, "
        "AMOUNT_EXCEEDS_BALANCE)."
    )
    method: PaymentMethod = strawberry.field(description="CASH or BANK_TRANSFER.")
    idempotency_key: str = strawberry.field(
        description="The client's key for this payment, 1-100 letters, digits and . _ : - (a "
        "UUID): the same key always yields the same single payment "
        "(IDEMPOTENCY_CONFLICT if reused for another one)."
    )
    note: str | None = strawberry.field(
        default=None, description="The landlord's note, at most 200 characters (TOO_LONG)."
    )


@strawberry.type(description="The answer of payInvoice and recordPayment.")
class PaymentPayload:
    payment: Payment | None = strawberry.field(
        default=None,
        description="The payment (PENDING for an online one until the provider confirms).",
    )
    invoice: Invoice | None = strawberry.field(
        default=None, description="The invoice as it now is."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)
