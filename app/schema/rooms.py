"""Rooms: the type, the Amenity enum, the inputs of the room mutations and their payload."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from app.context import Info
from app.ids import encode_id
from app.schema.common import USER_ERRORS, Node, UserError
from app.schema.node import register_node
from app.schema.photos import Photo
from app.schema.properties import Property, property_by_id, visible_property
from app.services.rooms import tenant_lives_in
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


@strawberry.enum(description="What a room has, for the apps to show as icons.")
class Amenity(enum.Enum):
    AIR_CONDITIONER = "AIR_CONDITIONER"
    WATER_HEATER = "WATER_HEATER"
    PRIVATE_BATHROOM = "PRIVATE_BATHROOM"
    KITCHEN = "KITCHEN"
    WASHING_MACHINE = "WASHING_MACHINE"
    WIFI = "WIFI"
    BALCONY = "BALCONY"
    FURNISHED = "FURNISHED"
    LIFT = "LIFT"
    EBIKE_CHARGING = strawberry.enum_value(
        "EBIKE_CHARGING",
        description="A safe, separate place to charge electric bikes (never a corridor or "
        "stairwell).",
    )


def amenities_of(doc: Doc) -> list[Amenity]:
    return [Amenity(a) for a in doc.get("amenities") or []]


@strawberry.type
class Room(Node):
    doc: strawberry.Private[Doc]
    number: str
    floor: int
    area_sqm: float
    monthly_rent_fen: int = strawberry.field(
        description="The asking rent, fen a month; a running lease keeps its own."
    )
    status: RoomStatus
    description: str | None = strawberry.field(description="The landlord's words on the room.")
    amenities: list[Amenity] = strawberry.field(description="In the enum's order.")
    archived_at: dt.datetime | None = strawberry.field(
        description="Set when the room was taken off the market for good."
    )

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
            description=doc.get("description"),
            amenities=amenities_of(doc),
            archived_at=doc.get("archived_at"),
        )

    @strawberry.field(description="At most 20, in the landlord's order; the first is the cover.")
    def photos(self) -> list[Photo]:
        return Photo.all(self.doc.get("photos"))

    @strawberry.field
    async def property(self, info: Info) -> Property:
        return await property_by_id(info, self.doc["property_id"])

    async def _devices(self, info: Info, kind: str) -> list[Doc]:
        """The room's devices in place; a tenant sees them only while living there."""
        if info.context.viewer.role is Role.TENANT:
            leases = await info.context.loaders.active_lease_by_room.load(self.doc["_id"])
            if not tenant_lives_in(info.context.viewer, leases):
                return []
        devices = await info.context.loaders.devices_by("room_id").load(self.doc["_id"])
        return [d for d in devices if d["kind"] == kind]

    @strawberry.field(
        description="The room's doors in place; a tenant sees them only while their lease runs."
    )
    async def doors(
        self, info: Info
    ) -> list[Annotated[Door, strawberry.lazy("app.schema.devices")]]:
        from app.schema.devices import Door

        return [Door.from_doc(d) for d in await self._devices(info, "DOOR")]

    @strawberry.field(
        description="The room's smoke detectors in place; a tenant sees them "
        "only while their lease runs."
    )
    async def smoke_detectors(
        self, info: Info
    ) -> list[Annotated[SmokeDetector, strawberry.lazy("app.schema.devices")]]:
        from app.schema.devices import SmokeDetector

        return [SmokeDetector.from_doc(d) for d in await self._devices(info, "SMOKE_DETECTOR")]

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


@strawberry.input(description="What to change; fields left out stay as they are.")
class UpdateRoomInput:
    room_id: strawberry.ID
    number: str | None = strawberry.field(
        default=None, description="Unique in the property (DUPLICATE)."
    )
    floor: int | None = None
    area_sqm: float | None = None
    monthly_rent_fen: int | None = strawberry.field(
        default=None,
        description="The asking rent: the live listing follows it, a running lease does not.",
    )
    description: str | None = strawberry.field(
        default=None, description="At most 2000 characters; an empty string removes it."
    )
    amenities: list[Amenity] | None = strawberry.field(
        default=None, description="The whole set (replaces the current one)."
    )
    status: RoomStatus | None = strawberry.field(
        default=None,
        description="VACANT or UNAVAILABLE, never OCCUPIED (leases decide that); ROOM_OCCUPIED "
        "while let. UNAVAILABLE takes the live listing down.",
    )


@strawberry.input
class ArchiveRoomInput:
    room_id: strawberry.ID


@strawberry.input
class AddRoomPhotoInput:
    room_id: strawberry.ID
    upload_id: strawberry.ID = strawberry.field(
        description="A ROOM_PHOTO upload whose bytes were PUT (UPLOAD_NOT_RECEIVED otherwise)."
    )
    position: int | None = strawberry.field(
        default=None, description="0-based place among the room's photos; at the end when absent."
    )


@strawberry.input
class MoveRoomPhotoInput:
    room_id: strawberry.ID
    photo_id: strawberry.ID
    position: int = strawberry.field(description="0-based; past the end puts it last.")


@strawberry.input
class RemoveRoomPhotoInput:
    room_id: strawberry.ID
    photo_id: strawberry.ID


@strawberry.type
class RoomPayload:
    room: Room | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)
