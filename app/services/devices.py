"""Devices: the doors, cameras and smoke detectors of a property, bound to it with the claim
code on their label (app/services/device_claims.py), removed, or replaced by another device.

A device document is one binding: a device id on one door, camera or detector of one
property, from `created_at` to `removed_at`. A device is bound at most once at a time (the
unique index on `device_id`): a binding that ends keeps its history (access events, alarms,
commands name its `_id`) and gives its device id up by moving it to `released_device_id`, so
that the device can be bound again, here or elsewhere. Replacing a device binds the new one
in the old one's place (its name, property and room) as a new document, and releases the old
one: a door's cards and visitors' codes are put on the new door and deleted from the old one
through the card outbox, which also keeps trying at a device that no longer answers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument

from app.clients.gateway import DeviceInfo
from app.clock import now
from app.deps import Deps
from app.errors import Code, Collector, NotFoundError, UserInputError
from app.services import audit, device_claims, safety_checks
from app.services.device_claims import GATEWAY_KINDS
from app.services.properties import owned_property
from app.store import Doc
from app.validation import clean_text
from app.viewer import Role, Viewer

DOOR, CAMERA, SMOKE_DETECTOR = "DOOR", "CAMERA", "SMOKE_DETECTOR"
DEVICE_ORDER = [("created_at", 1), ("_id", 1)]
_DEVICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


def shown_device_id(doc: Doc) -> str:
    """The gateway's id of the device, also once its binding ended."""
    return str(doc.get("released_device_id") or doc["device_id"])


def _check_device_id(errors: Collector, field: Sequence[str], raw: str | None) -> str:
    device_id = (raw or "").strip()
    if not _DEVICE_ID.match(device_id):
        errors.add(field, Code.INVALID_ARGUMENT, "Not a valid gateway device id.")
    return device_id


def _device_doc(place: Doc, kind: str, device_id: str, info: DeviceInfo, owner: str) -> Doc:
    """A binding of `device_id` where `place` says (name, property, room, landlord, place)."""
    return {
        "_id": ObjectId(),
        "kind": kind,
        "device_id": device_id,
        "name": place["name"],
        "property_id": place["property_id"],
        "room_id": place.get("room_id"),
        "landlord_id": place["landlord_id"],
        "place": place["place"],
        "claim_owner": owner,
        "online": info.online,
        "last_event_at": None,
        "last_landlord_event_at": None,
        "last_alarm_at": None,
        "created_at": now(),
        "removed_at": None,
    }


async def _bind(deps: Deps, doc: Doc, field: Sequence[str]) -> Doc:
    """Stores a binding whose claim the platform granted. The device already bound here is
    DUPLICATE (its owner holds the label: nothing is revealed); bound to another property
    (bound before claims existed) it is DEVICE_CLAIM_FAILED, and the claim just made is
    given back."""
    store = deps.store
    try:
        await store.insert_unique("devices", doc, device_claims.claim_failed(field))
    except UserInputError:
        bound = await store.devices.find_one({"device_id": doc["device_id"]}, {"property_id": 1})
        if bound is not None and bound["property_id"] == doc["property_id"]:
            raise UserInputError(
                "This device is already registered here.", code=Code.DUPLICATE, field=["deviceId"]
            ) from None
        await device_claims.release(deps, doc["device_id"], doc["claim_owner"])
        raise
    await safety_checks.mark(store, doc["property_id"])
    return doc


async def register_device(
    deps: Deps,
    viewer: Viewer,
    *,
    kind: str,
    device_id: str,
    claim_code: str | None,
    name: str,
    property_id: ObjectId,
    room_id: ObjectId | None,
) -> Doc:
    """LANDLORD: binds a device to their property with the claim code on its label."""
    landlord_id = viewer.require(Role.LANDLORD)
    store = deps.store
    prop = await owned_property(store, viewer, property_id)
    errors = Collector()
    clean_name = clean_text(errors, ["name"], name, max_len=64)
    clean_device = _check_device_id(errors, ["deviceId"], device_id)
    code = device_claims.check_code(errors, ["claimCode"], claim_code)
    if kind not in GATEWAY_KINDS:
        errors.add(["kind"], Code.INVALID_ARGUMENT, "Unknown device kind.")
    if kind == SMOKE_DETECTOR and room_id is None:
        errors.add(["roomId"], Code.ROOM_REQUIRED, "A smoke detector belongs to a room.")
    if kind == CAMERA and room_id is not None:
        errors.add(["roomId"], Code.INVALID_ARGUMENT, "Cameras belong to the property.")
    errors.raise_if_any()
    if room_id is not None:
        room = await store.find_by_id("rooms", room_id, {"_id": 1}, property_id=prop["_id"])
        if room is None:
            raise NotFoundError("Room", field=["roomId"])
    owner = device_claims.owner_ref(prop["_id"])
    info = await device_claims.claim(
        deps,
        landlord_id,
        device_id=clean_device,
        claim_code=code,
        owner=owner,
        kind=kind,
        field=["claimCode"],
    )
    where = {
        "name": clean_name,
        "property_id": prop["_id"],
        "room_id": room_id,
        "landlord_id": landlord_id,
        "place": prop["place"],
    }
    doc = await _bind(deps, _device_doc(where, kind, clean_device, info, owner), ["claimCode"])
    await audit.record(
        store, landlord_id, "device.register", target=(_node(kind), doc["_id"]), details=None
    )
    if kind == DOOR:
        await deps.outbox.apply_now(await deps.outbox.queue_for_new_door(doc))
    return doc


