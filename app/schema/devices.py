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


@strawberry.enum(description="What kind of device registerDevice binds.")
class DeviceKind(enum.Enum):
    _value_: str

    DOOR = strawberry.enum_value(
        "DOOR",
        description="A door lock with a card reader (and keypad): a room's door, or the building "
        "entrance when no room is given.",
    )
    CAMERA = strawberry.enum_value(
        "CAMERA",
        description="A camera at the property (no room); snapshots on demand (cameraSnapshot).",
    )
    SMOKE_DETECTOR = strawberry.enum_value(
        "SMOKE_DETECTOR",
        description="A connected smoke detector in a room (roomId required): it raises alarms.",
    )


REMOVED_AT = (
    "When the device was removed or replaced; null while it is in place. A removed "
    "device keeps its history (access events, alarms) and answers nothing more."
)


@strawberry.type(
    description="A door lock on the device gateway, on a room or the building entrance. Seen by "
    "the property's LANDLORD (only the owner), its tenants through their room, and "
    "POLICE, RESPONDER and ADMIN within their scope.",
)
class Door(Node):
    doc: strawberry.Private[Doc]
    name: str = strawberry.field(
        description="The landlord's name for it, e.g. 301 door, at most 64 characters."
    )
    device_id: str = strawberry.field(description="The device's id on the device gateway.")
    online: bool = strawberry.field(description="Whether the gateway last reported it connected.")
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

    @strawberry.field(description="The property it is in.")
    async def property(self, info: Info) -> Property:
        return await property_by_id(info, self.doc["property_id"])

    @strawberry.field(description="Null for a building entrance.")
    async def room(self, info: Info) -> Room | None:
        if self.doc.get("room_id") is None:
            return None
        doc = await info.context.loaders.room_by_id.load(self.doc["room_id"])
        return Room.from_doc(doc) if doc else None


@strawberry.type(
    description="A camera at a property, on the device gateway. Seen by the property's LANDLORD "
    "(only the owner) and POLICE, RESPONDER and ADMIN within their scope.",
)
class Camera(Node):
    doc: strawberry.Private[Doc]
    name: str = strawberry.field(
        description="The landlord's name for it, e.g. Gate, at most 64 characters."
    )
    device_id: str = strawberry.field(description="The device's id on the device gateway.")
    online: bool = strawberry.field(description="Whether the gateway last reported it connected.")
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

    @strawberry.field(description="The property it watches.")
    async def property(self, info: Info) -> Property:
        return await property_by_id(info, self.doc["property_id"])


@strawberry.type(
    description="A connected smoke detector in a room: its smoke events raise alarms. Seen by "
    "whoever sees its room.",
)
class SmokeDetector(Node):
    doc: strawberry.Private[Doc]
    device_id: str = strawberry.field(description="The device's id on the device gateway.")
    online: bool = strawberry.field(description="Whether the gateway last reported it connected.")
    last_alarm_at: dt.datetime | None = strawberry.field(
        description="When it last raised an alarm (UTC); null if never."
    )
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

    @strawberry.field(description="The room it is in.")
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


@strawberry.input(
    description="A device to bind to one of the caller's properties, with the claim code on its "
    "label.",
)
class RegisterDeviceInput:
    kind: DeviceKind = strawberry.field(
        description="What it is; the gateway must agree (DEVICE_CLAIM_FAILED otherwise)."
    )
    device_id: str = strawberry.field(description="The device's id on the device gateway.")
    name: str = strawberry.field(description="A name for it, 1-64 characters (REQUIRED, TOO_LONG).")
    property_id: strawberry.ID = strawberry.field(
        description="The caller's property, not archived (INVALID_ID, NOT_FOUND, "
        "PROPERTY_ARCHIVED)."
    )
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


@strawberry.input(description="The device to remove.")
class RemoveDeviceInput:
    device_id: strawberry.ID = strawberry.field(description="A Door, Camera or SmokeDetector id.")


@strawberry.input(description="A device to swap for another of the same kind, in the same place.")
class ReplaceDeviceInput:
    device_id: strawberry.ID = strawberry.field(description="A Door, Camera or SmokeDetector id.")
    new_device_id: str = strawberry.field(description="The new device's id on the gateway.")
    new_claim_code: str = strawberry.field(
        description="The claim code on the new device's label (DEVICE_CLAIM_FAILED as for "
        "registerDevice)."
    )


@strawberry.type(description="The answer of removeDevice.")
class RemoveDevicePayload:
    ok: bool = strawberry.field(
        default=False, description="True once the device is removed (its claim released)."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)


@strawberry.type(
    description="The answer of registerDevice and replaceDevice: the one field of the device's "
    "kind is set.",
)
class DevicePayload:
    door: Door | None = strawberry.field(default=None, description="The door, for a DOOR.")
    camera: Camera | None = strawberry.field(default=None, description="The camera, for a CAMERA.")
    smoke_detector: SmokeDetector | None = strawberry.field(
        default=None, description="The detector, for a SMOKE_DETECTOR."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)

    @classmethod
    def of(cls, doc: Doc) -> DevicePayload:
        node = device_node(doc)
        return cls(
            door=node if isinstance(node, Door) else None,
            camera=node if isinstance(node, Camera) else None,
            smoke_detector=node if isinstance(node, SmokeDetector) else None,
        )
