"""The hazards Anju finds itself, and closes itself when their cause goes away:

- DETECTOR_OFFLINE: a smoke detector offline for more than ANJU_DETECTOR_OFFLINE_HAZARD_HOURS
  (the gateway's device.offline / device.online events); closed when it is back online or no
  longer in place.
- NO_DETECTOR: a let (OCCUPIED) room without a smoke detector; closed when one is bound in it
  or the room is no longer let.
- EQUIPMENT_BELOW_STANDARD: a property whose recorded equipment is below the standard for its
  rooms (settings: extinguishers and escape windows per floor, smoke detectors per room);
  closed when the records meet it.

Whatever may change one of these (a room let or vacated, added, moved or archived; a detector
bound, removed, replaced, on- or offline; the recorded equipment) `mark`s the property once
the change is written (a mark before it could be consumed by a look that missed it): its
`safety_checks` document (`_id` the property's) gets `check_at` now. The safety worker's pass
(`run_due`) looks again at each property whose `check_at` has come: one property's rooms and
detectors, a few indexed reads. It opens what is wanted and not open (one open hazard per
cause, a rule of the store, so two workers open one), closes what is open and no longer
wanted, and sets `check_at` to when something will change by itself (a detector offline now
that passes the threshold later), or null. Nothing changes, nothing is read: an idle pass is
one indexed query that finds nothing. After changing a standard, `anju safety-recheck` marks
every property.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bson import ObjectId

from app.clock import now
from app.deps import Deps
from app.services import hazard_notices, hazards
from app.services.hazards import DETECTOR_OFFLINE, EQUIPMENT_BELOW_STANDARD, NO_DETECTOR
from app.settings import Settings
from app.store import Doc, Store

PASS_LIMIT = 200
DETECTOR_ITEM = "SMOKE_DETECTORS_IN_EVERY_ROOM"


def _guard(property_id: ObjectId) -> str:
    return f"safety:{property_id}"


async def mark(store: Store, property_id: ObjectId) -> None:
    """Asks for the property's checks at the safety worker's next pass."""
    async with store.exclusive(_guard(property_id)):
        await store.safety_checks.update_one(
            {"_id": property_id},
            {"$set": {"check_at": now()}, "$inc": {"version": 1}},
            upsert=True,
        )


async def mark_all(store: Store) -> int:
    """Marks every property that is not archived (after a standard changed); how many."""
    count = 0
    async for prop in store.properties.find({"archived_at": None}, {"_id": 1}):
        await mark(store, prop["_id"])
        count += 1
    return count


async def run_due(deps: Deps, *, limit: int = PASS_LIMIT) -> int:
    """Looks again at the properties whose checks are due; returns how many."""
    store = deps.store
    due = await store.safety_checks.find({"check_at": {"$lte": now()}}, limit=limit).to_list(None)
    for check in due:
        claim = await store.claim(f"safety-check:{check['_id']}")
        if claim is None:
            continue  # another worker is looking at it
        try:
            wake = await evaluate(deps, check["_id"])
            async with store.exclusive(_guard(check["_id"])):
                # marked again meanwhile: the next pass looks once more
                await store.safety_checks.update_one(
                    {"_id": check["_id"], "version": check["version"]},
                    {"$set": {"check_at": wake}},
                )
        finally:
            await store.release(claim)
    return len(due)


@dataclass(frozen=True)
class Wanted:
    source: str
    item: str | None
    severity: str
    description: str
    room_id: ObjectId | None = None


def shortfall(settings: Settings, prop: Doc, rooms: list[Doc]) -> list[str]:
    """How the property's recorded equipment falls short of the standard for its rooms."""
    floors = len({r["floor"] for r in rooms})
    safety = prop.get("safety") or {}
    short = []
    for name, label, have, per, unit in (
        (
            "extinguishers",
            "灭火器 extinguishers",
            safety.get("extinguishers", 0),
            settings.standard_extinguishers_per_floor,
            floors,
        ),
        (
            "smoke_detectors",
            "烟感 smoke detectors",
            safety.get("smoke_detectors", 0),
            settings.standard_smoke_detectors_per_room,
            len(rooms),
        ),
        (
            "escape_windows",
            "逃生窗口 escape windows",
            safety.get("escape_windows", 0),
            settings.standard_escape_windows_per_floor,
            floors,
        ),
    ):
        need = per * unit
        if int(have) < need:
            each = "a floor" if name != "smoke_detectors" else "a room"
            short.append(f"{label} {have} of {need} ({per} {each})")
    return short


