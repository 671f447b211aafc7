"""openDoor, accessEvents and cameraSnapshot."""

from __future__ import annotations

import strawberry

from app.context import Info
from app.errors import NotFoundError
from app.ids import decode_id
from app.pagination import paginate
from app.resolvers.common import attempt
from app.schema.doors import (
    AccessEventConnection,
    AccessEventFilter,
    DoorCommand,
    OpenDoorInput,
    OpenDoorPayload,
    Snapshot,
)
from app.schema.permissions import allow
from app.services import doors as svc
from app.services import register, snapshots
from app.viewer import Role


@strawberry.type
class DoorQueries:
    @strawberry.field(
        description="POLICE (any door, reason required) and LANDLORD (own doors).",
        permission_classes=[allow(Role.LANDLORD, Role.POLICE)],
    )
    async def access_events(
        self,
        info: Info,
        filter: AccessEventFilter,
        reason: str | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> AccessEventConnection:
        ctx = info.context
        if ctx.viewer.role is Role.POLICE:
            # the police branch checks the reason, the scope, and audits every look-up
            police_page = await register.police_access_events(
                ctx.db,
                ctx.settings,
                ctx.viewer,
                register.AccessQuery(
                    door_id=filter.door_id,
                    property_id=filter.property_id,
                    id_number=filter.id_number,
                    start=filter.from_,
                    end=filter.to,
                ),
                reason,
                first=first,
                after=after,
            )
            return AccessEventConnection.from_page(police_page, svc.ACCESS_ORDER)
        flt = svc.AccessFilter(
            door_id=decode_id(filter.door_id, "Door", ["filter", "doorId"])
            if filter.door_id is not None
            else None,
            property_id=decode_id(filter.property_id, "Property", ["filter", "propertyId"])
            if filter.property_id is not None
            else None,
            id_number=filter.id_number,
            start=filter.from_,
            end=filter.to,
        )
        query = await svc.access_event_query(ctx.db, ctx.viewer, flt, reason)
        page = await paginate(
            ctx.db.access_events,
            query,
            svc.ACCESS_ORDER,
            first=first,
            after=after,
            default_first=50,
        )
        return AccessEventConnection.from_page(page, svc.ACCESS_ORDER)

    @strawberry.field(
        description="LANDLORD: a live still from one of their cameras.",
        permission_classes=[allow(Role.LANDLORD)],
    )
    async def camera_snapshot(self, info: Info, camera_id: strawberry.ID) -> Snapshot:
        ctx = info.context
        oid = decode_id(camera_id, "Camera", ["cameraId"])
        doc = await snapshots.take_snapshot(
            ctx.db, ctx.state.gateway, ctx.settings, ctx.viewer, oid
        )
        camera = await ctx.loaders.by_id("devices").load(doc["camera_id"])
        if camera is None:
            raise NotFoundError("Camera", field=["cameraId"])
        url = snapshots.signed_url(ctx.settings, doc["_id"], doc["expires_at"])
        return Snapshot.from_doc(doc, camera, url)


@strawberry.type
class DoorMutations:
    @strawberry.mutation(
        description="LANDLORD (own doors) and the TENANT of the room.",
        permission_classes=[allow(Role.LANDLORD, Role.TENANT)],
    )
    async def open_door(self, info: Info, input: OpenDoorInput) -> OpenDoorPayload:
        ctx = info.context

        async def work() -> OpenDoorPayload:
            door_id = decode_id(input.door_id, "Door", ["doorId"])
            command = await svc.open_door(
                ctx.db, ctx.state.gateway, ctx.settings, ctx.viewer, door_id
            )
            return OpenDoorPayload(command=DoorCommand.from_doc(command))

        return await attempt(OpenDoorPayload, work)
