"""Devices: the doors, cameras and smoke detectors of a property, bound to it once through
the device gateway, which knows them by their ids."""

from __future__ import annotations

import re

from bson import ObjectId

from app.clients.gateway import DeviceUnknown, GatewayError
from app.clock import now
from app.deps import Deps
from app.errors import Code, Collector, NotFoundError, UnavailableError, UserInputError
from app.services.properties import owned_property
from app.store import Doc
from app.validation import clean_text
from app.viewer import Viewer

DOOR, CAMERA, SMOKE_DETECTOR = "DOOR", "CAMERA", "SMOKE_DETECTOR"
# our kind -> the gateway's
GATEWAY_KINDS = {DOOR: "door", CAMERA: "camera", SMOKE_DETECTOR: "smoke_detector"}
DEVICE_ORDER = [("created_at", 1), ("_id", 1)]
_DEVICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


async def register_device(
    deps: Deps,
    viewer: Viewer,
    *,
    kind: str,
    device_id: str,
    name: str,
    property_id: ObjectId,
    room_id: ObjectId | None,
) -> Doc:
    store = deps.store
    prop = await owned_property(store, viewer, property_id)
    errors = Collector()
    clean_name = clean_text(errors, ["name"], name, max_len=64)
    clean_device = (device_id or "").strip()
    if not _DEVICE_ID.match(clean_device):
        errors.add(["deviceId"], Code.INVALID_ARGUMENT, "Not a valid gateway device id.")
    if kind not in GATEWAY_KINDS:
        errors.add(["kind"], Code.INVALID_ARGUMENT, "Unknown device kind.")
    if kind == SMOKE_DETECTOR and room_id is None:
        errors.add(["roomId"], Code.ROOM_REQUIRED, "A smoke detector belongs to a room.")
    if kind == CAMERA and room_id is not None:
        errors.add(["roomId"], Code.INVALID_ARGUMENT, "Cameras belong to the property.")
    errors.raise_if_any()
    room = None
    if room_id is not None:
        room = await store.find_by_id("rooms", room_id, property_id=prop["_id"])
        if room is None:
            raise NotFoundError("Room", field=["roomId"])
    try:
        info = await deps.gateway.get_device(clean_device)
    except DeviceUnknown as exc:
        raise UserInputError(
            "The gateway has no such device.", code=Code.DEVICE_NOT_FOUND, field=["deviceId"]
        ) from exc
    except GatewayError as exc:
        raise UnavailableError("The device gateway is unavailable; try again shortly.") from exc
    if info.kind != GATEWAY_KINDS[kind]:
        raise UserInputError(
            f"The gateway says this device is a {info.kind}.",
            code=Code.DEVICE_KIND_MISMATCH,
            field=["kind"],
        )
    doc: Doc = {
        "_id": ObjectId(),
        "kind": kind,
        "device_id": clean_device,
        "name": clean_name,
        "property_id": prop["_id"],
        "room_id": room["_id"] if room else None,
        "landlord_id": prop["landlord_id"],
        "place": prop["place"],
        "online": info.online,
        "last_event_at": None,
        "last_alarm_at": None,
        "created_at": now(),
    }
    taken = UserInputError(
        "This device is already registered.", code=Code.DUPLICATE, field=["deviceId"]
    )
    await store.insert_unique("devices", doc, taken)
    if kind == DOOR:
        await deps.outbox.queue_for_new_door(doc)
    return doc
