"""createProperty, updateProperty, addRoom, registerDevice, myProperties."""

from __future__ import annotations

import strawberry

from app.context import Info
from app.ids import decode_id
from app.pagination import paginate
from app.resolvers.common import attempt
from app.schema.permissions import allow
from app.schema.properties import (
    AddRoomInput,
    Camera,
    CreatePropertyInput,
    DevicePayload,
    Door,
    PropertyConnection,
    PropertyPayload,
    RegisterDeviceInput,
    Room,
    RoomPayload,
    SmokeDetector,
    UpdatePropertyInput,
    device_node,
)
from app.schema.properties import Property as PropertyType
from app.services import properties as svc
from app.viewer import Role

LANDLORD = [allow(Role.LANDLORD)]
PROPERTY_ORDER = [("_id", 1)]


def _safety(value: object) -> svc.SafetyIn | None:
    if value is None:
        return None
    return svc.SafetyIn(
        extinguishers=value.extinguishers,  # type: ignore[attr-defined]
        smoke_detectors=value.smoke_detectors,  # type: ignore[attr-defined]
        escape_windows=value.escape_windows,  # type: ignore[attr-defined]
    )


@strawberry.type
class PropertyQueries:
    @strawberry.field(description="LANDLORD: their own properties.", permission_classes=LANDLORD)
    async def my_properties(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> PropertyConnection:
        landlord_id = info.context.viewer.require(Role.LANDLORD)
        page = await paginate(
            info.context.db.properties,
            {"landlord_id": landlord_id},
            PROPERTY_ORDER,
            first=first,
            after=after,
            with_total=True,
        )
        return PropertyConnection.from_page(page, PROPERTY_ORDER)


@strawberry.type
class PropertyMutations:
    @strawberry.mutation(permission_classes=LANDLORD)
    async def create_property(self, info: Info, input: CreatePropertyInput) -> PropertyPayload:
        ctx = info.context

        async def work() -> PropertyPayload:
            doc = await svc.create_property(
                ctx.db,
                ctx.viewer,
                name=input.name,
                address=input.address,
                place=svc.PlaceIn(input.place.town, input.place.community, input.place.grid),
                lat=input.location.lat,
                lng=input.location.lng,
                kind=input.kind.value,
                safety=_safety(input.safety),  # type: ignore[arg-type]
            )
            return PropertyPayload(property=PropertyType.from_doc(doc))

        return await attempt(PropertyPayload, work)

    @strawberry.mutation(permission_classes=LANDLORD)
    async def update_property(self, info: Info, input: UpdatePropertyInput) -> PropertyPayload:
        ctx = info.context

        async def work() -> PropertyPayload:
            doc = await svc.update_property(
                ctx.db,
                ctx.viewer,
                decode_id(input.property_id, "Property", ["propertyId"]),
                name=input.name,
                address=input.address,
                safety=_safety(input.safety),
            )
            return PropertyPayload(property=PropertyType.from_doc(doc))

        return await attempt(PropertyPayload, work)

    @strawberry.mutation(permission_classes=LANDLORD)
    async def add_room(self, info: Info, input: AddRoomInput) -> RoomPayload:
        ctx = info.context

        async def work() -> RoomPayload:
            doc = await svc.add_room(
                ctx.db,
                ctx.viewer,
                decode_id(input.property_id, "Property", ["propertyId"]),
                number=input.number,
                floor=input.floor,
                area_sqm=input.area_sqm,
                monthly_rent_fen=input.monthly_rent_fen,
            )
            return RoomPayload(room=Room.from_doc(doc))

        return await attempt(RoomPayload, work)

    @strawberry.mutation(permission_classes=LANDLORD)
    async def register_device(self, info: Info, input: RegisterDeviceInput) -> DevicePayload:
        ctx = info.context

        async def work() -> DevicePayload:
            doc = await svc.register_device(
                ctx.db,
                ctx.state.gateway,
                ctx.viewer,
                kind=input.kind.value,
                device_id=input.device_id,
                name=input.name,
                property_id=decode_id(input.property_id, "Property", ["propertyId"]),
                room_id=decode_id(input.room_id, "Room", ["roomId"]) if input.room_id else None,
            )
            node = device_node(doc)
            return DevicePayload(
                door=node if isinstance(node, Door) else None,
                camera=node if isinstance(node, Camera) else None,
                smoke_detector=node if isinstance(node, SmokeDetector) else None,
            )

        return await attempt(DevicePayload, work)
