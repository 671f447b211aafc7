"""rentRoll, remindTenant."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.context import Info
from app.ids import decode_id
from app.schema.common import MutationInput
from app.schema.invoices import RemindTenantInput, RemindTenantPayload, RentRoll
from app.schema.notifications import Notification
from app.schema.permissions import allow
from app.services import rent_reminders, rent_roll
from app.viewer import Role

LANDLORD = [allow(Role.LANDLORD)]


@strawberry.type
class InvoiceQueries:
    @strawberry.field(
        description="LANDLORD: one month of rent across their leases.", permission_classes=LANDLORD
    )
    async def rent_roll(
        self,
        info: Info,
        month: Annotated[
            str,
            strawberry.argument(
                description="The month, YYYY-MM, e.g. 2026-03 (INVALID_ARGUMENT otherwise)."
            ),
        ],
    ) -> RentRoll:
        doc = await rent_roll.rent_roll(info.context.deps, info.context.viewer, month)
        return RentRoll.from_doc(doc)


@strawberry.type
class InvoiceMutations:
    @strawberry.mutation(
        description="LANDLORD: nudges the tenant about an unpaid invoice (once per invoice a day).",
        permission_classes=LANDLORD,
    )
    async def remind_tenant(
        self, info: Info, input: MutationInput[RemindTenantInput]
    ) -> RemindTenantPayload:
        doc = await rent_reminders.remind_tenant(
            info.context.deps,
            info.context.viewer,
            decode_id(input.invoice_id, "Invoice", ["invoiceId"]),
        )
        return RemindTenantPayload(notification=Notification.from_doc(doc))
