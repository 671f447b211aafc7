"""Rooms: the type, its input and payload."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from app.context import Info
from app.ids import encode_id
from app.schema.common import Node, UserError
from app.schema.node import register_node
from app.schema.properties import Property, property_by_id, visible_property
from app.store import Doc
from app.viewer import Role

if TYPE_CHECKING:
    from app.schema.devices import Door, SmokeDetector
    from app.schema.leases import Lease
    from app.schema.listings import Listing
    from app.schema.meters import MeterRates


@strawberry.enum
class RoomStatus(enum.Enum):
    VACANT = "VACANT"
    OCCUPIED = "OCCUPIED"
    UNAVAILABLE = "UNAVAILABLE"


@strawberry.type
class Room(Node):
    doc: strawberry.Private[Doc]
    number: str
    floor: int
    area_sqm: float
    monthly_rent_fen: int
    status: RoomStatus

    @classmethod
    def from_doc(cls, doc: Doc) -> Room:
        return cls(
            id=strawberry.ID(encode_id("Room", doc["_id"])),
            doc=doc,
            number=doc["number"],
            floor=doc["floor"],
            area_sqm=doc["area_sqm"],
            monthly_rent_fen=doc["monthly_rent_fen"],
            status=RoomStatus(doc["status"]),
        )

    @strawberry.field
    async def property(self, info: Info) -> Property:
        return await property_by_id(info, self.doc["property_id"])

    @strawberry.field
    async def doors(
        self, info: Info
    ) -> list[Annotated[Door, strawberry.lazy("app.schema.devices")]]:
        from app.schema.devices import Door

        devices = await info.context.loaders.devices_by("room_id").load(self.doc["_id"])
        return [Door.from_doc(d) for d in devices if d["kind"] == "DOOR"]

    @strawberry.field
    async def smoke_detectors(
        self, info: Info
    ) -> list[Annotated[SmokeDetector, strawberry.lazy("app.schema.devices")]]:
        from app.schema.devices import SmokeDetector

        devices = await info.context.loaders.devices_by("room_id").load(self.doc["_id"])
        return [SmokeDetector.from_doc(d) for d in devices if d["kind"] == "SMOKE_DETECTOR"]

    @strawberry.field(description="The landlord and the lease's tenant see it; others get null.")
    async def active_lease(
        self, info: Info
    ) -> Annotated[Lease, strawberry.lazy("app.schema.leases")] | None:
        from app.schema.leases import Lease
        from app.services.leases import can_see_lease

        docs = await info.context.loaders.active_lease_by_room.load(self.doc["_id"])
        if docs and can_see_lease(info.context.viewer, docs[0]):
            return Lease.from_doc(docs[0])
        return None

    @strawberry.field(description="The room's live listing: its landlord sees it; others null.")
    async def listing(
        self, info: Info
    ) -> Annotated[Listing, strawberry.lazy("app.schema.listings")] | None:
        from app.schema.listings import Listing

        viewer = info.context.viewer
        if viewer.role is not Role.LANDLORD or viewer.account_id != self.doc["landlord_id"]:
            return None
        docs = await info.context.loaders.live_listing_by_room.load(self.doc["_id"])
        return Listing.from_doc(docs[0]) if docs else None

    @strawberry.field(
        description="Its water and electricity rates (null: never set): its landlord and the "
        "tenant of its active lease see them; others get null."
    )
    async def meter_rates(
        self, info: Info
    ) -> Annotated[MeterRates, strawberry.lazy("app.schema.meters")] | None:
        from app.schema.meters import MeterRates

        viewer = info.context.viewer
        if viewer.account_id is None:
            return None
        if viewer.account_id != self.doc["landlord_id"]:
            leases = await info.context.loaders.active_lease_by_room.load(self.doc["_id"])
            if not any(lease.get("tenant_id") == viewer.account_id for lease in leases):
                return None
        doc = await info.context.loaders.by_id("meter_rates").load(self.doc["_id"])
        return MeterRates.from_doc(doc) if doc else None


async def room_by_id(info: Info, oid: Any) -> Room:
    """The room a device, alarm or registration belongs to (rooms are never deleted)."""
    doc = await info.context.loaders.room_by_id.load(oid)
    assert doc is not None
    return Room.from_doc(doc)


@register_node("Room")
async def _room_node(info: Info, oid: Any) -> Room | None:
    room = await info.context.loaders.room_by_id.load(oid)
    if room and await visible_property(info, room["property_id"]):
        return Room.from_doc(room)
    return None


@strawberry.input
class AddRoomInput:
    property_id: strawberry.ID
    number: str
    floor: int
    area_sqm: float
    monthly_rent_fen: int


@strawberry.type
class RoomPayload:
    room: Room | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)
