"""Rooms: what is let, one lease at a time, each with its number, floor, area and rent."""

from __future__ import annotations

import re

from bson import ObjectId

from app.clock import now
from app.deps import Deps
from app.errors import Code, Collector, NotFoundError, UserInputError
from app.services import stats
from app.services.properties import owned_property
from app.store import Doc, Store
from app.validation import check_float, check_int, clean_text
from app.viewer import Role, Viewer

MAX_RENT_FEN = 100_000_000  # 1,000,000 yuan a month: beyond any real room
MAX_AREA_SQM = 10_000.0
ROOM_ORDER = [("floor", 1), ("number", 1), ("_id", 1)]
VACANT, OCCUPIED, UNAVAILABLE = "VACANT", "OCCUPIED", "UNAVAILABLE"
_ROOM_NUMBER = re.compile(r"^[\w\-. ]{1,16}$")


def check_rent(errors: Collector, field: list[str], rent_fen: int) -> int:
    return check_int(errors, field, rent_fen, low=1, high=MAX_RENT_FEN, code=Code.OUT_OF_RANGE)


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
        "status": VACANT,
        "created_at": now(),
    }
    taken = UserInputError(
        "This property already has a room with that number.",
        code=Code.DUPLICATE,
        field=["number"],
    )
    await deps.store.insert_unique("rooms", doc, taken)
    await stats.bump(deps.store, prop["place"], prop["kind"], rooms=1)
    return doc
