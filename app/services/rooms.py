"""Rooms: what is let, one lease at a time, each with its number, floor, area, rent, a
description, amenities and photos. Changing and archiving rooms: room_changes.py; their
photos: room_photos.py.

A room's status is VACANT or UNAVAILABLE as its landlord says, OCCUPIED while a lease runs
(leases set it); every write of it goes through `set_status`, inside the room's exclusive
section, so that on an engine whose updates are not atomic (FerretDB v1) a landlord's change
and a lease starting never overwrite each other. An archived room (`archived_at`) is off the
market for good: it stays UNAVAILABLE, with its history.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from bson import ObjectId

from app.clock import now
from app.deps import Deps
from app.errors import Code, Collector, NotFoundError, UserInputError
from app.services import safety_checks, stats
from app.services.properties import owned_property
from app.store import Doc, Store
from app.validation import check_float, check_int, clean_text
from app.viewer import Role, Viewer

MAX_RENT_FEN = 100_000_000  # 1,000,000 yuan a month: beyond any real room
MAX_AREA_SQM = 10_000.0
MAX_DESCRIPTION = 2000
ROOM_ORDER = [("floor", 1), ("number", 1), ("_id", 1)]
VACANT, OCCUPIED, UNAVAILABLE = "VACANT", "OCCUPIED", "UNAVAILABLE"
# what the apps show as icons (the contract's Amenity enum)
AMENITIES = (
    "AIR_CONDITIONER",
    "WATER_HEATER",
    "PRIVATE_BATHROOM",
    "KITCHEN",
    "WASHING_MACHINE",
    "WIFI",
    "BALCONY",
    "FURNISHED",
    "LIFT",
    "EBIKE_CHARGING",
)
_ROOM_NUMBER = re.compile(r"^[\w\-. ]{1,16}$")


def check_rent(errors: Collector, field: list[str], rent_fen: int) -> int:
    return check_int(errors, field, rent_fen, low=1, high=MAX_RENT_FEN, code=Code.OUT_OF_RANGE)


def check_number(errors: Collector, number: str) -> str:
    clean = clean_text(errors, ["number"], number, max_len=16)
    if clean and not _ROOM_NUMBER.match(clean):
        errors.add(["number"], Code.INVALID_ARGUMENT, "Letters, digits, - and . only.")
    return clean


def check_floor(errors: Collector, floor: int) -> int:
    return check_int(errors, ["floor"], floor, low=-5, high=200, code=Code.OUT_OF_RANGE)


def check_area(errors: Collector, area_sqm: float) -> float:
    check_float(errors, ["areaSqm"], area_sqm, low=1, high=MAX_AREA_SQM, code=Code.OUT_OF_RANGE)
    return round(float(area_sqm), 2)


def check_description(errors: Collector, description: str) -> str | None:
    text = clean_text(
        errors,
        ["description"],
        description,
        max_len=MAX_DESCRIPTION,
        required=False,
        multiline=True,
    )
    return text or None


def check_amenities(errors: Collector, field: list[str], amenities: Sequence[str]) -> list[str]:
    """Known amenities, each once, in the enum's order."""
    unknown = set(amenities) - set(AMENITIES)
    if unknown:
        errors.add(field, Code.INVALID_ARGUMENT, "Unknown amenity.")
    return [a for a in AMENITIES if a in set(amenities)]


def tenant_lives_in(viewer: Viewer, active_leases: list[Doc]) -> bool:
    """Whether the viewer is the tenant of one of the room's `active_leases` that runs today:
    only then do they see the room's doors and detectors (a lease that ended gives nothing
    more of the room, nor of who lives there next)."""
    if viewer.role is not Role.TENANT or viewer.account_id is None:
        return False
    day = now().date().isoformat()
    return any(
        lease.get("tenant_id") == viewer.account_id
        and lease["start_date"] <= day <= lease["end_date"]
        for lease in active_leases
    )


async def owned_room(
    store: Store, viewer: Viewer, room_id: ObjectId, field: list[str] | None = None
) -> Doc:
    """The caller's own room; NOT_FOUND for another landlord's, as for a missing one."""
    landlord_id = viewer.require(Role.LANDLORD)
    doc = await store.find_by_id("rooms", room_id, landlord_id=landlord_id)
    if doc is None:
        raise NotFoundError("Room", field=field or ["roomId"])
    return doc


def room_guard(room_id: ObjectId) -> str:
    """The name of a room's exclusive section (every read-decide-write of the room)."""
    return f"room:{room_id}"


async def set_status(
    store: Store, room_id: ObjectId, status: str, *, where: dict[str, Any] | None = None
) -> bool:
    """Sets the room's status if it matches `where`; whether it did."""
    async with store.exclusive(room_guard(room_id)):
        result = await store.rooms.update_one(
            {"_id": room_id, **(where or {})}, {"$set": {"status": status}}
        )
    if result.modified_count:
        # a room let or no longer let: does it need a smoke detector (safety_checks.py)?
        room = await store.rooms.find_one({"_id": room_id}, {"property_id": 1})
        if room is not None:
            await safety_checks.mark(store, room["property_id"])
    return result.matched_count == 1


async def add_room(
    deps: Deps,
    viewer: Viewer,
    property_id: ObjectId,
    *,
    number: str,
    floor: int,
    area_sqm: float,
    monthly_rent_fen: int,
) -> Doc:
    prop = await owned_property(deps.store, viewer, property_id)
    errors = Collector()
    clean_number = check_number(errors, number)
    check_floor(errors, floor)
    area = check_area(errors, area_sqm)
    check_rent(errors, ["monthlyRentFen"], monthly_rent_fen)
    errors.raise_if_any()
    if prop.get("archived_at") is not None:
        raise UserInputError(
            "This property is archived.", code=Code.PROPERTY_ARCHIVED, field=["propertyId"]
        )
    doc: Doc = {
        "_id": ObjectId(),
        "property_id": prop["_id"],
        "landlord_id": prop["landlord_id"],
        "place": prop["place"],
        "kind": prop["kind"],
        "number": clean_number,
        "floor": floor,
        "area_sqm": area,
        "monthly_rent_fen": monthly_rent_fen,
        "status": VACANT,
        "description": None,
        "amenities": [],
        "photos": [],
        "archived_at": None,
        "created_at": now(),
    }
    taken = UserInputError(
        "This property already has a room with that number.",
        code=Code.DUPLICATE,
        field=["number"],
    )
    await deps.store.insert_unique("rooms", doc, taken)
    await safety_checks.mark(deps.store, prop["_id"])
    await stats.bump(deps.store, prop["place"], prop["kind"], rooms=1)
    return doc
