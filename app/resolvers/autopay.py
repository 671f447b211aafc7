"""setAutopay."""

from __future__ import annotations

import strawberry

from app.context import Info
from app.ids import decode_id
from app.schema.autopay import SetAutopayInput
from app.schema.common import MutationInput
from app.schema.leases import Lease, LeasePayload
from app.schema.permissions import allow
from app.services import autopay
from app.viewer import Role


@strawberry.type
class AutopayMutations:
    @strawberry.mutation(
        description="TENANT: turns autopay of their accepted lease on (a payment agreement to "
        "sign in the wallet app: Lease.autopay.signUrl) or off (method null).",
        permission_classes=[allow(Role.TENANT)],
    )
    async def set_autopay(self, info: Info, input: MutationInput[SetAutopayInput]) -> LeasePayload:
        doc = await autopay.set_autopay(
            info.context.deps,
            info.context.viewer,
            decode_id(input.lease_id, "Lease", ["leaseId"]),
            input.method.value if input.method else None,
        )
        return LeasePayload(lease=Lease.from_doc(doc))
