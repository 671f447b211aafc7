"""Devices (doors, cameras, smoke detectors): types, input and payload."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import strawberry

from app.context import Info
from app.ids import encode_id
from app.schema.common import Node, UserError
from app.schema.node import register_node
from app.schema.properties import Property, property_by_id, visible_property
from app.schema.rooms import Room, room_by_id
from app.store import Doc


@strawberry.enum
class DeviceKind(enum.Enum):
    DOOR = "DOOR"
    CAMERA = "CAMERA"
    SMOKE_DETECTOR = "SMOKE_DETECTOR"


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
        doc = await info.context.loaders.room_by_id.load(self.doc["room_id"])
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


def device_node(doc: Doc) -> Door | Camera | SmokeDetector:
    if doc["kind"] == "DOOR":
        return Door.from_doc(doc)
    if doc["kind"] == "CAMERA":
        return Camera.from_doc(doc)
    return SmokeDetector.from_doc(doc)


async def door_by_id(info: Info, oid: Any) -> Door:
    doc = await info.context.loaders.device_by_id.load(oid)
    assert doc is not None, "devices are never deleted"
    return Door.from_doc(doc)


def _device_node(kind: str) -> Any:
    async def resolve(info: Info, oid: Any) -> Any:
        device = await info.context.loaders.device_by_id.load(oid)
        if (
            device
            and device["kind"] == kind
            and await visible_property(info, device["property_id"])
        ):
            return device_node(device)
        return None

    return resolve


register_node("Door")(_device_node("DOOR"))
register_node("Camera")(_device_node("CAMERA"))
register_node("SmokeDetector")(_device_node("SMOKE_DETECTOR"))


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

    @classmethod
    def of(cls, doc: Doc) -> DevicePayload:
        node = device_node(doc)
        return cls(
            door=node if isinstance(node, Door) else None,
            camera=node if isinstance(node, Camera) else None,
            smoke_detector=node if isinstance(node, SmokeDetector) else None,
        )
