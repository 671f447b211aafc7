"""registerDevice, removeDevice, replaceDevice."""

from __future__ import annotations

import strawberry

from app.context import Info
from app.ids import decode_id, decode_id_of
from app.schema.common import MutationInput
from app.schema.devices import (
    DevicePayload,
    RegisterDeviceInput,
    RemoveDeviceInput,
    RemoveDevicePayload,
    ReplaceDeviceInput,
)
from app.schema.permissions import allow
from app.services import devices
from app.viewer import Role

DEVICE_TYPES = ("Door", "Camera", "SmokeDetector")


@strawberry.type
class DeviceMutations:
    @strawberry.mutation(
        description="LANDLORD (own property): binds a device with the claim code on its label.",
        permission_classes=[allow(Role.LANDLORD)],
    )
    async def register_device(
        self, info: Info, input: MutationInput[RegisterDeviceInput]
    ) -> DevicePayload:
        ctx = info.context
        doc = await devices.register_device(
            ctx.deps,
            ctx.viewer,
            kind=input.kind.value,
            device_id=input.device_id,
            claim_code=input.claim_code,
            name=input.name,
            property_id=decode_id(input.property_id, "Property", ["propertyId"]),
            room_id=decode_id(input.room_id, "Room", ["roomId"]) if input.room_id else None,
        )
        return DevicePayload.of(doc)

    @strawberry.mutation(
        description="LANDLORD (own devices): releases the device's claim and ends its binding; "
        "a door's every card and visitor code is deleted from it. Its history stays. "
        "SERVICE_UNAVAILABLE (nothing changed) while the gateway is down. Codes: INVALID_ID, "
        "NOT_FOUND.",
        permission_classes=[allow(Role.LANDLORD)],
    )
    async def remove_device(
        self, info: Info, input: MutationInput[RemoveDeviceInput]
    ) -> RemoveDevicePayload:
        device_id = decode_id_of(input.device_id, DEVICE_TYPES, ["deviceId"])
        await devices.remove_device(info.context.deps, info.context.viewer, device_id)
        return RemoveDevicePayload(ok=True)

    @strawberry.mutation(
        description="LANDLORD (own devices): binds another device of the same kind in this "
        "one's place (name, property, room) and releases this one; a door's live cards and "
        "visitor codes move to the new door. Answers the new device. Codes: INVALID_ID, "
        "NOT_FOUND, INVALID_ARGUMENT (the same device), DUPLICATE, DEVICE_CLAIM_FAILED.",
        permission_classes=[allow(Role.LANDLORD)],
    )
    async def replace_device(
        self, info: Info, input: MutationInput[ReplaceDeviceInput]
    ) -> DevicePayload:
        device_id = decode_id_of(input.device_id, DEVICE_TYPES, ["deviceId"])
        doc = await devices.replace_device(
            info.context.deps,
            info.context.viewer,
            device_id,
            new_device_id=input.new_device_id,
            new_claim_code=input.new_claim_code,
        )
        return DevicePayload.of(doc)
