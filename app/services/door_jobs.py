"""The jobs of the card outbox (app/services/card_outbox.py, which says how they are applied):
what to insert into `card_jobs` for a card or a visitor's code on each door, for a door bound
later, and for a door released.

A job's `_id` is "<key>|<epoch>|<version>", so inserting the same state twice is a no-op. The
key names one credential on one device: "<deviceId>|<cardNumber>" or
"<deviceId>|code:<codeId>". The epoch is when the door holding the device was bound, in
milliseconds: a device removed and bound again, or moved to another door, starts a new one.
The version is the card's or the pass's; a released door's last job per key has version
RETIRED, above every real version of its binding.
"""

from __future__ import annotations

import contextlib
import datetime as dt

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from app.clock import now
from app.services import cards, door_codes
from app.store import Doc, Store

PENDING = "PENDING"
CARD, CODE = "card", "code"
RETIRED = 1 << 40
DOOR_FIELDS = {"_id": 1, "device_id": 1, "created_at": 1}


def job_key(device_id: str, credential: str) -> str:
    return f"{device_id}|{credential}"


def epoch(door: Doc) -> int:
    """When the door was bound, in milliseconds: the first half of a job's order."""
    bound: dt.datetime = door["created_at"]
    return int(bound.timestamp() * 1000)


async def doors_for(store: Store, property_id: ObjectId, room_id: ObjectId) -> list[Doc]:
    """The bound doors a card or code of this room opens: the room's own and the property's
    entrances."""
    return await store.devices.find(
        {
            "property_id": property_id,
            "kind": "DOOR",
            "room_id": {"$in": [room_id, None]},
            "removed_at": None,
        },
        DOOR_FIELDS,
    ).to_list(None)


async def insert(
    store: Store,
    door: Doc,
    credential: str,
    version: int,
    fields: Doc,
    due: dt.datetime | None = None,
) -> str:
    """Inserts one job (once: the same version again is a duplicate and ignored), due at
    `due` (now by default). Returns its key."""
    key = job_key(door["device_id"], credential)
    at = now()
    job = {
        "_id": f"{key}|{epoch(door)}|{version}",
        "key": key,
        "epoch": epoch(door),
        "version": version,
        "device_id": door["device_id"],
        "door_id": door["_id"],
        "occupant_id": None,
        "lease_id": None,
        "pass_id": None,
        **fields,
        "state": PENDING,
        "attempts": 0,
        "next_attempt_at": due or at,
        "last_error": None,
        "created_at": at,
        "done_at": None,
    }
    with contextlib.suppress(DuplicateKeyError):
        await store.card_jobs.insert_one(job)
    return key


async def insert_card(
    store: Store, door: Doc, occupant: Doc, due: dt.datetime | None = None
) -> str:
    card = occupant["card"]
    fields = {
        "kind": CARD,
        **cards.desired(card),
        "card_number": card["card_number"],
        "occupant_id": occupant["_id"],
        "lease_id": occupant["lease_id"],
        "landlord_id": occupant["landlord_id"],
    }
    return await insert(store, door, card["card_number"], card["version"], fields, due)


async def insert_code(
    store: Store, door: Doc, pass_doc: Doc, due: dt.datetime | None = None
) -> str:
    fields = {
        "kind": CODE,
        **door_codes.desired(pass_doc),
        "code_id": door_codes.code_id(pass_doc["_id"]),
        "pass_id": pass_doc["_id"],
        "landlord_id": pass_doc["landlord_id"],
    }
    credential = door_codes.credential(pass_doc)
    return await insert(store, door, credential, pass_doc["version"], fields, due)


async def for_new_door(store: Store, door: Doc) -> list[str]:
    """A newly bound door gets the live cards and codes of its room, or of its property for
    an entrance. (A card or code changed meanwhile has a newer version, which wins over the
    one queued here.) Returns the jobs' keys."""
    query: Doc = {"property_id": door["property_id"], "current": True}
    room_id = door.get("room_id")
    keys: list[str] = []
    at = now()
    # A vacant room has nobody living in it: no card to look for. (A lease starting
    # meanwhile marks the room OCCUPIED before it registers anyone, and queues its cards
    # for every door it then finds, this one included: the door is stored.)
    room = None
    if room_id is not None:
        room = await store.rooms.find_one({"_id": room_id}, {"status": 1})
        query["room_id"] = room_id
    if room is None or room.get("status") != "VACANT":
        async for occupant in store.occupants.find(query):
            if occupant["card"]["valid_until"] > at:
                keys.append(await insert_card(store, door, occupant))
    async for pass_doc in store.visitor_passes.find(
        door_codes.live_query(door["property_id"], room_id)
    ):
        keys.append(await insert_code(store, door, pass_doc))
    return keys


async def retire(store: Store, door: Doc) -> list[str]:
    """A released door (removed, or replaced by another device) loses every card and code it
    was ever given: one RETIRED DELETE per key, which no job of that binding can overtake,
    and which no lease or pass counts as its own pending change. Returns the keys."""
    found: dict[str, Doc] = {}
    async for job in store.card_jobs.find(
        {"door_id": door["_id"]}, {"key": 1, "kind": 1, "card_number": 1, "code_id": 1}
    ):
        found.setdefault(job["key"], job)
    for key, job in found.items():
        fields = {
            "kind": job.get("kind", CARD),
            "op": cards.DELETE,
            "valid_from": None,
            "valid_until": None,
            "card_number": job.get("card_number"),
            "code_id": job.get("code_id"),
            "retired": True,
        }
        await insert(store, door, key.split("|", 1)[1], RETIRED, fields)
    return list(found)