async def wanted_hazards(
    store: Store, settings: Settings, prop: Doc
) -> tuple[dict[str, Wanted], dt.datetime | None]:
    """The hazards the property's state calls for, by cause, and when that will change by
    itself (a detector offline now that passes the threshold later)."""
    if prop.get("archived_at") is not None:
        return {}, None
    rooms = await store.rooms.find(
        {"property_id": prop["_id"], "archived_at": None}, {"number": 1, "floor": 1, "status": 1}
    ).to_list(None)
    detectors = await store.devices.find(
        {"property_id": prop["_id"], "kind": "SMOKE_DETECTOR", "removed_at": None}
    ).to_list(None)
    at = now()
    threshold = dt.timedelta(hours=settings.detector_offline_hazard_hours)
    wanted: dict[str, Wanted] = {}
    wake: dt.datetime | None = None
    numbers = {r["_id"]: r["number"] for r in rooms}
    for detector in detectors:
        if detector.get("online"):
            continue
        since = detector.get("online_changed_at") or detector["created_at"]
        if at - since < threshold:
            wake = min(wake or since + threshold, since + threshold)
            continue
        wanted[f"{DETECTOR_OFFLINE}:{detector['_id']}"] = Wanted(
            DETECTOR_OFFLINE,
            DETECTOR_ITEM,
            "MEDIUM",
            f"Smoke detector {detector['name']} (room {numbers.get(detector.get('room_id'), '?')})"
            f" offline since {since.strftime('%Y-%m-%d %H:%M')} UTC.",
            detector.get("room_id"),
        )
    covered = {d.get("room_id") for d in detectors}
    for room in rooms:
        if room["status"] == "OCCUPIED" and room["_id"] not in covered:
            wanted[f"{NO_DETECTOR}:{room['_id']}"] = Wanted(
                NO_DETECTOR,
                DETECTOR_ITEM,
                "HIGH",
                f"Room {room['number']} is let and has no smoke detector.",
                room["_id"],
            )
    short = shortfall(settings, prop, rooms) if rooms else []
    if short:
        wanted[f"{EQUIPMENT_BELOW_STANDARD}:{prop['_id']}"] = Wanted(
            EQUIPMENT_BELOW_STANDARD,
            None,
            "MEDIUM",
            "Recorded equipment below the standard: " + "; ".join(short) + ".",
        )
    return wanted, wake


CLOSED = {
    DETECTOR_OFFLINE: "Closed by Anju: the detector is back online or no longer in place.",
    NO_DETECTOR: "Closed by Anju: the room has a smoke detector, or is no longer let.",
    EQUIPMENT_BELOW_STANDARD: "Closed by Anju: the recorded equipment meets the standard.",
}


async def evaluate(deps: Deps, property_id: ObjectId) -> dt.datetime | None:
    """Opens and closes the property's own hazards as its state calls for; returns when to
    look again (None: when something changes)."""
    store, settings = deps.store, deps.settings
    prop = await store.properties.find_one({"_id": property_id})
    if prop is None:
        return None
    wanted, wake = await wanted_hazards(store, settings, prop)
    open_now = [
        h for h in await hazards.open_of_property(store, property_id) if h["source"] in CLOSED
    ]
    for hazard in open_now:
        if hazard["cause"] not in wanted:
            await close(store, hazard, CLOSED[hazard["source"]])
    causes = {h["cause"] for h in open_now}
    deadline = hazards.local_today() + dt.timedelta(days=settings.auto_hazard_deadline_days)
    for cause, want in wanted.items():
        if cause in causes:
            continue
        doc = hazards.hazard_doc(
            prop,
            source=want.source,
            item=want.item,
            description=want.description,
            severity=want.severity,
            deadline=deadline,
            room_id=want.room_id,
            cause=cause,
        )
        if await store.insert_once("hazards", doc):
            await hazard_notices.found(store, doc)
    return wake


async def close(store: Store, hazard: Doc, note: str) -> None:
    at = now()
    moved = await hazards.move(
        store,
        hazard["_id"],
        allowed_from=hazards.OPEN_STATUSES,
        changes=hazards.rectified_fields(hazard, at),
        entry={"at": at, "by": None, "status": hazards.RECTIFIED, "note": note, "photo_ids": []},
    )
    if moved is not None:
        await hazard_notices.rectified(store, moved, by_anju=True, note=note)
