"""registerDevice."""

from __future__ import annotations

import strawberry

from app.context import Info
from app.ids import decode_id
from app.schema.devices import DevicePayload, RegisterDeviceInput
from app.schema.permissions import allow
from app.services import devices
from app.viewer import Role


@strawberry.type
class DeviceMutations:
    @strawberry.mutation(permission_classes=[allow(Role.LANDLORD)])
    async def register_device(self, info: Info, input: RegisterDeviceInput) -> DevicePayload:
        ctx = info.context
        doc = await devices.register_device(
            ctx.deps,
            ctx.viewer,
            kind=input.kind.value,
            device_id=input.device_id,
            name=input.name,
            property_id=decode_id(input.property_id, "Property", ["propertyId"]),
            room_id=decode_id(input.room_id, "Room", ["roomId"]) if input.room_id else None,
        )
        return DevicePayload.of(doc)
