"""Properties: types, inputs and payloads."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from app.context import Info
from app.ids import encode_id
from app.schema.accounts import Account
from app.schema.common import Node, UserError
from app.schema.connection import Connection
from app.schema.node import register_node
from app.services.properties import can_see_property
from app.services.rooms import ROOM_ORDER
from app.store import Doc, page_of_sorted

if TYPE_CHECKING:
    from app.schema.devices import Camera, Door
    from app.schema.hazards import Hazard
    from app.schema.rooms import Room

LazyRoom = Annotated["Room", strawberry.lazy("app.schema.rooms")]
LazyDoor = Annotated["Door", strawberry.lazy("app.schema.devices")]
LazyCamera = Annotated["Camera", strawberry.lazy("app.schema.devices")]


@strawberry.type(
    description="Administrative place: town or street (镇街) > village or "
    "community (村居) > grid (网格)."
)
class Place:
    town: str
    community: str
    grid: str | None

    @classmethod
    def from_doc(cls, doc: Doc) -> Place:
        return cls(town=doc["town"], community=doc["community"], grid=doc.get("grid"))


@strawberry.input
class PlaceInput:
    town: str
    community: str
    grid: str | None = None


@strawberry.type
class GeoPoint:
    lat: float
    lng: float


@strawberry.input
class GeoPointInput:
    lat: float
    lng: float


@strawberry.enum
class PropertyKind(enum.Enum):
    APARTMENT_BUILDING = "APARTMENT_BUILDING"
    FIRST_HAND = "FIRST_HAND"
    SECOND_HAND = "SECOND_HAND"


@strawberry.type
class SafetyEquipment:
    extinguishers: int
    smoke_detectors: int
    escape_windows: int

    @classmethod
    def from_doc(cls, doc: Doc) -> SafetyEquipment:
        return cls(
            extinguishers=doc["extinguishers"],
            smoke_detectors=doc["smoke_detectors"],
            escape_windows=doc["escape_windows"],
        )


@strawberry.input
class SafetyEquipmentInput:
    extinguishers: int
    smoke_detectors: int
    escape_windows: int


@strawberry.type
class Property(Node):
    doc: strawberry.Private[Doc]
    name: str
    address: str
    place: Place
    location: GeoPoint
    kind: PropertyKind
    safety: SafetyEquipment
    archived_at: dt.datetime | None = strawberry.field(
        description="Set when the property (and every room of it) was taken off the market "
        "for good (archiveProperty)."
    )

    @classmethod
    def from_doc(cls, doc: Doc) -> Property:
        return cls(
            id=strawberry.ID(encode_id("Property", doc["_id"])),
            doc=doc,
            name=doc["name"],
            address=doc["address"],
            place=Place.from_doc(doc["place"]),
            location=GeoPoint(lat=doc["location"]["lat"], lng=doc["location"]["lng"]),
            kind=PropertyKind(doc["kind"]),
            safety=SafetyEquipment.from_doc(doc["safety"]),
            archived_at=doc.get("archived_at"),
        )

    @strawberry.field
    async def landlord(self, info: Info) -> Account:
        doc = await info.context.loaders.account_by_id.load(self.doc["landlord_id"])
        assert doc is not None
        return Account.from_doc(doc)

    @strawberry.field(
        description="Its fire-safety hazards not yet rectified, most urgent first (the "
        "landlord's dashboard; RESPONDER and POLICE in scope); empty for anyone else."
    )
    async def open_hazards(
        self, info: Info
    ) -> list[Annotated[Hazard, strawberry.lazy("app.schema.hazards")]]:
        from app.schema.hazards import Hazard
        from app.services.hazards import can_see

        found = await info.context.loaders.open_hazards_by_property.load(self.doc["_id"])
        return [Hazard.from_doc(d) for d in found if can_see(info.context.viewer, d)]

    @strawberry.field
    async def rooms(
        self,
        info: Info,
        first: int | None = 50,
        after: str | None = None,
        include_archived: Annotated[
            bool,
            strawberry.argument(
                description="Archived rooms too (left out by default; an archived property "
                "shows its rooms anyway)."
            ),
        ] = False,
    ) -> Connection[LazyRoom]:
        from app.schema.rooms import Room

        if not can_see_property(info.context.viewer, self.doc):
            return Connection.empty()
        # every property's rooms of the request in one query, paged here by the same cursor
        rooms = await info.context.loaders.rooms_by_property.load(self.doc["_id"])
        if not include_archived and self.doc.get("archived_at") is None:
            rooms = [r for r in rooms if r.get("archived_at") is None]
        page = page_of_sorted(rooms, ROOM_ORDER, first=first, after=after, default_first=50)
        return Connection.of(page, Room.from_doc)

    @strawberry.field
    async def doors(self, info: Info) -> list[LazyDoor]:
        from app.schema.devices import Door

        return [Door.from_doc(d) for d in await self._devices(info, "DOOR")]

    @strawberry.field
    async def cameras(self, info: Info) -> list[LazyCamera]:
        from app.schema.devices import Camera

        return [Camera.from_doc(d) for d in await self._devices(info, "CAMERA")]

    async def _devices(self, info: Info, kind: str) -> list[Doc]:
        if not can_see_property(info.context.viewer, self.doc):
            return []
        devices = await info.context.loaders.devices_by("property_id").load(self.doc["_id"])
        return [d for d in devices if d["kind"] == kind]


async def property_by_id(info: Info, oid: Any) -> Property:
    """The property a room, device, alarm or registration belongs to (never deleted)."""
    doc = await info.context.loaders.property_by_id.load(oid)
    assert doc is not None
    return Property.from_doc(doc)


async def visible_property(info: Info, property_id: Any) -> Doc | None:
    doc = await info.context.loaders.property_by_id.load(property_id)
    return doc if doc and can_see_property(info.context.viewer, doc) else None


@register_node("Property")
async def _property_node(info: Info, oid: Any) -> Property | None:
    doc = await visible_property(info, oid)
    return Property.from_doc(doc) if doc else None


@strawberry.input
class CreatePropertyInput:
    name: str
    address: str
    place: PlaceInput
    location: GeoPointInput
    kind: PropertyKind
    safety: SafetyEquipmentInput


@strawberry.input
class UpdatePropertyInput:
    property_id: strawberry.ID
    name: str | None = None
    address: str | None = None
    safety: SafetyEquipmentInput | None = None


@strawberry.input
class ArchivePropertyInput:
    property_id: strawberry.ID


@strawberry.type
class PropertyPayload:
    property: Property | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)
