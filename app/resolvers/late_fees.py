"""waiveLateFee."""

from __future__ import annotations

import strawberry

from app.context import Info
from app.ids import decode_id
from app.schema.common import MutationInput
from app.schema.invoices import Invoice
from app.schema.late_fees import WaiveLateFeeInput
from app.schema.payments import PaymentPayload
from app.schema.permissions import allow
from app.services import late_fees
from app.viewer import Role


@strawberry.type
class LateFeeMutations:
    @strawberry.mutation(
        description="LANDLORD: waives what is unpaid of one of their invoices' late fee, and "
        "stops it growing (audited, the tenant told). NOTHING_TO_WAIVE when there is none. "
        "Answers the invoice (payment is null).",
        permission_classes=[allow(Role.LANDLORD)],
    )
    async def waive_late_fee(
        self, info: Info, input: MutationInput[WaiveLateFeeInput]
    ) -> PaymentPayload:
        doc = await late_fees.waive_late_fee(
            info.context.deps,
            info.context.viewer,
            decode_id(input.invoice_id, "Invoice", ["invoiceId"]),
            input.reason,
        )
        return PaymentPayload(invoice=Invoice.from_doc(doc))
