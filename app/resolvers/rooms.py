"""addRoom."""

from __future__ import annotations

import strawberry

from app.context import Info
from app.ids import decode_id
from app.schema.permissions import allow
from app.schema.rooms import AddRoomInput, Room, RoomPayload
from app.services import rooms
from app.viewer import Role


@strawberry.type
class RoomMutations:
    @strawberry.mutation(permission_classes=[allow(Role.LANDLORD)])
    async def add_room(self, info: Info, input: AddRoomInput) -> RoomPayload:
        ctx = info.context
        doc = await rooms.add_room(
            ctx.deps,
            ctx.viewer,
            decode_id(input.property_id, "Property", ["propertyId"]),
            number=input.number,
            floor=input.floor,
            area_sqm=input.area_sqm,
            monthly_rent_fen=input.monthly_rent_fen,
        )
        return RoomPayload(room=Room.from_doc(doc))
