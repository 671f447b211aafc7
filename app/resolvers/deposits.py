"""settleDeposit, disputeDeposit."""

from __future__ import annotations

import strawberry

from app.context import Info
from app.ids import decode_id
from app.schema.common import MutationInput
from app.schema.deposits import DisputeDepositInput, SettleDepositInput
from app.schema.leases import Lease, LeasePayload
from app.schema.permissions import allow
from app.services import deposits
from app.viewer import Role


@strawberry.type
class DepositMutations:
    @strawberry.mutation(
        description="LANDLORD, after endLease: settles the deposit (unpaid invoices first, "
        "then the deductions given, the rest refunded); the tenant is told.",
        permission_classes=[allow(Role.LANDLORD)],
    )
    async def settle_deposit(
        self, info: Info, input: MutationInput[SettleDepositInput]
    ) -> LeasePayload:
        doc = await deposits.settle_deposit(
            info.context.deps,
            info.context.viewer,
            decode_id(input.lease_id, "Lease", ["leaseId"]),
            [deposits.DeductionIn(d.reason, d.amount_fen) for d in input.deductions],
            input.refund_method.value,
        )
        return LeasePayload(lease=Lease.from_doc(doc))

    @strawberry.mutation(
        description="TENANT, within the dispute window: disputes the deposit's settlement "
        "(recorded and shown to both; the landlord is told).",
        permission_classes=[allow(Role.TENANT)],
    )
    async def dispute_deposit(
        self, info: Info, input: MutationInput[DisputeDepositInput]
    ) -> LeasePayload:
        doc = await deposits.dispute_deposit(
            info.context.deps,
            info.context.viewer,
            decode_id(input.lease_id, "Lease", ["leaseId"]),
            input.note,
        )
        return LeasePayload(lease=Lease.from_doc(doc))
