"""Devices (doors, cameras, smoke detectors): types, inputs and payloads."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import strawberry

from app.context import Info
from app.ids import encode_id
from app.schema.common import USER_ERRORS, Node, UserError
from app.schema.node import register_node
from app.schema.properties import Property, property_by_id, visible_property
from app.schema.rooms import Room, room_by_id
from app.services import access_events
from app.services.devices import shown_device_id
from app.store import Doc
from app.viewer import Role


@strawberry.enum
class DeviceKind(enum.Enum):
    DOOR = "DOOR"
    CAMERA = "CAMERA"
    SMOKE_DETECTOR = "SMOKE_DETECTOR"


REMOVED_AT = (
    "When the device was removed or replaced; null while it is in place. A removed "
    "device keeps its history (access events, alarms) and answers nothing more."
)


@strawberry.type
class Door(Node):
    doc: strawberry.Private[Doc]
    name: str
    device_id: str = strawberry.field(description="The device's id on the device gateway.")
    online: bool
    removed_at: dt.datetime | None = strawberry.field(description=REMOVED_AT)

    @classmethod
    def from_doc(cls, doc: Doc) -> Door:
        return cls(
            id=strawberry.ID(encode_id("Door", doc["_id"])),
            doc=doc,
            name=doc["name"],
            device_id=shown_device_id(doc),
            online=doc["online"] and doc.get("removed_at") is None,
            removed_at=doc.get("removed_at"),
        )

    @strawberry.field(
        description="The door's last access event that the viewer may see in the log: POLICE "
        "any; its LANDLORD the last remote opening, refusal or entry with their own pass; the "
        "TENANT living behind a room's door the last since their lease began; otherwise null."
    )
    async def last_event_at(self, info: Info) -> dt.datetime | None:
        room_leases: list[Doc] = []
        if info.context.viewer.role is Role.TENANT and self.doc.get("room_id") is not None:
            loader = info.context.loaders.active_lease_by_room
            room_leases = await loader.load(self.doc["room_id"])
        return access_events.last_event_shown(info.context.viewer, self.doc, room_leases)

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
    device_id: str = strawberry.field(description="The device's id on the device gateway.")
    online: bool
    removed_at: dt.datetime | None = strawberry.field(description=REMOVED_AT)

    @classmethod
    def from_doc(cls, doc: Doc) -> Camera:
        return cls(
            id=strawberry.ID(encode_id("Camera", doc["_id"])),
            doc=doc,
            name=doc["name"],
            device_id=shown_device_id(doc),
            online=doc["online"] and doc.get("removed_at") is None,
            removed_at=doc.get("removed_at"),
        )

    @strawberry.field
    async def property(self, info: Info) -> Property:
        return await property_by_id(info, self.doc["property_id"])


@strawberry.type
class SmokeDetector(Node):
    doc: strawberry.Private[Doc]
    device_id: str = strawberry.field(description="The device's id on the device gateway.")
    online: bool
    last_alarm_at: dt.datetime | None
    removed_at: dt.datetime | None = strawberry.field(description=REMOVED_AT)

    @classmethod
    def from_doc(cls, doc: Doc) -> SmokeDetector:
        return cls(
            id=strawberry.ID(encode_id("SmokeDetector", doc["_id"])),
            doc=doc,
            device_id=shown_device_id(doc),
            online=doc["online"] and doc.get("removed_at") is None,
            last_alarm_at=doc.get("last_alarm_at"),
            removed_at=doc.get("removed_at"),
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
    claim_code: str | None = strawberry.field(
        default=None,
        description="The claim code printed on the device's label; the gateway checks it. "
        "Required by the server (nullable only for version 1 clients): without it REQUIRED; "
        "a wrong code, an unknown device, one of another kind or one another property holds "
        "all answer DEVICE_CLAIM_FAILED; RATE_LIMITED after repeated failures.",
    )


@strawberry.input
class RemoveDeviceInput:
    device_id: strawberry.ID = strawberry.field(description="A Door, Camera or SmokeDetector id.")


@strawberry.input
class ReplaceDeviceInput:
    device_id: strawberry.ID = strawberry.field(description="A Door, Camera or SmokeDetector id.")
    new_device_id: str = strawberry.field(description="The new device's id on the gateway.")
    new_claim_code: str = strawberry.field(
        description="The claim code on the new device's label (DEVICE_CLAIM_FAILED as for "
        "registerDevice)."
    )


@strawberry.type
class RemoveDevicePayload:
    ok: bool = strawberry.field(
        default=False, description="True once the device is removed (its claim released)."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)


@strawberry.type
class DevicePayload:
    door: Door | None = None
    camera: Camera | None = None
    smoke_detector: SmokeDetector | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)

    @classmethod
    def of(cls, doc: Doc) -> DevicePayload:
        node = device_node(doc)
        return cls(
            door=node if isinstance(node, Door) else None,
            camera=node if isinstance(node, Camera) else None,
            smoke_detector=node if isinstance(node, SmokeDetector) else None,
        )
