"""myLeases, startLease, extendLease, endLease, registerOccupant, deregisterOccupant."""

from __future__ import annotations

import strawberry

from app.context import Info
from app.ids import decode_id
from app.resolvers.common import attempt
from app.schema.leases import (
    DeregisterOccupantInput,
    EndLeaseInput,
    ExtendLeaseInput,
    Lease,
    LeasePayload,
    Occupant,
    OccupantInput,
    OccupantPayload,
    RegisterOccupantInput,
    StartLeaseInput,
)
from app.schema.permissions import allow
from app.services import leases as svc
from app.services.occupants import OccupantIn
from app.viewer import Role

LANDLORD = [allow(Role.LANDLORD)]
TENANT = [allow(Role.TENANT)]


def _occupant_in(value: OccupantInput) -> OccupantIn:
    return OccupantIn(name=value.name, id_number=value.id_number, phone=value.phone)


@strawberry.type
class LeaseQueries:
    @strawberry.field(description="TENANT: their leases, newest first.", permission_classes=TENANT)
    async def my_leases(self, info: Info) -> list[Lease]:
        docs = await svc.my_leases(info.context.db, info.context.viewer)
        return [Lease.from_doc(d) for d in docs]


@strawberry.type
class LeaseMutations:
    @strawberry.mutation(
        description="Registers the occupants, issues their cards on the doors, unpublishes the "
        "listing, creates the invoices.",
        permission_classes=LANDLORD,
    )
    async def start_lease(self, info: Info, input: StartLeaseInput) -> LeasePayload:
        ctx = info.context

        async def work() -> LeasePayload:
            doc = await svc.start_lease(
                ctx.db,
                ctx.state.gateway,
                ctx.viewer,
                svc.StartLeaseIn(
                    room_id=decode_id(input.room_id, "Room", ["roomId"]),
                    tenant_phone=input.tenant_phone,
                    start_date=input.start_date,
                    end_date=input.end_date,
                    monthly_rent_fen=input.monthly_rent_fen,
                    deposit_fen=input.deposit_fen,
                    rent_due_day=input.rent_due_day,
                    occupants=[_occupant_in(o) for o in input.occupants],
                ),
            )
            return LeasePayload(lease=Lease.from_doc(doc))

        return await attempt(LeasePayload, work)

    @strawberry.mutation(
        description="Moves the end date, extends every live card to it, creates the new invoices.",
        permission_classes=LANDLORD,
    )
    async def extend_lease(self, info: Info, input: ExtendLeaseInput) -> LeasePayload:
        ctx = info.context

        async def work() -> LeasePayload:
            doc = await svc.extend_lease(
                ctx.db,
                ctx.state.gateway,
                ctx.viewer,
                decode_id(input.lease_id, "Lease", ["leaseId"]),
                new_end_date=input.new_end_date,
                monthly_rent_fen=input.monthly_rent_fen,
            )
            return LeasePayload(lease=Lease.from_doc(doc))

        return await attempt(LeasePayload, work)

    @strawberry.mutation(
        description="Deregisters every occupant, revokes their cards on the doors, voids "
        "invoices after move-out.",
        permission_classes=LANDLORD,
    )
    async def end_lease(self, info: Info, input: EndLeaseInput) -> LeasePayload:
        ctx = info.context

        async def work() -> LeasePayload:
            doc = await svc.end_lease(
                ctx.db,
                ctx.state.gateway,
                ctx.viewer,
                decode_id(input.lease_id, "Lease", ["leaseId"]),
                move_out_date=input.move_out_date,
            )
            return LeasePayload(lease=Lease.from_doc(doc))

        return await attempt(LeasePayload, work)

    @strawberry.mutation(
        description="LANDLORD: registers someone moving in later; their card goes on the doors.",
        permission_classes=LANDLORD,
    )
    async def register_occupant(self, info: Info, input: RegisterOccupantInput) -> OccupantPayload:
        ctx = info.context

        async def work() -> OccupantPayload:
            doc = await svc.register_occupant(
                ctx.db,
                ctx.state.gateway,
                ctx.viewer,
                decode_id(input.lease_id, "Lease", ["leaseId"]),
                _occupant_in(input.occupant),
            )
            return OccupantPayload(occupant=Occupant.from_doc(doc))

        return await attempt(OccupantPayload, work)

    @strawberry.mutation(
        description="LANDLORD: someone has left; their card is revoked at once.",
        permission_classes=LANDLORD,
    )
    async def deregister_occupant(
        self, info: Info, input: DeregisterOccupantInput
    ) -> OccupantPayload:
        ctx = info.context

        async def work() -> OccupantPayload:
            doc = await svc.deregister_occupant(
                ctx.db,
                ctx.state.gateway,
                ctx.viewer,
                decode_id(input.occupant_id, "Occupant", ["occupantId"]),
            )
            return OccupantPayload(occupant=Occupant.from_doc(doc))

        return await attempt(OccupantPayload, work)
