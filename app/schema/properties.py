"""Properties, rooms and devices: types and inputs."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from app.context import Info
from app.db import Doc
from app.ids import encode_id
from app.pagination import Page, check_first, decode_cursor, encode_cursor
from app.schema.accounts import Account
from app.schema.common import Node, PageInfo, UserError, page_edges
from app.schema.node import register_node
from app.services import properties as svc
from app.viewer import Role

if TYPE_CHECKING:
    from app.schema.leases import Lease
    from app.schema.listings import Listing


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


@strawberry.enum
class RoomStatus(enum.Enum):
    VACANT = "VACANT"
    OCCUPIED = "OCCUPIED"
    UNAVAILABLE = "UNAVAILABLE"


@strawberry.enum
class DeviceKind(enum.Enum):
    DOOR = "DOOR"
    CAMERA = "CAMERA"
    SMOKE_DETECTOR = "SMOKE_DETECTOR"


def _devices_of(info: Info, key: str, oid: Any) -> Any:
    return info.context.loaders.many_by("devices", key, sort=[("created_at", 1), ("_id", 1)]).load(
        oid
    )


@strawberry.type
class Property(Node):
    doc: strawberry.Private[Doc]
    name: str
    address: str
    place: Place
    location: GeoPoint
    kind: PropertyKind
    safety: SafetyEquipment

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
        )

    @strawberry.field
    async def landlord(self, info: Info) -> Account:
        doc = await info.context.loaders.account_by_id.load(self.doc["landlord_id"])
        assert doc is not None
        return Account.from_doc(doc)

    @strawberry.field
    async def rooms(
        self, info: Info, first: int | None = 50, after: str | None = None
    ) -> RoomConnection:
        if not svc.can_see_property(info.context.viewer, self.doc):
            return RoomConnection(
                edges=[], page_info=PageInfo(has_next_page=False, end_cursor=None), total_count=0
            )
        rooms = await info.context.loaders.many_by(
            "rooms", "property_id", sort=svc.ROOM_ORDER
        ).load(self.doc["_id"])
        return RoomConnection.from_sorted(rooms, first, after)

    @strawberry.field
    async def doors(self, info: Info) -> list[Door]:
        if not svc.can_see_property(info.context.viewer, self.doc):
            return []
        devices = await _devices_of(info, "property_id", self.doc["_id"])
        return [Door.from_doc(d) for d in devices if d["kind"] == "DOOR"]

    @strawberry.field
    async def cameras(self, info: Info) -> list[Camera]:
        if not svc.can_see_property(info.context.viewer, self.doc):
            return []
        devices = await _devices_of(info, "property_id", self.doc["_id"])
        return [Camera.from_doc(d) for d in devices if d["kind"] == "CAMERA"]


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
    async def doors(self, info: Info) -> list[Door]:
        devices = await _devices_of(info, "room_id", self.doc["_id"])
        return [Door.from_doc(d) for d in devices if d["kind"] == "DOOR"]

    @strawberry.field
    async def smoke_detectors(self, info: Info) -> list[SmokeDetector]:
        devices = await _devices_of(info, "room_id", self.doc["_id"])
        return [SmokeDetector.from_doc(d) for d in devices if d["kind"] == "SMOKE_DETECTOR"]

    @strawberry.field(description="The landlord and the lease's tenant see it; others get null.")
    async def active_lease(
        self, info: Info
    ) -> Annotated[Lease, strawberry.lazy("app.schema.leases")] | None:
        from app.schema.leases import active_lease_of_room

        return await active_lease_of_room(info, self.doc)

    @strawberry.field(description="The room's live listing: its landlord sees it; others null.")
    async def listing(
        self, info: Info
    ) -> Annotated[Listing, strawberry.lazy("app.schema.listings")] | None:
        from app.schema.listings import Listing

        viewer = info.context.viewer
        if viewer.role is not Role.LANDLORD or viewer.account_id != self.doc["landlord_id"]:
            return None
        docs = await info.context.loaders.live_listings_by_room.load(self.doc["_id"])
        return Listing.from_doc(docs[0]) if docs else None


async def property_by_id(info: Info, oid: Any) -> Property:
    """The property a room, device, alarm or registration belongs to (never deleted)."""
    doc = await info.context.loaders.by_id("properties").load(oid)
    assert doc is not None
    return Property.from_doc(doc)


async def room_by_id(info: Info, oid: Any) -> Room:
    """The room a device, alarm or registration belongs to (rooms are never deleted)."""
    doc = await info.context.loaders.by_id("rooms").load(oid)
    assert doc is not None
    return Room.from_doc(doc)


@strawberry.type
class Door(Node):
    doc: strawberry.Private[Doc]
    name: str
    device_id: str
    online: bool
    last_event_at: dt.datetime | None

    @classmethod
    def from_doc(cls, doc: Doc) -> Door:
        return cls(
            id=strawberry.ID(encode_id("Door", doc["_id"])),
            doc=doc,
            name=doc["name"],
            device_id=doc["device_id"],
            online=doc["online"],
            last_event_at=doc.get("last_event_at"),
        )

    @strawberry.field
    async def property(self, info: Info) -> Property:
        return await property_by_id(info, self.doc["property_id"])

    @strawberry.field(description="Null for a building entrance.")
    async def room(self, info: Info) -> Room | None:
        if self.doc.get("room_id") is None:
            return None
        doc = await info.context.loaders.by_id("rooms").load(self.doc["room_id"])
        return Room.from_doc(doc) if doc else None


@strawberry.type
class Camera(Node):
    doc: strawberry.Private[Doc]
    name: str
    device_id: str
    online: bool

    @classmethod
    def from_doc(cls, doc: Doc) -> Camera:
        return cls(
            id=strawberry.ID(encode_id("Camera", doc["_id"])),
            doc=doc,
            name=doc["name"],
            device_id=doc["device_id"],
            online=doc["online"],
        )

    @strawberry.field
    async def property(self, info: Info) -> Property:
        return await property_by_id(info, self.doc["property_id"])


@strawberry.type
class SmokeDetector(Node):
    doc: strawberry.Private[Doc]
    device_id: str
    online: bool
    last_alarm_at: dt.datetime | None

    @classmethod
    def from_doc(cls, doc: Doc) -> SmokeDetector:
        return cls(
            id=strawberry.ID(encode_id("SmokeDetector", doc["_id"])),
            doc=doc,
            device_id=doc["device_id"],
            online=doc["online"],
            last_alarm_at=doc.get("last_alarm_at"),
        )

    @strawberry.field
    async def room(self, info: Info) -> Room:
        return await room_by_id(info, self.doc["room_id"])


@strawberry.type
class PropertyEdge:
    node: Property
    cursor: str


@strawberry.type
class PropertyConnection:
    edges: list[PropertyEdge]
    page_info: PageInfo
    total_count: int

    @classmethod
    def from_page(cls, page: Page, sort: Any) -> PropertyConnection:
        edges, info = page_edges(
            page, sort, lambda d, c: PropertyEdge(node=Property.from_doc(d), cursor=c)
        )
        return cls(edges=edges, page_info=info, total_count=page.total_count or 0)


@strawberry.type
class RoomEdge:
    node: Room
    cursor: str


@strawberry.type
class RoomConnection:
    edges: list[RoomEdge]
    page_info: PageInfo
    total_count: int

    @classmethod
    def from_sorted(cls, rooms: list[Doc], first: int | None, after: str | None) -> RoomConnection:
        """Pages a property's rooms, loaded whole and sorted by a DataLoader (one query for
        every property of the request), by the same keyset cursor as the database pages."""
        limit = check_first(first, 50)
        start = 0
        if after:
            key = decode_cursor(after, len(svc.ROOM_ORDER))
            start = next(
                (i for i, r in enumerate(rooms) if svc.room_key(r) > tuple(key)), len(rooms)
            )
        window = rooms[start : start + limit]
        edges = [
            RoomEdge(node=Room.from_doc(r), cursor=encode_cursor(list(svc.room_key(r))))
            for r in window
        ]
        return cls(
            edges=edges,
            page_info=PageInfo(
                has_next_page=start + limit < len(rooms),
                end_cursor=edges[-1].cursor if edges else None,
            ),
            total_count=len(rooms),
        )


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


@strawberry.type
class PropertyPayload:
    property: Property | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


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


@strawberry.input
class RegisterDeviceInput:
    kind: DeviceKind
    device_id: str = strawberry.field(description="The device's id on the device gateway.")
    name: str
    property_id: strawberry.ID
    room_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Doors of a room and smoke detectors need it; a building entrance and "
        "cameras do not.",
    )


@strawberry.type
class DevicePayload:
    door: Door | None = None
    camera: Camera | None = None
    smoke_detector: SmokeDetector | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def device_node(doc: Doc) -> Door | Camera | SmokeDetector:
    if doc["kind"] == "DOOR":
        return Door.from_doc(doc)
    if doc["kind"] == "CAMERA":
        return Camera.from_doc(doc)
    return SmokeDetector.from_doc(doc)


async def _visible_property(info: Info, property_id: Any) -> Doc | None:
    doc = await info.context.loaders.by_id("properties").load(property_id)
    return doc if doc and svc.can_see_property(info.context.viewer, doc) else None


@register_node("Property")
async def _property_node(info: Info, oid: Any) -> Property | None:
    doc = await _visible_property(info, oid)
    return Property.from_doc(doc) if doc else None


@register_node("Room")
async def _room_node(info: Info, oid: Any) -> Room | None:
    room = await info.context.loaders.by_id("rooms").load(oid)
    if room and await _visible_property(info, room["property_id"]):
        return Room.from_doc(room)
    return None


async def _device_node(info: Info, oid: Any, kind: str) -> Any:
    device = await info.context.loaders.by_id("devices").load(oid)
    if device and device["kind"] == kind and await _visible_property(info, device["property_id"]):
        return device_node(device)
    return None


@register_node("Door")
async def _door_node(info: Info, oid: Any) -> Door | None:
    return await _device_node(info, oid, "DOOR")


@register_node("Camera")
async def _camera_node(info: Info, oid: Any) -> Camera | None:
    return await _device_node(info, oid, "CAMERA")


@register_node("SmokeDetector")
async def _detector_node(info: Info, oid: Any) -> SmokeDetector | None:
    return await _device_node(info, oid, "SMOKE_DETECTOR")
