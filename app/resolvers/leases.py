"""myLeases, startLease, acceptLease, resendLeaseInvitation, extendLease, endLease."""

from __future__ import annotations

import strawberry

from app.context import Info
from app.ids import decode_id
from app.schema.common import MutationInput
from app.schema.late_fees import LateFeePolicyInput
from app.schema.leases import (
    AcceptLeaseInput,
    EndLeaseInput,
    ExtendLeaseInput,
    Lease,
    LeasePayload,
    ResendLeaseInvitationInput,
    StartLeaseInput,
)
from app.schema.permissions import allow
from app.services import lease_invitations, lease_terms, leases
from app.services.occupants import OccupantIn
from app.viewer import Role

LANDLORD = [allow(Role.LANDLORD)]


def _policy(given: LateFeePolicyInput | None) -> lease_terms.LateFeePolicyIn | None:
    if given is None:
        return None
    return lease_terms.LateFeePolicyIn(
        given.grace_days, given.daily_rate_basis_points, given.cap_basis_points
    )


@strawberry.type
class LeaseQueries:
    @strawberry.field(
        description="TENANT: their leases, newest first.", permission_classes=[allow(Role.TENANT)]
    )
    async def my_leases(self, info: Info) -> list[Lease]:
        docs = await leases.my_leases(info.context.deps, info.context.viewer)
        return [Lease.from_doc(d) for d in docs]


@strawberry.type
class LeaseMutations:
    @strawberry.mutation(
        description="LANDLORD (their own VACANT room): registers the occupants, issues their "
        "cards on the doors, unpublishes the listing, creates the invoices, and invites the "
        "tenant's phone to accept the lease (audited). Codes: INVALID_ID, NOT_FOUND, "
        "ROOM_NOT_VACANT, ROOM_OCCUPIED, INVALID_PHONE, INVALID_DATE_RANGE, OUT_OF_RANGE, "
        "REQUIRED, TOO_LONG, INVALID_ID_NUMBER, DUPLICATE, BUSY.",
        permission_classes=LANDLORD,
    )
    async def start_lease(self, info: Info, input: MutationInput[StartLeaseInput]) -> LeasePayload:
        given = lease_terms.StartLeaseIn(
            room_id=decode_id(input.room_id, "Room", ["roomId"]),
            tenant_phone=input.tenant_phone,
            start_date=input.start_date,
            end_date=input.end_date,
            monthly_rent_fen=input.monthly_rent_fen,
            deposit_fen=input.deposit_fen,
            rent_due_day=input.rent_due_day,
            occupants=[OccupantIn(o.name, o.id_number, o.phone) for o in input.occupants],
            late_fee_policy=_policy(input.late_fee_policy),
        )
        doc = await leases.start_lease(info.context.deps, info.context.viewer, given)
        return LeasePayload(lease=Lease.from_doc(doc))

    @strawberry.mutation(
        description="TENANT: accepts a lease sent to their phone; from then they open its "
        "doors, see its occupants and pay its invoices (audited). Codes: INVALID_ID, NOT_FOUND, "
        "INVITATION_EXPIRED, ALREADY_ACCEPTED, LEASE_NOT_ACTIVE.",
        permission_classes=[allow(Role.TENANT)],
    )
    async def accept_lease(
        self, info: Info, input: MutationInput[AcceptLeaseInput]
    ) -> LeasePayload:
        doc = await lease_invitations.accept_lease(
            info.context.deps,
            info.context.viewer,
            decode_id(input.lease_id, "Lease", ["leaseId"]),
        )
        return LeasePayload(lease=Lease.from_doc(doc))

    @strawberry.mutation(
        description="LANDLORD: sends the lease's invitation again (a new window), to a "
        "corrected phone if need be, until the tenant accepts.",
        permission_classes=LANDLORD,
    )
    async def resend_lease_invitation(
        self, info: Info, input: MutationInput[ResendLeaseInvitationInput]
    ) -> LeasePayload:
        doc = await lease_invitations.resend(
            info.context.deps,
            info.context.viewer,
            decode_id(input.lease_id, "Lease", ["leaseId"]),
            input.tenant_phone,
        )
        return LeasePayload(lease=Lease.from_doc(doc))

    @strawberry.mutation(
        description="LANDLORD (their own lease): moves the end date, extends every live card "
        "to it, creates the new invoices (audited). Codes: INVALID_ID, NOT_FOUND, "
        "LEASE_NOT_ACTIVE, INVALID_DATE_RANGE, OUT_OF_RANGE, BUSY.",
        permission_classes=LANDLORD,
    )
    async def extend_lease(
        self, info: Info, input: MutationInput[ExtendLeaseInput]
    ) -> LeasePayload:
        doc = await leases.extend_lease(
            info.context.deps,
            info.context.viewer,
            decode_id(input.lease_id, "Lease", ["leaseId"]),
            new_end_date=input.new_end_date,
            monthly_rent_fen=input.monthly_rent_fen,
            late_fee_policy=_policy(input.late_fee_policy),
        )
        return LeasePayload(lease=Lease.from_doc(doc))

    @strawberry.mutation(
        description="LANDLORD (their own lease): deregisters every occupant, revokes their "
        "cards on the doors, voids invoices after move-out; the room is VACANT again (audited). "
        "Codes: INVALID_ID, NOT_FOUND, LEASE_NOT_ACTIVE, INVALID_DATE_RANGE, BUSY.",
        permission_classes=LANDLORD,
    )
    async def end_lease(self, info: Info, input: MutationInput[EndLeaseInput]) -> LeasePayload:
        doc = await leases.end_lease(
            info.context.deps,
            info.context.viewer,
            decode_id(input.lease_id, "Lease", ["leaseId"]),
            move_out_date=input.move_out_date,
        )
        return LeasePayload(lease=Lease.from_doc(doc))
