"""registerOccupant, deregisterOccupant."""

from __future__ import annotations

import strawberry

from app.context import Info
from app.ids import decode_id
from app.schema.common import MutationInput
from app.schema.occupants import (
    DeregisterOccupantInput,
    Occupant,
    OccupantPayload,
    RegisterOccupantInput,
)
from app.schema.permissions import allow
from app.services import occupants
from app.viewer import Role

LANDLORD = [allow(Role.LANDLORD)]


@strawberry.type
class OccupantMutations:
    @strawberry.mutation(
        description="LANDLORD: registers someone moving in later; their card goes on the doors.",
        permission_classes=LANDLORD,
    )
    async def register_occupant(
        self, info: Info, input: MutationInput[RegisterOccupantInput]
    ) -> OccupantPayload:
        given = input.occupant
        doc = await occupants.register_occupant(
            info.context.deps,
            info.context.viewer,
            decode_id(input.lease_id, "Lease", ["leaseId"]),
            occupants.OccupantIn(given.name, given.id_number, given.phone),
        )
        return OccupantPayload(occupant=Occupant.from_doc(doc))

    @strawberry.mutation(
        description="LANDLORD: someone has left; their card is revoked at once.",
        permission_classes=LANDLORD,
    )
    async def deregister_occupant(
        self, info: Info, input: MutationInput[DeregisterOccupantInput]
    ) -> OccupantPayload:
        doc = await occupants.deregister_occupant(
            info.context.deps,
            info.context.viewer,
            decode_id(input.occupant_id, "Occupant", ["occupantId"]),
        )
        return OccupantPayload(occupant=Occupant.from_doc(doc))
