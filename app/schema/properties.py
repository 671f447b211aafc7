"""Properties: types, inputs and payloads."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from app.context import Info
from app.ids import encode_id
from app.schema.accounts import Account
from app.schema.common import USER_ERRORS, Node, UserError
from app.schema.connection import After, Connection, First
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
    town: str = strawberry.field(description="The town or street (镇街), e.g. 松门镇.")
    community: str = strawberry.field(
        description="The village or community (村居) in the town, e.g. 松门村."
    )
    grid: str | None = strawberry.field(description="The grid (网格) in the community, when known.")

    @classmethod
    def from_doc(cls, doc: Doc) -> Place:
        return cls(town=doc["town"], community=doc["community"], grid=doc.get("grid"))


@strawberry.input(description="Where a property is: town > community > grid.")
class PlaceInput:
    town: str = strawberry.field(description="The town or street (镇街): 1-64 characters.")
    community: str = strawberry.field(
        description="The village or community (村居): 1-64 characters."
    )
    grid: str | None = strawberry.field(
        default=None, description="The grid (网格), at most 64 characters, if known."
    )


@strawberry.type(description="A point on the map, WGS-84 degrees.")
class GeoPoint:
    lat: float = strawberry.field(description="Latitude, -90 to 90.")
    lng: float = strawberry.field(description="Longitude, -180 to 180.")


@strawberry.input(description="A point on the map, WGS-84 degrees.")
class GeoPointInput:
    lat: float = strawberry.field(description="Latitude, -90 to 90 (OUT_OF_RANGE).")
    lng: float = strawberry.field(description="Longitude, -180 to 180 (OUT_OF_RANGE).")


@strawberry.enum(description="What kind of rental housing a property is.")
class PropertyKind(enum.Enum):
    _value_: str

    APARTMENT_BUILDING = strawberry.enum_value(
        "APARTMENT_BUILDING", description="A building let room by room (出租公寓)."
    )
    FIRST_HAND = strawberry.enum_value(
        "FIRST_HAND", description="A dwelling its owner lets directly (一手房)."
    )
    SECOND_HAND = strawberry.enum_value(
        "SECOND_HAND", description="A dwelling let on by a tenant of it (二房东, sublet)."
    )


@strawberry.type(description="A property's fire-safety equipment, as its landlord declared it.")
class SafetyEquipment:
    extinguishers: int = strawberry.field(description="Fire extinguishers.")
    smoke_detectors: int = strawberry.field(
        description="Smoke detectors, connected or not (the connected ones are "
        "Room.smokeDetectors)."
    )
    escape_windows: int = strawberry.field(description="Windows that open for escape (no bars).")

    @classmethod
    def from_doc(cls, doc: Doc) -> SafetyEquipment:
        return cls(
            extinguishers=doc["extinguishers"],
            smoke_detectors=doc["smoke_detectors"],
            escape_windows=doc["escape_windows"],
        )


_COUNT = "0-10000 (OUT_OF_RANGE)."


@strawberry.input(description="A property's fire-safety equipment: counts, each " + _COUNT)
class SafetyEquipmentInput:
    extinguishers: int = strawberry.field(description="Fire extinguishers: " + _COUNT)
    smoke_detectors: int = strawberry.field(description="Smoke detectors: " + _COUNT)
    escape_windows: int = strawberry.field(description="Windows that open for escape: " + _COUNT)


@strawberry.type(
    description="A landlord's building or dwelling with rooms to let. Seen by its LANDLORD "
    "(only the owner) and by POLICE, RESPONDER and ADMIN within their scope; others get "
    "null from node(id:)."
)
class Property(Node):
    doc: strawberry.Private[Doc]
    name: str = strawberry.field(description="The landlord's name for it, e.g. 东海公寓.")
    address: str = strawberry.field(description="Street address.")
    place: Place = strawberry.field(description="Its town, community and grid.")
    location: GeoPoint = strawberry.field(description="Where it is on the map.")
    kind: PropertyKind = strawberry.field(description="What kind of housing it is.")
    safety: SafetyEquipment = strawberry.field(description="Its fire-safety equipment.")
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

    @strawberry.field(description="The landlord who owns it.")
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

    @strawberry.field(
        description="Its rooms by number, pages of 50 by default; empty for a viewer who may "
        "not see the property."
    )
    async def rooms(
        self,
        info: Info,
        first: First = 50,
        after: After = None,
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

    @strawberry.field(
        description="Its doors in place (rooms' and the entrance), for whoever sees the property."
    )
    async def doors(self, info: Info) -> list[LazyDoor]:
        from app.schema.devices import Door

        return [Door.from_doc(d) for d in await self._devices(info, "DOOR")]

    @strawberry.field(description="Its cameras in place, for whoever sees the property.")
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


@strawberry.input(description="LANDLORD: a new property of theirs.")
class CreatePropertyInput:
    name: str = strawberry.field(description="1-100 characters.")
    address: str = strawberry.field(description="Street address, 1-200 characters.")
    place: PlaceInput = strawberry.field(
        description="Its town, community and grid: decides which police and responders see it."
    )
    location: GeoPointInput = strawberry.field(description="Where it is on the map.")
    kind: PropertyKind = strawberry.field(description="What kind of housing it is.")
    safety: SafetyEquipmentInput = strawberry.field(description="Its fire-safety equipment.")


@strawberry.input(description="What to change on a property; fields left out stay.")
class UpdatePropertyInput:
    property_id: strawberry.ID = strawberry.field(
        description="A property of the caller's (NOT_FOUND otherwise)."
    )
    name: str | None = strawberry.field(default=None, description="1-100 characters.")
    address: str | None = strawberry.field(default=None, description="1-200 characters.")
    safety: SafetyEquipmentInput | None = strawberry.field(
        default=None, description="The whole equipment (replaces the current counts)."
    )


@strawberry.input(description="LANDLORD: a property to take off the market for good.")
class ArchivePropertyInput:
    property_id: strawberry.ID = strawberry.field(
        description="A property of the caller's (NOT_FOUND otherwise)."
    )


@strawberry.type(description="The property as the mutation left it.")
class PropertyPayload:
    property: Property | None = strawberry.field(
        default=None, description="The property; null when refused (userErrors)."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)
