"""rentRoll, payInvoice, recordPayment, remindTenant."""

from __future__ import annotations

import strawberry

from app.context import Info
from app.ids import decode_id
from app.resolvers.common import attempt
from app.schema.notifications import Notification
from app.schema.permissions import allow
from app.schema.rent import (
    PayInvoiceInput,
    Payment,
    PaymentPayload,
    RecordPaymentInput,
    RemindTenantInput,
    RemindTenantPayload,
    RentRoll,
    invoice_from_doc,
)
from app.services import rent, rent_payments
from app.viewer import Role

LANDLORD = [allow(Role.LANDLORD)]
TENANT = [allow(Role.TENANT)]


@strawberry.type
class RentQueries:
    @strawberry.field(
        description="LANDLORD: one month of rent across their leases.", permission_classes=LANDLORD
    )
    async def rent_roll(self, info: Info, month: str) -> RentRoll:
        return RentRoll.from_doc(await rent.rent_roll(info.context.db, info.context.viewer, month))


@strawberry.type
class RentMutations:
    @strawberry.mutation(
        description="TENANT: pays their own invoice online.", permission_classes=TENANT
    )
    async def pay_invoice(self, info: Info, input: PayInvoiceInput) -> PaymentPayload:
        ctx = info.context

        async def work() -> PaymentPayload:
            payment, invoice = await rent_payments.pay_invoice(
                ctx.db,
                ctx.state.payments,
                ctx.settings,
                ctx.viewer,
                invoice_id=decode_id(input.invoice_id, "Invoice", ["invoiceId"]),
                amount_fen=input.amount_fen,
                method=input.method.value,
                idempotency_key=input.idempotency_key,
            )
            return PaymentPayload(
                payment=Payment.from_doc(payment), invoice=invoice_from_doc(invoice)
            )

        return await attempt(PaymentPayload, work)

    @strawberry.mutation(
        description="LANDLORD: records rent received offline.", permission_classes=LANDLORD
    )
    async def record_payment(self, info: Info, input: RecordPaymentInput) -> PaymentPayload:
        ctx = info.context

        async def work() -> PaymentPayload:
            payment, invoice = await rent_payments.record_payment(
                ctx.db,
                ctx.viewer,
                invoice_id=decode_id(input.invoice_id, "Invoice", ["invoiceId"]),
                amount_fen=input.amount_fen,
                method=input.method.value,
                idempotency_key=input.idempotency_key,
                note=input.note,
            )
            return PaymentPayload(
                payment=Payment.from_doc(payment), invoice=invoice_from_doc(invoice)
            )

        return await attempt(PaymentPayload, work)

    @strawberry.mutation(
        description="LANDLORD: nudges the tenant about an unpaid invoice (once per invoice a day).",
        permission_classes=LANDLORD,
    )
    async def remind_tenant(self, info: Info, input: RemindTenantInput) -> RemindTenantPayload:
        ctx = info.context

        async def work() -> RemindTenantPayload:
            invoice_id = decode_id(input.invoice_id, "Invoice", ["invoiceId"])
            doc = await rent.remind_tenant(ctx.db, ctx.viewer, invoice_id)
            return RemindTenantPayload(notification=Notification.from_doc(doc))

        return await attempt(RemindTenantPayload, work)
