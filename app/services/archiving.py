"""Archiving: a room, or a whole property, taken off the market for good.

Only what no lease holds: a room that is not let, a property none of whose rooms is. The
history stays (leases, invoices, registrations, photos, repair requests still read it); the
room stays UNAVAILABLE with `archived_at` set, its listing comes down, and it leaves the
population counters (app/services/stats.py, whose recount skips archived rooms and
properties too). Archiving is idempotent: an archived room or property comes back as it is.

Against a lease starting at the same moment: archiving marks the room first and then looks
for an active lease (undoing itself if it finds one), while a lease is inserted first and
then sets the room OCCUPIED only if it is not archived (app/services/leases.py); so of the
two, at least one refuses and a let room is never archived.
"""

from __future__ import annotations

import datetime as dt

from bson import ObjectId
from pymongo import ReturnDocument

from app.clock import now
from app.deps import Deps
from app.errors import Code, UserInputError
from app.services import audit, listings, rooms, safety_checks, stats
from app.services.properties import owned_property
from app.store import Doc, Store
from app.viewer import Viewer


def _room_let() -> UserInputError:
    return UserInputError(
        "Only a room that is not let can be archived: end its lease first.",
        code=Code.ROOM_OCCUPIED,
        field=["roomId"],
    )


def _property_let() -> UserInputError:
    return UserInputError(
        "A property with a running lease cannot be archived: end its leases first.",
        code=Code.LEASE_RUNNING,
        field=["propertyId"],
    )


async def _mark(store: Store, room: Doc, at: dt.datetime) -> Doc | None:
    """Archives the room unless it is let (or archived) now; the archived room or None."""
    async with store.exclusive(rooms.room_guard(room["_id"])):
        return await store.rooms.find_one_and_update(
            {"_id": room["_id"], "status": {"$ne": rooms.OCCUPIED}, "archived_at": None},
            {
                "$set": {
                    "archived_at": at,
                    "status": rooms.UNAVAILABLE,
                    "status_before_archive": room["status"],
                }
            },
            return_document=ReturnDocument.AFTER,
        )


async def _unmark(store: Store, room: Doc, at: dt.datetime) -> None:
    async with store.exclusive(rooms.room_guard(room["_id"])):
        await store.rooms.update_one(
            {"_id": room["_id"], "archived_at": at},
            {"$set": {"archived_at": None, "status": room["status"]}},
        )


async def _let(store: Store, where: Doc) -> bool:
    return await store.leases.find_one({**where, "status": "ACTIVE"}, {"_id": 1}) is not None


async def archive_room(deps: Deps, viewer: Viewer, room_id: ObjectId) -> Doc:
    """LANDLORD: their room off the market for good. ROOM_OCCUPIED while it is let."""
    store = deps.store
    room = await rooms.owned_room(store, viewer, room_id)
    if room.get("archived_at") is not None:
        return room
    if room["status"] == rooms.OCCUPIED:
        raise _room_let()
    at = now()
    archived = await _mark(store, room, at)
    if archived is None:
        current = await rooms.owned_room(store, viewer, room_id)
        if current.get("archived_at") is not None:
            return current  # archived by a concurrent call
        raise _room_let()
    if await _let(store, {"landlord_id": room["landlord_id"], "room_id": room_id}):
        await _unmark(store, room, at)
        raise _room_let()
    await listings.unpublish_for_room(store, room_id)
    await stats.bump(store, room["place"], room["kind"], rooms=-1)
    await audit.record(store, viewer.account_id, "room.archive", target=("Room", room_id))
    await safety_checks.mark(store, room["property_id"])
    return archived


async def archive_property(deps: Deps, viewer: Viewer, property_id: ObjectId) -> Doc:
    """LANDLORD: their property and all its rooms off the market for good. LEASE_RUNNING
    while any of its rooms is let."""
    store = deps.store
    prop = await owned_property(store, viewer, property_id)
    if prop.get("archived_at") is not None:
        return prop
    mine = {"landlord_id": prop["landlord_id"], "property_id": property_id}
    if await _let(store, mine):
        raise _property_let()
    at = now()
    guard = f"property:{property_id}"
    async with store.exclusive(guard):
        archived = await store.properties.find_one_and_update(
            {"_id": property_id, "archived_at": None},
            {"$set": {"archived_at": at}},
            return_document=ReturnDocument.AFTER,
        )
    if archived is None:
        return await owned_property(store, viewer, property_id)  # a concurrent call did it
    done: list[Doc] = []
    refused = False
    async for room in store.rooms.find({"property_id": property_id, "archived_at": None}):
        if await _mark(store, room, at) is None:
            refused = True
            break
        done.append(room)
    if refused or await _let(store, mine):
        for room in done:
            await _unmark(store, room, at)
        async with store.exclusive(guard):
            await store.properties.update_one(
                {"_id": property_id, "archived_at": at}, {"$set": {"archived_at": None}}
            )
        raise _property_let()
    for room in done:
        await listings.unpublish_for_room(store, room["_id"])
    safety = {k: -int(v) for k, v in (prop.get("safety") or {}).items()}
    await stats.bump(store, prop["place"], prop["kind"], properties=-1, rooms=-len(done), **safety)
    await audit.record(
        store,
        viewer.account_id,
        "property.archive",
        target=("Property", property_id),
        details={"rooms": len(done)},
    )
    await safety_checks.mark(store, property_id)
    return archived
