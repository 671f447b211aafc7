"""Changing a room: its number, floor, area, rent, description, amenities and status.

A rent change is the room's asking rent: a running lease keeps its own (leases copy the rent
when they start), the live listing shows the new one, and the next lease starts from it.
VACANT and UNAVAILABLE are the landlord's to set, never OCCUPIED (leases decide that); a room
made UNAVAILABLE loses its live listing. An archived room does not change any more.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from app.clock import now
from app.deps import Deps
from app.errors import Code, Collector, UserInputError
from app.services import listings, rooms, safety_checks
from app.store import Doc
from app.viewer import Viewer


@dataclass(frozen=True)
class RoomChanges:
    """What updateRoom was given; None leaves a field as it is (an empty description
    removes it)."""

    number: str | None = None
    floor: int | None = None
    area_sqm: float | None = None
    monthly_rent_fen: int | None = None
    description: str | None = None
    amenities: Sequence[str] | None = None
    status: str | None = None


def _number_taken() -> UserInputError:
    return UserInputError(
        "This property already has a room with that number.", code=Code.DUPLICATE, field=["number"]
    )


def archived_room() -> UserInputError:
    return UserInputError("This room is archived.", code=Code.ROOM_ARCHIVED, field=["roomId"])


def _check(given: RoomChanges) -> Doc:
    errors = Collector()
    fields: Doc = {}
    if given.number is not None:
        fields["number"] = rooms.check_number(errors, given.number)
    if given.floor is not None:
        fields["floor"] = rooms.check_floor(errors, given.floor)
    if given.area_sqm is not None:
        fields["area_sqm"] = rooms.check_area(errors, given.area_sqm)
    if given.monthly_rent_fen is not None:
        fields["monthly_rent_fen"] = rooms.check_rent(
            errors, ["monthlyRentFen"], given.monthly_rent_fen
        )
    if given.description is not None:
        fields["description"] = rooms.check_description(errors, given.description)
    if given.amenities is not None:
        fields["amenities"] = rooms.check_amenities(errors, ["amenities"], given.amenities)
    if given.status is not None:
        if given.status not in (rooms.VACANT, rooms.UNAVAILABLE):
            errors.add(
                ["status"], Code.INVALID_ARGUMENT, "VACANT or UNAVAILABLE; leases set OCCUPIED."
            )
        fields["status"] = given.status
    errors.raise_if_any()
    return fields


async def update_room(deps: Deps, viewer: Viewer, room_id: ObjectId, given: RoomChanges) -> Doc:
    """LANDLORD: changes their room. Refusals: NOT_FOUND, DUPLICATE (number), ROOM_ARCHIVED,
    ROOM_OCCUPIED (a status change while a lease runs), and the fields' own codes."""
    store = deps.store
    room = await rooms.owned_room(store, viewer, room_id)
    fields = _check(given)
    if room.get("archived_at") is not None:
        raise archived_room()
    if not fields:
        return room
    if fields.get("number", room["number"]) != room["number"]:
        other = await store.rooms.find_one(
            {"property_id": room["property_id"], "number": fields["number"]}, {"_id": 1}
        )
        if other is not None and other["_id"] != room_id:
            raise _number_taken()
    where: Doc = {"_id": room_id, "landlord_id": room["landlord_id"], "archived_at": None}
    if "status" in fields:
        where["status"] = {"$ne": rooms.OCCUPIED}
    fields["updated_at"] = now()
    async with store.exclusive(rooms.room_guard(room_id)):
        try:
            updated = await store.rooms.find_one_and_update(
                where, {"$set": fields}, return_document=ReturnDocument.AFTER
            )
        except DuplicateKeyError as exc:  # a rename racing another to the same number
            raise _number_taken() from exc
    if updated is None:
        current = await store.rooms.find_one({"_id": room_id}, {"archived_at": 1})
        if current is not None and current.get("archived_at") is not None:
            raise archived_room()
        raise UserInputError(
            "A let room's status follows its lease.", code=Code.ROOM_OCCUPIED, field=["status"]
        )
    if updated["status"] == rooms.UNAVAILABLE:
        await listings.unpublish_for_room(store, room_id)
    else:
        await listings.follow_room(store, room_id, rent="monthly_rent_fen" in fields)
    await safety_checks.mark(store, updated["property_id"])
    return updated
