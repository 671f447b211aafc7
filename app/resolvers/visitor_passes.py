"""visitorPasses, issueVisitorPass, revokeVisitorPass."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.context import Info
from app.ids import decode_id, given_id
from app.schema.common import MutationInput
from app.schema.connection import After, First, UncountedConnection
from app.schema.permissions import allow
from app.schema.visitor_passes import (
    IssueVisitorPassInput,
    RevokeVisitorPassInput,
    VisitorPass,
    VisitorPassPayload,
)
from app.services import visitor_pass_register, visitor_passes
from app.viewer import Role


@strawberry.type
class VisitorPassQueries:
    @strawberry.field(
        description="TENANT (the passes to the room they live in), LANDLORD (the passes they "
        "issued), POLICE (in scope, `reason` required and audited; by the visitor's ID number, "
        "by room, or every live pass). Newest first; `activeOnly`: not revoked and not ended.",
        permission_classes=[allow(Role.TENANT, Role.LANDLORD, Role.POLICE)],
    )
    async def visitor_passes(
        self,
        info: Info,
        room_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="One room's passes (NOT_FOUND if not the caller's)."),
        ] = None,
        visitor_id_number: Annotated[
            str | None,
            strawberry.argument(description="POLICE: a visitor's passes by their ID number."),
        ] = None,
        reason: Annotated[
            str | None,
            strawberry.argument(description="POLICE: a case or task reference (audited)."),
        ] = None,
        active_only: Annotated[
            bool | None,
            strawberry.argument(description="Only passes neither revoked nor ended."),
        ] = True,
        first: First = 20,
        after: After = None,
    ) -> UncountedConnection[VisitorPass]:
        query = visitor_pass_register.PassQuery(
            room=given_id(room_id, "Room", "roomId"),
            visitor_id_number=visitor_id_number,
            active_only=active_only is not False,
        )
        page = await visitor_pass_register.passes(
            info.context.deps, info.context.viewer, query, reason, first=first, after=after
        )
        return UncountedConnection.of(page, lambda doc: VisitorPass.from_doc(doc, info))


@strawberry.type
class VisitorPassMutations:
    @strawberry.mutation(
        description="TENANT (their room, at most 24 hours, within their lease) or LANDLORD "
        "(their property, at most 7 days): a PIN code for a named visitor on the room's doors "
        "and the building entrance, sent to the visitor by SMS. ALREADY_REGISTERED for someone "
        "living in the room, DUPLICATE for a second live pass of one person to one room, "
        "RATE_LIMITED past the daily limit.",
        permission_classes=[allow(Role.TENANT, Role.LANDLORD)],
    )
    async def issue_visitor_pass(
        self, info: Info, input: MutationInput[IssueVisitorPassInput]
    ) -> VisitorPassPayload:
        request = (
            decode_id(input.maintenance_request_id, "MaintenanceRequest", ["maintenanceRequestId"])
            if input.maintenance_request_id
            else None
        )
        given = visitor_passes.PassIn(
            room_id=decode_id(input.room_id, "Room", ["roomId"]),
            visitor_name=input.visitor_name,
            visitor_phone=input.visitor_phone,
            visitor_id_number=input.visitor_id_number,
            purpose=input.purpose,
            valid_from=input.valid_from,
            valid_until=input.valid_until,
            maintenance_request_id=request,
        )
        doc = await visitor_passes.issue_pass(info.context.deps, info.context.viewer, given)
        return VisitorPassPayload(pass_=VisitorPass.from_doc(doc, info))

    @strawberry.mutation(
        description="The pass's issuer, or the TENANT of its room: ends it at once; its code is "
        "deleted from every door (also when the gateway is down now: Anju keeps trying). "
        "Idempotent. Codes: INVALID_ID, NOT_FOUND.",
        permission_classes=[allow(Role.TENANT, Role.LANDLORD)],
    )
    async def revoke_visitor_pass(
        self, info: Info, input: MutationInput[RevokeVisitorPassInput]
    ) -> VisitorPassPayload:
        pass_id = decode_id(input.pass_id, "VisitorPass", ["passId"])
        doc = await visitor_passes.revoke_pass(info.context.deps, info.context.viewer, pass_id)
        return VisitorPassPayload(pass_=VisitorPass.from_doc(doc, info))
