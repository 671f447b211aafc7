"""payInvoice, recordPayment."""

from __future__ import annotations

import strawberry

from app.context import Info
from app.ids import decode_id
from app.schema.common import MutationInput
from app.schema.invoices import Invoice
from app.schema.payments import PayInvoiceInput, Payment, PaymentPayload, RecordPaymentInput
from app.schema.permissions import allow
from app.services import charges, payments
from app.viewer import Role


@strawberry.type
class PaymentMutations:
    @strawberry.mutation(
        description="TENANT: pays their own invoice online through their wallet; the payment "
        "is PENDING until the provider confirms it (the invoice's paidFen moves then). The "
        "same idempotencyKey answers the same payment. Codes: INVALID_ID, NOT_FOUND, "
        "INVALID_AMOUNT, AMOUNT_EXCEEDS_BALANCE, INVOICE_NOT_PAYABLE, INVALID_METHOD, "
        "REQUIRED, TOO_LONG, INVALID_ARGUMENT (idempotencyKey), IDEMPOTENCY_CONFLICT, "
        "PAYMENT_DECLINED, PAYMENT_PROVIDER_ERROR.",
        permission_classes=[allow(Role.TENANT)],
    )
    async def pay_invoice(
        self, info: Info, input: MutationInput[PayInvoiceInput]
    ) -> PaymentPayload:
        payment, invoice = await charges.pay_invoice(
            info.context.deps,
            info.context.viewer,
            invoice_id=decode_id(input.invoice_id, "Invoice", ["invoiceId"]),
            amount_fen=input.amount_fen,
            method=input.method.value,
            idempotency_key=input.idempotency_key,
        )
        return PaymentPayload(payment=Payment.from_doc(payment), invoice=Invoice.from_doc(invoice))

    @strawberry.mutation(
        description="LANDLORD: records a payment received offline (cash, transfer) on their "
        "invoice; SUCCEEDED at once. Codes: INVALID_ID, NOT_FOUND, INVALID_AMOUNT, "
        "AMOUNT_EXCEEDS_BALANCE, INVOICE_NOT_PAYABLE, INVALID_METHOD, REQUIRED, TOO_LONG, "
        "INVALID_ARGUMENT (idempotencyKey), IDEMPOTENCY_CONFLICT.",
        permission_classes=[allow(Role.LANDLORD)],
    )
    async def record_payment(
        self, info: Info, input: MutationInput[RecordPaymentInput]
    ) -> PaymentPayload:
        payment, invoice = await payments.record_payment(
            info.context.deps,
            info.context.viewer,
            invoice_id=decode_id(input.invoice_id, "Invoice", ["invoiceId"]),
            amount_fen=input.amount_fen,
            method=input.method.value,
            idempotency_key=input.idempotency_key,
            note=input.note,
        )
        return PaymentPayload(payment=Payment.from_doc(payment), invoice=Invoice.from_doc(invoice))
