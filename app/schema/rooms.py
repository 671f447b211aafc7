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


@strawberry.enum(description="Whether a room can be let.")
class RoomStatus(enum.Enum):
    _value_: str

    VACANT = strawberry.enum_value(
        "VACANT", description="Free to let: it may be published and leased."
    )
    OCCUPIED = strawberry.enum_value(
        "OCCUPIED", description="Let: a lease runs on it (set by startLease, cleared by endLease)."
    )
    UNAVAILABLE = strawberry.enum_value(
        "UNAVAILABLE",
        description="Taken off the market by the landlord (updateRoom), e.g. for repairs.",
    )


@strawberry.enum(description="What a room has, for the apps to show as icons.")
class Amenity(enum.Enum):
    _value_: str

    AIR_CONDITIONER = strawberry.enum_value(
        "AIR_CONDITIONER", description="An air conditioner (空调)."
    )
    WATER_HEATER = strawberry.enum_value("WATER_HEATER", description="A water heater (热水器).")
    PRIVATE_BATHROOM = strawberry.enum_value(
        "PRIVATE_BATHROOM", description="A bathroom of its own (独卫)."
    )
    KITCHEN = strawberry.enum_value("KITCHEN", description="A kitchen or cooking corner (厨房).")
    WASHING_MACHINE = strawberry.enum_value(
        "WASHING_MACHINE", description="A washing machine (洗衣机)."
    )
    WIFI = strawberry.enum_value("WIFI", description="Wi-Fi included (宽带).")
    BALCONY = strawberry.enum_value("BALCONY", description="A balcony (阳台).")
    FURNISHED = strawberry.enum_value(
        "FURNISHED", description="Furnished: bed, wardrobe, desk (家具)."
    )
    LIFT = strawberry.enum_value("LIFT", description="The building has a lift (电梯).")
    EBIKE_CHARGING = strawberry.enum_value(
        "EBIKE_CHARGING",
        description="A safe, separate place to charge electric bikes (never a corridor or "
        "stairwell).",
    )


def amenities_of(doc: Doc) -> list[Amenity]:
    return [Amenity(a) for a in doc.get("amenities") or []]


@strawberry.type(
    description="A room of a property, let by one lease at a time. Seen by whoever sees its "
    "property: its LANDLORD (only the owner), POLICE, RESPONDER and ADMIN within their"
    " scope; a tenant reaches it through their lease.",
)
class Room(Node):
    doc: strawberry.Private[Doc]
    number: str = strawberry.field(
        description="The room's number in its property, e.g. 301; unique there."
    )
    floor: int = strawberry.field(
        description="The floor it is on (-5 to 200; negative: below ground)."
    )
    area_sqm: float = strawberry.field(description="Floor area in square metres.")
    monthly_rent_fen: int = strawberry.field(
        description="The asking rent, fen a month; a running lease keeps its own."
    )
    status: RoomStatus = strawberry.field(description="Whether it can be let.")
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

    @strawberry.field(description="The property it is in.")
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


@strawberry.input(description="A new room in one of the caller's properties.")
class AddRoomInput:
    property_id: strawberry.ID = strawberry.field(
        description="The caller's property, not archived (INVALID_ID, NOT_FOUND, "
        "PROPERTY_ARCHIVED)."
    )
    number: str = strawberry.field(
        description="The room's number: 1-16 letters, digits, - and ., unique in the property "
        "(INVALID_ARGUMENT, TOO_LONG, DUPLICATE)."
    )
    floor: int = strawberry.field(description="Its floor, -5 to 200 (OUT_OF_RANGE).")
    area_sqm: float = strawberry.field(
        description="Floor area in square metres, 1 to 10,000 (OUT_OF_RANGE)."
    )
    monthly_rent_fen: int = strawberry.field(
        description="Asking rent in fen a month, 1 to 100,000,000 (OUT_OF_RANGE)."
    )


@strawberry.input(description="What to change; fields left out stay as they are.")
class UpdateRoomInput:
    room_id: strawberry.ID = strawberry.field(
        description="The caller's room, not archived (INVALID_ID, NOT_FOUND, ROOM_ARCHIVED)."
    )
    number: str | None = strawberry.field(
        default=None, description="Unique in the property (DUPLICATE)."
    )
    floor: int | None = strawberry.field(
        default=None, description="Its floor, -5 to 200 (OUT_OF_RANGE)."
    )
    area_sqm: float | None = strawberry.field(
        default=None, description="Floor area in square metres, 1 to 10,000 (OUT_OF_RANGE)."
    )
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


@strawberry.input(description="The room to archive.")
class ArchiveRoomInput:
    room_id: strawberry.ID = strawberry.field(
        description="The caller's room (INVALID_ID, NOT_FOUND)."
    )


@strawberry.input(description="A photo, already uploaded (createUpload), to add to a room.")
class AddRoomPhotoInput:
    room_id: strawberry.ID = strawberry.field(
        description="The caller's room (INVALID_ID, NOT_FOUND, ROOM_ARCHIVED)."
    )
    upload_id: strawberry.ID = strawberry.field(
        description="A ROOM_PHOTO upload whose bytes were PUT (UPLOAD_NOT_RECEIVED otherwise)."
    )
    position: int | None = strawberry.field(
        default=None, description="0-based place among the room's photos; at the end when absent."
    )


@strawberry.input(description="A room's photo and its new place.")
class MoveRoomPhotoInput:
    room_id: strawberry.ID = strawberry.field(
        description="The caller's room (INVALID_ID, NOT_FOUND)."
    )
    photo_id: strawberry.ID = strawberry.field(description="One of the room's photos (NOT_FOUND).")
    position: int = strawberry.field(description="0-based; past the end puts it last.")


@strawberry.input(description="A room's photo to remove.")
class RemoveRoomPhotoInput:
    room_id: strawberry.ID = strawberry.field(
        description="The caller's room (INVALID_ID, NOT_FOUND)."
    )
    photo_id: strawberry.ID = strawberry.field(description="One of the room's photos (NOT_FOUND).")


@strawberry.type(description="The answer of the room mutations.")
class RoomPayload:
    room: Room | None = strawberry.field(
        default=None, description="The room as it now is; null when userErrors says why not."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)