def _node(kind: str) -> str:
    return {DOOR: "Door", CAMERA: "Camera"}.get(kind, "SmokeDetector")


async def owned_device(deps: Deps, viewer: Viewer, oid: ObjectId) -> Doc:
    """The landlord's own bound device; NOT_FOUND for another's, a removed one or none."""
    landlord_id = viewer.require(Role.LANDLORD)
    doc = await deps.store.find_by_id("devices", oid, landlord_id=landlord_id)
    if doc is None or doc.get("removed_at") is not None:
        raise NotFoundError("Device", field=["deviceId"])
    return doc


async def _unbind(deps: Deps, doc: Doc, changes: dict[str, Any]) -> Doc | None:
    """Ends a binding (once): the device id is given up, the history kept."""
    store = deps.store
    async with store.exclusive(f"device:{doc['_id']}"):
        ended = await store.devices.find_one_and_update(
            {"_id": doc["_id"], "removed_at": None},
            {
                "$set": {
                    "removed_at": now(),
                    "device_id": f"released:{doc['_id']}",
                    "released_device_id": doc["device_id"],
                    **changes,
                }
            },
            return_document=ReturnDocument.AFTER,
        )
    # after the change, so that the safety worker's next look sees it (safety_checks.py)
    await safety_checks.mark(store, doc["property_id"])
    return ended


async def remove_device(deps: Deps, viewer: Viewer, oid: ObjectId) -> None:
    """LANDLORD: a device taken away for good. Its claim is released first (so nothing has
    changed if the platform cannot be reached), then the binding ends and a door's every card
    and code is deleted from it."""
    landlord_id = viewer.require(Role.LANDLORD)
    doc = await owned_device(deps, viewer, oid)
    async with deps.store.claimed(f"device:{doc['_id']}"):
        doc = await owned_device(deps, viewer, oid)
        owner = doc.get("claim_owner") or device_claims.owner_ref(doc["property_id"])
        await device_claims.release(deps, doc["device_id"], owner, strict=True)
        ended = await _unbind(deps, doc, {"removed_by": landlord_id})
        keys = await deps.outbox.retire_door(doc) if ended and doc["kind"] == DOOR else []
        await audit.record(
            deps.store,
            landlord_id,
            "device.remove",
            target=(_node(doc["kind"]), doc["_id"]),
            details={"deviceId": doc["device_id"]},
        )
    await deps.outbox.apply_now(keys)


async def replace_device(
    deps: Deps, viewer: Viewer, oid: ObjectId, *, new_device_id: str, new_claim_code: str
) -> Doc:
    """LANDLORD: another device of the same kind in a device's place (a broken lock, a
    camera upgraded): bound with its own claim code, it takes the old one's name, property and
    room; a door's live cards and codes go onto it and off the old one. The old claim is
    released first; if the new claim then fails (DEVICE_CLAIM_FAILED), the old binding stays
    as it was."""
    landlord_id = viewer.require(Role.LANDLORD)
    errors = Collector()
    clean_device = _check_device_id(errors, ["newDeviceId"], new_device_id)
    code = device_claims.check_code(errors, ["newClaimCode"], new_claim_code)
    errors.raise_if_any()
    old = await owned_device(deps, viewer, oid)
    if clean_device == old["device_id"]:
        raise UserInputError(
            "That is the device already there.", code=Code.INVALID_ARGUMENT, field=["newDeviceId"]
        )
    store = deps.store
    async with store.claimed(f"device:{old['_id']}"):
        old = await owned_device(deps, viewer, oid)
        old_owner = old.get("claim_owner") or device_claims.owner_ref(old["property_id"])
        await device_claims.release(deps, old["device_id"], old_owner, strict=True)
        owner = device_claims.owner_ref(old["property_id"])
        info = await device_claims.claim(
            deps,
            landlord_id,
            device_id=clean_device,
            claim_code=code,
            owner=owner,
            kind=old["kind"],
            field=["newClaimCode"],
        )
        new = _device_doc(old, old["kind"], clean_device, info, owner) | {"replaces": old["_id"]}
        await _bind(deps, new, ["newClaimCode"])
        await _unbind(deps, old, {"removed_by": landlord_id, "replaced_by": new["_id"]})
        keys: list[str] = []
        if old["kind"] == DOOR:
            keys += await deps.outbox.queue_for_new_door(new)
            keys += await deps.outbox.retire_door(old)
        await audit.record(
            store,
            landlord_id,
            "device.replace",
            target=(_node(old["kind"]), old["_id"]),
            details={"from": old["device_id"], "to": clean_device, "by": str(new["_id"])},
        )
    await deps.outbox.apply_now(keys)
    return new
