"""maintenanceRequests, reportMaintenance, updateMaintenance, rateMaintenance."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.context import Info
from app.ids import decode_id
from app.schema.common import MutationInput
from app.schema.connection import After, Connection, First
from app.schema.maintenance import (
    MaintenancePayload,
    MaintenanceRequest,
    MaintenanceStatus,
    RateMaintenanceInput,
    ReportMaintenanceInput,
    UpdateMaintenanceInput,
)
from app.schema.permissions import allow
from app.services import maintenance
from app.viewer import Role


@strawberry.type
class MaintenanceQueries:
    @strawberry.field(
        description="LANDLORD (their properties) and TENANT (their own); RESPONDER sees "
        "FIRE_SAFETY and ELECTRICAL ones in scope. Newest first.",
        permission_classes=[allow(Role.LANDLORD, Role.TENANT, Role.RESPONDER)],
    )
    async def maintenance_requests(
        self,
        info: Info,
        status: Annotated[
            MaintenanceStatus | None,
            strawberry.argument(description="Only requests in this status; all when omitted."),
        ] = None,
        first: First = 20,
        after: After = None,
    ) -> Connection[MaintenanceRequest]:
        ctx = info.context
        page = await maintenance.requests(
            ctx.deps,
            ctx.viewer,
            status=status.value if status else None,
            first=first,
            after=after,
        )
        return Connection.of(page, MaintenanceRequest.from_doc)


@strawberry.type
class MaintenanceMutations:
    @strawberry.mutation(
        description="TENANT: a problem in their room; the landlord is notified. Rate-limited "
        "(ANJU_MAINTENANCE_REPORTS_PER_DAY). Photo refusals as in addRoomPhoto, per upload. "
        "Codes: INVALID_ID, NOT_FOUND (not the room of the caller's lease), INVALID_ARGUMENT, "
        "REQUIRED, TOO_LONG, TOO_MANY_PHOTOS, RATE_LIMITED.",
        permission_classes=[allow(Role.TENANT)],
    )
    async def report_maintenance(
        self, info: Info, input: MutationInput[ReportMaintenanceInput]
    ) -> MaintenancePayload:
        ctx = info.context
        uploads = [
            decode_id(u, "Upload", ["photoUploadIds", str(i)])
            for i, u in enumerate(input.photo_upload_ids or [])
        ]
        doc = await maintenance.report(
            ctx.deps,
            ctx.viewer,
            decode_id(input.room_id, "Room", ["roomId"]),
            category=input.category.value,
            description=input.description,
            photo_upload_ids=uploads,
            availability=input.availability,
        )
        return MaintenancePayload(request=MaintenanceRequest.from_doc(doc))

    @strawberry.mutation(
        description="LANDLORD: SCHEDULED, IN_PROGRESS, DONE or CANCELLED; TENANT: CONFIRMED or "
        "CANCELLED (and OPEN once DONE: not fixed). INVALID_TRANSITION from a status that "
        "does not lead there. The other side is notified.",
        permission_classes=[allow(Role.LANDLORD, Role.TENANT)],
    )
    async def update_maintenance(
        self, info: Info, input: MutationInput[UpdateMaintenanceInput]
    ) -> MaintenancePayload:
        ctx = info.context
        doc = await maintenance.update(
            ctx.deps,
            ctx.viewer,
            decode_id(input.request_id, "MaintenanceRequest", ["requestId"]),
            status=input.status.value,
            scheduled_for=input.scheduled_for,
            note=input.note,
        )
        return MaintenancePayload(request=MaintenanceRequest.from_doc(doc))

    @strawberry.mutation(
        description="TENANT: rates their DONE or CONFIRMED request once (ALREADY_RATED after); "
        "rating a DONE one confirms it.",
        permission_classes=[allow(Role.TENANT)],
    )
    async def rate_maintenance(
        self, info: Info, input: MutationInput[RateMaintenanceInput]
    ) -> MaintenancePayload:
        ctx = info.context
        doc = await maintenance.rate(
            ctx.deps,
            ctx.viewer,
            decode_id(input.request_id, "MaintenanceRequest", ["requestId"]),
            rating=input.rating,
            comment=input.comment,
        )
        return MaintenancePayload(request=MaintenanceRequest.from_doc(doc))
