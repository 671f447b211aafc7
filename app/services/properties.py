"""Properties, rooms and devices: what landlords rent out and the hardware in it.

Rooms and devices carry their property's landlord and place, so that every ownership check
and every scope filter is one indexed condition, with no join.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from app.db import Doc, find_by_id
from app.errors import Code, Collector, NotFoundError, UnavailableError, UserInputError
from app.gateway import DeviceUnknown, GatewayClient, GatewayError
from app.services import locks, stats
from app.services.clock import now
from app.validation import check_float, check_int, clean_text
from app.viewer import Role, Viewer

PROPERTY_KINDS = {"APARTMENT_BUILDING", "FIRST_HAND", "SECOND_HAND"}
DEVICE_KINDS = {"DOOR": "door", "CAMERA": "camera", "SMOKE_DETECTOR": "smoke_detector"}
MAX_RENT_FEN = 100_000_000  # 1,000,000 yuan a month: beyond any real room
MAX_AREA_SQM = 10_000.0
MAX_EQUIPMENT = 10_000
_DEVICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
_ROOM_NUMBER = re.compile(r"^[\w\-. ]{1,16}$")
STAFF = (Role.POLICE, Role.RESPONDER, Role.ADMIN)
ROOM_ORDER = [("floor", 1), ("number", 1), ("_id", 1)]


def room_key(room: Doc) -> tuple[Any, ...]:
    return (room["floor"], room["number"], room["_id"])


@dataclass
class PlaceIn:
    town: str
    community: str
    grid: str | None


@dataclass
class SafetyIn:
    extinguishers: int
    smoke_detectors: int
    escape_windows: int


# --- visibility ---------------------------------------------------------------------------


def can_see_property(viewer: Viewer, prop: Doc) -> bool:
    """The landlord sees their own; police, responders and admins within their scope."""
    if viewer.account_id is None:
        return False
    if viewer.role is Role.LANDLORD:
        return bool(prop.get("landlord_id") == viewer.account_id)
    if viewer.role in STAFF:
        return viewer.scope.contains(prop.get("place") or {})
    return False


async def owned_property(
    db: AsyncDatabase[Doc], viewer: Viewer, property_id: ObjectId, field: list[str] | None = None
) -> Doc:
    landlord_id = viewer.require(Role.LANDLORD)
    doc = await find_by_id(db.properties, property_id, landlord_id=landlord_id)
    if doc is None:
        raise NotFoundError("Property", field=field or ["propertyId"])
    return doc


async def owned_room(
    db: AsyncDatabase[Doc], viewer: Viewer, room_id: ObjectId, field: list[str] | None = None
) -> Doc:
    landlord_id = viewer.require(Role.LANDLORD)
    doc = await find_by_id(db.rooms, room_id, landlord_id=landlord_id)
    if doc is None:
        raise NotFoundError("Room", field=field or ["roomId"])
    return doc


# --- validation ---------------------------------------------------------------------------


def _check_safety(errors: Collector, safety: SafetyIn) -> dict[str, int]:
    out = {}
    for name, graph_name, value in (
        ("extinguishers", "extinguishers", safety.extinguishers),
        ("smoke_detectors", "smokeDetectors", safety.smoke_detectors),
        ("escape_windows", "escapeWindows", safety.escape_windows),
    ):
        out[name] = check_int(
            errors, ["safety", graph_name], value, low=0, high=MAX_EQUIPMENT, code=Code.OUT_OF_RANGE
        )
    return out


def _check_place(errors: Collector, place: PlaceIn) -> dict[str, str | None]:
    return {
        "town": clean_text(errors, ["place", "town"], place.town, max_len=64),
        "community": clean_text(errors, ["place", "community"], place.community, max_len=64),
        "grid": clean_text(errors, ["place", "grid"], place.grid, max_len=64, required=False)
        or None,
    }


def check_location(errors: Collector, field: list[str], lat: float, lng: float) -> dict[str, float]:
    return {
        "lat": check_float(errors, [*field, "lat"], lat, low=-90, high=90, code=Code.OUT_OF_RANGE),
        "lng": check_float(
            errors, [*field, "lng"], lng, low=-180, high=180, code=Code.OUT_OF_RANGE
        ),
    }


def check_rent(errors: Collector, field: list[str], rent_fen: int) -> int:
    return check_int(errors, field, rent_fen, low=1, high=MAX_RENT_FEN, code=Code.OUT_OF_RANGE)


# --- properties ---------------------------------------------------------------------------


async def create_property(
    db: AsyncDatabase[Doc],
    viewer: Viewer,
    *,
    name: str,
    address: str,
    place: PlaceIn,
    lat: float,
    lng: float,
    kind: str,
    safety: SafetyIn,
) -> Doc:
    landlord_id = viewer.require(Role.LANDLORD)
    errors = Collector()
    doc: Doc = {
        "_id": ObjectId(),
        "landlord_id": landlord_id,
        "name": clean_text(errors, ["name"], name, max_len=100),
        "address": clean_text(errors, ["address"], address, max_len=200),
        "place": _check_place(errors, place),
        "location": check_location(errors, ["location"], lat, lng),
        "kind": kind,
        "safety": _check_safety(errors, safety),
        "created_at": now(),
    }
    if kind not in PROPERTY_KINDS:
        errors.add(["kind"], Code.INVALID_ARGUMENT, "Unknown property kind.")
    errors.raise_if_any()
    await db.properties.insert_one(doc)
    await stats.bump(db, doc["place"], kind, properties=1, **doc["safety"])
    return doc


async def update_property(
    db: AsyncDatabase[Doc],
    viewer: Viewer,
    property_id: ObjectId,
    *,
    name: str | None,
    address: str | None,
    safety: SafetyIn | None,
) -> Doc:
    prop = await owned_property(db, viewer, property_id)
    errors = Collector()
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = clean_text(errors, ["name"], name, max_len=100)
    if address is not None:
        changes["address"] = clean_text(errors, ["address"], address, max_len=200)
    if safety is not None:
        changes["safety"] = _check_safety(errors, safety)
    errors.raise_if_any()
    if not changes:
        return prop
    changes["updated_at"] = now()
    # under the property's lock, so that the counters move by the difference between what
    # this very update replaced and wrote, also when two updates race (FerretDB)
    async with locks.held(db, f"property:{prop['_id']}"):
        before = await db.properties.find_one_and_update(
            {"_id": prop["_id"], "landlord_id": prop["landlord_id"]},
            {"$set": changes},
            return_document=ReturnDocument.BEFORE,
        )
        if before is None:
            raise NotFoundError("Property", field=["propertyId"])
        if "safety" in changes:
            old = before.get("safety", {})
            delta = {k: v - int(old.get(k, 0)) for k, v in changes["safety"].items()}
            await stats.bump(db, prop["place"], prop["kind"], **delta)
    updated = {**before, **changes}
    if "address" in changes:
        # listings carry the address themselves (a search never joins): keep them in step
        await db.listings.update_many(
            {"property_id": prop["_id"]}, {"$set": {"address": changes["address"]}}
        )
    return updated


# --- rooms --------------------------------------------------------------------------------


async def add_room(
    db: AsyncDatabase[Doc],
    viewer: Viewer,
    property_id: ObjectId,
    *,
    number: str,
    floor: int,
    area_sqm: float,
    monthly_rent_fen: int,
) -> Doc:
    prop = await owned_property(db, viewer, property_id)
    errors = Collector()
    clean_number = clean_text(errors, ["number"], number, max_len=16)
    if clean_number and not _ROOM_NUMBER.match(clean_number):
        errors.add(["number"], Code.INVALID_ARGUMENT, "Letters, digits, - and . only.")
    check_int(errors, ["floor"], floor, low=-5, high=200, code=Code.OUT_OF_RANGE)
    check_float(errors, ["areaSqm"], area_sqm, low=1, high=MAX_AREA_SQM, code=Code.OUT_OF_RANGE)
    check_rent(errors, ["monthlyRentFen"], monthly_rent_fen)
    errors.raise_if_any()
    doc: Doc = {
        "_id": ObjectId(),
        "property_id": prop["_id"],
        "landlord_id": prop["landlord_id"],
        "place": prop["place"],
        "kind": prop["kind"],
        "number": clean_number,
        "floor": floor,
        "area_sqm": round(float(area_sqm), 2),
        "monthly_rent_fen": monthly_rent_fen,
        "status": "VACANT",
        "created_at": now(),
    }
    try:
        await db.rooms.insert_one(doc)
    except DuplicateKeyError as exc:
        raise UserInputError(
            "This property already has a room with that number.",
            code=Code.DUPLICATE,
            field=["number"],
        ) from exc
    await stats.bump(db, prop["place"], prop["kind"], rooms=1)
    return doc


# --- devices ------------------------------------------------------------------------------


async def register_device(
    db: AsyncDatabase[Doc],
    gateway: GatewayClient,
    viewer: Viewer,
    *,
    kind: str,
    device_id: str,
    name: str,
    property_id: ObjectId,
    room_id: ObjectId | None,
) -> Doc:
    prop = await owned_property(db, viewer, property_id)
    errors = Collector()
    clean_name = clean_text(errors, ["name"], name, max_len=64)
    clean_device = (device_id or "").strip()
    if not _DEVICE_ID.match(clean_device):
        errors.add(["deviceId"], Code.INVALID_ARGUMENT, "Not a valid gateway device id.")
    if kind not in DEVICE_KINDS:
        errors.add(["kind"], Code.INVALID_ARGUMENT, "Unknown device kind.")
    if kind == "SMOKE_DETECTOR" and room_id is None:
        errors.add(["roomId"], Code.ROOM_REQUIRED, "A smoke detector belongs to a room.")
    if kind == "CAMERA" and room_id is not None:
        errors.add(["roomId"], Code.INVALID_ARGUMENT, "Cameras belong to the property.")
    errors.raise_if_any()
    room = None
    if room_id is not None:
        room = await find_by_id(db.rooms, room_id, property_id=prop["_id"])
        if room is None:
            raise NotFoundError("Room", field=["roomId"])
    try:
        info = await gateway.get_device(clean_device)
    except DeviceUnknown as exc:
        raise UserInputError(
            "The gateway has no such device.", code=Code.DEVICE_NOT_FOUND, field=["deviceId"]
        ) from exc
    except GatewayError as exc:
        raise UnavailableError("The device gateway is unavailable; try again shortly.") from exc
    if info.kind != DEVICE_KINDS[kind]:
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
    try:
        await db.devices.insert_one(doc)
    except DuplicateKeyError as exc:
        raise UserInputError(
            "This device is already registered.", code=Code.DUPLICATE, field=["deviceId"]
        ) from exc
    for hook in DEVICE_REGISTERED_HOOKS:
        await hook(db, doc)
    return doc


# Other domains react to a new device (the leases domain puts live cards on a new door).
DEVICE_REGISTERED_HOOKS: list[Any] = []
